"""The app: a chat over the articles, and two documented HTTP APIs on one port.

    python app.py [--host 127.0.0.1] [--port 7860] [--corpus corpus] [--index index]

Gradio's named endpoints (for gradio_client; see the app's "Use via API" page):
    /ask      (question, history=[]) -> the answer object
    /search   (query, k=5)           -> passages
    /sources  ()                     -> indexed articles
    /chat     the chat itself
    /upload   (files, replace=False, token="") -> what was added
    /remove   (source, token="")     -> what was removed

Plain JSON routes, one request per call (qa/serving/api.py; documented at /docs):
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
import logging
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import uvicorn
from fastapi.responses import JSONResponse

from qa import Answer, QAPipeline, QuestionError, Settings
from qa.corpus.articles import ArticleError, CorpusError
from qa.corpus.library import ArticleExists, add_article, prune_backups, remove_article
from qa.index.store import IndexUnavailable, Progress
from qa.serving import feedback
from qa.serving.access import allowed_hosts, upload_refusal, write_refusal, writes_possible
from qa.serving.api import create_api
from qa.serving.feedback import Feedback, Rating, Reason
from qa.serving.progress import ProgressBar, describe_update
from qa.serving.render import conversation_markdown, corpus_table_html, escape_md, reading_html, reply_markdown, when
from qa.serving.render import sources as render_sources
from qa.types import K_ERROR

log = logging.getLogger("qa.app")

EXAMPLES = [
    "Which treaty did the US pull out of in February?",
    "Who founded Baring Vostok?",
    "What was Paul Whelan accused of?",
    "Who is the UK foreign secretary?",
]
CSS = Path(__file__).with_name("app.css")  # chips, the reading panel, the corpus table


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


class UploadedFiles(gr.File):
    """A file input that takes only files Gradio's upload route received.

    Mounted in FastAPI, Gradio copies whatever server path (or URL) an API
    call names into its cache before any handler runs, so a crafted call could
    make the app ingest any file it can read. Each path is checked first."""

    def get_block_name(self) -> str:
        return "file"  # the page draws it as Gradio's own file input

    def _check(self, path: str | Path | None) -> None:
        why = upload_refusal(str(path) if isinstance(path, Path) else path, self.GRADIO_CACHE)
        if path is not None and why:
            raise gr.Error(f"{Path(str(path)).name} was not added: {why}.")

    def move_resource_to_block_cache(self, url_or_file_path: str | Path | None) -> str | None:
        self._check(url_or_file_path)
        return super().move_resource_to_block_cache(url_or_file_path)

    async def async_move_resource_to_block_cache(self, url_or_file_path: str | Path | None) -> str | None:
        self._check(url_or_file_path)
        return await super().async_move_resource_to_block_cache(url_or_file_path)


def whole_number(k: Any) -> int:
    """``k`` as an int if it is a whole number (5, 5.0, "5"); a QuestionError otherwise."""
    if isinstance(k, str) and k.strip().isdigit():
        return int(k)
    if isinstance(k, float) and math.isfinite(k) and k.is_integer():
        return int(k)
    if isinstance(k, int) and not isinstance(k, bool):
        return k
    raise QuestionError(K_ERROR)


def build_app(bot: QAPipeline, exports: Path) -> gr.Blocks:
    """The Blocks app over a ready pipeline; conversations are exported into ``exports``."""
    upload_folder = gr.utils.get_upload_folder()  # where Gradio's upload route stores what it receives

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
        """The indexed articles: source, title, paragraphs, sha256, outlet (named
        by the article's dateline, or "") and added (when it was indexed)."""
        return [s.to_dict() for s in bot.sources()]

    @clear_errors
    def remove(source: str, token: str = "") -> dict[str, Any]:
        """Take an article out of the corpus and the index; a copy is kept in the
        index folder's replaced/. token: the admin token, when one is set.
        Returns {"removed": source, "message": what the index update did}."""
        return {"removed": source, "message": remove_and_reindex(source, token)}

    def remove_and_reindex(source: str, token: str, progress: Progress | None = None) -> str:
        refusal = write_refusal(bot.settings, token)
        if refusal:
            raise gr.Error(refusal)
        backups = bot.settings.index_dir / "replaced"
        remove_article(bot.settings.corpus_dir, source, backups)
        report = bot.refresh(progress)
        prune_backups(backups)
        return describe_update(report, len(bot.index.paragraphs))

    def chat(message: str, shown: list[dict], turns: list[dict], answers: list[Answer]) -> tuple:
        try:
            answer = bot.ask(message, turns)
        except QuestionError as err:
            gr.Warning(str(err))
            return gr.skip(), gr.skip(), gr.skip(), message, gr.skip()
        except Exception:
            log.exception("chat failed")
            gr.Warning("The server could not answer this question; its log has the details.")
            return gr.skip(), gr.skip(), gr.skip(), message, gr.skip()
        answers = [*answers, answer]
        turn = len(answers)
        articles = bot.articles()
        reply = reply_markdown(answer, turn, articles)
        shown = [*shown, {"role": "user", "content": message}, {"role": "assistant", "content": reply}]
        turns = [*turns, {"role": "user", "content": message}, {"role": "assistant", "content": answer.answer}]
        panel = reading_html(answer, turn, 1, _context(answer, 1), articles)
        return shown, turns, answers, "", panel

    def after_answer(answers: list[Answer], request: gr.Request) -> tuple[gr.Tabs, gr.DownloadButton]:
        """The reading panel in view and the export up to date."""
        if not answers:
            return gr.skip(), gr.skip()
        return gr.Tabs(selected="reading"), export(answers, request)

    def _context(answer: Answer, number: int) -> list:
        source = next((s for s in render_sources(answer) if s.number == number), None)
        return bot.context(source.citation.source, source.citation.paragraph) if source else []

    def export(answers: list[Answer], request: gr.Request) -> gr.DownloadButton:
        """The conversation so far as a Markdown file for the export button (one file per browser session)."""
        folder = exports / (request.session_hash or "session")
        folder.mkdir(exist_ok=True)
        path = folder / "conversation.md"
        path.write_text(conversation_markdown(answers, bot.articles()), "utf-8")
        return gr.DownloadButton(value=str(path), interactive=True)

    def open_citation(ref: str, answers: list[Answer]) -> tuple[str, gr.Tabs]:
        """Citation "T-N" (answer T, citation N) in the reading panel."""
        turn, _, number = (ref or "").partition("-")
        if not (turn.isdigit() and number.isdigit() and 1 <= int(turn) <= len(answers)):
            return gr.skip(), gr.skip()  # a link from a conversation this page no longer holds
        answer = answers[int(turn) - 1]
        panel = reading_html(answer, int(turn), int(number), _context(answer, int(number)), bot.articles())
        return panel, gr.Tabs(selected="reading")

    def give_feedback(answers: list[Answer], last: tuple, like: gr.LikeData) -> tuple:
        """One line in the feedback file per 👍, 👎 or reason; returns what was
        recorded, since Gradio's menu sends a chosen reason twice."""
        index = like.index[0] if isinstance(like.index, (list, tuple)) else like.index
        turn = int(index) // 2  # the chat shows a question and its answer for every turn
        if not 0 <= turn < len(answers):
            return last
        if like.liked is True:
            rating, reason = Rating.UP, None
        else:
            rating, reason = Rating.DOWN, Reason.from_label(like.liked) if isinstance(like.liked, str) else None
        now = time.monotonic()
        if last and last[:3] == (turn, rating, reason) and now - last[3] < 2:
            return last
        try:
            feedback.record(bot.settings.index_dir, Feedback(rating, reason, answers[turn]))
        except (OSError, feedback.FeedbackError) as err:
            log.warning("feedback not saved: %s", err)
            gr.Warning(f"Your feedback could not be saved: {err}")
            return last
        gr.Info(
            "Thank you: your feedback was saved."
            if reason or rating is Rating.UP
            else "Thank you. If you like, say why with the flag button."
        )
        return (turn, rating, reason, now)

    def upload(
        files: list[str] | None, replace: bool = False, token: str = "", progress: gr.Progress = gr.Progress()
    ) -> tuple[str, dict[str, bytes]]:
        """Add the uploaded files; names already taken wait (returned) for the user to confirm a replace."""
        refusal = write_refusal(bot.settings, token)
        if refusal:
            for path in files or []:
                if not upload_refusal(path, upload_folder):
                    Path(path).unlink(missing_ok=True)
            return f"❌ {escape_md(refusal)}", {}
        if not files:
            return "Choose one or more .txt files first.", {}
        uploads, refused = {}, []
        for path in files:
            why = upload_refusal(path, upload_folder)
            if why:  # never read nor deleted: a crafted call can name any path on the server
                name = Path(path).name if isinstance(path, str) else "?"
                refused.append(f"❌ **{escape_md(name)}** was not added: {escape_md(why)}.")
                continue
            try:
                uploads[Path(path).name] = Path(path).read_bytes()
            finally:
                Path(path).unlink(missing_ok=True)  # Gradio's copy of the upload: not kept once read
        if not uploads:
            return "\n\n".join(refused), {}
        message, taken = add_uploads(uploads, bool(replace), _bar(progress))
        return "\n\n".join([*refused, message]), taken

    def add_uploads(uploads: dict[str, bytes], replace: bool, progress: Progress | None) -> tuple[str, dict]:
        messages, added, taken = [], 0, {}
        backups = bot.settings.index_dir / "replaced"
        for name, data in uploads.items():
            try:
                add_article(bot.settings.corpus_dir, name, data, bot.settings.max_file_bytes, replace, backups)
                added += 1
            except ArticleExists:
                taken[name] = data
            except ArticleError as err:
                messages.append(f"❌ **{escape_md(name)}** was not added: {escape_md(str(err))}")
        if added:
            report = bot.refresh(progress)
            prune_backups(backups)
            messages.insert(0, "✅ " + escape_md(describe_update(report, len(bot.index.paragraphs))))
        if taken:
            names = ", ".join(f"**{escape_md(n)}**" for n in taken)
            messages.append(f"⚠️ {names} {'is' if len(taken) == 1 else 'are'} already in the corpus.")
        return "\n\n".join(messages), taken

    def upload_from_page(files, token, progress=gr.Progress()) -> tuple:
        message, taken = upload(files, False, token, progress)
        return (message, taken, gr.Column(visible=bool(taken)), *corpus_views())

    def confirm_replace(taken: dict[str, bytes], token: str, progress=gr.Progress()) -> tuple:
        refusal = write_refusal(bot.settings, token)
        if refusal:
            return (f"❌ {escape_md(refusal)}", {}, gr.Column(visible=False), *corpus_views())
        message, _ = add_uploads(taken, True, _bar(progress))
        return (message, {}, gr.Column(visible=False), *corpus_views())

    def upload_api(files: list[str] | None, replace: bool = False, token: str = "", progress=gr.Progress()):
        message, taken = upload(files, replace, token, progress)
        if taken:
            message += (
                "\n\nReplace it by uploading again with replace=True (the old version is kept in the index "
                "folder's `replaced/`)."
            )
        return message, status_markdown(bot), [[s.source, s.paragraphs, s.title] for s in bot.sources()]

    def ask_to_remove(source: str | None) -> tuple[gr.Column, str]:
        if not source:
            return gr.Column(visible=False), "Choose an article to remove first."
        info = bot.articles().get(source)
        title = f" (“{escape_md(info.title)}”)" if info else ""
        return gr.Column(visible=True), (
            f"Remove **{escape_md(source)}**{title} from the corpus and the index? A copy is kept in the index "
            "folder's `replaced/`."
        )

    def confirm_remove(source: str, token: str, progress=gr.Progress()) -> tuple:
        try:
            message = "✅ " + escape_md(remove_and_reindex(source, token, _bar(progress)))
        except (gr.Error, ArticleError) as err:
            message = f"❌ {escape_md(str(err.message if isinstance(err, gr.Error) else err))}"
        return (message, gr.Column(visible=False), *corpus_views())

    def corpus_views() -> tuple[str, str, gr.Dropdown]:
        listed = bot.sources()
        choices = [(f"{s.title} ({s.source})", s.source) for s in listed]
        return status_markdown(bot), corpus_table_html(listed), gr.Dropdown(choices=choices, value=None)

    with gr.Blocks(title="News QA: cited answers from your articles", delete_cache=(3600, 3600)) as app:
        gr.Markdown(
            "# News QA\nAsk about the articles in the corpus. Every answer is copied verbatim from an "
            "article and cites the file, paragraph and characters it came from. Click a citation chip "
            "to read the passage in its article."
        )
        turns, answers, taken = gr.State([]), gr.State([]), gr.State({})
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    elem_id="chat",
                    height=520,
                    label="Chat",
                    feedback_options=("Like", "Dislike", *(r.label for r in Reason)),
                )
                with gr.Row():
                    question = gr.Textbox(
                        elem_id="question",
                        placeholder="Ask a question about the articles…",
                        show_label=False,
                        scale=5,
                        max_lines=4,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask", min_width=80)
                gr.Examples(EXAMPLES, inputs=question, label="Try")
                with gr.Row():
                    clear = gr.Button("New conversation", size="sm")
                    download = gr.DownloadButton(
                        "Export conversation (Markdown)", size="sm", interactive=False, elem_id="export"
                    )
            with gr.Column(scale=2, min_width=320), gr.Tabs(selected="reading", elem_id="side") as side:
                with gr.Tab("Reading", id="reading"):
                    panel = gr.HTML(READING_HINT, elem_id="reading-panel")
                with gr.Tab("Articles", id="articles"):
                    status = gr.Markdown(status_markdown(bot), elem_id="index-status")
                    table = gr.HTML(corpus_table_html(bot.sources()), elem_id="corpus")
                    if not writes_possible(bot.settings):
                        gr.Markdown(escape_md(write_refusal(bot.settings, None) or ""), elem_id="uploads-off")
                    token = gr.Textbox(
                        "",
                        label="Admin token",
                        type="password",
                        visible=bool(bot.settings.admin_token),
                        info="This app asks for the token set in QA_ADMIN_TOKEN before it adds, replaces or "
                        "removes articles.",
                    )
                    gr.Markdown("#### Add or replace articles")
                    files = UploadedFiles(file_count="multiple", file_types=[".txt"], label="UTF-8 .txt files")
                    add = gr.Button("Add to corpus", interactive=writes_possible(bot.settings), elem_id="add")
                    with gr.Column(visible=False, elem_id="confirm-replace") as replace_box:
                        gr.Markdown(
                            "Replace them with the uploaded files? The old versions are kept in the index "
                            "folder's `replaced/`."
                        )
                        with gr.Row():
                            do_replace = gr.Button("Replace", variant="stop", size="sm", elem_id="do-replace")
                            keep = gr.Button("Keep the old ones", size="sm")
                    upload_result = gr.Markdown(elem_id="upload-result")
                    gr.Markdown("#### Remove an article")
                    to_remove = gr.Dropdown(
                        choices=[(f"{s.title} ({s.source})", s.source) for s in bot.sources()],
                        value=None,
                        label="Article",
                        elem_id="remove-choice",
                    )
                    ask_remove = gr.Button(
                        "Remove…", size="sm", interactive=writes_possible(bot.settings), elem_id="remove"
                    )
                    with gr.Column(visible=False, elem_id="confirm-remove") as remove_box:
                        remove_question = gr.Markdown()
                        with gr.Row():
                            do_remove = gr.Button("Remove it", variant="stop", size="sm", elem_id="do-remove")
                            cancel_remove = gr.Button("Cancel", size="sm")
                    remove_result = gr.Markdown(elem_id="remove-result")
        # Citation chips are links (#cite-T-N); the page's script hands their
        # target to this hidden button, which opens it in the reading panel.
        cite_ref = gr.Textbox(visible=False)
        open_cite = gr.Button(visible="hidden", elem_id="open-citation")
        # gradio_client's /upload, as before: (files, replace, token) -> (message, status, table rows).
        replace_api = gr.Checkbox(False, visible=False)
        api_outputs = [gr.Markdown(visible=False), gr.Markdown(visible=False), gr.Dataframe(visible=False)]
        upload_api_button = gr.Button(visible=False)

        # gradio_client's /chat, as before: (message, chat shown) -> (chat shown, "", cited passage HTML).
        chat_io = ([question, chatbot, turns, answers], [chatbot, turns, answers, question, panel])
        for event in (
            question.submit(chat, *chat_io, api_name="chat"),
            send.click(chat, *chat_io, api_visibility="private"),
        ):
            event.success(after_answer, answers, [side, download], api_visibility="private")
        app.load(corpus_views, None, [status, table, to_remove], api_visibility="private")
        clear.click(
            lambda: ([], [], [], READING_HINT, gr.DownloadButton(value=None, interactive=False)),
            None,
            [chatbot, turns, answers, panel, download],
            api_visibility="private",
        )
        open_cite.click(
            open_citation, [cite_ref, answers], [panel, side], js=OPEN_CITATION_JS, api_visibility="private"
        ).then(None, js=SHOW_PANEL_JS)
        last_feedback = gr.State(())
        # One at a time: the second copy of a reason must see the first one recorded.
        chatbot.like(
            give_feedback, [answers, last_feedback], last_feedback, api_visibility="private", concurrency_limit=1
        )
        corpus_outputs = [status, table, to_remove]
        add.click(
            upload_from_page,
            [files, token],
            [upload_result, taken, replace_box, *corpus_outputs],
            api_visibility="private",
        ).then(lambda: None, None, files, api_visibility="private")
        do_replace.click(
            confirm_replace,
            [taken, token],
            [upload_result, taken, replace_box, *corpus_outputs],
            api_visibility="private",
        )
        keep.click(
            lambda: ({}, gr.Column(visible=False), "The articles already in the corpus were kept."),
            None,
            [taken, replace_box, upload_result],
            api_visibility="private",
        )
        ask_remove.click(ask_to_remove, to_remove, [remove_box, remove_question], api_visibility="private")
        do_remove.click(
            confirm_remove, [to_remove, token], [remove_result, remove_box, *corpus_outputs], api_visibility="private"
        )
        cancel_remove.click(lambda: gr.Column(visible=False), None, remove_box, api_visibility="private")
        upload_api_button.click(upload_api, [files, replace_api, token], api_outputs, api_name="upload")
        gr.api(ask, api_name="ask")
        gr.api(search, api_name="search")
        gr.api(sources, api_name="sources")
        gr.api(remove, api_name="remove")
    return app


def _bar(progress: gr.Progress) -> Progress:
    """Gradio's progress bar as the index's progress callback."""
    return lambda stage, done, total: progress((done, total), desc=stage)


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


def status_markdown(bot: QAPipeline) -> str:
    s = bot.status()
    model = Path(s["model"]).name if os.sep in s["model"] else s["model"]
    return (
        f"**{s['articles']} articles, {s['paragraphs']} paragraphs** indexed  \n"
        f"Model: `{model}` ({s['dimension']} dimensions)  \nBuilt: {when(s['built_at'])}"
    )


READING_HINT = (
    '<p class="hint">Click a citation chip such as <strong>[1]</strong> in an answer to read the passage here, '
    "in its article, with the answer highlighted.</p>"
)
# Citation chips are ordinary links ("#cite-T-N"): focusable, and opened with a
# click, a tap or Enter. This page script sends their target to the server.
PAGE_JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    window.__qaCitation = link.getAttribute('href').slice('#cite-'.length);
    document.getElementById('open-citation').click();
  }, true);
}
"""
OPEN_CITATION_JS = "(ref, answers) => [window.__qaCitation || '', answers]"
# The opened passage gets the focus (keyboard and screen-reader users land on
# it) and is scrolled to: on a phone the panel sits below the chat.
SHOW_PANEL_JS = """
() => {
  const panel = document.querySelector('#reading-panel .reading');
  if (panel) { panel.scrollIntoView({block: 'start', behavior: 'smooth'}); panel.focus({preventScroll: true}); }
}
"""


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
    exports = tempfile.TemporaryDirectory(prefix="qa-exports-")  # removed when the server stops
    blocks = build_app(bot, Path(exports.name))
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
        css_paths=[CSS],
        js=PAGE_JS,
        footer_links=["api"],
        max_file_size=settings.max_file_bytes,  # Gradio refuses larger uploads before storing them
    )
    url = f"http://{settings.host}:{settings.port}"
    print(f"Serving the chat on {url}/ and the JSON API on {url}/api/ (documented at {url}/docs)", flush=True)
    # Open keep-alive and event-stream connections get 5 s to finish on Ctrl-C / SIGTERM, not forever.
    uvicorn.run(server, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
