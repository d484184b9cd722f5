"""Files that are whole or absent: atomic replacement, fsync, and checksums."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path


def build_file_digest(path: Path, previous: Path | None, known: dict[str, str]) -> str:
    """The file's sha256: the previous build's, when it is the same file linked."""
    name = path.name
    if previous is not None and name in known:
        with contextlib.suppress(OSError):
            if os.path.samefile(previous / name, path):
                return known[name]
    return sha256_file(path)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
