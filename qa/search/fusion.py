"""Reciprocal rank fusion of a dense and a lexical ranking, as a pure function.

Each list a paragraph appears in adds ``1 / (rrf_k + rank + 1)``; the fused
score is scaled so that the best possible (first in every list used) is 1.0.
Syndicated copies share a group: only the best-ranked copy of a group is kept.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Hits = Sequence[tuple[int, float]]  # (row, score), best first


class Retrieval(enum.StrEnum):
    """Which rankings a query uses."""

    HYBRID = "hybrid"
    DENSE = "dense"
    BM25 = "bm25"

    @property
    def dense(self) -> bool:
        return self in (Retrieval.HYBRID, Retrieval.DENSE)

    @property
    def lexical(self) -> bool:
        return self in (Retrieval.HYBRID, Retrieval.BM25)


@dataclass(frozen=True)
class RankedParagraph:
    row: int  # row in the index
    score: float  # fused score, scaled so the best possible is 1.0
    dense: float  # cosine similarity to the query (0 if not a dense hit)
    lexical: float  # BM25 score (0 if not a lexical hit)


def fuse(
    dense_hits: Hits,
    lexical_hits: Hits,
    k: int,
    rrf_k: int,
    mode: Retrieval,
    group_of: Callable[[int], int] = lambda row: row,
) -> list[RankedParagraph]:
    """The top ``k`` rows of both rankings fused, one per group, best first (ties: lower row first)."""
    fused: dict[int, float] = {}
    for hits in (dense_hits, lexical_hits):
        for rank, (row, _) in enumerate(hits):
            fused[row] = fused.get(row, 0.0) + 1.0 / (rrf_k + rank + 1)
    lists_used = (mode == Retrieval.HYBRID) + 1
    best_possible = lists_used / (rrf_k + 1)
    dense_score, lexical_score = dict(dense_hits), dict(lexical_hits)

    ranked: list[RankedParagraph] = []
    seen_groups: set[int] = set()
    for row in sorted(fused, key=lambda r: (-fused[r], r)):
        group = group_of(row)
        if group in seen_groups:
            continue
        seen_groups.add(group)
        ranked.append(
            RankedParagraph(row, fused[row] / best_possible, dense_score.get(row, 0.0), lexical_score.get(row, 0.0))
        )
        if len(ranked) == k:
            break
    return ranked
