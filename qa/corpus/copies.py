"""Grouping syndicated copies of the same paragraph across files.

Two paragraphs are copies when most word 3-shingles of the shorter one also
occur in the longer one (the containment coefficient |A ∩ B| / min(|A|, |B|)).
Containment rather than Jaccard, because syndication often adds or trims a
sentence: on the sample corpus the nine copied paragraphs between files 000 and
002 score 0.83 to 1.0, while the most similar paragraphs that are not copies
(a shared lead clause, rewritten sentences) score 0.69 and below. The default
threshold, 0.75, sits in that gap.

Grouping is incremental. The index keeps a :class:`ShingleIndex`: every
paragraph's shingle hashes, sorted, with the paragraph they belong to (in
two layers, :class:`ShingleLayers`, as the search backends keep theirs). A new
paragraph looks up its own shingles there, and the candidates it shares
shingles with are checked with the containment rule. A removed paragraph
leaves the shingle index, and its group is re-checked among the members
left. So an update costs what changed, and the groups are exactly those a
full comparison of all pairs gives, except where a shingle is boilerplate
held by over a thousand paragraphs (see ``COMMON_SHINGLE``). (MinHash LSH, the usual shortcut,
estimates Jaccard similarity. A trimmed copy can have a containment of 0.8
and a Jaccard of 0.3, so LSH would miss some groups; the exact index costs
16 bytes per shingle.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np

from qa.corpus.articles import paragraph_id, paragraph_ids
from qa.corpus.shingles import COMMON_SHINGLE, MIN_SHINGLES, ShingleIndex, ShingleLayers, shingles
from qa.types import Paragraph

# New paragraphs' shingles are looked up in Python dicts, moved into the
# index's sorted arrays every this many paragraphs (the same groups either way).
FRESH_BATCH = 50_000

T = TypeVar("T")


def copies(a: np.ndarray, b: np.ndarray, threshold: float) -> bool:
    """The containment rule on two shingle sets."""
    if min(len(a), len(b)) < MIN_SHINGLES:
        return False
    return len(np.intersect1d(a, b, assume_unique=True)) / min(len(a), len(b)) >= threshold


class DisjointSets(Generic[T]):
    """Union-find: items joined directly or through others form one set,
    whose root is its least item."""

    def __init__(self) -> None:
        self._parent: dict[T, T] = {}

    def find(self, item: T) -> T:
        parent = self._parent
        parent.setdefault(item, item)
        while parent[item] != item:
            parent[item] = parent[parent[item]]  # path halving
            item = parent[item]
        return item

    def join(self, a: T, b: T) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            low, high = (ra, rb) if ra < rb else (rb, ra)
            self._parent[high] = low

    def sets(self) -> dict[T, list[T]]:
        """Every set, by root, with its members in the order first seen."""
        members: dict[T, list[T]] = {}
        for item in list(self._parent):
            members.setdefault(self.find(item), []).append(item)
        return members


def grouped_rows(labels: np.ndarray) -> np.ndarray:
    """The rows whose group label another row shares, in row order. With
    numpy: an archive has a million rows and few copies."""
    labels = np.asarray(labels, np.int64)
    if not len(labels):
        return labels
    return np.flatnonzero(np.bincount(labels, minlength=len(labels))[labels] > 1)


def update_groups(
    old: Sequence[Paragraph],
    old_labels: Sequence[int],
    removed: set[tuple[str, int]],
    added: Sequence[Paragraph],
    index: ShingleIndex | ShingleLayers,
    threshold: float,
    old_ids: np.ndarray | None = None,
    common: int = COMMON_SHINGLE,
) -> tuple[list[list[Paragraph]], ShingleIndex | ShingleLayers]:
    """:func:`regroup` for paragraphs named by (source, paragraph): the groups
    of two or more after ``removed`` leave and ``added`` join (in no particular
    row order), and the new shingle index."""
    if old_ids is None:
        old_ids = paragraph_ids(old)
    gone = np.isin(old_ids, np.array([paragraph_id(*key) for key in removed], np.int64))
    by_row = np.argsort(old_ids)

    def row_of(pid: int) -> int:
        return int(by_row[np.searchsorted(old_ids, pid, sorter=by_row)])

    labels, index = regroup(old, old_ids, old_labels, gone, added, index, row_of, threshold, common)
    now = [p for p, g in zip(old, gone.tolist(), strict=True) if not g] + list(added)
    return [[now[r] for r in rows] for rows in label_groups(labels)], index


def regroup(
    old: Sequence[Paragraph],
    old_ids: np.ndarray,
    old_labels: Sequence[int] | np.ndarray,
    gone: np.ndarray,
    added: Sequence[Paragraph],
    index: ShingleIndex | ShingleLayers,
    row_of: Callable[[int], int],
    threshold: float,
    common: int = COMMON_SHINGLE,
) -> tuple[np.ndarray, ShingleIndex | ShingleLayers]:
    """The group labels after the old rows where ``gone`` is true leave and
    ``added`` join, in the new row order: the old rows left, in order, then
    the added ones (as the index keeps its rows). Also the new shingle index.

    ``old`` are the last build's paragraphs, ``old_ids`` their ids and
    ``old_labels`` their groups' labels (the first row of each group);
    ``row_of`` finds an old row by paragraph id. Only what changed is looked at
    in Python: the groups that lost a member are checked again among the
    members left (the one that went may have been what joined them), the new
    paragraphs are joined to their copies through the shingle index, and a
    group either touches is merged whole. Every other group keeps its members,
    relabelled for the new rows with numpy. So an update costs what changed,
    not the number of copies in the archive.
    """
    labels = np.asarray(old_labels, np.int64)
    gone = np.asarray(gone, bool)
    index = index.without(old_ids[gone].tolist())
    in_group = np.bincount(labels, minlength=len(labels))[labels] > 1 if len(labels) else np.zeros(0, bool)
    lost = np.unique(labels[gone & in_group])
    sets: DisjointSets[int] = DisjointSets()
    _recheck(sets, old, old_ids, labels, lost, gone, threshold)

    def paragraph(pid: int) -> Paragraph:
        return added_by_id[pid] if pid in added_by_id else old[row_of(pid)]

    def join(other: int, pid: int) -> None:
        """An added paragraph joins a copy, and an old copy's group with it."""
        sets.join(other, pid)
        if other not in added_by_id:
            row = row_of(other)
            if in_group[row] and labels[row] not in lost_set:
                sets.join(other, int(old_ids[labels[row]]))  # the group's first row stands for it

    added_by_id = {paragraph_id(p.source, p.paragraph): p for p in added}
    lost_set = set(lost.tolist())
    index = _join_added(join, added, index, paragraph, threshold, common)
    return _relabel(labels, in_group, lost, lost_set, gone, sets, added, row_of), index


