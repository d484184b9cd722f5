"""The plain JSON API: ``POST /api/ask``, ``GET /api/search``, ``GET /api/sources``,
``GET /api/articles/{source}/text``.

Gradio's named endpoints go through its queue and an event stream (two
requests a call); these routes answer in one request, for scripts and
services. The app serves both on one port (``qa.serving.chat.server`` mounts the chat on
this FastAPI app) and FastAPI documents these at ``/docs``.

Every error is JSON with a human message, ``{"error": "..."}``: 400 for a
question the pipeline refuses or a body that is not JSON, 401 without a valid
API token where the app needs a login, 403 for a write a reader or another
site asks for, 413 for a body over ``MAX_BODY_BYTES``, 422 for a field of the
wrong type or out of range, 429 over the per-minute allowance (with
``Retry-After``), 500 (message only; the traceback goes to the server log)
for anything else.

Served on this machine, no token is needed. Served beyond it, every route
needs `Authorization: Bearer <token>` (`qa token create NAME` makes one),
unless the app was started with QA_PUBLIC_READ=1.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from qa.answers.conversation import MAX_TURN_CHARS, MAX_TURNS
from qa.pipeline import QAPipeline
from qa.serving.bodies import BodyTooLarge, read_body, replaying
from qa.types import (
    MAX_K,
    Answer,
    Filter,
    NoArticleMatches,
    Passage,
    QuestionError,
    SourceInfo,
    TextLayer,
    UnknownArticle,
)

log = logging.getLogger(__name__)

# A question (2,000 characters), a long conversation and JSON's escapes fit well within this.
MAX_BODY_BYTES = 256 * 1024

# Gradio's calls carry the chat shown so far as well: a long conversation fits.
MAX_OTHER_BODY_BYTES = 2 * 1024 * 1024

# Some character Python's str.strip() keeps (it strips \x1c-\x1f and \x85, which JSON Schema's \s does not).
NOT_BLANK = r"[^\s\x1c-\x1f\x85]"


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_TURN_CHARS)


class AskRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "question": "When did he arrive?",
                    "history": [
                        {"role": "user", "content": "Who is the US secretary of state?"},
                        {"role": "assistant", "content": "Mike Pompeo"},
                    ],
                }
            ]
        },
    )
    # The schema states the default limit (QA_MAX_QUESTION_CHARS); the pipeline checks the configured one.
    question: str = Field(
        min_length=1,
        max_length=2000,
        pattern=NOT_BLANK,
        description="The question: some text that is not only spaces, at most 2,000 characters",
    )
    history: list[Turn] = Field(default_factory=list, max_length=MAX_TURNS, description="Earlier turns, oldest first")
    outlets: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=100, description="Ask only articles from these outlets (any of them)"
    )
    published_from: dt.date | None = Field(None, description="Ask only articles published on or after this date")
    published_to: dt.date | None = Field(None, description="Ask only articles published on or before this date")

    def only(self) -> Filter:
        return as_filter(self.outlets, self.published_from, self.published_to)


def as_filter(outlets: list[str] | None, published_from: dt.date | None, published_to: dt.date | None) -> Filter:
    """A request's filter fields as the pipeline's :class:`Filter`."""
    return Filter(
        tuple(o.strip() for o in outlets or () if o.strip()),
        published_from.isoformat() if published_from else "",
        published_to.isoformat() if published_to else "",
    )


class ErrorBody(BaseModel):
    error: str


ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 403, 413, 422, 429, 500)}

# Declares the API token in the schema; the gate (qa/serving/gate.py) checks it,
# so a call without one still reaches a route where no login is needed.
BEARER = HTTPBearer(
    auto_error=False,
    description="An API token from `qa token create NAME`; needed when the app is served beyond this machine.",
)


def create_api(bot: QAPipeline, hosts: list[str] | None = None) -> FastAPI:
    """The JSON routes over ``bot``; with ``hosts``, requests for other host
    names, and writes from pages of other origins, are refused everywhere on
    the app (the chat mounted on it included)."""
    api = FastAPI(
        title="News QA",
        summary="Cited, extractive answers from a folder of news articles",
        description=__doc__.split("\n\n", 1)[1],
        version="1",
        docs_url=None,  # served below from the swagger-ui-bundle package: FastAPI's default loads it from a CDN
        redoc_url=None,
        dependencies=[Depends(BEARER)],
    )
    api.mount("/docs-static", StaticFiles(directory=swagger_ui_path), name="docs-static")
    api.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, other_limit=MAX_OTHER_BODY_BYTES)
    if hosts:
        api.add_middleware(HostAndOrigin, hosts=hosts)
    api.add_exception_handler(QuestionError, _question_error)
    api.add_exception_handler(NoArticleMatches, _no_article)
    api.add_exception_handler(RequestValidationError, _invalid_request)
    api.add_exception_handler(StarletteHTTPException, _http_error)
    api.add_exception_handler(Exception, _internal_error)

    @api.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=api.openapi_url or "/openapi.json",
            title="News QA: JSON API",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon-32x32.png",
        )

    _answer_routes(api, bot)
    _corpus_routes(api, bot)

    @api.api_route("/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def unknown(path: str) -> JSONResponse:
        # Without this, the chat mounted at / would answer with its own 404.
        methods = {r.path: sorted(r.methods) for r in api.routes if isinstance(r, APIRoute) and "{" not in r.path}
        if f"/api/{path}" in methods:
            allowed = " or ".join(methods[f"/api/{path}"])
            return JSONResponse({"error": f"/api/{path} takes {allowed} requests."}, 405)
        return JSONResponse({"error": f"No route /api/{path}; the JSON API is documented at /docs."}, 404)

    return api


def _answer_routes(api: FastAPI, bot: QAPipeline) -> None:
    """The routes that answer and search."""

    @api.post("/api/ask", responses={200: {"model": Answer}, 404: {"model": ErrorBody}, **ERRORS}, tags=["answers"])
    def ask(request: AskRequest) -> JSONResponse:
        """Answer a question with verbatim text from the articles and its citations.

        The answer object: `answer` (empty when the articles do not answer),
        `answerable`, `confidence` (the calibrated probability that the answer
        is right), `sentence`, `citations` (the first holds the answer, the
        others are related passages), `support` (one citation per independent
        article that gives the answer), `alternatives` (other answers other
        articles give) and `candidate`: when the articles may not answer
        (`answerable` false, `answer` empty), the closest they come, as
        `{answer, confidence, citations}`, or null. Every citation's `start`/`end` slice its
        file's text layer (`GET /api/articles/{source}/text`) to its `text`; PDF citations carry
        `page`, and web pages' `url`; `answer_start`/`answer_end` index into `text`.
        `outlets`, `published_from` and `published_to` limit the articles asked;
        a filter that no article passes is a 404 that names what there is.
        """
        history = [turn.model_dump() for turn in request.history]
        return JSONResponse(bot.ask(request.question, history, only=request.only()).to_dict())

    @api.get(
        "/api/search", responses={200: {"model": list[Passage]}, 404: {"model": ErrorBody}, **ERRORS}, tags=["answers"]
    )
    def search(
        q: Annotated[
            str,
            Query(
                description="What to search for (as a question is)", min_length=1, max_length=2000, pattern=NOT_BLANK
            ),
        ],
        k: Annotated[int, Query(ge=1, le=MAX_K, description="How many passages")] = 5,
        outlets: Annotated[list[str] | None, Query(description="Only articles from these outlets")] = None,
        published_from: Annotated[dt.date | None, Query(description="Only articles published on or after")] = None,
        published_to: Annotated[dt.date | None, Query(description="Only articles published on or before")] = None,
    ) -> JSONResponse:
        """The `k` passages most relevant to `q`, one per group of syndicated
        copies; `outlets` (repeatable), `published_from` and `published_to`
        limit the articles searched."""
        only = as_filter(outlets, published_from, published_to)
        return JSONResponse([p.to_dict() for p in bot.search(q, k, only=only)])


def _corpus_routes(api: FastAPI, bot: QAPipeline) -> None:
    """The routes that list the articles and serve their text layers."""

    @api.get("/api/sources", responses={200: {"model": list[SourceInfo]}, **ERRORS}, tags=["corpus"])
    def sources() -> JSONResponse:
        """The indexed articles: `source` (file name), `title`, `paragraphs`,
        `sha256`, `outlet`, `added`, and what the file's metadata says:
        `author`, `published` (ISO date), `url`, and `format`."""
        return JSONResponse([s.to_dict() for s in bot.sources()])

    @api.get(
        "/api/articles/{source:path}/text",
        responses={200: {"model": TextLayer}, 404: {"model": ErrorBody}, **ERRORS},
        tags=["corpus"],
    )
    def text_layer(source: str) -> JSONResponse:
        """An indexed article's text layer, as its file reads now: `text`, which
        every citation's `start`/`end` slice (for a `.txt` file, the file
        decoded as UTF-8; for a web page, PDF, Word or Markdown file, the text
        extracted from it), `format`, `pages` (where each PDF page starts in
        `text`) and `sha256` (of the file as indexed). Any client can check a
        quote with it: `text[start:end] == citation.text`."""
        try:
            return JSONResponse(bot.text_layer(source).to_dict())
        except UnknownArticle as err:
            return JSONResponse({"error": str(err)}, 404)


class BodyLimit:
    """Refuses a request body over ``limit`` bytes on the JSON routes and over
    ``other_limit`` elsewhere (Gradio's calls), by its declared length or,
    without one, as it streams in. Gradio's file upload route has its own
    limit (``max_file_size``) and is left to it. Pure ASGI: Gradio's event
    streams, mounted on the same app, pass through untouched."""

    def __init__(self, app: ASGIApp, limit: int, other_limit: int | None = None):
        self.app = app
        self.limit = limit
        self.other_limit = other_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        limit = self.limit if path.startswith("/api/") else self.other_limit
        if scope["type"] != "http" or limit is None or path.startswith("/gradio_api/upload"):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _too_large(limit)(scope, receive, send)
        try:
            body = await read_body(receive, limit)
        except BodyTooLarge:
            return await _too_large(limit)(scope, receive, send)
        if body is None:
            return None
        return await self.app(scope, replaying(body, receive), send)


class HostAndOrigin:
    """Answers only requests addressed to one of ``hosts`` (a web page whose
    DNS name was pointed at this machine is refused: DNS rebinding), and takes
    writes (any method but GET, HEAD, OPTIONS) only from pages of those hosts
    or from clients that send no Origin (scripts): a page of another site
    cannot make a visitor's browser post to the app (CSRF). With ``["*"]``
    any host is answered, and writes are taken from pages of the host asked."""

    def __init__(self, app: ASGIApp, hosts: list[str]):
        self.app = app
        self.any_host = "*" in hosts
        self.hosts = {h.lower() for h in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        host = _host_name(headers.get(b"host", b"").decode("latin-1"))
        if not self.any_host and host not in self.hosts:
            refusal = JSONResponse({"error": f"This server does not answer for the host {host!r}."}, 400)
            return await refusal(scope, receive, send)
        origin = headers.get(b"origin")
        writes = scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS")
        if writes and origin and _host_name(urlsplit(origin.decode("latin-1")).netloc) not in self.hosts | {host}:
            refusal = JSONResponse({"error": "Requests that change data are not taken from other sites."}, 403)
            return await refusal(scope, receive, send)
        return await self.app(scope, receive, send)


def _host_name(netloc: str) -> str:
    """``localhost`` from ``localhost:7860``, ``[::1]`` from ``[::1]:7860``."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[: netloc.find("]") + 1]
    return netloc.rsplit(":", 1)[0] if ":" in netloc else netloc


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"error": f"The request body is over {limit // 1024} KB."}, status_code=413)


