"""The question-answering pipeline: index → retriever → reader → cited answer.

>>> from qa import QAPipeline, Settings
>>> bot = QAPipeline(Settings.from_env(corpus_dir="corpus"))
>>> answer = bot.ask("Where did Putin meet Trump in July?")
>>> answer.answer, answer.citations[0].source
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qa.aggregate import Evidence, aggregate, answer_words
from qa.answer_types import kind_family, span_kind
from qa.index import CorpusIndex, IndexStore, Progress, UpdateReport
from qa.provenance import SourceFiles
from qa.reader import Reader, SentenceReader
from qa.retrieval import HybridRetriever
from qa.settings import Settings
from qa.timing import stage
from qa.types import Alternative, Answer, Citation, Location, Message, Paragraph, Passage, SourceInfo, Span

log = logging.getLogger(__name__)

# Words that point back to an earlier turn of the conversation.
_BACK_REFERENCE = re.compile(
    r"\b(?:he|she|him|her|his|hers|they|them|their|it|its|this|that|these|those|there|then|the same)\b", re.I
)
_CONTENT_WORD = re.compile(r"\b[A-Za-z][a-z]{3,}\b|\b[A-Z][A-Za-z]+\b|\d+")


class QuestionError(ValueError):
    """The question cannot be asked as given; the message says why."""


@dataclass(frozen=True)
class _Components:
    index: CorpusIndex
    retriever: HybridRetriever
    reader: Reader


class QAPipeline:
    """Answers questions about a folder of articles with verbatim, cited spans.

    Opening the pipeline loads the index, first bringing it up to date with
    the corpus folder (building it on first use).
    """

    def __init__(self, settings: Settings | None = None, progress: Progress | None = None):
        self.settings = settings or Settings.from_env()
        self.store = IndexStore(self.settings)
        self.files = SourceFiles(self.settings.corpus_dir)
        self._lock = threading.Lock()
        index, self.last_update = self.store.open(progress)
        self._parts = self._assemble(index)

    def _assemble(self, index: CorpusIndex) -> _Components:
        retriever = HybridRetriever(index, self.settings)
        retriever.warm_up()
        return _Components(index, retriever, make_reader(self.settings, index))

    @property
    def index(self) -> CorpusIndex:
        return self._parts.index

    @property
    def reader(self) -> Reader:
        return self._parts.reader

    def refresh(self, progress: Progress | None = None, force: bool = False) -> UpdateReport:
        """Re-read the corpus folder and update the index (only what changed)."""
        with self._lock:
            index, report = self.store.update(progress, force=force)
            self._parts = self._assemble(index)
            self.last_update = report
            return report

    def ask(
        self, question: str, history: Sequence[Message | dict[str, Any]] | None = None, k: int | None = None
    ) -> Answer:
        """Answer ``question``; ``history`` holds the earlier chat turns.

        Every quote is checked against its file before the answer is given: if
        an article changed on disk since it was indexed, the index is brought
        up to date and the question asked again, and whatever still does not
        match its file is dropped."""
        answer = self._ask(question, history, k)
        with stage("checking quotes"):
            if all(self.files.quotes(c) for c in _quotes(answer)):
                return answer
        self._catch_up()
        return self._without_stale(self._ask(question, history, k))

    def _ask(self, question: str, history: Sequence[Message | dict[str, Any]] | None, k: int | None) -> Answer:
        question = self.check_question(question)
        parts = self._parts  # one consistent snapshot even if a refresh swaps it
        k = self._check_k(k)
        messages = as_messages(history or [])
        context = conversation_context(question, messages)
        read_k = max(k, self.settings.read_k)
        passages = parts.retriever.run(retrieval_query(question, context), max(read_k, self.settings.mention_k))
        asked = standalone_question(question, messages)
        spans = parts.reader.run(asked, passages[:read_k], context)
        with stage("aggregation"):
            answers = aggregate(spans, passages, parts.index.family_of)
        with stage("ranking and calibration"):
            ranked = parts.reader.rank(asked, answers)
        with stage("citations"):
            return self._answer(question, ranked, passages, parts, k)

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
            threshold = parts.reader.abstain_below
        if not ranked or ranked[0][0] < threshold:
            related = tuple(_citation(p, None) for p in passages[:k])
            return Answer(question, "", False, round(ranked[0][0] if ranked else 0.0, 4), "", related)
        confidence, best = ranked[0]
        cited = [self._cite(parts.index, best.best)]
        cited += [_citation(p, None) for p in passages if p is not best.best.passage][: k - 1]
        alternatives = tuple(
            Alternative(e.text, round(p, 4), self._support(parts.index, e))
            for p, e in ranked[1:]
            if p >= parts.reader.abstain_below and _conflicts(e, best, parts.index.family_of)
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
        self, query: str, k: int | None = None, history: Sequence[Message | dict[str, Any]] | None = None
    ) -> list[Passage]:
        """The passages most relevant to ``query``, one per duplicate group.
        With ``history``, a follow-up is searched as ``ask`` searches it."""
        query = self.check_question(query)
        if history:
            query = retrieval_query(query, conversation_context(query, as_messages(history)))
        k = self._check_k(k)
        passages = self._parts.retriever.run(query, k)
        if all(self.files.quotes(p) for p in passages):
            return passages
        self._catch_up()
        return [p for p in self._parts.retriever.run(query, k) if self.files.quotes(p)]

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
        citations = tuple(c for c in answer.citations if holds(c))
        if answer.answerable and (not answer.citations or not holds(answer.citations[0])):
            related = tuple(c for c in citations if c.answer_start is None)
            return Answer(answer.question, "", False, answer.confidence, "", related)
        alternatives = tuple(replace(a, support=tuple(c for c in a.support if holds(c))) for a in answer.alternatives)
        return replace(
            answer,
            citations=citations,
            support=tuple(c for c in answer.support if holds(c)),
            alternatives=tuple(a for a in alternatives if a.support),
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
        if not isinstance(k, int) or not 1 <= k <= 50:
            raise QuestionError("k must be a whole number from 1 to 50.")
        return k

    @staticmethod
    def _cite(index: CorpusIndex, span: Span) -> Citation:
        """The span's passage, with the syndicated copies that also contain the answer."""
        copies = tuple(
            loc for loc in span.passage.also_in if span.answer in index.paragraph_text(loc.source, loc.paragraph)
        )
        return _citation(span.passage, span, copies)

    def _support(self, index: CorpusIndex, answer: Evidence) -> tuple[Citation, ...]:
        return tuple(self._cite(index, span) for span in answer.support(index.family_of))


