"""What every search backend is: the protocol the index store and retriever use.

A backend knows paragraphs only by their stable id
(:func:`qa.corpus.articles.paragraph_id`), never by row position, and answers
``search(query, vector, k) -> [(id, score), ...]``, best first, as DrQA's
interchangeable rankers answer ``closest_docs(query, k)``. The index store
hands each backend what changed with ``updated``; a backend returns a new
backend rather than altering the one the app is answering from, so a failed
update leaves the old one in use.

The backends: :mod:`qa.search.faiss` (dense vectors), :mod:`qa.search.bm25`
(words), both kept in the index folder's build as base-and-delta layers
(qa/layers.py), and :mod:`qa.search.milvus`, both kinds of search from a
Milvus server or a Milvus Lite file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

from qa.types import Paragraph


class Rows(NamedTuple):
    """Paragraphs handed to a backend: ids, texts and vectors, row by row."""

    ids: np.ndarray
    texts: Sequence[str]
    vectors: np.ndarray


class SearchBackend(Protocol):
    """One way of finding paragraphs: by meaning (vectors), by words, or both."""

    def search(self, query: str, vector: np.ndarray | None, k: int) -> list[tuple[int, float]]:
        """The ``k`` best paragraphs for the query, as (id, score), best first."""
        ...

    def updated(self, added: Rows, removed: np.ndarray, everything: Callable[[], Rows]) -> SearchBackend:
        """A backend without the ``removed`` ids and with ``added`` (an added id
        it holds already is replaced). ``everything()`` gives every paragraph
        of the result, for a backend that chooses to rebuild."""
        ...

    def save(self, folder: Path, previous: Path | None) -> None:
        """Write what the backend keeps into a new build folder (the store
        checksums every file there); files of the ``previous`` build that did
        not change may be linked instead."""
        ...


def top_hits(ids: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` highest-scoring (id, score) pairs, best first (ties: lower position first)."""
    if k <= 0 or not len(ids):
        return []
    if len(ids) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        order = part[np.lexsort((part, -scores[part]))]
    else:
        order = np.lexsort((np.arange(len(ids)), -scores))
    return [(int(ids[i]), float(scores[i])) for i in order]


class SearchableIndex(Protocol):
    """What the retriever needs of a loaded index (qa/index/view.py): its
    paragraphs by row, their copy groups, and both searches by row."""

    paragraphs: Sequence[Paragraph]
    groups: Sequence[int]  # copy group per row: syndicated copies share one

    @property
    def model(self) -> str:
        """The embedding model its vectors were made with."""
        ...

    def dense_search(self, query_vector: np.ndarray, n: int) -> list[tuple[int, float]]: ...

    def lexical_search(self, query: str, n: int) -> list[tuple[int, float]]: ...

    def copies_of(self, row: int) -> list[int]: ...
