"""Sentence boundaries in a passage (pysbd), as character offsets."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


# Paragraphs come back question after question, and segmenting is not free.
@functools.lru_cache(maxsize=8192)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Sentence offsets in ``text``, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    for piece in _segmenter().segment(text):
        start, end = piece.start, piece.end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start >= end:
            continue
        if spans and _OPEN_QUOTE_END.search(text, 0, spans[-1][1]):
            # '"We do not seek war, " Pompeo said.' is one sentence, not two.
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return tuple(spans) or ((0, len(text)),)


_OPEN_QUOTE_END = re.compile(r",\s*[\"”’']?$")
