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
    """The duplicate groups after ``removed`` leave and ``added`` join.

    ``old`` are the last build's paragraphs with their group labels
    (paragraphs sharing a label are copies), ``old_ids`` their ids if known,
    and ``index`` its shingle index; ``removed`` names the old paragraphs that
    go, as (source, paragraph). Returns the groups of two or more paragraphs,
    and the new shingle index. Only groups and new paragraphs are looked at:
    the cost follows what changed, not the size of the corpus.
    """
    if old_ids is None:
        old_ids = paragraph_ids(old)
    index = index.without(paragraph_id(*key) for key in removed)
    by_row = np.argsort(old_ids)
    by_id = {paragraph_id(p.source, p.paragraph): p for p in added}

    def paragraph(pid: int) -> Paragraph:
        if pid in by_id:
            return by_id[pid]
        return old[int(by_row[np.searchsorted(old_ids, pid, sorter=by_row)])]

    sets: DisjointSets[int] = DisjointSets()
    _rejoin_old_groups(sets, old, np.asarray(old_labels, np.int64), old_ids, removed, threshold)
    index = _join_added(sets, added, index, paragraph, threshold, common)
    return [[paragraph(pid) for pid in members] for members in sets.sets().values() if len(members) > 1], index


def _rejoin_old_groups(
    sets: DisjointSets[int],
    old: Sequence[Paragraph],
    labels: np.ndarray,
    old_ids: np.ndarray,
    removed: set[tuple[str, int]],
    threshold: float,
) -> None:
    """The last build's groups, less the removed paragraphs. A group that lost
    a member is checked again: the member that went may have been what joined
    the others."""
    members: dict[int, list[int]] = {}  # label -> rows still there
    lost_member: set[int] = set()
    for row in grouped_rows(labels).tolist():
        label = int(labels[row])
        if (old[row].source, old[row].paragraph) in removed:
            lost_member.add(label)
        else:
            members.setdefault(label, []).append(row)
    for label, rows in members.items():
        ids = [int(old_ids[r]) for r in rows]
        if label not in lost_member:
            for pid in ids[1:]:
                sets.join(ids[0], pid)
            continue
        texts = [shingles(old[r].text) for r in rows]
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                if old[rows[i]].source != old[rows[j]].source and copies(texts[i], texts[j], threshold):
                    sets.join(ids[i], ids[j])


def _join_added(
    sets: DisjointSets[int],
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
                sets.join(other, pid)
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


def labels_of(ids: np.ndarray, groups: Sequence[Sequence[int]]) -> list[int]:
    """A label per row of ``ids``, given the groups as paragraph ids (see ``group_labels``)."""
    by_row = np.argsort(ids)
    labels = np.arange(len(ids))
    for members in groups:
        rows = np.sort(by_row[np.searchsorted(ids, np.asarray(members, np.int64), sorter=by_row)])
        labels[rows] = rows[0]
    return labels.tolist()


def syndication_families(sources_by_group: Sequence[Sequence[str]]) -> dict[str, str]:
    """Sources that share a duplicate paragraph group belong to one family,
    named by its first source in name order; ``sources_by_group`` lists the
    sources of each group."""
    families: DisjointSets[str] = DisjointSets()
    for sources in sources_by_group:
        for source in sources:
            families.join(sources[0], source)
    return {source: root for root, members in families.sets().items() for source in members}
