"""The words BM25 matches: lowercased, English stop words dropped, Snowball-stemmed."""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Mapping


def bm25_tokenize(texts: list[str]) -> list[list[str]]:
    """The words BM25 matches, per text: lowercased, English stop words
    dropped, Snowball-stemmed (also the terms of the answer features)."""
    bm25s = import_bm25s()
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False)


@functools.lru_cache(maxsize=1)
def import_bm25s():
    """bm25s, imported without the DEBUG level it sets on its own logger (it
    would print "DEBUG: Building index from tokens" in every command)."""
    logger = logging.getLogger("bm25s")
    level = logger.level
    import bm25s

    logger.setLevel(level)
    return bm25s


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


# Words that carry no content of their own in a question (stemmed where
# the stemmer changes them).
QUESTION_WORDS = frozenset(
    "who whom whose what when where which why how mani many much long is are was were be been did does do doe has have had "
    "the a an of in on at to for with and or s he she him her his it its they them their this that these those there "
    "then i you we our your me my can could would should will shall may might".split()
)


def weighted_share(weights: Mapping[str, float], present: Collection[str]) -> float:
    """Share of the weighted terms (e.g. a question's term weights) that occur in ``present``."""
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in present) / total if total else 0.0