def make_reader(settings: Settings, index: CorpusIndex) -> Reader:
    """The reader the settings ask for."""
    from qa.neural_reader import SHIPPED_READER, NeuralReader

    path = Path(settings.reader_model) if settings.reader_model else SHIPPED_READER
    has_weights = (path / "model.safetensors").is_file()
    if settings.reader == "neural" or (settings.reader == "auto" and has_weights):
        if not has_weights:
            raise RuntimeError(f"No reader weights in {path}: train them with python -m qa.train_reader")
        reader = NeuralReader(index, path, engine=settings.engine, cache_dir=settings.cache_dir)
    else:
        reader = SentenceReader(index)
    reader.warm_up()
    return reader


def conversation_context(question: str, history: Sequence[Message]) -> str:
    """Earlier turns worth adding to a follow-up question's search.

    A question that points back ("When did he arrive?") or is too short to
    stand alone borrows the last user question and the answer it got.
    """
    if not history:
        return ""
    if not _BACK_REFERENCE.search(question) and len(_CONTENT_WORD.findall(question)) > 3:
        return ""
    last_user, last_answer = _last_turn(history)
    return f"{last_user} {last_answer[:300]}".strip()


def retrieval_query(question: str, context: str) -> str:
    """What the retrievers search for: the question, after any earlier turn it needs."""
    return f"{context} {question}".strip()


def _last_turn(history: Sequence[Message]) -> tuple[str, str]:
    """The last user question and the first line of the last answer (a chat
    reply may carry citations after it)."""
    last_user = next((m.content for m in reversed(history) if m.role == "user"), "")
    last_answer = next((m.content for m in reversed(history) if m.role == "assistant"), "")
    return last_user, last_answer.strip().split("\n", 1)[0]


