"""Hybrid retrieval: dense (FAISS) and BM25 rankings fused by reciprocal rank.

Syndicated copies (same duplicate group) come back as one passage: the
best-ranked copy, with the others listed in ``also_in``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.index.view import IndexView
from qa.search import embeddings
from qa.settings import Settings
from qa.timing import stage
from qa.types import Location, Passage


@dataclass(frozen=True)
class RankedParagraph:
    row: int  # row in the index
    score: float  # fused score, scaled so the best possible is 1.0
    dense: float  # cosine similarity to the query (0 if not a dense hit)
    lexical: float  # BM25 score (0 if not a lexical hit)


class HybridRetriever:
    """Finds the passages most likely to answer a query."""

    def __init__(self, index: IndexView, settings: Settings):
        self.index = index
        self.settings = settings

    def warm_up(self) -> None:
        """Load the query encoder (exporting it to ONNX first, if that is the engine and it is not cached)."""
        if self.settings.retrieval in ("hybrid", "dense"):
            embeddings.encode_query(self.index.model, "warm-up", self.settings.engine, self.settings.cache_dir)

    def run(self, query: str, k: int | None = None) -> list[Passage]:
        ranked = self.rank(query, k or self.settings.top_k)
        with stage("fusion and passages"):
            return [self.to_passage(r) for r in ranked]

    def rank(self, query: str, k: int, vector: np.ndarray | None = None) -> list[RankedParagraph]:
        """Top ``k`` paragraphs, one per duplicate group, best first. ``vector``
        is the query's embedding when the caller has it already (a batch)."""
        s = self.settings
        dense_hits = lexical_hits = []
        if s.retrieval in ("hybrid", "dense"):
            if vector is None:
                with stage("query encoding"):
                    vector = embeddings.encode_query(self.index.model, query, s.engine, s.cache_dir)
            with stage("dense search"):
                dense_hits = self.index.dense_search(vector, s.candidates)
        if s.retrieval in ("hybrid", "bm25"):
            with stage("BM25 search"):
                lexical_hits = self.index.lexical_search(query, s.candidates)

        with stage("fusion and passages"):
            return self._fuse(dense_hits, lexical_hits, k)

    def _fuse(self, dense_hits: list[tuple[int, float]], lexical_hits: list[tuple[int, float]], k: int):
        s = self.settings
        fused: dict[int, float] = {}
        for hits in (dense_hits, lexical_hits):
            for rank, (row, _) in enumerate(hits):
                fused[row] = fused.get(row, 0.0) + 1.0 / (s.rrf_k + rank + 1)
        lists_used = (s.retrieval == "hybrid") + 1
        best_possible = lists_used / (s.rrf_k + 1)
        dense_score = dict(dense_hits)
        lexical_score = dict(lexical_hits)

        ranked: list[RankedParagraph] = []
        seen_groups: set[int] = set()
        for row in sorted(fused, key=lambda r: (-fused[r], r)):
            group = self.index.groups[row] if s.group_duplicates else row
            if group in seen_groups:
                continue
            seen_groups.add(group)
            ranked.append(
                RankedParagraph(row, fused[row] / best_possible, dense_score.get(row, 0.0), lexical_score.get(row, 0.0))
            )
            if len(ranked) == k:
                break
        return ranked

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
