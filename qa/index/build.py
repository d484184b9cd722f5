"""The next build's contents, made from the last build and what changed.

Unchanged paragraphs keep their vectors, shingles and tokens: only added and
changed articles are embedded, and every structure takes the change as a
delta (qa/layers.py). A build whose layout settings changed is made anew
from the kept vectors, in corpus order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.corpus.bulk_copies import bulk_groups
from qa.corpus.copies import regroup
from qa.corpus.shingles import ShingleIndex, ShingleLayers
from qa.index.changes import Progress
from qa.index.rows import ParagraphRows
from qa.index.view import IndexView
from qa.search.base import Rows
from qa.search.bm25 import Bm25Backend
from qa.search.faiss import FaissBackend, resolve_index_type
from qa.settings import Settings
from qa.types import Paragraph

# embed(texts, on_batch) -> one unit vector per text, in order; on_batch(n) after each n texts
Embedder = Callable[[Sequence[str], Callable[[int], None] | None], np.ndarray]


def embed_paragraphs(embed: Embedder, paragraphs: list[Paragraph], dim: int, progress: Progress | None) -> np.ndarray:
    """The paragraphs' unit vectors, with progress as batches finish."""
    if not paragraphs:
        return np.zeros((0, dim), np.float32)
    total, done = len(paragraphs), 0

    def on_batch(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("Embedding paragraphs", done, total)

    if progress:
        progress("Embedding paragraphs", 0, total)
    return np.asarray(embed([p.text for p in paragraphs], on_batch), np.float32)


def next_rows(
    old: IndexView | None, gone_rows: np.ndarray, added: list[Paragraph], vectors: np.ndarray, same_layout: bool
) -> ParagraphRows:
    """The last build's rows less ``gone_rows``, plus ``added``: as a delta, or,
    when the layout changed, as one new base in corpus order (so builds are
    reproducible) with the kept rows' vectors."""
    if same_layout:
        return old.stored.updated(old.ids[gone_rows], added, vectors)
    kept = np.ones(len(old.paragraphs), bool) if old else np.zeros(0, bool)
    kept[gone_rows] = False
    paragraphs = [p for p, k in zip(old.paragraphs, kept.tolist(), strict=True) if k] if old else []
    paragraphs += added
    matrix = np.vstack([old.embeddings[kept], vectors]) if old else vectors
    order = sorted(range(len(paragraphs)), key=lambda i: (paragraphs[i].source, paragraphs[i].paragraph))
    if order != list(range(len(order))):  # a first build is in this order already: its vectors stay uncopied
        paragraphs, matrix = [paragraphs[i] for i in order], matrix[order]
    return ParagraphRows.of(paragraphs, np.ascontiguousarray(matrix))


def group_copies(
    index: IndexView,
    old: IndexView | None,
    gone_rows: np.ndarray,
    added: list[Paragraph],
    same_layout: bool,
    last_build: Callable[[], Path],
    threshold: float,
) -> None:
    """Sets ``index``'s copy groups and shingles."""
    if same_layout:
        gone = np.zeros(len(old.paragraphs), bool)
        gone[gone_rows] = True
        shingles = old.shingles or ShingleLayers.load(last_build())
        labels, index.shingles = regroup(
            old.paragraphs, old.ids, old.groups, gone, added, shingles, old.row_of_id, threshold
        )
    else:  # all at once, in numpy: the same groups as adding the paragraphs one by one
        rows, shingles = bulk_groups(index.paragraphs, threshold)
        index.shingles = ShingleLayers(shingles, np.zeros(0, np.int64), ShingleIndex.empty())
        labels = np.arange(len(index.paragraphs))
        for members in rows:
            labels[members] = min(members)
    index.groups = labels.tolist()


def next_backends(
    settings: Settings, index: IndexView, old: IndexView | None, added: Rows, removed: np.ndarray
) -> None:
    """Sets ``index``'s search backends: ``old``'s with what changed (they hold
    ``old``'s rows whatever its layout), or built anew."""
    index_type = resolve_index_type(settings.index_type, len(index.paragraphs))

    def everything() -> Rows:
        return Rows(index.ids, [p.text for p in index.paragraphs], index.stored.vectors())

    if settings.backend == "milvus":
        from qa.search.milvus import MilvusBackend

        s = settings
        if old and isinstance(old.dense, MilvusBackend) and old.dense.collection == s.milvus_collection:
            collection = old.dense.updated(added, removed, everything)
        else:  # a first build, or one moving to Milvus: the collection is filled from scratch
            rows = everything()
            collection = MilvusBackend.filled(s.milvus_location, s.milvus_collection, *rows)
        index.dense, index.lexical = collection.view("dense"), collection.view("bm25")
    elif old and old.manifest.get("index_type") == index_type and isinstance(old.dense, FaissBackend):
        index.dense = old.dense.updated(added, removed, everything)
        index.lexical = old.lexical.updated(added, removed, everything)
    else:
        rows = everything()
        index.dense = FaissBackend.build(rows.ids, rows.vectors, index_type)
        index.lexical = Bm25Backend.build(rows.ids, rows.texts)
