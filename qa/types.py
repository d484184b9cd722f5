"""The data that flows through the pipeline: paragraphs in, cited answers out.

Offsets are character offsets into the article's text layer: a ``.txt``
file decoded as UTF-8 (``path.read_bytes().decode("utf-8")``), or the text
extracted from a web page, PDF, Word or Markdown file (qa/corpus/formats), so
``text[start:end]`` always reproduces the quoted paragraph exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of an article, with its exact location in the file."""

    source: str  # file name relative to the corpus folder
    paragraph: int  # 1-based number among the article's kept paragraphs
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Article:
    """A readable article: its title, full text and kept paragraphs."""

    source: str
    title: str
    sha256: str
    text: str
    paragraphs: tuple[Paragraph, ...]
    outlet: str = ""  # the outlet its metadata or its dateline ("(Reuters) - ...") names, if any
    author: str = ""
    published: str = ""  # ISO 8601 date, from the file's metadata
    url: str = ""  # the article's canonical address, when a web page names one
    pages: tuple[int, ...] = ()  # where each page starts in ``text`` (PDF); () when not paged
    format: str = "txt"  # which reader gave the text layer: txt, html, pdf, docx, md


@dataclass(frozen=True)
class Location:
    """Where a syndicated copy of a passage stands in another file."""

    source: str
    paragraph: int
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A retrieved paragraph with its score and its syndicated copies."""

    source: str
    paragraph: int
    start: int
    end: int
    text: str
    score: float
    also_in: tuple[Location, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"also_in": [asdict(loc) for loc in self.also_in]}

    def cited(self, span: Span | None = None, also_in: tuple[Location, ...] | None = None) -> Citation:
        """The passage as a citation of ``span``'s answer (none: a related passage)."""
        start, end = (span.answer_start, span.answer_end) if span else (None, None)
        copies = self.also_in if also_in is None else also_in
        return Citation(self.source, self.paragraph, self.start, self.end, self.text, start, end, self.score, copies)


@dataclass(frozen=True)
class Span:
    """A reader's answer candidate: character offsets into ``passage.text``."""

    passage: Passage
    answer_start: int
    answer_end: int
    sentence_start: int
    sentence_end: int
    # The reader's own score: for the neural reader the raw start + end logit,
    # comparable across passages; for the sentence reader a score in [0, 1].
    score: float
    # Neural reader: the "no answer" score of the window the span was read in.
    null_score: float | None = None

    @property
    def answer(self) -> str:
        return self.passage.text[self.answer_start : self.answer_end]

    @property
    def margin(self) -> float:
        """How far the span beats "no answer" where it was read (its score, without one)."""
        return self.score - (self.null_score if self.null_score is not None else 0.0)

    @property
    def sentence(self) -> str:
        return self.passage.text[self.sentence_start : self.sentence_end]


@dataclass(frozen=True)
class Citation:
    """A passage quoted in an answer; ``answer_*`` index into ``text``."""

    source: str
    paragraph: int
    start: int
    end: int
    text: str
    answer_start: int | None
    answer_end: int | None
    score: float
    also_in: tuple[Location, ...] = ()
    page: int | None = None  # the PDF page that holds the answer (or the passage's start)
    url: str = ""  # the article's address, when its web page names one
    published: str = ""  # the article's publication date (ISO), when its file names one
    title: str = ""  # the article's headline
    outlet: str = ""  # the article's outlet, when its metadata or dateline names one
    author: str = ""  # the article's byline, when its file names one

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"also_in": [asdict(loc) for loc in self.also_in]}


@dataclass(frozen=True)
class Alternative:
    """Another answer that other articles give, with its own evidence."""

    answer: str
    confidence: float
    support: tuple[Citation, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "confidence": round(self.confidence, 4),
            "support": [c.to_dict() for c in self.support],
        }


@dataclass(frozen=True)
class Candidate:
    """When the bot declines: the closest the articles come, its best answer
    with the probability that it is right, offered as "possibly", never as
    the answer. ``citations`` hold one passage per independent article that
    gives it, with the answer's offsets."""

    answer: str
    confidence: float
    citations: tuple[Citation, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "confidence": round(self.confidence, 4),
            "citations": [c.to_dict() for c in self.citations],
        }


