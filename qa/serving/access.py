"""Who may change the corpus, and which hosts and origins the server answers.

Pure rules over the settings, so the app applies them and tests check them
without a server. The threat model (README, "Serving beyond this machine"):
anyone who can reach the port can ask questions; only a holder of the admin
token can add or replace articles; a page on another site cannot make a
visitor's browser write, and a DNS name that is not ours cannot reach a
server bound to this machine; an upload call reads only a file that Gradio's
upload route received, never another path on the server.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import stat

from qa.settings import Settings

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def write_refusal(settings: Settings, token: str | None) -> str | None:
    """Why a change to the corpus (upload, replace) is refused, or None if allowed."""
    if settings.read_only:
        return "This app is read-only (QA_READ_ONLY=1): articles cannot be added or replaced here."
    if settings.admin_token:
        if token and hmac.compare_digest(token.encode(), settings.admin_token.encode()):
            return None
        return "Adding or replacing articles needs the admin token (QA_ADMIN_TOKEN); the one given does not match."
    if not is_loopback(settings.host):
        return (
            "Adding or replacing articles is off: this app is served beyond this machine without an admin "
            "token. Set QA_ADMIN_TOKEN to allow it."
        )
    return None


def writes_possible(settings: Settings) -> bool:
    """Whether anyone at all may change the corpus through the app."""
    return not settings.read_only and (bool(settings.admin_token) or is_loopback(settings.host))


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