def _recheck(
    sets: DisjointSets[int],
    old: Sequence[Paragraph],
    old_ids: np.ndarray,
    labels: np.ndarray,
    lost: np.ndarray,
    gone: np.ndarray,
    threshold: float,
) -> None:
    """The groups that lost a member, among the members left: every pair of
    them from different files checked with the containment rule."""
    for members in _by_label(np.flatnonzero(np.isin(labels, lost, kind="table") & ~gone), labels):
        ids = old_ids[members].tolist()
        for pid in ids:
            sets.find(pid)  # listed even alone: its group is decided here
        texts = [shingles(old[r].text) for r in members.tolist()]
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                if old[members[i]].source != old[members[j]].source and copies(texts[i], texts[j], threshold):
                    sets.join(ids[i], ids[j])


def _relabel(
    labels: np.ndarray,
    in_group: np.ndarray,
    lost: np.ndarray,
    lost_labels: set[int],
    gone: np.ndarray,
    sets: DisjointSets[int],
    added: Sequence[Paragraph],
    row_of: Callable[[int], int],
) -> np.ndarray:
    """The new rows' labels: the sets decide the groups they hold (an old
    group any of whose members they hold joins whole); the old groups no
    change touched keep their members; every other row is its own."""
    kept = ~gone
    new_row = np.cumsum(kept) - 1  # an old row's row in the new order (where kept)
    n_old = int(kept.sum())
    result = np.arange(n_old + len(added), dtype=np.int64)
    added_row = {paragraph_id(p.source, p.paragraph): n_old + i for i, p in enumerate(added)}
    decided = [members for members in sets.sets().values() if len(members) > 1]
    old_row = {pid: row_of(pid) for members in decided for pid in members if pid not in added_row}
    merged = {int(labels[r]) for r in old_row.values() if in_group[r] and int(labels[r]) not in lost_labels}
    merged_labels = np.array(sorted(merged), np.int64)
    # The old groups no change touched: relabelled by where their first row went.
    untouched = in_group & kept & ~np.isin(labels, np.union1d(lost, merged_labels), kind="table")
    result[new_row[untouched]] = new_row[labels[untouched]]
    members_of: dict[int, list[int]] = {}
    merged_rows = np.flatnonzero(np.isin(labels, merged_labels, kind="table"))
    for row, label in zip(new_row[merged_rows].tolist(), labels[merged_rows].tolist(), strict=True):
        members_of.setdefault(label, []).append(row)
    for members in decided:
        rows: set[int] = set()
        for pid in members:
            if pid in added_row:
                rows.add(added_row[pid])
            elif int(labels[old_row[pid]]) in merged:
                rows.update(members_of[int(labels[old_row[pid]])])
            else:
                rows.add(int(new_row[old_row[pid]]))
        ordered = sorted(rows)
        result[ordered] = ordered[0]
    return result


