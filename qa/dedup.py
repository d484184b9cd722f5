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

import functools
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qa.backends import load_layers, new_base_name, save_layers, should_fold
from qa.types import Paragraph

SHINGLE_WORDS = 3
# Paragraphs shorter than this many shingles are too generic to call copies.
MIN_SHINGLES = 6
# A shingle in more paragraphs than this is common phrasing: it suggests no copies.
COMMON_SHINGLE = 1000
# New paragraphs' shingles are looked up in Python dicts, moved into the
# index's sorted arrays every this many paragraphs (the same groups either way).
FRESH_BATCH = 50_000
_WORD = re.compile(r"\w+")


def paragraph_id(source: str, paragraph: int) -> int:
    """A paragraph's stable id: the same in every build and process (not a row number)."""
    digest = hashlib.blake2b(f"{source}#{paragraph}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1  # fits an int64


def paragraph_ids(paragraphs: Iterable[Paragraph]) -> np.ndarray:
    """The stable ids of ``paragraphs``, in order."""
    return np.array([paragraph_id(p.source, p.paragraph) for p in paragraphs], np.int64)


def shingles(text: str) -> np.ndarray:
    """The distinct word 3-shingles of ``text`` as stable 64-bit hashes, sorted."""
    words = _WORD.findall(text.lower())
    grams = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}
    hashes = [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") for g in grams]
    return np.unique(np.array(hashes, dtype=np.uint64))


@dataclass(frozen=True)
class ShingleIndex:
    """Shingle hash → the paragraphs holding it (only paragraphs with at least
    MIN_SHINGLES shingles), as two arrays sorted by hash; and each
    paragraph's number of shingles."""

    hashes: np.ndarray  # uint64, sorted
    owners: np.ndarray  # int64 paragraph ids, aligned with hashes
    ids: np.ndarray  # int64 paragraph ids, sorted
    sizes: np.ndarray  # shingles per paragraph, aligned with ids

    @classmethod
    def empty(cls) -> ShingleIndex:
        return cls(np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))

    def size_of(self, pid: int) -> int:
        i = int(np.searchsorted(self.ids, pid))
        return int(self.sizes[i]) if i < len(self.ids) and self.ids[i] == pid else 0

    def __len__(self) -> int:
        return len(self.ids)

    def _ranges(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each of ``hashes`` stands in the sorted arrays: owners[lo[i]:hi[i]]."""
        return np.searchsorted(self.hashes, hashes, "left"), np.searchsorted(self.hashes, hashes, "right")

    def held(self, hashes: np.ndarray) -> np.ndarray:
        """How many indexed paragraphs hold each of ``hashes``."""
        lo, hi = self._ranges(hashes)
        return hi - lo

    def owners_of(self, hashes: np.ndarray) -> np.ndarray:
        """The paragraphs holding each of ``hashes``, one entry per (hash, holder)."""
        lo, hi = self._ranges(hashes)
        if not (hi > lo).any():
            return np.zeros(0, np.int64)
        return np.concatenate([self.owners[a:b] for a, b in zip(lo, hi, strict=True) if b > a])

    def shared(self, hashes: np.ndarray) -> Counter:
        """How many of ``hashes`` each indexed paragraph holds."""
        values, counts = np.unique(self.owners_of(hashes), return_counts=True)
        return Counter(dict(zip(values.tolist(), counts.tolist(), strict=True)))

    def merged(self, other: ShingleIndex) -> ShingleIndex:
        """One index over the paragraphs of both (which are distinct)."""
        hashes = np.concatenate([self.hashes, other.hashes])
        owners = np.concatenate([self.owners, other.owners])
        order = np.argsort(hashes, kind="stable")
        ids = np.concatenate([self.ids, other.ids])
        sizes = np.concatenate([self.sizes, other.sizes])
        id_order = np.argsort(ids, kind="stable")
        return ShingleIndex(hashes[order], owners[order], ids[id_order], sizes[id_order])

    def without(self, removed: Iterable[int]) -> ShingleIndex:
        gone = np.fromiter(removed, np.int64)
        if not len(gone):
            return self
        keep, keep_ids = ~np.isin(self.owners, gone), ~np.isin(self.ids, gone)
        return ShingleIndex(self.hashes[keep], self.owners[keep], self.ids[keep_ids], self.sizes[keep_ids])

    def with_added(self, added: dict[int, np.ndarray]) -> ShingleIndex:
        if not added:
            return self
        return self.merged(ShingleIndex.of(added))

    @classmethod
    def of(cls, shingle_sets: dict[int, np.ndarray]) -> ShingleIndex:
        """The index of these paragraphs' shingles (paragraph id -> its shingle hashes)."""
        if not shingle_sets:
            return cls.empty()
        hashes = np.concatenate(list(shingle_sets.values()))
        owners = np.concatenate([np.full(len(h), pid, np.int64) for pid, h in shingle_sets.items()])
        ids = np.fromiter(shingle_sets, np.int64, len(shingle_sets))
        sizes = np.fromiter((len(h) for h in shingle_sets.values()), np.int64, len(shingle_sets))
        order, id_order = np.argsort(hashes, kind="stable"), np.argsort(ids, kind="stable")
        return cls(hashes[order], owners[order], ids[id_order], sizes[id_order])

    def arrays(self) -> dict[str, np.ndarray]:
        return {"hashes": self.hashes, "owners": self.owners, "ids": self.ids, "sizes": self.sizes}

    @classmethod
    def from_arrays(cls, z) -> ShingleIndex:
        return cls(z["hashes"], z["owners"], z["ids"], z["sizes"])


@dataclass(frozen=True)
class ShingleLayers:
    """The shingle index in two layers, as the search backends keep theirs
    (qa/backends.py): a base written once and shared by later builds, the
    base's paragraphs removed since, and a small delta of paragraphs added
    since. The same candidates as one index (see ``held``); an update
    re-sorts only the delta."""

    base: ShingleIndex
    gone: np.ndarray  # sorted ids of base paragraphs removed
    delta: ShingleIndex
    name: str = field(default_factory=new_base_name)

    @classmethod
    def empty(cls) -> ShingleLayers:
        return cls(ShingleIndex.empty(), np.zeros(0, np.int64), ShingleIndex.empty())

    def held(self, hashes: np.ndarray) -> np.ndarray:
        # The base's removed paragraphs still count here until the next fold. This
        # only decides which shingles are too common (COMMON_SHINGLE) to look
        # candidates up by, so near that count the groups can differ from one
        # index's until the fold.
        return self.base.held(hashes) + self.delta.held(hashes)

    def shared(self, hashes: np.ndarray) -> Counter:
        owners = self.base.owners_of(hashes)
        if len(self.gone) and len(owners):  # gone is sorted: a binary search, not a sort per call
            at = np.minimum(np.searchsorted(self.gone, owners), len(self.gone) - 1)
            owners = owners[self.gone[at] != owners]
        values, counts = np.unique(np.concatenate([owners, self.delta.owners_of(hashes)]), return_counts=True)
        return Counter(dict(zip(values.tolist(), counts.tolist(), strict=True)))

    def size_of(self, pid: int) -> int:
        size = self.delta.size_of(pid)
        if size or pid in self.gone_set:
            return size
        return self.base.size_of(pid)

    @functools.cached_property
    def gone_set(self) -> set[int]:
        return set(self.gone.tolist())

    def without(self, removed: Iterable[int]) -> ShingleLayers:
        removed = np.fromiter(removed, np.int64)
        if not len(removed):
            return self
        in_base = removed[np.isin(removed, self.base.ids)]
        return replace(self, gone=np.union1d(self.gone, in_base), delta=self.delta.without(removed))

    def with_added(self, added: dict[int, np.ndarray]) -> ShingleLayers:
        layers = replace(self, delta=self.delta.merged(ShingleIndex.of(added))) if added else self
        if should_fold(len(self.base), len(layers.delta), len(layers.gone)):
            return ShingleLayers(
                layers.base.without(layers.gone.tolist()).merged(layers.delta),
                np.zeros(0, np.int64),
                ShingleIndex.empty(),
            )
        return layers

    def save(self, folder: Path, previous: Path | None) -> None:
        delta = {"gone": self.gone, **self.delta.arrays()}
        save_layers(folder, previous, "shingles", self.name, self.base.arrays, delta)

    @classmethod
    def load(cls, folder: Path) -> ShingleLayers:
        name, base, delta = load_layers(folder, "shingles")
        return cls(ShingleIndex.from_arrays(base), delta["gone"], ShingleIndex.from_arrays(delta), name)


def copies(a: np.ndarray, b: np.ndarray, threshold: float) -> bool:
    """The containment rule on two shingle sets."""
    if min(len(a), len(b)) < MIN_SHINGLES:
        return False
    return len(np.intersect1d(a, b, assume_unique=True)) / min(len(a), len(b)) >= threshold


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
    # Only rows in groups of two or more matter here: found with numpy, since
    # an archive has a million rows and few copies.
    labels = np.asarray(old_labels, np.int64)
    grouped = np.flatnonzero(np.bincount(labels, minlength=len(labels))[labels] >= 2) if len(labels) else labels
    members: dict[int, list[int]] = {}  # label -> rows still there
    lost_member: set[int] = set()
    for row in grouped.tolist():
        label = int(labels[row])
        if (old[row].source, old[row].paragraph) in removed:
            lost_member.add(label)
        else:
            members.setdefault(label, []).append(row)
    by_row = np.argsort(old_ids)
    by_id = {paragraph_id(p.source, p.paragraph): p for p in added}
    parent: dict[int, int] = {}

    def paragraph(pid: int) -> Paragraph:
        if pid in by_id:
            return by_id[pid]
        return old[int(by_row[np.searchsorted(old_ids, pid, sorter=by_row)])]

    def find(i: int) -> int:
        while parent.get(i, i) != i:
            parent[i] = parent.get(parent[i], parent[i])
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[b] = a

    for label, rows in members.items():
        ids = [int(old_ids[r]) for r in rows]
        if label not in lost_member:
            for pid in ids[1:]:
                join(ids[0], pid)
            continue
        # The member that went may have been what joined the others: check them again.
        sets = [shingles(old[r].text) for r in rows]
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                if old[rows[i]].source != old[rows[j]].source and copies(sets[i], sets[j], threshold):
                    join(ids[i], ids[j])

    # New paragraphs: candidates from the shingle index, and from each other. A
    # shingle already held by more than `common` paragraphs ("according to
    # the") is phrasing, not a sign of copying: it finds no candidates, which
    # keeps an archive's update from comparing each paragraph with thousands.
    # It still counts in a candidate's containment, computed exactly. (Its
    # first holders may have been grouped before it became common: at the
    # default, only boilerplate repeated across a thousand paragraphs is
    # affected; the corpora in the tests have none.)
    fresh: dict[int, np.ndarray] = {}
    fresh_postings: dict[int, list[int]] = defaultdict(list)
    for p in added:
        if (
            len(fresh) >= FRESH_BATCH
        ):  # into the index's arrays: Python dicts of a million paragraphs' shingles take tens of GB
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
    components: dict[int, list[Paragraph]] = {}
    for pid in parent:
        components.setdefault(find(pid), []).append(paragraph(pid))
    for root, group in components.items():
        group.append(paragraph(root))
    return [c for c in components.values() if len(c) > 1], index.with_added(fresh)


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


def duplicate_groups(paragraphs: Sequence[Paragraph], threshold: float) -> list[int]:
    """Group labels for ``paragraphs`` compared all at once (a full build)."""
    groups, _ = update_groups([], [], set(), paragraphs, ShingleIndex.empty(), threshold)
    return group_labels(paragraphs, groups)
