"""What was done to the corpus and who tried to log in: one JSON line per event.

``<index>/audit.jsonl`` holds every upload, replace and remove, and every
login (with a password or an API token) that failed or succeeded: the time,
the user (or "" when anonymous), the client's address, the action, the file,
and the result. Each line is one write on an O_APPEND descriptor under a
lock, so lines land whole and in order; the file stops growing at
``MAX_BYTES`` (a log message then says so) rather than fill the disk.
``qa audit`` prints the latest entries.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

FILE_NAME = "audit.jsonl"
MAX_BYTES = 50_000_000

log = logging.getLogger("qa.audit")
_lock = threading.Lock()


class Action(StrEnum):
    UPLOAD = "upload"
    REPLACE = "replace"
    REMOVE = "remove"
    LOGIN = "login"
    TOKEN = "token"  # a request that carried an API token unknown or revoked


@dataclass(frozen=True)
class Entry:
    user: str
    client: str
    action: Action
    file: str
    result: str  # "ok", or "refused: why" / "failed: why"

    def to_dict(self) -> dict[str, Any]:
        return {"time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **asdict(self)}


def record(index_dir: Path, entry: Entry, max_bytes: int = MAX_BYTES) -> bool:
    """Append ``entry``; False (and a log message) if the file is full or cannot be written.

    An audit line that cannot be kept never fails the action it records: the
    corpus change has happened (or been refused) either way."""
    path = Path(index_dir) / FILE_NAME
    line = (json.dumps(entry.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
    with _lock:
        try:
            if path.exists() and path.stat().st_size + len(line) > max_bytes:
                log.error("the audit log %s has reached its %s-byte limit; %s not recorded", path, max_bytes, entry)
                return False
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as err:
            log.error("could not write the audit log %s (%s); %s not recorded", path, err, entry)
            return False
    return True


def latest(index_dir: Path, n: int = 20) -> list[dict[str, Any]]:
    """The last ``n`` entries, oldest first; lines that are not JSON are skipped."""
    path = Path(index_dir) / FILE_NAME
    if not path.exists():
        return []
    entries = []
    for line in path.read_text("utf-8", errors="replace").splitlines()[-n:] if n > 0 else []:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def describe(entry: dict[str, Any]) -> str:
    """One entry as a line of ``qa audit``."""
    who = entry.get("user") or "anonymous"
    what = f" {entry['file']}" if entry.get("file") else ""
    when, client, action = entry.get("time", "?"), entry.get("client", ""), entry.get("action", "?")
    return f"{when}  {who:<12} {client:<15} {action}{what}: {entry.get('result', '')}"