def label_groups(labels: np.ndarray) -> list[list[int]]:
    """The rows of each group of two or more, by label: in order of their first row."""
    return [part.tolist() for part in _by_label(grouped_rows(labels), labels)]


def _by_label(rows: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """``rows`` split by their label, each part in row order, the parts in label order."""
    if not len(rows):
        return []
    rows = rows[np.argsort(labels[rows], kind="stable")]
    return np.split(rows, np.flatnonzero(np.diff(labels[rows])) + 1)


def _join_added(
    join: Callable[[int, int], None],
    added: Sequence[Paragraph],
    index: ShingleIndex | ShingleLayers,
    paragraph: Callable[[int], Paragraph],
    threshold: float,
    common: int,
) -> ShingleIndex | ShingleLayers:
    """New paragraphs joined to their copies: candidates from the shingle
    index, and from each other. Returns the shingle index with them added.

    A shingle already held by more than ``common`` paragraphs ("according to
    the") is phrasing, not a sign of copying: it finds no candidates, which
    keeps an archive's update from comparing each paragraph with thousands.
    It still counts in a candidate's containment, computed exactly. (Its
    first holders may have been grouped before it became common: at the
    default, only boilerplate repeated across a thousand paragraphs is
    affected.)"""
    fresh: dict[int, np.ndarray] = {}
    fresh_postings: dict[int, list[int]] = defaultdict(list)
    for p in added:
        if len(fresh) >= FRESH_BATCH:  # Python dicts of a million paragraphs' shingles would take tens of GB
            index, fresh, fresh_postings = index.with_added(fresh), {}, defaultdict(list)
        s = shingles(p.text)
        if len(s) < MIN_SHINGLES:
            continue
        pid = paragraph_id(p.source, p.paragraph)
        hashes = s.tolist()
        held = index.held(s) + np.fromiter((len(fresh_postings.get(h, ())) for h in hashes), np.int64, len(hashes))
        rare = held <= common
        shared = index.shared(s[rare])
        shared.update(other for h, r in zip(hashes, rare, strict=True) if r for other in fresh_postings.get(h, ()))
        unseen = int((~rare).sum())  # common shingles a candidate may also hold
        for other, count in shared.items():
            candidate = paragraph(other)
            if candidate.source == p.source:
                continue
            size = len(fresh[other]) if other in fresh else index.size_of(other)
            if (count + unseen) / min(len(s), size) < threshold:
                continue  # cannot reach the threshold even if it holds every common shingle
            if unseen:
                other_set = fresh[other] if other in fresh else shingles(candidate.text)
                count = len(np.intersect1d(s, other_set, assume_unique=True))
            if count / min(len(s), size) >= threshold:
                join(other, pid)
        fresh[pid] = s
        for h in hashes:
            fresh_postings[h].append(pid)
    return index.with_added(fresh)


def group_labels(
    paragraphs: Sequence[Paragraph], groups: Sequence[Sequence[Paragraph]], ids: np.ndarray | None = None
) -> list[int]:
    """A label per paragraph, in ``paragraphs`` order: copies share one (the
    first row of their group), every other paragraph is its own. ``ids``, the
    paragraphs' ids if known, saves hashing every paragraph again."""
    if ids is None:
        ids = paragraph_ids(paragraphs)
    return labels_of(ids, [paragraph_ids(group) for group in groups])


def grouped_by_key(ids: np.ndarray, labels: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
    """The groups as two arrays, for a build's file: the paragraph id of each
    grouped row, and the id of its group's first row (its key). Both follow
    the rows, not a Python list per group."""
    labels = np.asarray(labels, np.int64)
    rows = grouped_rows(labels)
    return {"ids": ids[rows], "keys": ids[labels[rows]]}


def labels_by_key(ids: np.ndarray, grouped: np.ndarray, keys: np.ndarray) -> list[int]:
    """The labels :func:`grouped_by_key`'s arrays give the rows of ``ids``."""
    labels = np.arange(len(ids))
    if len(grouped):
        by_row = np.argsort(ids)
        labels[by_row[np.searchsorted(ids, grouped, sorter=by_row)]] = by_row[np.searchsorted(ids, keys, sorter=by_row)]
    return labels.tolist()


def labels_of(ids: np.ndarray, groups: Sequence[Sequence[int]]) -> list[int]:
    """A label per row of ``ids``, given the groups as paragraph ids (see ``group_labels``)."""
    by_row = np.argsort(ids)
    labels = np.arange(len(ids))
    for members in groups:
        rows = np.sort(by_row[np.searchsorted(ids, np.asarray(members, np.int64), sorter=by_row)])
        labels[rows] = rows[0]
    return labels.tolist()


def syndication_families(sources: Sequence[str], labels: Sequence[int] | np.ndarray) -> dict[str, str]:
    """Sources that share a duplicate paragraph group belong to one family,
    named by its first source in name order. ``sources`` and ``labels`` are
    the source and group label of each grouped paragraph. The sources joined
    through shared groups are a graph's connected components (scipy, in C):
    an archive has hundreds of thousands of copied paragraphs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not len(sources):
        return {}
    number: dict[str, int] = {}
    of_row = np.fromiter((number.setdefault(s, len(number)) for s in sources), np.int64, len(sources))
    labels = np.asarray(labels, np.int64)
    # Each paragraph is joined to its group's first paragraph in this list.
    _, first = np.unique(labels, return_index=True)
    leader = first[np.searchsorted(labels[first], labels)] if len(first) else first
    n = len(number)
    graph = coo_matrix((np.ones(len(of_row), np.int8), (of_row, of_row[leader])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    names = list(number)
    rank = np.empty(n, np.int64)
    rank[sorted(range(n), key=names.__getitem__)] = np.arange(n)
    least = np.full(component.max() + 1, n, np.int64)
    np.minimum.at(least, component, rank)
    by_rank = sorted(names)
    return {name: by_rank[least[c]] for name, c in zip(names, component.tolist(), strict=True)}
