"""The gate every request passes: who it comes from, whether they may read, and how often.

One pure-ASGI middleware in front of the JSON API and the chat alike:

- **who**: an ``Authorization: Bearer`` API token (or QA_ADMIN_TOKEN), or the
  session cookie of Gradio's login page; anyone else is anonymous. A token
  that matches nobody is a 401 at once, and a line in the audit log.
- **reading**: when a login is needed (``access.login_required``), an
  anonymous request reaches only what the login page itself needs; the UI's
  data, ``/api/*``, the Gradio API and its file routes all answer 401 with a
  JSON message. A reader's request to stage an upload is a 403.
- **how often**: asking and searching, uploading and logging in each have a
  per-minute allowance per user (or client address); over it, a 429 with
  ``Retry-After``.
- **logins**: each try on the login page is a line in the audit log.

Gradio's own routes check its session cookie when its login page is on; a
request that carries a valid API token instead is given a session of that
user for that request only (``GradioSessions``), so API clients need no
cookie.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.serving import audit
from qa.serving.access import login_required, user_of_token
from qa.serving.bodies import BodyTooLarge, read_body, replaying
from qa.serving.limits import RateLimiter
from qa.serving.users import User, UserError, UserStore
from qa.settings import Settings

log = logging.getLogger("qa.app")

LOGINS_PER_MINUTE = 10

# What the login page needs before anyone has logged in: the page itself (its
# config then says only that a login is needed), its scripts and styles, and
# the login route.
OPEN_PATHS = ("/", "/login", "/login/", "/logout", "/favicon.ico", "/theme.css", "/manifest.json", "/robots.txt")
OPEN_PREFIXES = ("/assets/", "/static/", "/svelte/")


class Kind(Enum):
    ASK = "ask"
    UPLOAD = "upload"
    LOGIN = "login"


ASK_CALLS = {"ask", "search", "chat"}
UPLOAD_CALLS = {"upload", "remove"}


def request_kind(method: str, path: str) -> Kind | None:
    """Which allowance a request draws on, if any."""
    if method == "POST" and path.rstrip("/") == "/login":
        return Kind.LOGIN
    if (method, path) in (("POST", "/api/ask"), ("GET", "/api/search")):
        return Kind.ASK
    if method == "POST" and path.startswith("/gradio_api/"):
        rest = path.removeprefix("/gradio_api/").strip("/")
        if rest == "upload":
            return Kind.UPLOAD
        if rest == "queue/join":
            return Kind.ASK  # the page's own events: each question, and the few around it
        name = rest.removeprefix("call/") if rest.startswith("call/") else ""
        if name in ASK_CALLS:
            return Kind.ASK
        if name in UPLOAD_CALLS:
            return Kind.UPLOAD
    return None


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if there is one."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True)
class Identities:
    """Who a caller is, from their API token or their login page session."""

    settings: Settings
    users: UserStore

    def of(self, headers: Mapping[str, str], session_user: str | None) -> User | None:
        token = bearer(headers)
        if token:
            return self.of_token(token)
        return self.users.user(session_user) if session_user else None

    def of_token(self, token: str) -> User | None:
        """Who an API token, an editor's token typed in the page or QA_ADMIN_TOKEN stands for."""
        return user_of_token(self.settings, self.users, token)

    def check_password(self, name: str, password: str) -> bool:
        """Gradio's login page calls this."""
        try:
            return self.users.check_password(name, password) is not None
        except UserError:
            log.exception("the users file cannot be read")
            return False


class GradioSessions:
    """Gradio's own sessions (its login page's cookies), read and, for a request
    that carries an API token, lent for that request."""

    def __init__(self, gradio_app: Any) -> None:
        self.app = gradio_app

    def user(self, cookies: Mapping[str, str]) -> str | None:
        cookie_id = self.app.cookie_id
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        return self.app.tokens.get(token) if token else None

    def lend(self, scope: Scope, user: User) -> str:
        """Add a session cookie of ``user`` to this request; returns it, to be ended after."""
        session = "qa-token-" + secrets.token_urlsafe(16)
        self.app.tokens[session] = user.name
        cookie = f"access-token-unsecure-{self.app.cookie_id}={session}".encode()
        headers = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
        old = dict(scope["headers"]).get(b"cookie")
        scope["headers"] = [*headers, (b"cookie", old + b"; " + cookie if old else cookie)]
        return session

    def end(self, session: str) -> None:
        self.app.tokens.pop(session, None)


