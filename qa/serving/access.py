"""Who may read and change the corpus, and which hosts and origins the server answers.

Pure rules over the settings and a caller's identity, so the app applies
them and tests check them without a server. The threat model is
docs/THREAT_MODEL.md: on this machine (loopback) anyone may read and write,
as one person's tool; served beyond it, reading needs a login (a user of the
users file, or an API token) unless QA_PUBLIC_READ=1 says the archive is
public, and writing needs an editor (or QA_ADMIN_TOKEN); a page on another
site cannot make a visitor's browser write, and a DNS name that is not ours
cannot reach a server bound to this machine; an upload call reads only a
file that Gradio's upload route received, never another path on the server.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import stat

from qa.serving.users import ADMIN, Role, User, UserStore
from qa.settings import Settings

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def login_required(settings: Settings) -> bool:
    """Whether reading needs a login: served beyond this machine, and not declared public."""
    return not is_loopback(settings.host) and not settings.public_read


def start_refusal(settings: Settings, users: list[User]) -> str | None:
    """Why the app must not start (served beyond this machine, nobody could log in
    and nothing says the archive is public), or None."""
    if not login_required(settings) or users:
        return None
    return (
        f"served on {settings.host} (beyond this machine) with no users, the archive would be open to anyone: "
        f"add one with `qa users add NAME --role editor --index {settings.index_dir}` "
        f"(users file {settings.users_path}), or set QA_PUBLIC_READ=1 if the archive is public"
    )


def user_of_token(settings: Settings, users: UserStore, token: str | None) -> User | None:
    """Who an API token (or QA_ADMIN_TOKEN) stands for; None for no token or an unknown one."""
    if not token:
        return None
    if settings.admin_token and hmac.compare_digest(token.encode(), settings.admin_token.encode()):
        return User(ADMIN, Role.EDITOR)
    return users.check_token(token)


def write_refusal(settings: Settings, user: User | None, token_given: bool = False) -> str | None:
    """Why a change to the corpus (upload, replace, remove) by ``user`` is refused,
    or None if allowed. ``user`` is whoever the caller's login, API token or
    typed token (an editor's, or QA_ADMIN_TOKEN) showed them to be;
    ``token_given`` says a token was typed that matched nobody."""
    if settings.read_only:
        return "This app is read-only (QA_READ_ONLY=1): articles cannot be added or replaced here."
    if user is not None:
        if user.role.may_write:
            return None
        return f"{user.name} is a reader: adding, replacing or removing articles needs an editor."
    if token_given:
        return (
            "Adding or replacing articles needs an editor's token or the admin token (QA_ADMIN_TOKEN); "
            "the one given does not match."
        )
    if settings.admin_token:
        return "Adding or replacing articles needs the admin token (QA_ADMIN_TOKEN) or an editor's token."
    if not is_loopback(settings.host):
        return (
            "Adding or replacing articles needs an editor: log in as one, or give an editor's token "
            "(qa token create NAME) or the admin token (QA_ADMIN_TOKEN)."
        )
    return None


def writes_possible(settings: Settings, users: list[User] | None = None) -> bool:
    """Whether anyone at all may change the corpus through the app."""
    editors = any(u.role.may_write for u in users or ())
    return not settings.read_only and (bool(settings.admin_token) or editors or is_loopback(settings.host))


def allowed_hosts(settings: Settings) -> list[str]:
    """Host names the server answers to (its Host header; and the origins it takes writes from).

    Bound to this machine: only its loopback names, so a web page whose DNS
    name points at 127.0.0.1 (DNS rebinding) gets nothing. Bound elsewhere:
    QA_ALLOWED_HOSTS, or any host if unset (a warning says so)."""
    if settings.allowed_hosts:
        return [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]
    if is_loopback(settings.host):
        return ["127.0.0.1", "localhost", "[::1]"]
    return ["*"]


def upload_refusal(path: object, upload_folder: str | os.PathLike[str]) -> str | None:
    """Why a path that an upload call names is not taken, or None if it is a
    file this server received through its upload route.

    A client names uploaded files by their server path, so a crafted call can
    name any path: only a regular file, reached without ``..`` or a symbolic
    link, with no other hard link, whose real path lies inside Gradio's upload
    folder is taken. Anything else is neither read nor deleted."""
    refused = "it is not a file uploaded to this server; upload the file itself"
    if not isinstance(path, str) or not path or "\x00" in path:
        return refused
    if ".." in path.replace("\\", "/").split("/"):
        return refused
    try:
        info = os.lstat(path)
        real_folder = os.path.realpath(upload_folder)
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return refused
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        return refused
    given = os.path.abspath(path)
    # Inside the folder as named, and the same file once every link is followed:
    # no symbolic link on the way, not even one that stays inside the folder.
    for folder in {os.path.abspath(upload_folder), real_folder}:
        inside = os.path.commonpath([folder, given]) == folder and given != folder
        if inside and real == os.path.join(real_folder, os.path.relpath(given, folder)):
            return None
    return refused
