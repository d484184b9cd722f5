"""Evidence aggregation: the reader's candidate spans, from every passage, become
answers, each with all the evidence for it.

Pure functions over :class:`~qa.types.Span` objects; no model is involved.

- Spans of one passage that overlap are one answer location read with
  different boundaries ("embezzlement" / "embezzlement charges", "the US" /
  "the US for provoking the crisis"): only the one with the largest margin is
  kept, as Haystack's ExtractiveReader does with its ``overlap_threshold``.
  Otherwise a boundary variant would stand as the runner-up of its own
  answer, and the margin to the runner-up would measure boundaries rather
  than disagreement.
- Spans whose normalised words are the same answer are merged: equal words
  once a leading preposition is dropped ("in February" / "February"),
  transliterations ("Sergei" / "Sergey"), or one the tail of the other
  ("Sochi" / "the Black Sea resort of Sochi", "Lavrov" / "Sergey Lavrov": the
  head of an English noun phrase comes last) or its first part before a comma
  or bracket ("Osaka" / "Osaka, Japan", "Joint Comprehensive Plan of Action" /
  "... (JCPOA)"). "Moscow" and "a Moscow jail", or "the US" and "the US
  secretary of state", stay apart: there the shorter one is a modifier.
- Evidence is pooled across passages: the log-sum-exp of the margin by which
  the answer beats "no answer" in each passage that has it. One passage's
  evidence counts as its margin; each further passage adds to it, most when
  its own margin is close to the best one.
- Supporting articles are counted as independent articles: syndicated copies
  (articles that share a duplicate paragraph group) count once. Besides the
  articles where the reader found the answer, the retrieved passages it did
  not read (or read without ranking the answer high) are searched for the
  answer's words: how many articles mention an answer at all is a feature of
  the answer score too, and costs a string search, not a model.

Three articles that give "Sochi" with modest margins thus outweigh one that
gives "Venezuela" with a somewhat larger one.
"""

from __future__ import annotations

import difflib
import math
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qa.types import Passage, Span


@dataclass(frozen=True)
class Evidence:
    """One answer and everything the reader found for it."""

    text: str  # the answer as its best mention reads
    mentions: tuple[Span, ...]  # the best mention in each passage that has one, by margin, best first
    articles: tuple[str, ...]  # one source per independent article, in order of their best mention
    mentioned_in: int  # independent articles among all the retrieved passages that mention the answer
    pooled: float  # log-sum-exp of the mentions' margins over "no answer"
    retrieval: float  # the best retrieval score among the mentions' passages
    rank: int  # the best retrieval rank (0 = first) among the mentions' passages

    @property
    def best(self) -> Span:
        return self.mentions[0]

    def support(self, family_of: Callable[[str], str]) -> list[Span]:
        """The best mention in each independent article, best first."""
        seen: set[str] = set()
        chosen = []
        for span in self.mentions:
            family = family_of(span.passage.source)
            if family not in seen:
                seen.add(family)
                chosen.append(span)
        return chosen


_PREPOSITIONS = frozenset("in on at by for from of to until since during after before near".split())


def answer_words(text: str) -> tuple[str, ...]:
    """The words an answer is compared by: SQuAD normalisation, without a leading preposition."""
    words = normalize_answer(text).split()
    return tuple(words[1:] if len(words) > 1 and words[0] in _PREPOSITIONS else words)


def same_answer(shorter: Span, longer: Span) -> bool:
    """Whether two mentions name the same answer (see the module docstring)."""
    return _same(shorter.answer, answer_words(shorter.answer), longer.answer, answer_words(longer.answer))


def _same(text_a: str, a: tuple[str, ...], text_b: str, b: tuple[str, ...]) -> bool:
    if len(a) > len(b):
        text_a, a, text_b, b = text_b, b, text_a, a
    if not a:
        return False
    if len(a) == len(b):
        return all(_same_word(x, y) for x, y in zip(a, b, strict=True))
    if all(_same_word(x, y) for x, y in zip(a, b[-len(a) :], strict=True)):
        return True
    head = re.split(r"[,(]", text_b, maxsplit=1)[0]
    return head != text_b and answer_words(head) == a