def _question_error(_: Request, err: Exception) -> JSONResponse:
    return JSONResponse({"error": str(err)}, status_code=400)


def _no_article(_: Request, err: Exception) -> JSONResponse:
    return JSONResponse({"error": str(err)}, 404)


def _invalid_request(_: Request, err: Exception) -> JSONResponse:
    errors: list[dict[str, Any]] = list(err.errors()) if isinstance(err, RequestValidationError) else []
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse({"error": "The request body is not valid JSON."}, status_code=400)
    if any(tuple(e.get("loc", ())) == ("body",) for e in errors):
        return JSONResponse(
            {
                "error": 'The request body must be a JSON object, {"question": ..., "history": [...]}, '
                "sent with Content-Type: application/json."
            },
            status_code=422,
        )
    return JSONResponse({"error": "; ".join(_describe(e) for e in errors) or "Invalid request."}, status_code=422)


FRIENDLIER = {
    "string_pattern_mismatch": "Please type a question: it is empty.",
    "string_too_short": "Please type a question: it is empty.",
    "string_unicode": "The text holds characters that are not valid text (an unpaired surrogate).",
}


def _describe(error: dict[str, Any]) -> str:
    """``history[0].role: Input should be 'user' or 'assistant'`` from pydantic's error."""
    if tuple(error.get("loc", ())) in (("body", "question"), ("query", "q")) and error.get("type") in FRIENDLIER:
        return FRIENDLIER[error["type"]]
    loc = list(error.get("loc", ()))
    if loc and loc[0] in ("body", "query"):
        loc = loc[1:]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" if i else str(p) for i, p in enumerate(loc))
    message = str(error.get("msg", "invalid"))
    return f"{where}: {message}" if where else message


def _http_error(_: Request, err: Exception) -> JSONResponse:
    code = getattr(err, "status_code", 500)
    detail = getattr(err, "detail", "")
    message = {404: "No such route; the JSON API is documented at /docs.", 405: "Method not allowed here."}.get(code)
    return JSONResponse({"error": message or str(detail) or "Request failed."}, status_code=code)


def _internal_error(request: Request, err: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path)
    return JSONResponse(
        {"error": "The server could not answer this request; its log has the details."}, status_code=500
    )
