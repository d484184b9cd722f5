"""``python app.py``: the settings, the pipeline, and the chat mounted on the JSON API's FastAPI app, served on one port."""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import gradio as gr
import uvicorn
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from qa.corpus.articles import CorpusError
from qa.index.errors import IndexUnavailable
from qa.pipeline import QAPipeline
from qa.serving.access import allowed_hosts
from qa.serving.api import create_api
from qa.serving.chat.layout import build_app
from qa.serving.chat.page import CSS, PAGE_JS
from qa.serving.logs import quiet_libraries
from qa.serving.progress import ProgressBar, describe_update
from qa.settings import Settings

log = logging.getLogger("qa.app")


class KnownEndpoints:
    """Gradio answers a call to an endpoint that does not exist with a bare
    HTTP 500; this says 404 and which endpoints there are."""

    def __init__(self, app: ASGIApp, names: set[str]) -> None:
        self.app = app
        self.names = names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/gradio_api/call/"):
            name = path.removeprefix("/gradio_api/call/").split("/", 1)[0]
            if name not in self.names:
                known = ", ".join(f"/{n}" for n in sorted(self.names))
                reply = JSONResponse({"error": f"No endpoint /{name}; this app has {known}."}, status_code=404)
                return await reply(scope, receive, send)
        return await self.app(scope, receive, send)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.INFO)
    quiet_libraries(logging.WARNING)
    try:
        settings = Settings.from_env(
            host=args.host, port=args.port, corpus_dir=args.corpus, index_dir=args.index, model=args.model
        )
        with ProgressBar() as bar:
            bot = QAPipeline(settings, progress=bar)
    except (CorpusError, IndexUnavailable, OSError, ValueError, RuntimeError) as err:
        # An empty corpus, an index path that is a file, ...: one clear line, not a traceback.
        raise SystemExit(f"error: {err}") from None
    print(describe_update(bot.last_update, bot.paragraph_count), flush=True)
    with tempfile.TemporaryDirectory(prefix="qa-exports-") as exports:  # removed when the server stops
        server = serve_both(bot, Path(exports))
        url = f"http://{settings.host}:{settings.port}"
        print(f"Serving the chat on {url}/ and the JSON API on {url}/api/ (documented at {url}/docs)", flush=True)
        # Open keep-alive and event-stream connections get 5 s to finish on Ctrl-C / SIGTERM, not forever.
        uvicorn.run(server, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=5)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Serve the news QA chat and its HTTP API.")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1, or $QA_HOST)")
    parser.add_argument("--port", type=int, help="port (default 7860, or $QA_PORT)")
    parser.add_argument(
        "--corpus", help="folder of articles: .txt, web pages, PDF, Word, Markdown (default corpus, or $QA_CORPUS_DIR)"
    )
    parser.add_argument("--index", help="index folder (default index, or $QA_INDEX_DIR)")
    parser.add_argument("--model", help="embedding model name or folder (default: the packaged all-MiniLM-L6-v2)")
    return parser


def serve_both(bot: QAPipeline, exports: Path) -> ASGIApp:
    """The JSON API's FastAPI app with the chat mounted at ``/``: one ASGI app for one port."""
    settings = bot.settings
    blocks = build_app(bot, exports)
    blocks.queue(default_concurrency_limit=4)
    hosts = allowed_hosts(settings)
    if hosts == ["*"]:
        log.warning(
            "Served beyond this machine and answering any host name: set QA_ALLOWED_HOSTS to this server's names"
        )
    api = create_api(bot, hosts)
    api.add_middleware(KnownEndpoints, names={fn.api_name for fn in blocks.fns.values() if fn.api_name})
    return gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        css_paths=[CSS],
        js=PAGE_JS,
        footer_links=["api"],
        max_file_size=settings.max_file_bytes,  # Gradio refuses larger uploads before storing them
    )
