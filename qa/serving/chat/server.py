"""``python app.py``: the settings, the pipeline, and the chat mounted on the JSON API's FastAPI app, served on one port."""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import gradio as gr
import uvicorn
from starlette.types import ASGIApp

from qa.corpus.articles import CorpusError
from qa.index.errors import IndexUnavailable
from qa.pipeline import QAPipeline
from qa.serving.access import allowed_hosts, is_loopback, login_required, start_refusal
from qa.serving.api import create_api
from qa.serving.chat.layout import build_app
from qa.serving.chat.page import CSS, PAGE_JS
from qa.serving.chat.routes import KnownEndpoints, UploadFailures
from qa.serving.gate import Gate, GradioSessions, Identities
from qa.serving.logs import quiet_libraries
from qa.serving.progress import ProgressBar, describe_update
from qa.serving.users import UserError, UserStore
from qa.settings import Settings

log = logging.getLogger("qa.app")


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.INFO)
    quiet_libraries(logging.WARNING)
    try:
        settings = Settings.from_env(
            host=args.host, port=args.port, corpus_dir=args.corpus, index_dir=args.index, model=args.model
        )
        # Only an exposed start reads the users file here: the index folder's own errors come first otherwise.
        users = UserStore(settings.users_path).users() if login_required(settings) else []
        refusal = start_refusal(settings, users)
        if refusal:
            raise SystemExit(f"error: {refusal}")
        with ProgressBar() as bar:
            bot = QAPipeline(settings, progress=bar)
    except (CorpusError, IndexUnavailable, UserError, OSError, ValueError, RuntimeError) as err:
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
    identities = Identities(settings, UserStore(settings.users_path))
    blocks = build_app(bot, exports, identities)
    blocks.queue(default_concurrency_limit=4)
    hosts = allowed_hosts(settings)
    if hosts == ["*"]:
        log.warning(
            "Served beyond this machine and answering any host name: set QA_ALLOWED_HOSTS to this server's names"
        )
    if settings.public_read and not is_loopback(settings.host):
        log.warning("QA_PUBLIC_READ=1: anyone who reaches this server may read the whole archive")
    api = create_api(bot, hosts)
    api.add_middleware(KnownEndpoints, names={fn.api_name for fn in blocks.fns.values() if fn.api_name})
    api.add_middleware(UploadFailures)
    login = login_required(settings)
    app = gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        css_paths=[CSS],
        js=PAGE_JS,
        footer_links=["api"],
        max_file_size=settings.max_file_bytes,  # Gradio refuses larger uploads before storing them
        auth=identities.check_password if login else None,
        auth_message="Log in with the user name and password an editor gave you (qa users add).",
    )
    gradio_app = next(r.app for r in app.routes if isinstance(getattr(r, "app", None), gr.routes.App))
    app.add_middleware(Gate, identities=identities, sessions=GradioSessions(gradio_app) if login else None)
    return app
