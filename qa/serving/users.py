"""Who may use the app: users with a role, their password hashes, and API tokens.

One JSON file (``QA_USERS``, default ``<index>/users.json``), written whole
(a temporary file renamed over it) and readable by its owner only::

    {"version": 1,
     "users": {"ana": {"role": "editor", "password": "$argon2id$...", "created": "..."}},
     "tokens": {"<sha256 of the token>": {"id": "3f9c2a1b", "user": "ana", "created": "..."}}}

Passwords are hashed with Argon2id (argon2-cffi): slow on purpose, so a copy
of the file does not give them away. A token is 32 random bytes, so a plain
SHA-256 of it is as safe to store and fast enough to check on every request.
The app rereads the file when it changes, so ``qa users`` and ``qa token``
take effect without a restart.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import tempfile
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD_CHARS = 8
TOKEN_PREFIX = "qa_"

# Who QA_ADMIN_TOKEN stands for: an editor with no entry in the file.
ADMIN = "admin"


class UserError(ValueError):
    """A users-file change or read that cannot be done; the message says why."""


class Role(StrEnum):
    READER = "reader"  # asks, searches, lists and reads articles, gives feedback, exports
    EDITOR = "editor"  # and adds, replaces and removes articles

    @property
    def may_write(self) -> bool:
        return self is Role.EDITOR


@dataclass(frozen=True)
class User:
    name: str
    role: Role


@dataclass(frozen=True)
class TokenInfo:
    id: str
    user: str
    created: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class UserStore:
    """The users file, reread when it changes on disk (by size and modification time)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._hasher = PasswordHasher()
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._data: dict[str, Any] = {"version": 1, "users": {}, "tokens": {}}

    # -- reading -----------------------------------------------------------

    def _current(self) -> dict[str, Any]:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._seen, self._data = None, {"version": 1, "users": {}, "tokens": {}}
            return self._data
        except OSError as err:
            raise UserError(f"cannot read the users file {self.path}: {err.strerror}") from None
        seen = (info.st_size, info.st_mtime_ns)
        with self._lock:
            if seen != self._seen:
                try:
                    data = json.loads(self.path.read_text("utf-8"))
                except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
                    raise UserError(f"the users file {self.path} cannot be read: {err}") from None
                if not isinstance(data, dict) or data.get("version") != 1:
                    raise UserError(f"the users file {self.path} is not a version-1 users file")
                data.setdefault("users", {})
                data.setdefault("tokens", {})
                self._seen, self._data = seen, data
            return self._data

    def users(self) -> list[User]:
        return [User(name, Role(entry["role"])) for name, entry in sorted(self._current()["users"].items())]

    def user(self, name: str | None) -> User | None:
        entry = self._current()["users"].get(name) if name else None
        return User(name, Role(entry["role"])) if entry and name else None

    def tokens(self, user: str | None = None) -> list[TokenInfo]:
        return [
            TokenInfo(t["id"], t["user"], t["created"])
            for t in self._current()["tokens"].values()
            if user is None or t["user"] == user
        ]

    def check_password(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs; None for a wrong one or an unknown name."""
        entry = self._current()["users"].get(name)
        if not entry:
            self._hasher.hash(password)  # as slow as a known name: timing does not say which names exist
            return None
        try:
            self._hasher.verify(entry["password"], password)
        except (VerificationError, InvalidHashError):
            return None
        return User(name, Role(entry["role"]))

    def check_token(self, token: str) -> User | None:
        """The user an API token belongs to, or None for an unknown or revoked one."""
        entry = self._current()["tokens"].get(_digest(token)) if token.startswith(TOKEN_PREFIX) else None
        return self.user(entry["user"]) if entry else None

    # -- changing ----------------------------------------------------------

    def add(self, name: str, role: Role | str, password: str) -> User:
        if not NAME.fullmatch(name or ""):
            raise UserError(f"{name!r} is not a user name: letters, digits and . _ @ -, at most 64")
        if name == ADMIN:
            raise UserError(f"{ADMIN!r} is the name QA_ADMIN_TOKEN goes by: choose another")
        if len(password) < MIN_PASSWORD_CHARS:
            raise UserError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
        try:
            role = Role(role)
        except ValueError:
            raise UserError(f"role must be reader or editor, not {role!r}") from None
        data = self._editable()
        if name in data["users"]:
            raise UserError(f"there is already a user named {name!r} (remove them first to change role or password)")
        data["users"][name] = {"role": role.value, "password": self._hasher.hash(password), "created": _now()}
        self._write(data)
        return User(name, role)

    def remove(self, name: str) -> int:
        """Remove a user and their tokens; how many tokens went with them."""
        data = self._editable()
        if name not in data["users"]:
            raise UserError(f"there is no user named {name!r}")
        del data["users"][name]
        gone = [digest for digest, t in data["tokens"].items() if t["user"] == name]
        for digest in gone:
            del data["tokens"][digest]
        self._write(data)
        return len(gone)

    def create_token(self, name: str) -> tuple[str, TokenInfo]:
        """A new API token for ``name``: returned once, only its hash is kept."""
        data = self._editable()
        if name not in data["users"]:
            raise UserError(f"there is no user named {name!r}: add them first with qa users add")
        token_id = secrets.token_hex(4)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        info = TokenInfo(token_id, name, _now())
        data["tokens"][_digest(token)] = {"id": info.id, "user": info.user, "created": info.created}
        self._write(data)
        return token, info

    def revoke_token(self, token_or_id: str) -> TokenInfo:
        """Revoke a token named by itself or by its id (``qa users list`` shows ids)."""
        data = self._editable()
        digest = _digest(token_or_id)
        if digest not in data["tokens"]:
            digest = next((d for d, t in data["tokens"].items() if t["id"] == token_or_id), "")
        if not digest:
            raise UserError(f"no token has the id or value {token_or_id[:12]!r}…")
        entry = data["tokens"].pop(digest)
        self._write(data)
        return TokenInfo(entry["id"], entry["user"], entry["created"])

    def _editable(self) -> dict[str, Any]:
        """A copy of the file's contents to change and write: the one read stays as it was if the write fails."""
        return copy.deepcopy(self._current())

    def _write(self, data: dict[str, Any]) -> None:
        """The whole file, written beside it and renamed over it, readable by its owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1, ensure_ascii=False)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        with self._lock:
            self._seen = None  # reread on next use, whoever wrote last