def _same_word(x: str, y: str) -> bool:
    if x == y:
        return True
    # Transliterations and spelling variants of one name: Sergei / Sergey.
    return min(len(x), len(y)) >= 5 and x[0] == y[0] and difflib.SequenceMatcher(None, x, y).ratio() >= 0.8


def aggregate(
    spans: Sequence[Span], passages: Sequence[Passage], family_of: Callable[[str], str] = str
) -> list[Evidence]:
    """Merge the spans into answers with pooled evidence, strongest first.

    ``passages`` are all the retrieved passages, best first (the reader may
    have read only the first of them); ``family_of`` maps a source file to its
    syndication family (by default every file is its own).
    """
    # Answers with the same words are one group at once; only the groups' first
    # mentions are compared for the looser matches.
    by_words: dict[tuple[str, ...], list[Span]] = {}
    for span in distinct_locations(spans):
        words = answer_words(span.answer)
        if words:
            by_words.setdefault(words, []).append(span)
    groups: list[tuple[tuple[str, ...], list[Span]]] = []
    for words, members in by_words.items():
        lead = members[0].answer
        for group_words, group in groups:
            if _same(lead, words, group[0].answer, group_words):
                group.extend(members)
                break
        else:
            groups.append((words, list(members)))
    rank_of = {(p.source, p.paragraph): i for i, p in enumerate(passages)}
    lowered = [(p.source, p.text.lower()) for p in passages]
    evidence = [_evidence(group, rank_of, family_of, lowered) for _, group in groups]
    return sorted(evidence, key=lambda e: -e.pooled)


def distinct_locations(spans: Sequence[Span]) -> list[Span]:
    """The spans by margin, best first, without those that overlap a better one in the same passage."""
    kept: dict[tuple[str, int], list[Span]] = {}
    chosen = []
    for span in sorted(spans, key=lambda s: -s.margin):
        in_passage = kept.setdefault((span.passage.source, span.passage.paragraph), [])
        if not any(_overlap(span, other) for other in in_passage):
            in_passage.append(span)
            chosen.append(span)
    return chosen


def _overlap(a: Span, b: Span) -> bool:
    return min(a.answer_end, b.answer_end) > max(a.answer_start, b.answer_start)


def _evidence(
    group: list[Span],
    rank_of: dict[tuple[str, int], int],
    family_of: Callable[[str], str],
    lowered: list[tuple[str, str]],
) -> Evidence:
    best_per_passage: dict[tuple[str, int], Span] = {}
    for span in sorted(group, key=lambda s: -s.margin):
        best_per_passage.setdefault((span.passage.source, span.passage.paragraph), span)
    mentions = tuple(best_per_passage.values())
    families: dict[str, str] = {}
    for span in mentions:
        families.setdefault(family_of(span.passage.source), span.passage.source)
    top = mentions[0].margin
    variants = {s.answer.lower() for s in group}
    mentioned = {family_of(source) for source, text in lowered if any(_says(text, v) for v in variants)}
    return Evidence(
        text=mentions[0].answer,
        mentions=mentions,
        articles=tuple(families.values()),
        mentioned_in=len(mentioned | set(families)),
        pooled=top + math.log(sum(math.exp(s.margin - top) for s in mentions)),
        retrieval=max(s.passage.score for s in mentions),
        rank=min(rank_of.get((s.passage.source, s.passage.paragraph), len(rank_of)) for s in mentions),
    )


_WORD_CHAR = re.compile(r"\w")


def _says(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words."""
    start = text.find(phrase)
    while start >= 0:
        end = start + len(phrase)
        before = start == 0 or not _WORD_CHAR.match(text[start - 1])
        after = end == len(text) or not _WORD_CHAR.match(text[end])
        if before and after:
            return True
        start = text.find(phrase, start + 1)
    return False


_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())
