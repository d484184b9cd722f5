"""The question-answering pipeline: index → retriever → reader → cited answer.

>>> from qa import QAPipeline, Settings
>>> bot = QAPipeline(Settings.from_env(corpus_dir="corpus"))
>>> answer = bot.ask("Where did Putin meet Trump in July?")
>>> answer.answer, answer.citations[0].source
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qa.answers.boundaries import trim
from qa.answers.conversation import as_messages, conversation_context, retrieval_query, standalone_question
from qa.answers.evidence import Evidence, aggregate, answer_words
from qa.answers.ranking import BestSpanRanker, CalibratedRanker, Ranker
from qa.corpus.provenance import SourceFiles
from qa.index.build import Progress
from qa.index.changes import UpdateReport
from qa.index.store import IndexStore
from qa.index.view import IndexView
from qa.reading.base import Reader
from qa.reading.kinds import kind_family, load_question_types, span_kind
from qa.reading.sentence_reader import SentenceReader
from qa.search.retriever import HybridRetriever
from qa.settings import Settings
from qa.timing import stage
from qa.types import (
    K_ERROR,
    MAX_K,
    Alternative,
    Answer,
    Candidate,
    Citation,
    Filter,
    Message,
    Paragraph,
    Passage,
    QuestionError,
    SourceInfo,
    Span,
    TextLayer,
    UnknownArticle,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Components:
    index: IndexView
    retriever: HybridRetriever
    reader: Reader
    ranker: Ranker


class QAPipeline:
    """Answers questions about a folder of articles with verbatim, cited spans.

    Opening the pipeline loads the index, first bringing it up to date with
    the corpus folder (building it on first use).
    """

    def __init__(self, settings: Settings | None = None, progress: Progress | None = None):
        self.settings = settings or Settings.from_env()
        # refresh() looks only at the files that changed, and never waits on a fold of the index's layers.
        self.store = IndexStore(self.settings, watch=True, fold_in_background=True)
        self.store.on_fold = self._folded
        self.files = SourceFiles(self.settings.corpus_dir, layers=self.store.layers)
        self._lock = threading.Lock()
        with self._lock:  # a fold the opening starts swaps its index in only after this one is in place
            index, self.last_update = self.store.open(progress)
            self._parts = self._assemble(index)

    def _folded(self, index: IndexView) -> None:
        """The index folded in the background takes the place of the same index unfolded."""
        with self._lock:
            if self.store.latest is index:
                self._parts = self._assemble(index)

    def _assemble(self, index: IndexView) -> _Components:
        retriever = HybridRetriever(index, self.settings)
        retriever.warm_up()
        reader, ranker = make_reader(self.settings, index)
        return _Components(index, retriever, reader, ranker)

    @property
    def index(self) -> IndexView:
        return self._parts.index

    @property
    def reader(self) -> Reader:
        return self._parts.reader

    @property
    def paragraph_count(self) -> int:
        """How many paragraphs the index serves (what an update report's summary counts)."""
        return len(self._parts.index.paragraphs)

    def refresh(self, progress: Progress | None = None, force: bool = False) -> UpdateReport:
        """Re-read the corpus folder and update the index (only what changed)."""
        with self._lock:
            index, report = self.store.update(progress, force=force)
            self._parts = self._assemble(index)
            self.last_update = report
            return report

    def ask(
        self,
        question: str,
        history: Sequence[Message | dict[str, Any]] | None = None,
        k: int | None = None,
        only: Filter | None = None,
    ) -> Answer:
        """Answer ``question``; ``history`` holds the earlier chat turns;
        ``only`` limits the articles asked (outlets, publication dates).

        Every quote is checked against its file before the answer is given: if
        an article changed on disk since it was indexed, the index is brought
        up to date and the question asked again, and whatever still does not
        match its file is dropped."""
        answer = self._ask(question, history, k, only)
        with stage("checking quotes"):
            if all(self.files.quotes(c) for c in _quotes(answer)):
                return answer
        self._catch_up()
        return self._without_stale(self._ask(question, history, k, only))

    def _ask(
        self, question: str, history: Sequence[Message | dict[str, Any]] | None, k: int | None, only: Filter | None
    ) -> Answer:
        question = self.check_question(question)
        parts = self._parts  # one consistent snapshot even if a refresh swaps it
        k = self._check_k(k)
        admits = parts.index.admitting(only)
        messages = as_messages(history or [])
        context = conversation_context(question, messages)
        read_k = max(k, self.settings.read_k)
        query = retrieval_query(question, context)
        passages = parts.retriever.run(query, max(read_k, self.settings.mention_k), admits)
        asked = standalone_question(question, messages)
        spans = parts.reader.run(asked, passages[:read_k], context)
        with stage("aggregation"):
            if self.settings.answer_boundaries:
                spans = trim(asked, spans, load_question_types())
            answers = aggregate(spans, passages, parts.index.family_of)
        with stage("ranking and calibration"):
            ranked = parts.ranker.rank(asked, answers)
        with stage("citations"):
            return _placed(self._answer(question, ranked, passages, parts, k), parts.index)

    def _answer(
        self,
        question: str,
        ranked: list[tuple[float, Evidence]],
        passages: list[Passage],
        parts: _Components,
        k: int,
    ) -> Answer:
        """The answer object: the best answer if it clears the threshold, with its citations."""
        threshold = self.settings.min_confidence
        if threshold is None:
            threshold = parts.ranker.abstain_below
        if not ranked or ranked[0][0] < threshold:
            related = tuple(p.cited() for p in passages[:k])
            confidence = round(ranked[0][0] if ranked else 0.0, 4)
            candidate = None
            if ranked and confidence >= self.settings.candidate_floor:
                candidate = Candidate(ranked[0][1].text, confidence, self._support(parts.index, ranked[0][1]))
            return Answer(question, "", False, confidence, "", related, candidate=candidate)
        confidence, best = ranked[0]
        cited = [self._cite(parts.index, best.best)]
        cited += [p.cited() for p in passages if p is not best.best.passage][: k - 1]
        alternatives = tuple(
            Alternative(e.text, round(p, 4), self._support(parts.index, e))
            for p, e in ranked[1:]
            if p >= parts.ranker.abstain_below and _conflicts(e, best, parts.index.family_of)
        )
        return Answer(
            question,
            best.text,
            True,
            round(confidence, 4),
            best.best.sentence,
            tuple(cited),
            support=self._support(parts.index, best),
            alternatives=alternatives,
        )

    def search(
        self,
        query: str,
        k: int | None = None,
        history: Sequence[Message | dict[str, Any]] | None = None,
        only: Filter | None = None,
    ) -> list[Passage]:
        """The passages most relevant to ``query``, one per duplicate group.
        With ``history``, a follow-up is searched as ``ask`` searches it;
        ``only`` limits the articles searched."""
        query = self.check_question(query)
        if history:
            query = retrieval_query(query, conversation_context(query, as_messages(history)))
        k = self._check_k(k)
        passages = self._parts.retriever.run(query, k, self._parts.index.admitting(only))
        if all(self.files.quotes(p) for p in passages):
            return passages
        self._catch_up()
        admits = self._parts.index.admitting(only)
        return [p for p in self._parts.retriever.run(query, k, admits) if self.files.quotes(p)]

    def _catch_up(self) -> None:
        """Bring the index up to date with the corpus folder after a quote no
        longer matched its file (an article edited or deleted on disk)."""
        log.info("An indexed article changed on disk; updating the index")
        try:
            self.refresh()
        except Exception as err:  # the answer is still given, without the quotes that no longer hold
            log.warning("Could not update the index after an article changed on disk: %s", err)

    def _without_stale(self, answer: Answer) -> Answer:
        """The answer without the quotes its files no longer hold; no answer if its own passage is one."""
        holds = self.files.quotes
        citations = _held(answer.citations, holds)
        if answer.answerable and (not answer.citations or not holds(answer.citations[0])):
            related = tuple(c for c in citations if c.answer_start is None)
            return Answer(answer.question, "", False, answer.confidence, "", related)
        alternatives = tuple(replace(a, support=_held(a.support, holds)) for a in answer.alternatives)
        candidate = answer.candidate and replace(answer.candidate, citations=_held(answer.candidate.citations, holds))
        return replace(
            answer,
            citations=citations,
            support=_held(answer.support, holds),
            alternatives=tuple(a for a in alternatives if a.support),
            candidate=candidate if candidate and candidate.citations else None,
        )

    def sources(self) -> list[SourceInfo]:
        """The indexed articles; if one was deleted from the folder meanwhile,
        the index is brought up to date first (a stat per article)."""
        listed = self._parts.index.sources()
        if all((self.settings.corpus_dir / s.source).is_file() for s in listed):
            return listed
        self._catch_up()
        return [s for s in self._parts.index.sources() if (self.settings.corpus_dir / s.source).is_file()]

    def articles(self) -> Mapping[str, SourceInfo]:
        """The indexed articles by file name: headline, outlet, date added."""
        return self._parts.index.articles

    def text_layer(self, source: str) -> TextLayer:
        """The text layer of an indexed article, as its file reads now: the
        text every citation's offsets slice (:class:`UnknownArticle` if the
        index has no such article or its file can no longer be read)."""
        info = self._parts.index.article(source)
        if info is None:
            raise UnknownArticle(f"No indexed article is named {source!r}; GET /api/sources lists them.")
        text = self.files.text(source)
        if text is None:
            raise UnknownArticle(f"{source} is indexed but its file is gone or can no longer be read.")
        pages = tuple(self._parts.index.manifest["files"][source].get("pages", ()))
        return TextLayer(source, info.format, text, pages, info.sha256)

    def context(self, source: str, paragraph: int, around: int = 2) -> list[Paragraph]:
        """A paragraph with up to ``around`` indexed paragraphs either side
        (none if the index no longer holds it), for reading it in context."""
        return self._parts.index.neighbours(source, paragraph, around)

    def status(self) -> dict[str, Any]:
        m = self._parts.index.manifest
        return {
            "model": m["model"],
            "dimension": m["dimension"],
            "articles": len(m["files"]),
            "paragraphs": m["paragraphs"],
            "built_at": m["built_at"],
            "corpus": m["corpus"],
            "skipped": [{"source": s.source, "reason": s.reason} for s in self.last_update.skipped],
        }

    def check_question(self, question: str) -> str:
        if not isinstance(question, str):
            raise QuestionError("The question must be text.")
        question = question.strip()
        if not question:
            raise QuestionError("Please type a question: it is empty.")
        try:
            question.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate ("\ud800") can arrive in JSON, but no tokenizer or file holds one.
            raise QuestionError(
                "The question holds characters that are not valid text (an unpaired surrogate)."
            ) from None
        if len(question) > self.settings.max_question_chars:
            raise QuestionError(
                f"The question is {len(question):,} characters long; the limit is "
                f"{self.settings.max_question_chars:,}. Please shorten it."
            )
        return question

    def _check_k(self, k: int | None) -> int:
        if k is None:
            return self.settings.top_k
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise QuestionError(K_ERROR)
        return k

    @staticmethod
    def _cite(index: IndexView, span: Span) -> Citation:
        """The span's passage, with the syndicated copies that also contain the answer."""
        copies = tuple(
            loc for loc in span.passage.also_in if span.answer in index.paragraph_text(loc.source, loc.paragraph)
        )
        return span.passage.cited(span, copies)

    def _support(self, index: IndexView, answer: Evidence) -> tuple[Citation, ...]:
        return tuple(self._cite(index, span) for span in answer.support(index.family_of))


def make_reader(settings: Settings, index: IndexView) -> tuple[Reader, Ranker]:
    """The reader the settings ask for, and the ranker that reads its scores."""
    from qa.reading.neural import SHIPPED_READER, NeuralReader

    path = Path(settings.reader_model) if settings.reader_model else SHIPPED_READER
    has_weights = (path / "model.safetensors").is_file()
    if settings.reader == "neural" or (settings.reader == "auto" and has_weights):
        if not has_weights:
            raise RuntimeError(f"No reader weights in {path}: train them with python -m training.reader")
        reader, ranker = (
            NeuralReader(path, engine=settings.engine, cache_dir=settings.cache_dir),
            CalibratedRanker(index, path),
        )
    else:
        reader, ranker = SentenceReader(index), BestSpanRanker()
    reader.warm_up()
    ranker.warm_up()
    return reader, ranker


def _conflicts(answer: Evidence, best: Evidence, family_of: Callable[[str], str]) -> bool:
    """Whether ``answer`` is another value for what ``best`` answers, from
    another article: the same kind of thing ("Monday" / "Tuesday", "Sochi" /
    "Moscow"), no words in common ("Tuesday" / "Tuesday afternoon" agree), and
    given by some article that does not give ``best``. (Its confidence must
    reach the reader's own threshold as well: strong evidence of its own.)"""
    if kind_family(span_kind(answer.text)) != kind_family(span_kind(best.text)):
        return False
    if set(answer_words(answer.text)) & set(answer_words(best.text)):
        return False
    backing_best = {family_of(s) for s in best.articles}
    return any(family_of(s) not in backing_best for s in answer.articles)


def _placed(answer: Answer, index: IndexView) -> Answer:
    """The answer with each citation's page (PDF), and its article's headline,
    outlet, byline, address (web pages) and publication date: when sources
    differ, each alternative's support says who published it, and when."""

    def place(c: Citation) -> Citation:
        info = index.article(c.source)
        page = index.page_of(c.source, c.start + (c.answer_start or 0))
        if info is None:
            return c
        about = {"url": info.url, "published": info.published, "title": info.title, "outlet": info.outlet}
        return replace(c, page=page, author=info.author, **about)

    places = lambda cs: tuple(place(c) for c in cs)  # noqa: E731
    return replace(
        answer,
        citations=places(answer.citations),
        support=places(answer.support),
        alternatives=tuple(replace(a, support=places(a.support)) for a in answer.alternatives),
        candidate=answer.candidate and replace(answer.candidate, citations=places(answer.candidate.citations)),
    )


def _quotes(answer: Answer) -> list[Citation]:
    candidate = answer.candidate.citations if answer.candidate else ()
    return [*answer.citations, *answer.support, *(c for a in answer.alternatives for c in a.support), *candidate]


def _held(citations: tuple[Citation, ...], holds: Callable[[Citation], bool]) -> tuple[Citation, ...]:
    return tuple(c for c in citations if holds(c))
