"""The app: a chat over the articles, and two documented HTTP APIs on one port.

    python app.py [--host 127.0.0.1] [--port 7860] [--corpus corpus] [--index index]

Gradio's named endpoints (for gradio_client; see the app's "Use via API" page):
    /ask      (question, history=[]) -> the answer object
    /search   (query, k=5)           -> passages
    /sources  ()                     -> indexed articles
    /chat     the chat itself
    /upload   (files, replace=False, token="") -> what was added
    /remove   (source, token="")     -> what was removed

Plain JSON routes, one request per call (qa/http_api.py; documented at /docs):
    POST /api/ask  {"question": ..., "history": [...]}  -> the answer object
    GET  /api/search?q=...&k=5                          -> passages
    GET  /api/sources                                   -> indexed articles

Everything about finding and reading answers lives in the ``qa`` library; this
file only presents it.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import argparse
import functools
import html
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import uvicorn
from fastapi.responses import JSONResponse

from qa import Answer, QAPipeline, QuestionError, Settings
from qa.access import allowed_hosts, write_refusal, writes_possible
from qa.articles import ArticleError, ArticleExists, CorpusError, add_article, prune_backups, remove_article
from qa.cli import ProgressBar, describe_update
from qa.http_api import create_api
from qa.index import IndexUnavailable
from qa.render import escape_md, reply_markdown, sources

log = logging.getLogger("qa.app")

EXAMPLES = [
    "Which treaty did the US pull out of in February?",
    "Who founded Baring Vostok?",
    "What was Paul Whelan accused of?",
    "Who is the UK foreign secretary?",
]
CSS = """
.citation { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 12px; margin: 8px 0; }
.citation summary { cursor: pointer; font-weight: 600; }
.citation .context { color: var(--body-text-color-subdued); }
.citation .cited { border-left: 3px solid var(--color-accent); padding-left: 8px; }
.citation mark, #chat mark { background: #ffe58a; color: inherit; padding: 0 2px; border-radius: 3px; }
"""


def clear_errors(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """An endpoint whose every failure reaches the caller as a ``gr.Error``
    with a message (Gradio shows other exceptions as an empty error); an
    unexpected one is logged with its traceback, which the caller never sees."""

    @functools.wraps(endpoint)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return endpoint(*args, **kwargs)
        except gr.Error:
            raise
        except (QuestionError, ArticleError) as err:
            raise gr.Error(str(err)) from None
        except Exception:
            log.exception("%s failed", endpoint.__name__)
            raise gr.Error("The server could not answer this request; its log has the details.") from None

    return guarded


def whole_number(k: Any) -> int:
    """``k`` as an int if it is a whole number (5, 5.0, "5"); a QuestionError otherwise."""
    if isinstance(k, str) and k.strip().isdigit():
        return int(k)
    if isinstance(k, float) and math.isfinite(k) and k.is_integer():
        return int(k)
    if isinstance(k, int) and not isinstance(k, bool):
        return k
    raise QuestionError("k must be a whole number from 1 to 50.")


def build_app(bot: QAPipeline) -> gr.Blocks:
    """The Blocks app over a ready pipeline."""

    @clear_errors
    def ask(question: str, history: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """Answer a question about the articles with verbatim, cited text.

        history: earlier turns, [{"role": "user" | "assistant", "content": str}].
        Returns the answer object: question, answer, answerable, confidence
        (the calibrated probability that the answer is right), sentence,
        citations (source, paragraph, start, end, text, answer_start,
        answer_end, score, also_in: the first holds the answer, the others are
        related passages), support (one citation per independent article that
        gives the answer; syndicated copies count once) and alternatives
        (other answers that other articles give, each with answer, confidence
        and support: "sources differ").
        """
        return bot.ask(question, [] if history is None else history).to_dict()

    @clear_errors
    def search(query: str, k: int = 5) -> list[dict[str, Any]]:
        """The k passages most relevant to the query, one per syndicated group."""
        return [p.to_dict() for p in bot.search(query, whole_number(k))]

    @clear_errors
    def sources() -> list[dict[str, Any]]:
        """The indexed articles: source, title, paragraphs, sha256."""
        return [s.to_dict() for s in bot.sources()]

    @clear_errors
    def remove(source: str, token: str = "") -> dict[str, Any]:
        """Take an article out of the corpus and the index; a copy is kept in the
        index folder's replaced/. token: the admin token, when one is set.
        Returns {"removed": source, "message": what the index update did}."""
        refusal = write_refusal(bot.settings, token)
        if refusal:
            raise gr.Error(refusal)
        backups = bot.settings.index_dir / "replaced"
        remove_article(bot.settings.corpus_dir, source, backups)
        report = bot.refresh()
        prune_backups(backups)
        return {"removed": source, "message": describe_update(report, len(bot.index.paragraphs))}

    def chat(message: str, shown: list[dict], turns: list[dict]) -> tuple[list[dict], list[dict], str, str]:
        try:
            answer = bot.ask(message, turns)
        except QuestionError as err:
            gr.Warning(str(err))
            return shown, turns, message, gr.skip()
        except Exception:
            log.exception("chat failed")
            gr.Warning("The server could not answer this question; its log has the details.")
            return shown, turns, message, gr.skip()
        shown = [*shown, {"role": "user", "content": message}, {"role": "assistant", "content": reply_markdown(answer)}]
        turns = [*turns, {"role": "user", "content": message}, {"role": "assistant", "content": answer.answer}]
        return shown, turns, "", citations_html(answer, bot)

    def upload(
        files: list[str] | None, replace: bool = False, token: str = "", progress: gr.Progress = gr.Progress()
    ) -> tuple[str, str, list[list]]:
        refusal = write_refusal(bot.settings, token)
        if refusal:
            for path in files or []:
                Path(path).unlink(missing_ok=True)
            return f"❌ {escape_md(refusal)}", status_markdown(bot), sources_table(bot)
        if not files:
            return "Choose one or more .txt files first.", status_markdown(bot), sources_table(bot)
        messages, added = [], 0
        backups = bot.settings.index_dir / "replaced"
        for path in files:
            name = Path(path).name
            try:
                data = Path(path).read_bytes()
                add_article(bot.settings.corpus_dir, name, data, bot.settings.max_file_bytes, bool(replace), backups)
                added += 1
            except ArticleExists as err:
                messages.append(
                    f"⚠️ **{escape_md(name)}** was not added: {escape_md(str(err))}. To upload a new version, "
                    "tick “Replace articles of the same name” (the old one is kept in the index folder's "
                    "`replaced/`)."
                )
            except ArticleError as err:
                messages.append(f"❌ **{escape_md(name)}** was not added: {escape_md(str(err))}")
            finally:
                Path(path).unlink(missing_ok=True)  # Gradio's copy of the upload: not kept once read
        if added:
            report = bot.refresh(lambda stage, done, total: progress((done, total), desc=stage))
            prune_backups(backups)
            messages.insert(0, "✅ " + escape_md(describe_update(report, len(bot.index.paragraphs))))
        return "\n\n".join(messages), status_markdown(bot), sources_table(bot)

    with gr.Blocks(title="News QA: cited answers from your articles") as app:
        gr.Markdown(
            "# News QA\nAsk about the articles in the corpus. Every answer is copied verbatim from an "
            "article and cites the file, paragraph and characters it came from."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(elem_id="chat", height=460, label="Chat", feedback_options=None)
                turns = gr.State([])
                with gr.Row():
                    question = gr.Textbox(
                        elem_id="question",
                        placeholder="Ask a question about the articles…",
                        show_label=False,
                        scale=5,
                        max_lines=4,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                gr.Examples(EXAMPLES, inputs=question, label="Try")
                clear = gr.Button("New conversation", size="sm")
                citations = gr.HTML(elem_id="citations", label="Cited passages")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                status = gr.Markdown(status_markdown(bot), elem_id="index-status")
                table = gr.Dataframe(
                    sources_table(bot), headers=["File", "Paragraphs", "Title"], interactive=False, wrap=True
                )
                gr.Markdown("### Add articles")
                if not writes_possible(bot.settings):
                    gr.Markdown(escape_md(write_refusal(bot.settings, None) or ""), elem_id="uploads-off")
                files = gr.File(file_count="multiple", file_types=[".txt"], label="UTF-8 .txt files")
                replace = gr.Checkbox(
                    False,
                    label="Replace articles of the same name",
                    info="Otherwise a file whose name is taken is refused. The old version is kept in the index folder.",
                )
                token = gr.Textbox(
                    "",
                    label="Admin token",
                    type="password",
                    visible=bool(bot.settings.admin_token),
                    info="This app asks for the token set in QA_ADMIN_TOKEN before it adds or replaces articles.",
                )
                add = gr.Button("Add to corpus", interactive=writes_possible(bot.settings))
                upload_result = gr.Markdown(elem_id="upload-result")

        chat_io = ([question, chatbot, turns], [chatbot, turns, question, citations])
        question.submit(chat, *chat_io, api_name="chat")
        send.click(chat, *chat_io, api_visibility="private")
        clear.click(lambda: ([], [], ""), None, [chatbot, turns, citations], api_visibility="private")
        add.click(upload, [files, replace, token], [upload_result, status, table], api_name="upload")
        gr.api(ask, api_name="ask")
        gr.api(search, api_name="search")
        gr.api(sources, api_name="sources")
        gr.api(remove, api_name="remove")
    return app


class KnownEndpoints:
    """Gradio answers a call to an endpoint that does not exist with a bare
    HTTP 500; this says 404 and which endpoints there are."""

    def __init__(self, app, names: set[str]):
        self.app = app
        self.names = names

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/gradio_api/call/"):
            name = path.removeprefix("/gradio_api/call/").split("/", 1)[0]
            if name not in self.names:
                known = ", ".join(f"/{n}" for n in sorted(self.names))
                reply = JSONResponse({"error": f"No endpoint /{name}; this app has {known}."}, status_code=404)
                return await reply(scope, receive, send)
        return await self.app(scope, receive, send)


# -- presentation --------------------------------------------------------------


def citations_html(answer: Answer, bot: QAPipeline) -> str:
    """Each cited passage in context: neighbouring paragraphs dimmed, the
    answer marked. All article text is escaped: it is shown, never run."""
    if not answer.citations:
        return ""
    heading = "Cited passages" if answer.answerable else "Related passages (no answer found)"
    parts = [f"<h3>{heading}</h3>"]
    for source in sources(answer):
        number, c = source.number, source.citation
        paragraphs = []
        for p in bot.index.neighbours(c.source, c.paragraph):
            if p.paragraph != c.paragraph:
                paragraphs.append(f'<p class="context">{html.escape(p.text)}</p>')
            elif c.answer_start is not None:
                text = c.text
                body = (
                    html.escape(text[: c.answer_start])
                    + f"<mark>{html.escape(text[c.answer_start : c.answer_end])}</mark>"
                    + html.escape(text[c.answer_end :])
                )
                paragraphs.append(f'<p class="cited">{body}</p>')
            else:
                paragraphs.append(f'<p class="cited">{html.escape(c.text)}</p>')
        also = ""
        if c.also_in:
            copies = ", ".join(f"{html.escape(loc.source)} ¶{loc.paragraph}" for loc in c.also_in)
            also = f"<p><em>Also reported in {copies}</em></p>"
        role = ""
        if answer.alternatives and source.backs:
            role = f" — says “{html.escape(source.backs)}”"
        elif answer.answerable and not source.backs:
            role = " — related"
        parts.append(
            f'<details class="citation" {"open" if number == 1 else ""}>'
            f"<summary>[{number}] {html.escape(c.source)} ¶{c.paragraph} "
            f"(characters {c.start}–{c.end}, score {c.score:.2f}){role}</summary>{''.join(paragraphs)}{also}</details>"
        )
    return "\n".join(parts)


def status_markdown(bot: QAPipeline) -> str:
    s = bot.status()
    model = Path(s["model"]).name if os.sep in s["model"] else s["model"]
    return (
        f"**{s['articles']} articles, {s['paragraphs']} paragraphs** indexed  \n"
        f"Model: `{model}` ({s['dimension']} dimensions)  \nBuilt: {s['built_at']}"
    )


def sources_table(bot: QAPipeline) -> list[list]:
    return [[s.source, s.paragraphs, s.title] for s in bot.sources()]


# -- command line ----------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the news QA chat and its HTTP API.")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1, or $QA_HOST)")
    parser.add_argument("--port", type=int, help="port (default 7860, or $QA_PORT)")
    parser.add_argument("--corpus", help="folder of .txt articles (default corpus, or $QA_CORPUS_DIR)")
    parser.add_argument("--index", help="index folder (default index, or $QA_INDEX_DIR)")
    parser.add_argument("--model", help="embedding model name or folder (default: the packaged all-MiniLM-L6-v2)")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.INFO)
    for noisy in ("httpx", "bm25s", "sentence_transformers", "transformers", "faiss.loader"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    try:
        settings = Settings.from_env(
            host=args.host, port=args.port, corpus_dir=args.corpus, index_dir=args.index, model=args.model
        )
        with ProgressBar() as bar:
            bot = QAPipeline(settings, progress=bar)
    except (CorpusError, IndexUnavailable, OSError, ValueError, RuntimeError) as err:
        # An empty corpus, an index path that is a file, ...: one clear line, not a traceback.
        raise SystemExit(f"error: {err}") from None
    print(describe_update(bot.last_update, len(bot.index.paragraphs)), flush=True)
    blocks = build_app(bot)
    blocks.queue(default_concurrency_limit=4)
    hosts = allowed_hosts(settings)
    if hosts == ["*"]:
        log.warning(
            "Served beyond this machine and answering any host name: set QA_ALLOWED_HOSTS to this server's names"
        )
    api = create_api(bot, hosts)
    api.add_middleware(KnownEndpoints, names={fn.api_name for fn in blocks.fns.values() if fn.api_name})
    server = gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        css=CSS,
        footer_links=["api"],
        max_file_size=settings.max_file_bytes,  # Gradio refuses larger uploads before storing them
    )
    url = f"http://{settings.host}:{settings.port}"
    print(f"Serving the chat on {url}/ and the JSON API on {url}/api/ (documented at {url}/docs)", flush=True)
    # Open keep-alive and event-stream connections get 5 s to finish on Ctrl-C / SIGTERM, not forever.
    uvicorn.run(server, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