class Gate:
    """The middleware (see the module's docstring)."""

    def __init__(self, app: ASGIApp, identities: Identities, sessions: GradioSessions | None = None) -> None:
        self.app = app
        self.identities = identities
        self.sessions = sessions
        settings = identities.settings
        self.login_needed = login_required(settings)
        self.index_dir: Path = settings.index_dir
        self.limits = {
            Kind.ASK: RateLimiter(settings.asks_per_minute),
            Kind.UPLOAD: RateLimiter(settings.uploads_per_minute),
            Kind.LOGIN: RateLimiter(LOGINS_PER_MINUTE),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path, method = scope.get("path", ""), scope.get("method", "GET")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = (scope.get("client") or ("", 0))[0] or ""
        token = bearer(headers)
        try:
            user = self.identities.of(headers, None if token else self._session_user(headers))
        except UserError as err:
            log.error("%s", err)
            return await _reply(503, "The users file cannot be read; the server's log says why.")(scope, receive, send)
        if "authorization" in headers and token is None:
            return await _unauthorized("The Authorization header must be `Bearer <token>` (qa token create NAME).")(
                scope, receive, send
            )
        if token and user is None:
            audit.record(self.index_dir, audit.Entry("", client, audit.Action.TOKEN, "", "failed: unknown token"))
            return await _unauthorized("The API token is not valid: it is mistyped, or was revoked.")(
                scope, receive, send
            )
        if self.login_needed and user is None and not _open(path):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008, "reason": "log in first"})
            return await _unauthorized(
                "Log in first: open the app's page and log in, or send an API token "
                "(Authorization: Bearer …; an editor makes one with qa token create NAME)."
            )(scope, receive, send)
        if (
            self.login_needed
            and user
            and not user.role.may_write
            and method == "POST"
            and path.startswith("/gradio_api/upload")
        ):
            why = f"{user.name} is a reader: uploading articles needs an editor."
            audit.record(self.index_dir, audit.Entry(user.name, client, audit.Action.UPLOAD, "", f"refused: {why}"))
            return await _reply(403, why)(scope, receive, send)
        kind = request_kind(method, path)
        wait = self.limits[kind].wait(user.name if user else client) if kind else 0
        if wait:
            what = {Kind.ASK: "questions and searches", Kind.UPLOAD: "uploads and removals", Kind.LOGIN: "logins"}
            limit = self.limits[kind].per_minute if kind else 0
            reply = JSONResponse(
                {"error": f"Too many {what[kind]} (at most {limit} a minute): try again in {wait} s."},
                status_code=429,
                headers={"Retry-After": str(wait)},
            )
            return await reply(scope, receive, send)
        if kind is Kind.LOGIN and self.sessions is not None:
            return await self._login(scope, receive, send, client)
        session = self.sessions.lend(scope, user) if token and user and self.sessions else None
        try:
            return await self.app(scope, receive, send)
        finally:
            if session and self.sessions:
                self.sessions.end(session)

    def _session_user(self, headers: Mapping[str, str]) -> str | None:
        if self.sessions is None or "cookie" not in headers:
            return None
        return self.sessions.user(cookie_parser(headers["cookie"]))

    async def _login(self, scope: Scope, receive: Receive, send: Send, client: str) -> None:
        """Gradio's login route, with each try written to the audit log."""
        try:
            body = await read_body(receive, 16_384)
        except BodyTooLarge:
            return await _reply(413, "The login form is too large.")(scope, receive, send)
        if body is None:
            return None
        try:  # the page sends multipart, scripts urlencoded: Starlette reads both
            form = await Request(scope, replaying(body, receive)).form()
            name = str(form.get("username") or "").strip()[:64]
        except Exception:  # an unreadable form: Gradio's route refuses it below, and the try is still logged
            name = ""
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, replaying(body, receive), watch)
        finally:
            result = "ok" if status == 200 else "failed: wrong user name or password"
            audit.record(self.index_dir, audit.Entry(name, client, audit.Action.LOGIN, "", result))


def _open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _reply(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _unauthorized(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