_PRONOUN = re.compile(r"\b(?:he|she|him|her|they|them)\b", re.I)
_NAME_ANSWER = re.compile(r"[A-Z][\w’'.\-]*(?:\s+[A-Z][\w’'.\-]*){0,4}")
# Capitalised runs after the first word (which is capitalised anyway).
_NAME = re.compile(r"(?<!^)\b[A-Z][\w’'.\-]*(?:\s+[A-Z][\w’'.\-]*)*")
_THING = re.compile(r"\b(it|its)\b", re.I)
# A noun phrase opened by "the": names and numbers ("the G20", "the New Start"),
# then at most two lower-case words ("summit", "foreign minister"), never one
# of the words that end a noun phrase in a question (auxiliaries,
# prepositions, common verbs).
_THE_PHRASE = re.compile(r"\bthe((?:\s+[A-Z0-9][\w’'\-]*)*)((?:\s+[a-z][\w’'\-]*){0,2})")
_NOT_IN_PHRASE = frozenset(
    "be been being is are was were will would shall should can could may might must do does did has have had "
    "of in on at to for with from by about between against over under into after before during since until "
    "and or but that which who whom whose where when why how than as if "
    "take took taken make made hold held happen happened begin began start started end ended meet met "
    "say said go went come came expire expired get got give gave".split()
)


def _the_phrase(question: str) -> str | None:
    """The first noun phrase opened by "the" in ``question`` ("the G20
    summit" in "Where will the G20 summit be held?"), if any."""
    for match in _THE_PHRASE.finditer(question):
        names = match.group(1)
        heads = []
        for word in match.group(2).split():
            if word in _NOT_IN_PHRASE:
                break
            heads.append(word)
        if names or heads:
            return " ".join(["the", *names.split(), *heads])
    return None


def standalone_question(question: str, history: Sequence[Message]) -> str:
    """The question with its first pronoun replaced by what the conversation
    was about. A personal pronoun ("he") names the person: the last answer
    if it is a name ("Michael Calvey"), else the last name in the previous
    question ("Paul Whelan"). "it" and "its" name the thing the previous
    question was about: its first noun phrase opened by "the" ("the G20
    summit"). Without a clear referent the question is returned unchanged."""
    if not history:
        return question
    last_user, last_answer = _last_turn(history)
    if _PRONOUN.search(question):
        if _NAME_ANSWER.fullmatch(last_answer):
            referent = last_answer
        else:
            names = _NAME.findall(last_user)
            if not names:
                return question
            referent = names[-1]
        return _PRONOUN.sub(referent, question, count=1)
    thing = _THING.search(question)
    referent = _the_phrase(last_user) if thing else None
    if referent is None:
        return question
    if thing.group(1).lower() == "its":
        referent += "’s" if "’" in question else "'s"
    return question[: thing.start()] + referent + question[thing.end() :]


# A conversation's earlier turns: only the last exchange is read, so these are
# generous; they keep a client from making the server hold megabytes per call.
MAX_TURNS = 50
MAX_TURN_CHARS = 20_000


def as_messages(history: Sequence[Message | dict[str, Any]]) -> list[Message]:
    """Earlier chat turns, checked: a list of at most ``MAX_TURNS`` turns of
    at most ``MAX_TURN_CHARS`` characters each (a chat's non-text turns, such
    as files, are skipped)."""
    if not isinstance(history, list | tuple):
        raise QuestionError('history must be a list of turns: [{"role": "user" or "assistant", "content": text}].')
    if len(history) > MAX_TURNS:
        raise QuestionError(f"history has {len(history):,} turns; the limit is {MAX_TURNS}.")
    messages = []
    for turn in history:
        if isinstance(turn, Message):
            messages.append(turn)
            continue
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
            raise QuestionError('Each history turn must be {"role": "user" or "assistant", "content": text}.')
        content = turn.get("content")
        if isinstance(content, str):
            if len(content) > MAX_TURN_CHARS:
                raise QuestionError(
                    f"A history turn is {len(content):,} characters long; the limit is {MAX_TURN_CHARS:,}."
                )
            messages.append(Message(turn["role"], content))
    return messages


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


def _quotes(answer: Answer) -> list[Citation]:
    return [*answer.citations, *answer.support, *(c for a in answer.alternatives for c in a.support)]


def _citation(passage: Passage, span: Span | None, also_in: tuple[Location, ...] | None = None) -> Citation:
    return Citation(
        source=passage.source,
        paragraph=passage.paragraph,
        start=passage.start,
        end=passage.end,
        text=passage.text,
        answer_start=span.answer_start if span else None,
        answer_end=span.answer_end if span else None,
        score=passage.score,
        also_in=passage.also_in if also_in is None else also_in,
    )
