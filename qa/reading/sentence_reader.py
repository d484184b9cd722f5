"""The sentence reader: the best sentence, narrowed to a short span when the
question asks for a short fact. No weights to load: the reader used when
there are no neural reader weights (``reader = "sentence"`` or ``"auto"``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.index.view import IndexView
from qa.reading.kinds import MONTH, WEEKDAY, QuestionTypes, load_question_types
from qa.reading.sentences import sentence_spans
from qa.search import embeddings
from qa.search.tokenization import QUESTION_WORDS, bm25_tokenize, weighted_share
from qa.types import Passage, Span

_NUMBER_WORD = r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundreds|thousands|millions|dozens|several|a few)"
_UNIT = r"(?:hour|minute|day|week|month|year|dozen|hundred|thousand|million|billion|percent)s?"

_PATTERNS = {
    "date": re.compile(
        rf"\b(?:{MONTH}\s+\d{{1,2}}(?:,\s*\d{{4}})?|\d{{1,2}}\s+{MONTH}(?:,?\s*\d{{4}})?|{MONTH}(?:\s+\d{{4}})?"
        rf"|(?:last|next|this)\s+(?:week|month|year|{WEEKDAY})|{WEEKDAY}(?:\s+(?:morning|afternoon|evening|night))?"
        rf"|(?:in\s+)?(?:1[89]|20)\d\d)\b"
    ),
    "quantity": re.compile(
        rf"\b(?:\d[\d,.]*(?:\s+(?:{_UNIT}|[a-z][\w\-]*))?|{_NUMBER_WORD}\s+(?:{_UNIT}|[a-z][\w\-]*)"
        rf"|(?:an?|one)\s+(?:{_UNIT}))\b",
        re.I,
    ),
    # Runs of capitalised words (names, places, organisations, acronyms),
    # allowing lower-case joiners inside ("Tomb of the Unknown Soldier").
    "name": re.compile(
        r"\b[A-Z][\w.\-]*(?:[’']s\b)?(?:(?<![’']s)\s+(?:(?:of|the|de|von|al|bin)\s+)?(?:[A-Z][\w.\-]*|\d[\w\-]*)(?:[’']s\b)?)*"
    ),
}


# The pattern a question's most likely answer kind (qa/reading/kinds.py) is narrowed to;
# other kinds (phrases, clauses) are answered with the whole sentence.
_PATTERN_OF_KIND = {
    "name": "name",
    "organisation": "name",
    "city": "name",
    "country": "name",
    "place": "name",
    "date": "date",
    "number": "quantity",
}


def answer_pattern(question: str, types: QuestionTypes) -> str | None:
    """The pattern of the short answer a question asks for, or None (answer with the sentence)."""
    probabilities = types.probabilities(question)
    return _PATTERN_OF_KIND.get(max(probabilities, key=probabilities.get))


_HEADLINE = re.compile(r"(?:\S+\s+){0,14}\S*[^.!?\"”’'\s]")

_TITLES = {
    "President",
    "Minister",
    "Secretary",
    "Ambassador",
    "Senator",
    "Governor",
    "Prime Minister",
    "Foreign Minister",
}


_WHO = re.compile(r"^\s*(?:who|whom|whose)\b", re.I)

_WHERE = re.compile(r"^\s*where\b|\bwhich (?:city|country|town|place|region)\b", re.I)

_PLACE_PREPOSITION = re.compile(r"\b(?:in|at|near|to|from)\s+(?:the\s+)?$", re.I)

_OPENER = re.compile(
    r"(?:(?:The|A|An|But|And|In|On|At|Last|This|It|He|She|They|Earlier|Even|While|During|After|Before|Since|"
    r"Despite|Although|When|As|For|With|Under|Over|Meanwhile|However)\s+)+"
)


def _words(text: str) -> set[str]:
    """Lower-case words, with "U.S." also as "us"."""
    words = {w.lower() for w in re.findall(r"\w+", text)}
    return words | {w.replace(".", "").lower() for w in re.findall(r"\w+(?:\.\w+)+\.?", text)}


def _trim_known(sentence: str, start: int, end: int, known: set[str]) -> tuple[int, int]:
    """Shrink ``sentence[start:end]`` past words the question already says
    ("Russia Jon Huntsman" → "Jon Huntsman" for "ambassador to Russia")."""
    words = list(re.finditer(r"\w+(?:[’'.]\w+)*\.?", sentence[start:end]))

    def is_known(m: re.Match[str]) -> bool:
        word = re.sub(r"[’']s$", "", m.group()).lower()
        return word in known or word.replace(".", "") in known or word in ("of", "the", "and")

    while words and is_known(words[0]):
        words.pop(0)
    while words and is_known(words[-1]):
        words.pop()
    if not words:
        return start, start
    return start + words[0].start(), start + words[-1].end()


class SentenceReader:
    """The best sentence, narrowed to a short span when the question asks for a short fact.

    A sentence's score mixes its embedding similarity to the question with how
    much of the question's weighted vocabulary it contains, and the retrieval
    score of its passage. Short-fact questions (who, when, where, how many,
    which) are narrowed to the name, date or quantity in the sentence that is
    not part of the question and stands nearest to the question's words.
    """

    def __init__(self, index: IndexView, weights: tuple[float, float, float] = (0.45, 0.45, 0.10)):
        self.index = index
        self.weights = weights

    def warm_up(self) -> None:
        embeddings.load_encoder(self.index.model)

    def run(self, question: str, passages: Sequence[Passage], context: str = "") -> list[Span]:
        if not passages:
            return []
        query = f"{context} {question}".strip()
        candidates = [(p, a, b) for p in passages for a, b in sentence_spans(p.text)]
        texts = [p.text[a:b] for p, a, b in candidates]
        vectors = embeddings.encode(self.index.model, [question, query, *texts])
        cosines = vectors[2:] @ vectors[0]
        if context:
            cosines = 0.7 * cosines + 0.3 * (vectors[2:] @ vectors[1])
        question_terms = self.index.term_weights(question)
        context_terms = {t: w for t, w in self.index.term_weights(context).items() if t not in question_terms}
        kind = answer_pattern(question, load_question_types())

        spans = []
        tokens = bm25_tokenize(texts)  # one call for all sentences: this is the hot path
        for (passage, a, b), text, cosine, sentence_tokens in zip(candidates, texts, cosines, tokens, strict=True):
            sentence_terms = set(sentence_tokens)
            coverage = weighted_share(question_terms, sentence_terms)
            if context_terms:
                # The question itself decides; the earlier turn only breaks ties.
                coverage = 0.8 * coverage + 0.2 * weighted_share(context_terms, sentence_terms)
            w_cos, w_cov, w_ret = self.weights
            score = w_cos * max(float(cosine), 0.0) + w_cov * coverage + w_ret * passage.score
            if _HEADLINE.fullmatch(text):
                score *= 0.8  # headlines compress: the body says the same with context
            answer = (a, b)
            if kind:
                narrowed = self._narrow(text, kind, question, context)
                if narrowed:
                    answer = (a + narrowed[0], a + narrowed[1])
                else:
                    score *= 0.6  # the sentence lacks what the question asks for
            spans.append(Span(passage, answer[0], answer[1], a, b, min(max(score, 0.0), 1.0)))
        spans.sort(key=lambda s: -s.score)
        return spans

    @staticmethod
    def _narrow(sentence: str, kind: str, question: str, context: str) -> tuple[int, int] | None:
        """Offsets (in ``sentence``) of the short answer, or None if none fits."""
        asked = _words(question)
        known = asked | _words(context)
        # Question words in the sentence; a shared 5-letter prefix counts
        # ("founded" ~ "founder").
        stems = {w[:5] for w in asked - QUESTION_WORDS}
        anchors = [m.span() for m in re.finditer(r"\w+", sentence) if m.group().lower()[:5] in stems]
        best: tuple[float, int, int] | None = None
        place = bool(_WHERE.search(question))
        person = bool(_WHO.search(question))
        for match in _PATTERNS[kind].finditer(sentence):
            start, end = match.span()
            words = re.findall(r"\w+", match.group())
            if kind == "name":
                # Drop capitalised sentence openers ("The", "But") and the
                # possessive "’s" that names carry.
                opener = _OPENER.match(sentence, start) if start == 0 else None
                start = opener.end() if opener else start
                possessive = re.search(r"[’']s$", sentence[start:end])
                end = start + possessive.start() if possessive else end
            start, end = _trim_known(sentence, start, end, known)
            if not words or start >= end:
                continue
            if kind == "name" and sentence[start:end] in _TITLES:
                continue  # "President" alone names nobody
            # Near many of the question's words, and for "where", after a preposition of place.
            # Question words that qualify the name from inside its run count
            # ("Ambassador to Russia Jon Huntsman"); ones it modifies do not
            # ("Moscow-based Baring Vostok").
            outside = [(a, b) for a, b in anchors if b <= start or a >= match.end()]
            # The person a "who" question asks for is usually the subject: the
            # name comes before the question's verb ("Peskov told journalists").
            closeness = sum(
                (2.0 if person and a >= end else 1.0) / (1.0 + max(a - end, start - b, 0) / 8) for a, b in outside
            )
            if place and _PLACE_PREPOSITION.search(sentence, 0, start):
                closeness = 2 * closeness + 1
            if best is None or closeness > best[0]:
                best = (closeness, start, end)
        return (best[1], best[2]) if best else None
