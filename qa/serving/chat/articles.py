"""The Articles tab's handlers: the index's state, adding, replacing and removing
articles; and the named endpoints ``/sources``, ``/upload`` and ``/remove``.

Every change to the corpus checks who asks first (``write_refusal``: an
editor's login or token, or the admin token) and is written to the audit log
(``qa.serving.audit``), and every uploaded path is checked before it is read
or deleted (``upload_refusal``): a crafted call can name any path on the server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from qa.corpus.articles import ArticleError
from qa.corpus.formats import SUFFIXES
from qa.corpus.library import ArticleExists, add_article, prune_backups, remove_article
from qa.index.build import Progress
from qa.pipeline import QAPipeline
from qa.serving import audit
from qa.serving.access import upload_refusal, write_refusal
from qa.serving.chat.errors import clear_errors
from qa.serving.gate import Identities
from qa.serving.progress import describe_update
from qa.serving.render import corpus_table_html, escape_md, status_markdown
from qa.serving.users import User
from qa.types import SourceInfo


@dataclass(frozen=True)
class Caller:
    """Who asks for a change: the user their login or token shows, and from where."""

    user: User | None
    client: str
    token_given: bool  # a token was typed that matched nobody


class Articles:
    """What the Articles tab does with each event."""

    def __init__(self, bot: QAPipeline, identities: Identities) -> None:
        self.bot = bot
        self.identities = identities
        self.upload_folder = gr.utils.get_upload_folder()  # where Gradio's upload route stores what it receives

    def caller(self, request: gr.Request | None, token: str = "") -> Caller:
        """Who a request comes from: a typed token (an editor's, or the admin token) first, then
        the request's API token or login."""
        headers = {k.lower(): v for k, v in dict(request.headers).items()} if request is not None else {}
        session = getattr(request, "username", None) if request is not None else None
        typed = (token or "").strip()
        by_token = self.identities.of_token(typed) if typed else None
        user = by_token or self.identities.of(headers, session)
        client = request.client.host if request is not None and getattr(request, "client", None) else ""
        return Caller(user, client or "", bool(typed) and by_token is None)

    def refusal(self, caller: Caller) -> str | None:
        return write_refusal(self.bot.settings, caller.user, caller.token_given)

    def write_controls(self, request: gr.Request) -> tuple[gr.Column, str]:
        """The tab's add and remove controls, shown to whoever may use them: an editor, or an
        anonymous visitor where a typed token can allow it; a logged-in reader sees a line instead."""
        user = self.caller(request).user
        if user is not None and not user.role.may_write:
            return gr.Column(visible=False), (
                f"Logged in as **{escape_md(user.name)}**, a reader: adding and removing articles needs an editor."
            )
        who = f"Logged in as **{escape_md(user.name)}**, an editor." if user else ""
        return gr.Column(visible=True), who

    def record(self, caller: Caller, action: audit.Action, file: str, result: str) -> None:
        user = caller.user.name if caller.user else ""
        audit.record(self.bot.settings.index_dir, audit.Entry(user, caller.client, action, file, result))

    @clear_errors
    def sources(self) -> list[dict[str, Any]]:
        """The indexed articles: source, title, paragraphs, sha256, outlet (named
        by the article's dateline, or "") and added (when it was indexed)."""
        return [s.to_dict() for s in self.bot.sources()]

    @clear_errors
    def remove(self, source: str, token: str = "", request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """Take an article out of the corpus and the index; a copy is kept in the
        index folder's replaced/. token: an editor's token or the admin token,
        when the caller has not logged in. Returns {"removed": source, "message":
        what the index update did}."""
        return {"removed": source, "message": self.remove_and_reindex(source, self.caller(request, token))}

    def remove_and_reindex(self, source: str, caller: Caller, progress: Progress | None = None) -> str:
        refusal = self.refusal(caller)
        if refusal:
            self.record(caller, audit.Action.REMOVE, str(source), f"refused: {refusal}")
            raise gr.Error(refusal)
        backups = self.bot.settings.index_dir / "replaced"
        try:
            remove_article(self.bot.settings.corpus_dir, source, backups)
        except ArticleError as err:
            self.record(caller, audit.Action.REMOVE, str(source), f"failed: {err}")
            raise
        self.record(caller, audit.Action.REMOVE, source, "ok")
        report = self.bot.refresh(progress)
        prune_backups(backups)
        return describe_update(report, self.bot.paragraph_count)

    def upload(
        self,
        files: list[str] | None,
        replace: bool,
        caller: Caller,
        progress: gr.Progress = gr.Progress(),
    ) -> tuple[str, dict[str, bytes]]:
        """Add the uploaded files; names already taken wait (returned) for the user to confirm a replace."""
        refusal = self.refusal(caller)
        if refusal:
            for path in files or []:
                if not upload_refusal(path, self.upload_folder):
                    Path(path).unlink(missing_ok=True)
                    self.record(caller, audit.Action.UPLOAD, Path(path).name, f"refused: {refusal}")
            return f"❌ {escape_md(refusal)}", {}
        if not files:
            return f"Choose one or more article files first ({', '.join(SUFFIXES)}).", {}
        uploads, refused = {}, []
        for path in files:
            why = upload_refusal(path, self.upload_folder)
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
        message, taken = self.add_uploads(uploads, bool(replace), caller, _bar(progress))
        return "\n\n".join([*refused, message]), taken

    def add_uploads(
        self, uploads: dict[str, bytes], replace: bool, caller: Caller, progress: Progress | None
    ) -> tuple[str, dict]:
        messages, added, taken = [], 0, {}
        settings = self.bot.settings
        backups = settings.index_dir / "replaced"
        action = audit.Action.REPLACE if replace else audit.Action.UPLOAD
        for name, data in uploads.items():
            try:
                add_article(settings.corpus_dir, name, data, settings.max_file_bytes, replace, backups)
                added += 1
                self.record(caller, action, name, "ok")
            except ArticleExists:
                taken[name] = data
                self.record(caller, action, name, "waiting: already in the corpus, a replace must be confirmed")
            except ArticleError as err:
                messages.append(f"❌ **{escape_md(name)}** was not added: {escape_md(str(err))}")
                self.record(caller, action, name, f"failed: {err}")
        if added:
            report = self.bot.refresh(progress)
            prune_backups(backups)
            messages.insert(0, "✅ " + escape_md(describe_update(report, self.bot.paragraph_count)))
        if taken:
            names = ", ".join(f"**{escape_md(n)}**" for n in taken)
            messages.append(f"⚠️ {names} {'is' if len(taken) == 1 else 'are'} already in the corpus.")
        return "\n\n".join(messages), taken

    def upload_from_page(self, files, token, request: gr.Request, progress=gr.Progress()) -> tuple:
        message, taken = self.upload(files, False, self.caller(request, token), progress)
        return (message, taken, gr.Column(visible=bool(taken)), *self.corpus_views())

    def confirm_replace(
        self, taken: dict[str, bytes], token: str, request: gr.Request, progress=gr.Progress()
    ) -> tuple:
        caller = self.caller(request, token)
        refusal = self.refusal(caller)
        if refusal:
            for name in taken:
                self.record(caller, audit.Action.REPLACE, name, f"refused: {refusal}")
            return (f"❌ {escape_md(refusal)}", {}, gr.Column(visible=False), *self.corpus_views())
        message, _ = self.add_uploads(taken, True, caller, _bar(progress))
        return (message, {}, gr.Column(visible=False), *self.corpus_views())

    def upload_api(
        self,
        files: list[str] | None,
        replace: bool = False,
        token: str = "",
        request: gr.Request = None,  # type: ignore[assignment]
        progress=gr.Progress(),
    ):
        message, taken = self.upload(files, replace, self.caller(request, token), progress)
        if taken:
            message += (
                "\n\nReplace it by uploading again with replace=True (the old version is kept in the index "
                "folder's `replaced/`)."
            )
        return message, self.status(), [[s.source, s.paragraphs, s.title] for s in self.bot.sources()]

    def ask_to_remove(self, source: str | None) -> tuple[gr.Column, str]:
        if not source:
            return gr.Column(visible=False), "Choose an article to remove first."
        info = self.bot.articles().get(source)
        title = f" (“{escape_md(info.title)}”)" if info else ""
        return gr.Column(visible=True), (
            f"Remove **{escape_md(source)}**{title} from the corpus and the index? A copy is kept in the index "
            "folder's `replaced/`."
        )

    def confirm_remove(self, source: str, token: str, request: gr.Request, progress=gr.Progress()) -> tuple:
        try:
            message = "✅ " + escape_md(self.remove_and_reindex(source, self.caller(request, token), _bar(progress)))
        except (gr.Error, ArticleError) as err:
            message = f"❌ {escape_md(str(err.message if isinstance(err, gr.Error) else err))}"
        return (message, gr.Column(visible=False), *self.corpus_views())

    def status(self) -> str:
        """The index's state, as the tab heads it."""
        return status_markdown(self.bot.status())

    def table(self) -> str:
        """The indexed articles as the tab's table."""
        return corpus_table_html(self.bot.sources())

    def choices(self) -> list[tuple[str, str]]:
        """The articles the remove menu offers."""
        return _choices(self.bot.sources())

    def corpus_views(self) -> tuple[str, str, gr.Dropdown]:
        """The tab's status, table and remove menu, up to date."""
        listed = self.bot.sources()
        return self.status(), corpus_table_html(listed), gr.Dropdown(choices=_choices(listed), value=None)


def _choices(listed: list[SourceInfo]) -> list[tuple[str, str]]:
    """(label, source) for each article, as a menu lists them."""
    return [(f"{s.title} ({s.source})", s.source) for s in listed]


def _bar(progress: gr.Progress) -> Progress:
    """Gradio's progress bar as the index's progress callback."""
    return lambda stage, done, total: progress((done, total), desc=stage)
