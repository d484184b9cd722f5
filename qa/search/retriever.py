"""Hybrid retrieval: dense (FAISS) and BM25 rankings fused by reciprocal rank.

Syndicated copies (same duplicate group) come back as one passage: the
best-ranked copy, with the others listed in ``also_in``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qa.search import embeddings
from qa.search.base import SearchableIndex
from qa.search.fusion import RankedParagraph, Retrieval, fuse
from qa.settings import Settings
from qa.timing import stage
from qa.types import Location, Passage


class HybridRetriever:
    """Finds the passages most likely to answer a query."""

    def __init__(self, index: SearchableIndex, settings: Settings):
        self.index = index
        self.settings = settings
        self.mode = Retrieval(settings.retrieval)

    def warm_up(self) -> None:
        """Load the query encoder (exporting it to ONNX first, if that is the engine and it is not cached)."""
        if self.mode.dense:
            embeddings.encode_query(self.index.model, "warm-up", self.settings.engine, self.settings.cache_dir)

    def run(self, query: str, k: int | None = None, admits: Callable[[int], bool] | None = None) -> list[Passage]:
        ranked = self.rank(query, k or self.settings.top_k, admits=admits)
        with stage("fusion and passages"):
            return [self.to_passage(r) for r in ranked]

    def rank(
        self, query: str, k: int, vector: np.ndarray | None = None, admits: Callable[[int], bool] | None = None
    ) -> list[RankedParagraph]:
        """Top ``k`` paragraphs, one per duplicate group, best first. ``vector``
        is the query's embedding when the caller has it already (a batch).
        With ``admits`` (a row's test, for a filter), only the rows it admits
        count: each search looks eight times deeper until it finds ``k`` or has
        looked at every paragraph."""
        s = self.settings
        if self.mode.dense and vector is None:
            with stage("query encoding"):
                vector = embeddings.encode_query(self.index.model, query, s.engine, s.cache_dir)
        group_of = self.index.groups.__getitem__ if s.group_duplicates else (lambda row: row)
        depth, total = s.candidates, len(self.index.paragraphs)
        while True:
            dense_hits = lexical_hits = []
            if self.mode.dense:
                with stage("dense search"):
                    dense_hits = self.index.dense_search(vector, min(depth, total))
            if self.mode.lexical:
                with stage("BM25 search"):
                    lexical_hits = self.index.lexical_search(query, min(depth, total))
            if admits is not None:
                dense_hits = [h for h in dense_hits if admits(h[0])]
                lexical_hits = [h for h in lexical_hits if admits(h[0])]
            with stage("fusion and passages"):
                fused = fuse(dense_hits, lexical_hits, k, s.rrf_k, self.mode, group_of)
            if admits is None or len(fused) >= k or depth >= total:
                return fused
            depth *= 8

    def to_passage(self, ranked: RankedParagraph) -> Passage:
        p = self.index.paragraphs[ranked.row]
        return Passage(
            source=p.source,
            paragraph=p.paragraph,
            start=p.start,
            end=p.end,
            text=p.text,
            score=round(ranked.score, 4),
            also_in=self.copies_of(ranked.row) if self.settings.group_duplicates else (),
        )

    def copies_of(self, row: int) -> tuple[Location, ...]:
        copies = (self.index.paragraphs[r] for r in self.index.copies_of(row))
        return tuple(Location(q.source, q.paragraph, q.start, q.end) for q in copies)
