"""The page: what the chat and the Articles tab show, and which handler each event calls.

The named endpoints (``api_name``) are the app's public API, and the
``elem_id``s are what the page's script, its stylesheet and the browser tests
find elements by: both stay as they are."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from qa.corpus.formats import SUFFIXES
from qa.pipeline import QAPipeline
from qa.serving.access import is_loopback, write_refusal, writes_possible
from qa.serving.chat.articles import Articles
from qa.serving.chat.conversation import Conversation
from qa.serving.chat.errors import Page
from qa.serving.chat.page import EXAMPLES, INTRODUCTION, OPEN_CITATION_JS, READING_HINT, SHOW_PANEL_JS, TITLE
from qa.serving.chat.uploads import UploadedFiles
from qa.serving.feedback import Reason
from qa.serving.gate import Identities
from qa.serving.render import escape_md
from qa.settings import Settings


@dataclass(frozen=True)
class ArticlesTab:
    """The Articles tab's components that events read or change."""

    status: gr.Markdown
    table: gr.HTML
    who: gr.Markdown
    writes: gr.Column
    token: gr.Textbox
    files: UploadedFiles
    add: gr.Button
    replace_box: gr.Column
    do_replace: gr.Button
    keep: gr.Button
    upload_result: gr.Markdown
    to_remove: gr.Dropdown
    ask_remove: gr.Button
    remove_box: gr.Column
    remove_question: gr.Markdown
    do_remove: gr.Button
    cancel_remove: gr.Button
    remove_result: gr.Markdown

    @property
    def corpus_outputs(self) -> list[gr.components.Component]:
        """What ``Articles.corpus_views`` refreshes."""
        return [self.status, self.table, self.to_remove]


def _filter_box() -> tuple[gr.Dropdown, gr.Textbox, gr.Textbox]:
    """Which articles the chat asks: outlets and a range of publication dates."""
    with gr.Accordion("Filter the articles", open=False, elem_id="filter"), gr.Row():
        outlets = gr.Dropdown([], multiselect=True, label="Outlets", elem_id="filter-outlets", scale=2)
        published_from = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD", elem_id="filter-from")
        published_to = gr.Textbox(label="Published to", placeholder="YYYY-MM-DD", elem_id="filter-to")
    return outlets, published_from, published_to


def build_app(bot: QAPipeline, exports: Path, identities: Identities) -> gr.Blocks:
    """The Blocks app over a ready pipeline; conversations are exported into ``exports``;
    ``identities`` tell who a request comes from."""
    conversation, articles = Conversation(bot, exports), Articles(bot, identities)
    with Page(title=TITLE, delete_cache=(3600, 3600)) as app:
        gr.Markdown(INTRODUCTION)
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
                only, filters = gr.State(None), _filter_box()
                with gr.Row():
                    clear = gr.Button("New conversation", size="sm")
                    download = gr.DownloadButton(
                        "Export conversation (Markdown)", size="sm", interactive=False, elem_id="export"
                    )
            with gr.Column(scale=2, min_width=320), gr.Tabs(selected="reading", elem_id="side") as side:
                with gr.Tab("Reading", id="reading"):
                    panel = gr.HTML(READING_HINT, elem_id="reading-panel")
                with gr.Tab("Articles", id="articles"):
                    tab = _articles_tab(articles, bot.settings)
        # Citation chips are links (#cite-T-N); the page's script hands their
        # target to this hidden button, which opens it in the reading panel.
        cite_ref = gr.Textbox(visible=False)
        open_cite = gr.Button(visible="hidden", elem_id="open-citation")
        # gradio_client's /upload, as before: (files, replace, token) -> (message, status, table rows).
        replace_api = gr.Checkbox(False, visible=False)
        api_outputs = [gr.Markdown(visible=False), gr.Markdown(visible=False), gr.Dataframe(visible=False)]
        upload_api_button = gr.Button(visible=False)

        # gradio_client's /chat, as before: (message, chat shown) -> (chat shown, "", cited passage HTML).
        chat_io = ([question, chatbot, turns, answers, only], [chatbot, turns, answers, question, panel])
        for event in (
            question.submit(conversation.chat, *chat_io, api_name="chat"),
            send.click(conversation.chat, *chat_io, api_visibility="private"),
        ):
            event.success(conversation.after_answer, answers, [side, download], api_visibility="private")
        app.load(articles.corpus_views, None, tab.corpus_outputs, api_visibility="private")
        app.load(articles.write_controls, None, [tab.writes, tab.who], api_visibility="private")
        app.load(conversation.outlet_choices, None, filters[0], api_visibility="private")
        for control in filters:
            control.change(conversation.set_filter, filters, only, api_visibility="private")
        clear.click(
            lambda: ([], [], [], READING_HINT, gr.DownloadButton(value=None, interactive=False)),
            None,
            [chatbot, turns, answers, panel, download],
            api_visibility="private",
        )
        open_cite.click(
            conversation.open_citation,
            [cite_ref, answers],
            [panel, side],
            js=OPEN_CITATION_JS,
            api_visibility="private",
        ).then(None, js=SHOW_PANEL_JS)
        last_feedback = gr.State(())
        # One at a time: the second copy of a reason must see the first one recorded.
        chatbot.like(
            conversation.give_feedback,
            [answers, last_feedback],
            last_feedback,
            api_visibility="private",
            concurrency_limit=1,
        )
        _wire_articles(articles, tab, taken)
        upload_api_button.click(
            articles.upload_api, [tab.files, replace_api, tab.token], api_outputs, api_name="upload"
        )
        gr.api(conversation.ask, api_name="ask")
        gr.api(conversation.search, api_name="search")
        gr.api(articles.sources, api_name="sources")
        gr.api(articles.remove, api_name="remove")
    return app


