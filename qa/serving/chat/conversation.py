"""The chat's handlers: answers, the reading panel, feedback and the export; and
the named endpoints ``/ask`` and ``/search``."""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path
from typing import Any

import gradio as gr

from qa.pipeline import QAPipeline
from qa.serving import feedback
from qa.serving.chat.errors import clear_errors, whole_number
from qa.serving.feedback import Feedback, Rating, Reason
from qa.serving.render import conversation_markdown, escape_md, reading_html, reply_markdown
from qa.serving.render import sources as render_sources
from qa.types import Answer, Filter, Paragraph, QuestionError

log = logging.getLogger("qa.app")


class Conversation:
    """What the chat does with each event; conversations are exported into ``exports``."""

    def __init__(self, bot: QAPipeline, exports: Path) -> None:
        self.bot = bot
        self.exports = exports

    @clear_errors
    def ask(self, question: str, history: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """Answer a question about the articles with verbatim, cited text.

        history: earlier turns, [{"role": "user" | "assistant", "content": str}].
        Returns the answer object: question, answer, answerable, confidence
        (the calibrated probability that the answer is right), sentence,
        citations (source, paragraph, start, end, text, answer_start,
        answer_end, score, also_in: the first holds the answer, the others are
        related passages), support (one citation per independent article that
        gives the answer; syndicated copies count once) and alternatives
        (other answers that other articles give, each with answer, confidence
        and support: "sources differ"). When the articles may not answer,
        answerable is false and answer empty, and candidate (answer,
        confidence, citations) is the closest they come, or null.
        """
        return self.bot.ask(question, [] if history is None else history).to_dict()

    @clear_errors
    def search(self, query: str, k: int = 5) -> list[dict[str, Any]]:
        """The k passages most relevant to the query, one per syndicated group."""
        return [p.to_dict() for p in self.bot.search(query, whole_number(k))]

    def chat(
        self, message: str, shown: list[dict], turns: list[dict], answers: list[Answer], only: Filter | None = None
    ) -> tuple:
        try:
            answer = self.bot.ask(message, turns, only=only)
        except QuestionError as err:
            gr.Warning(str(err))
            return gr.skip(), gr.skip(), gr.skip(), message, gr.skip()
        except Exception:
            log.exception("chat failed")
            gr.Warning("The server could not answer this question; its log has the details.")
            return gr.skip(), gr.skip(), gr.skip(), message, gr.skip()
        answers = [*answers, answer]
        turn = len(answers)
        articles = self.bot.articles()
        reply = reply_markdown(answer, turn, articles)
        if only:
            reply = f"*Asked only articles {escape_md(only.describe())}.*\n\n{reply}"
        shown = [*shown, {"role": "user", "content": message}, {"role": "assistant", "content": reply}]
        turns = [*turns, {"role": "user", "content": message}, {"role": "assistant", "content": answer.answer}]
        panel = reading_html(answer, turn, 1, self._context(answer, 1), articles)
        return shown, turns, answers, "", panel

    def set_filter(self, outlets: list[str] | None, published_from: str, published_to: str) -> Filter:
        """The chat's filter from its controls; a date that is not one is
        pointed out and left out of the filter."""
        dates = []
        for label, value in (("from", published_from), ("to", published_to)):
            value = (value or "").strip()
            try:
                dates.append(dt.date.fromisoformat(value).isoformat() if value else "")
            except ValueError:
                gr.Warning(f"“{value}” is not a date: write the {label} date as YYYY-MM-DD.")
                dates.append("")
        return Filter(tuple(outlets or ()), *dates)

    def outlet_choices(self) -> gr.Dropdown:
        """The outlets the indexed articles name, for the filter."""
        return gr.Dropdown(choices=sorted({s.outlet for s in self.bot.sources() if s.outlet}))

    def after_answer(self, answers: list[Answer], request: gr.Request) -> tuple[gr.Tabs, gr.DownloadButton]:
        """The reading panel in view and the export up to date."""
        if not answers:
            return gr.skip(), gr.skip()
        return gr.Tabs(selected="reading"), self.export(answers, request)

    def _context(self, answer: Answer, number: int) -> list[Paragraph]:
        source = next((s for s in render_sources(answer) if s.number == number), None)
        return self.bot.context(source.citation.source, source.citation.paragraph) if source else []

    def export(self, answers: list[Answer], request: gr.Request) -> gr.DownloadButton:
        """The conversation so far as a Markdown file for the export button (one file per browser session)."""
        folder = self.exports / (request.session_hash or "session")
        folder.mkdir(exist_ok=True)
        path = folder / "conversation.md"
        path.write_text(conversation_markdown(answers, self.bot.articles()), "utf-8")
        return gr.DownloadButton(value=str(path), interactive=True)

    def open_citation(self, ref: str, answers: list[Answer]) -> tuple[str, gr.Tabs]:
        """Citation "T-N" (answer T, citation N) in the reading panel."""
        turn, _, number = (ref or "").partition("-")
        if not (turn.isdigit() and number.isdigit() and 1 <= int(turn) <= len(answers)):
            return gr.skip(), gr.skip()  # a link from a conversation this page no longer holds
        answer = answers[int(turn) - 1]
        panel = reading_html(answer, int(turn), int(number), self._context(answer, int(number)), self.bot.articles())
        return panel, gr.Tabs(selected="reading")

    def give_feedback(self, answers: list[Answer], last: tuple, like: gr.LikeData) -> tuple:
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
            feedback.record(self.bot.settings.index_dir, Feedback(rating, reason, answers[turn]))
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