@dataclass(frozen=True)
class Answer:
    """What the bot says: a verbatim answer and the citations behind it.

    ``confidence`` is the calibrated probability that the answer is right.
    ``support`` holds one citation per independent article that gives the
    answer (syndicated copies of an article count once and appear in its
    ``also_in``), each with the answer's offsets in that article's words;
    ``alternatives`` are other answers that other articles give with strong
    evidence of their own ("sources differ").

    When the articles do not answer the question, ``answerable`` is False,
    ``answer`` and ``sentence`` are empty, ``support`` and ``alternatives``
    are empty and ``citations`` hold the closest passages as related reading
    (with null ``answer_start``/``answer_end``). If the best answer's
    probability still reaches the candidate floor, ``candidate`` carries it.
    """

    question: str
    answer: str
    answerable: bool
    confidence: float
    sentence: str
    citations: tuple[Citation, ...] = field(default_factory=tuple)
    support: tuple[Citation, ...] = field(default_factory=tuple)
    alternatives: tuple[Alternative, ...] = field(default_factory=tuple)
    candidate: Candidate | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "answerable": self.answerable,
            "confidence": round(self.confidence, 4),
            "sentence": self.sentence,
            "citations": [c.to_dict() for c in self.citations],
            "support": [c.to_dict() for c in self.support],
            "alternatives": [a.to_dict() for a in self.alternatives],
            "candidate": self.candidate.to_dict() if self.candidate else None,
        }


@dataclass(frozen=True)
class SourceInfo:
    """One indexed article, as listed by ``qa sources``."""

    source: str
    title: str
    paragraphs: int
    sha256: str
    outlet: str = ""  # named by the file's metadata or the article's dateline, "" when neither does
    added: str = ""  # when this version entered the index (ISO 8601, UTC)
    author: str = ""
    published: str = ""  # ISO 8601 date, from the file's metadata
    url: str = ""  # the article's canonical address, when a web page names one
    format: str = "txt"  # txt, html, pdf, docx or md

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TextLayer:
    """An indexed article's text layer as its file reads now: what every
    citation's ``start``/``end`` slice (``GET /api/articles/{source}/text``)."""

    source: str
    format: str  # txt, html, pdf, docx or md
    text: str
    pages: tuple[int, ...] = ()  # where each page starts in ``text`` (PDF)
    sha256: str = ""  # of the file the index read

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"pages": list(self.pages)}


@dataclass(frozen=True)
class Filter:
    """Which articles a question is asked of: any of ``outlets`` (case aside),
    published from ``published_from`` to ``published_to`` (ISO dates, both
    ends included). An empty filter admits every article; an article with no
    publication date is outside any date range, since nothing says it is in."""

    outlets: tuple[str, ...] = ()
    published_from: str = ""
    published_to: str = ""

    def __bool__(self) -> bool:
        return bool(self.outlets or self.published_from or self.published_to)

    def admits(self, info: SourceInfo) -> bool:
        if self.outlets and info.outlet.casefold() not in {o.casefold() for o in self.outlets}:
            return False
        day = info.published[:10]
        if (self.published_from or self.published_to) and not day:
            return False
        return not (self.published_from and day < self.published_from) and not (
            self.published_to and day > self.published_to
        )

    def describe(self) -> str:
        """The filter in words: "from Reuters or AP, published 2019-05-01 to 2019-05-31"."""
        parts = []
        if self.outlets:
            parts.append("from " + " or ".join(self.outlets))
        if self.published_from and self.published_to:
            parts.append(f"published {self.published_from} to {self.published_to}")
        elif self.published_from:
            parts.append(f"published on or after {self.published_from}")
        elif self.published_to:
            parts.append(f"published on or before {self.published_to}")
        return ", ".join(parts)


class UnknownArticle(LookupError):
    """No indexed article has that name, or its file can no longer be read; the message says which."""


@dataclass(frozen=True)
class Message:
    """One chat turn."""

    role: str  # "user" or "assistant"
    content: str


class QuestionError(ValueError):
    """The question cannot be asked as given; the message says why."""


class NoArticleMatches(QuestionError):
    """The question's filter admits no indexed article; the message names what there is."""


# How many passages a caller may ask for: enough for any reading, few enough to keep a reply small.
MAX_K = 50
K_ERROR = f"k must be a whole number from 1 to {MAX_K}."