def _articles_tab(articles: Articles, settings: Settings) -> ArticlesTab:
    """The Articles tab: the index's state, the article table, adding and removing articles."""
    status = gr.Markdown(articles.status(), elem_id="index-status")
    table = gr.HTML(articles.table(), elem_id="corpus")
    who = gr.Markdown(elem_id="who")
    users = articles.identities.users.users()
    possible = writes_possible(settings, users)
    if not possible:
        gr.Markdown(escape_md(write_refusal(settings, None) or ""), elem_id="uploads-off")
    # The controls below are shown on load to whoever may use them (Articles.write_controls).
    with gr.Column(elem_id="write-controls") as writes:
        token = gr.Textbox(
            "",
            label="Editor token",
            type="password",
            visible=bool(settings.admin_token) or bool(users) or not is_loopback(settings.host),
            info="Unless you logged in as an editor: an editor's token (qa token create NAME) or QA_ADMIN_TOKEN.",
        )
        gr.Markdown("#### Add or replace articles")
        files = UploadedFiles(file_count="multiple", file_types=list(SUFFIXES), label="Articles: " + " ".join(SUFFIXES))
        add = gr.Button("Add to corpus", interactive=possible, elem_id="add")
        with gr.Column(visible=False, elem_id="confirm-replace") as replace_box:
            gr.Markdown(
                "Replace them with the uploaded files? The old versions are kept in the index folder's `replaced/`."
            )
            with gr.Row():
                do_replace = gr.Button("Replace", variant="stop", size="sm", elem_id="do-replace")
                keep = gr.Button("Keep the old ones", size="sm")
        upload_result = gr.Markdown(elem_id="upload-result")
        gr.Markdown("#### Remove an article")
        to_remove = gr.Dropdown(choices=articles.choices(), value=None, label="Article", elem_id="remove-choice")
        ask_remove = gr.Button("Remove…", size="sm", interactive=possible, elem_id="remove")
        with gr.Column(visible=False, elem_id="confirm-remove") as remove_box:
            remove_question = gr.Markdown()
            with gr.Row():
                do_remove = gr.Button("Remove it", variant="stop", size="sm", elem_id="do-remove")
                cancel_remove = gr.Button("Cancel", size="sm")
        remove_result = gr.Markdown(elem_id="remove-result")
    return ArticlesTab(
        status,
        table,
        who,
        writes,
        token,
        files,
        add,
        replace_box,
        do_replace,
        keep,
        upload_result,
        to_remove,
        ask_remove,
        remove_box,
        remove_question,
        do_remove,
        cancel_remove,
        remove_result,
    )


def _wire_articles(articles: Articles, tab: ArticlesTab, taken: gr.State) -> None:
    """The Articles tab's events: add, confirm or decline a replace, remove."""
    add_outputs = [tab.upload_result, taken, tab.replace_box, *tab.corpus_outputs]
    tab.add.click(articles.upload_from_page, [tab.files, tab.token], add_outputs, api_visibility="private").then(
        lambda: None, None, tab.files, api_visibility="private"
    )
    tab.do_replace.click(articles.confirm_replace, [taken, tab.token], add_outputs, api_visibility="private")
    tab.keep.click(
        lambda: ({}, gr.Column(visible=False), "The articles already in the corpus were kept."),
        None,
        [taken, tab.replace_box, tab.upload_result],
        api_visibility="private",
    )
    tab.ask_remove.click(
        articles.ask_to_remove, tab.to_remove, [tab.remove_box, tab.remove_question], api_visibility="private"
    )
    tab.do_remove.click(
        articles.confirm_remove,
        [tab.to_remove, tab.token],
        [tab.remove_result, tab.remove_box, *tab.corpus_outputs],
        api_visibility="private",
    )
    tab.cancel_remove.click(lambda: gr.Column(visible=False), None, tab.remove_box, api_visibility="private")
