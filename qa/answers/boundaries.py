"""Answer boundaries: an answer ends where its phrase ends.

The reader often reads past the thing a question asks for into what the
article says about it: "New Start, one of the last remaining arms control
agreements between ..." for "Which arms control agreement ...?". Such a span
is not a wrong place in the article, only a wrong end. An apposition or a
relative clause (after a comma, a bracket, a dash or a semicolon, or
a "who"/"which" after a name) adds to a phrase, and the phrase is the answer
when it is the kind of thing the question asks for.

Which end is kept is decided by the answer-kind model (:mod:`qa.reading.kinds`),
not by a list of phrasings: of the span and its heads before each such cut,
the one whose kind the question most likely asks for; the span itself when
none is likelier. "Osaka, Japan" stays whole for "which city" (both are
cities), and "why" questions keep their clauses. Some commas never cut: a
list's ("Emirati, Norwegian and Saudi"), and one before a short capitalised
qualifier ("Shoreham, Long Island"); nor does a colon (titles have them), and
no head may run into the next sentence.

A trimmed span keeps the reader's score for its place: the cut changes where
the answer ends, not how sure the reader is that it is there.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

from qa.reading.kinds import QuestionTypes, span_kind
from qa.types import Span

# Where an apposition or a non-restrictive relative clause begins: after a
# comma or semicolon (not a colon: titles have them), before a bracket or a
# spaced dash, or before a relative pronoun that follows a capitalised word
# (a name: "Lavrov who ...").
_CUT = re.compile(r"[,;](?=\s)|\s(?=[(\[])|\s[–—-](?=\s)|\s(?=(?:who|whom|whose|which)\b)")

_WORD = re.compile(r"\w")

# A list goes on after its comma: "Emirati, Norwegian and Saudi", "Paris, Rome, or Oslo",
# "Alfred S. Brown, a Western Union superintendent, and ...", "a, b, c".
_LIST_REST = re.compile(
    r"\s*(?:[^\s,]+(?:\s+[^\s,]+){0,2},\s*)*(?:[^\s,]+(?:\s+[^\s,]+){0,2}\s+)?(?:and|or|nor)\s", re.I
)
_LIST_MARK = re.compile(r",\s+(?:and|or|nor)\s|,[^,]*,", re.I)

# What a comma adds to a place or a name, short and capitalised: "Osaka, Japan",
# "Shoreham, Long Island", "Washington, D.C.".
_QUALIFIER = re.compile(r"\s*(?:[A-Z][\w.’'\-]*\s*){1,3}$")

# A sentence ends inside: the reader read on into the next sentence.
_SENTENCE_END = re.compile(r"[a-z0-9][.!?][\"”’]?\s+[A-Z]")


def phrase_end(kinds: Mapping[str, float], text: str) -> int:
    """Where ``text``'s answer ends, given what the question asks for
    (``kinds``: the probability of each answer kind): ``len(text)`` or an
    earlier cut before an apposition or relative clause."""
    best_end, best = len(text), kinds[span_kind(text)]
    for cut in _CUT.finditer(text):
        head = text[: cut.start()].rstrip()
        if not _WORD.search(head) or not _balanced(head) or _SENTENCE_END.search(head) or not _cuts(text, cut):
            continue
        likelihood = kinds[span_kind(head)]
        if likelihood > best:
            best_end, best = len(head), likelihood
    return best_end


def _cuts(text: str, cut: re.Match[str]) -> bool:
    """Whether ``cut`` ends a phrase: a comma does not in a list, nor before
    a short capitalised qualifier; a relative pronoun does only after a name."""
    if cut.group().startswith(","):
        rest = text[cut.end() :]
        return not (_is_list(text) or _QUALIFIER.match(rest))
    if cut.group().isspace() and text[cut.end()].isalpha():  # "who", "which", ...
        before = text[: cut.start()].split()
        return bool(before) and before[-1][:1].isupper()
    return True


def _is_list(text: str) -> bool:
    """Whether ``text``'s commas separate the items of a list, whose head is only its first item."""
    return bool(_LIST_MARK.search(text)) or any(_LIST_REST.match(text, c.end()) for c in re.finditer(",", text))


def _balanced(text: str) -> bool:
    """Whether every bracket and double quote opened in ``text`` is closed there."""
    return text.count("(") == text.count(")") and text.count("“") == text.count("”") and text.count('"') % 2 == 0


def trim(question: str, spans: Sequence[Span], types: QuestionTypes) -> list[Span]:
    """The spans, each ending where its phrase ends for ``question``."""
    kinds = types.probabilities(question)
    trimmed = []
    for span in spans:
        end = phrase_end(kinds, span.answer)
        if end < len(span.answer):
            span = dataclasses.replace(span, answer_end=span.answer_start + end)
        trimmed.append(span)
    return trimmed
