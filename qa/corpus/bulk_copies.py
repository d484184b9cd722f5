"""Grouping a whole corpus's syndicated copies at once, for a first build.

The same groups as adding the paragraphs one by one to an empty shingle index
(qa/corpus/copies.py), found as a set-similarity join in numpy instead of a
Python loop over each paragraph's candidates:

1. Every paragraph's shingles are sorted by hash once, which gives each
   shingle its holders, in corpus order.
2. Candidates by prefix filtering. Two paragraphs pass the containment rule
   when they share at least ``ceil(t·|A|)`` shingles, ``A`` the smaller. Then
   ``A``'s ``|A| - ceil(t·|A|) + 1`` rarest shingles (its *prefix*) cannot all
   miss ``B``. So each paragraph is paired only with the holders, no smaller
   than it, of its prefix's shingles: rare shingles, held by few.
3. Each candidate pair's shared shingles are counted exactly, and the rule
   applied. As the incremental grouping does, a pair counts only if the later
   paragraph shares at least one shingle that at most ``common`` earlier
   paragraphs held (see ``COMMON_SHINGLE``): common phrasing finds no copies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.corpus.articles import paragraph_ids
from qa.corpus.copies import DisjointSets
from qa.corpus.shingles import COMMON_SHINGLE, MIN_SHINGLES, ShingleIndex, shingle_sets
from qa.types import Paragraph

# Candidate pairs made at a time: bounds the join's memory whatever the corpus.
PAIRS_PER_CHUNK = 20_000_000


def bulk_groups(
    paragraphs: Sequence[Paragraph],
    threshold: float,
    common: int = COMMON_SHINGLE,
) -> tuple[list[list[int]], ShingleIndex]:
    """The copy groups of ``paragraphs`` (rows of two or more, each in row
    order, groups ordered by their first row), and their shingle index."""
    sets = shingle_sets([p.text for p in paragraphs])
    n = len(paragraphs)
    sizes = np.fromiter(map(len, sets), np.int64, n)
    # Rows and shingle numbers as int32: the join's arrays hold one entry per
    # shingle occurrence (a paragraph has about as many shingles as words), so their width is its memory.
    rows = np.flatnonzero(sizes >= MIN_SHINGLES).astype(np.int32)
    hashes = np.concatenate([sets[r] for r in rows]) if len(rows) else np.zeros(0, np.uint64)
    owners = np.repeat(rows, sizes[rows])
    order = np.argsort(hashes, kind="stable")  # holders of a shingle stay in row order
    hashes = hashes[order]
    owners = owners[order]
    del order
    ids = paragraph_ids(paragraphs)
    id_order = np.argsort(ids[rows], kind="stable")
    index = ShingleIndex(hashes, ids[owners], ids[rows][id_order], sizes[rows][id_order])

    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]]) if len(hashes) else np.zeros(0, np.int64)
    run_len = np.diff(np.r_[starts, len(hashes)])
    run = np.repeat(np.arange(len(starts), dtype=np.int32), run_len)  # each occurrence's shingle
    pairs = _candidates(owners, run, starts, run_len, sizes, threshold)
    sources = np.unique([p.source for p in paragraphs], return_inverse=True)[1]
    pairs = pairs[sources[pairs[:, 0]] != sources[pairs[:, 1]]]
    # Shingles a paragraph does not look candidates up by: more than ``common`` earlier holders.
    too_common = {}
    if len(hashes) and run_len.max() > common + 1:
        rank = np.arange(len(hashes), dtype=np.int32) - starts[run].astype(np.int32)
        too_common = _too_common(hashes, owners, rank, common)
        del rank
    del run, starts, run_len, owners, hashes
    joined = [(int(a), int(b)) for a, b in pairs.tolist() if _copies(sets[a], sets[b], threshold, too_common.get(b))]
    return _components(joined), index


def _candidates(
    owners: np.ndarray, run: np.ndarray, starts: np.ndarray, run_len: np.ndarray, sizes: np.ndarray, threshold: float
) -> np.ndarray:
    """Pairs (earlier row, later row), distinct, that prefix filtering keeps (see the module's note)."""
    if not len(owners):
        return np.zeros((0, 2), np.int64)
    # Rarest first: each paragraph's shingles by (holders, shingle); its prefix is the first few.
    rank_of_shingle = np.empty(len(run_len), np.int32)
    rank_of_shingle[np.argsort(run_len, kind="stable")] = np.arange(len(run_len), dtype=np.int32)
    by_row = np.lexsort((rank_of_shingle[run], owners)).astype(np.int32)
    del rank_of_shingle
    # Each row's shingles are one block of by_row, in row order: a shingle's place in its block.
    row_owners = owners[by_row]
    block = np.flatnonzero(np.r_[True, row_owners[1:] != row_owners[:-1]])
    place = np.arange(len(by_row), dtype=np.int32) - np.repeat(
        block.astype(np.int32), np.diff(np.r_[block, len(by_row)])
    )
    del block
    # One shingle more than the exact prefix: it guards the rounding of t·|A|.
    prefix_len = (sizes - np.maximum(np.ceil(threshold * sizes) - 1, 1) + 1).astype(np.int32)
    probes = by_row[place < prefix_len[row_owners]]
    del by_row, row_owners, place
    probes = probes[run_len[run[probes]] > 1]
    found = []
    counts = run_len[run[probes]]
    bounds = np.r_[0, np.cumsum(counts)]
    chunk_start = 0
    while chunk_start < len(probes):
        chunk_end = int(np.searchsorted(bounds, bounds[chunk_start] + PAIRS_PER_CHUNK, "right")) - 1
        chunk_end = max(chunk_end, chunk_start + 1)
        chunk = probes[chunk_start:chunk_end]
        reps = counts[chunk_start:chunk_end]
        me = np.repeat(owners[chunk], reps)
        offset = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
        other = owners[np.repeat(starts[run[chunk]], reps) + offset]
        keep = (other != me) & (sizes[other] >= sizes[me])
        me, other = me[keep], other[keep]
        found.append(np.unique(np.minimum(me, other).astype(np.int64) * len(sizes) + np.maximum(me, other)))
        chunk_start = chunk_end
    if not found:  # no shingle held twice
        return np.zeros((0, 2), np.int64)
    keys = np.unique(np.concatenate(found))
    return np.stack([keys // len(sizes), keys % len(sizes)], axis=1)


def _too_common(hashes: np.ndarray, owners: np.ndarray, rank: np.ndarray, common: int) -> dict[int, np.ndarray]:
    """Row -> the shingles it holds that more than ``common`` earlier rows held."""
    late = np.flatnonzero(rank > common)
    by_row = late[np.argsort(owners[late], kind="stable")]
    rows, first = np.unique(owners[by_row], return_index=True)
    parts = np.split(hashes[by_row], first[1:])
    return {int(r): np.sort(p) for r, p in zip(rows, parts, strict=True)}


def _copies(a: np.ndarray, b: np.ndarray, threshold: float, b_too_common: np.ndarray | None) -> bool:
    """The containment rule, and (for the later row ``b``) a shared shingle it looks candidates up by."""
    shared = np.intersect1d(a, b, assume_unique=True)
    if len(shared) / min(len(a), len(b)) < threshold:
        return False
    return b_too_common is None or len(np.setdiff1d(shared, b_too_common, assume_unique=True)) > 0


def _components(pairs: list[tuple[int, int]]) -> list[list[int]]:
    """Rows joined directly or through others, each set in row order, sets by first row."""
    sets: DisjointSets[int] = DisjointSets()
    for a, b in pairs:
        sets.join(a, b)
    return sorted(sorted(members) for members in sets.sets().values())


def duplicate_groups(paragraphs: Sequence[Paragraph], threshold: float) -> list[int]:
    """Group labels for ``paragraphs`` compared all at once: copies share the
    first row of their group, every other paragraph is its own."""
    labels = np.arange(len(paragraphs))
    for rows in bulk_groups(paragraphs, threshold)[0]:
        labels[rows] = rows[0]
    return labels.tolist()
