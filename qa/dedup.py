"""Grouping syndicated copies of the same paragraph across files.

Two paragraphs are copies when most word 3-shingles of the shorter one also
occur in the longer one (the containment coefficient |A ∩ B| / min(|A|, |B|)).
Containment rather than Jaccard, because syndication often adds or trims a
sentence: on the sample corpus the nine copied paragraphs between files 000 and
002 score 0.83 to 1.0, while the most similar paragraphs that are not copies
(a shared lead clause, rewritten sentences) score 0.69 and below. The default
threshold, 0.75, sits in that gap.

Grouping is incremental. The index keeps a :class:`ShingleIndex`: every
paragraph's shingle hashes, sorted, with the paragraph they belong to. A new
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

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.types import Paragraph

SHINGLE_WORDS = 3
# Paragraphs shorter than this many shingles are too generic to call copies.
MIN_SHINGLES = 6
# A shingle in more paragraphs than this is common phrasing: it suggests no copies.
COMMON_SHINGLE = 1000
_WORD = re.compile(r"\w+")


def paragraph_id(source: str, paragraph: int) -> int:
    """A paragraph's stable id: the same in every build and process (not a row number)."""
    digest = hashlib.blake2b(f"{source}#{paragraph}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1  # fits an int64


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

    def ranges(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each of ``hashes`` stands in the sorted arrays: owners[lo[i]:hi[i]]."""
        return np.searchsorted(self.hashes, hashes, "left"), np.searchsorted(self.hashes, hashes, "right")

    def shared(self, lo: np.ndarray, hi: np.ndarray) -> Counter:
        """How many of the hashes at ``ranges`` each indexed paragraph holds."""
        if not (hi > lo).any():
            return Counter()
        owners = np.concatenate([self.owners[a:b] for a, b in zip(lo, hi, strict=True) if b > a])
        values, counts = np.unique(owners, return_counts=True)
        return Counter(dict(zip(values.tolist(), counts.tolist(), strict=True)))

    def without(self, removed: Iterable[int]) -> ShingleIndex:
        gone = np.fromiter(removed, np.int64)
        if not len(gone):
            return self
        keep, keep_ids = ~np.isin(self.owners, gone), ~np.isin(self.ids, gone)
        return ShingleIndex(self.hashes[keep], self.owners[keep], self.ids[keep_ids], self.sizes[keep_ids])

    def with_added(self, added: dict[int, np.ndarray]) -> ShingleIndex:
        if not added:
            return self
        hashes = np.concatenate([self.hashes, *added.values()])
        owners = np.concatenate([self.owners, *(np.full(len(h), pid, np.int64) for pid, h in added.items())])
        order = np.argsort(hashes, kind="stable")
        ids = np.concatenate([self.ids, np.fromiter(added, np.int64)])
        sizes = np.concatenate([self.sizes, np.fromiter((len(h) for h in added.values()), np.int64)])
        id_order = np.argsort(ids, kind="stable")
        return ShingleIndex(hashes[order], owners[order], ids[id_order], sizes[id_order])

    def save(self, path: Path) -> None:
        with open(path, "wb") as f:
            np.savez(f, hashes=self.hashes, owners=self.owners, ids=self.ids, sizes=self.sizes)

    @classmethod
    def load(cls, path: Path) -> ShingleIndex:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["hashes"], z["owners"], z["ids"], z["sizes"])


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
    index: ShingleIndex,
    threshold: float,
    old_ids: np.ndarray | None = None,
    common: int = COMMON_SHINGLE,
) -> tuple[list[list[Paragraph]], ShingleIndex]:
    """The duplicate groups after ``removed`` leave and ``added`` join.

    ``old`` are the last build's paragraphs with their group labels
    (paragraphs sharing a label are copies), ``old_ids`` their ids if known,
    and ``index`` its shingle index; ``removed`` names the old paragraphs that
    go, as (source, paragraph). Returns the groups of two or more paragraphs,
    and the new shingle index. Only groups and new paragraphs are looked at:
    the cost follows what changed, not the size of the corpus.
    """
    if old_ids is None:
        old_ids = np.array([paragraph_id(p.source, p.paragraph) for p in old], np.int64)
    index = index.without(paragraph_id(*key) for key in removed)
    sizes = Counter(old_labels)
    members: dict[int, list[int]] = {}  # label -> rows still there
    lost_member: set[int] = set()
    for row, label in enumerate(old_labels):
        if sizes[label] < 2:  # a paragraph with no copies: nothing to keep together or check again
            continue
        if (old[row].source, old[row].paragraph) in removed:
            lost_member.add(label)
        else:
            members.setdefault(label, []).append(row)
    row_of = {i: r for r, i in enumerate(old_ids.tolist())}
    by_id = {paragraph_id(p.source, p.paragraph): p for p in added}
    parent: dict[int, int] = {}

    def paragraph(pid: int) -> Paragraph:
        return by_id[pid] if pid in by_id else old[row_of[pid]]

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
        s = shingles(p.text)
        if len(s) < MIN_SHINGLES:
            continue
        pid = paragraph_id(p.source, p.paragraph)
        hashes = s.tolist()
        lo, hi = index.ranges(s)
        held = (hi - lo) + np.fromiter((len(fresh_postings.get(h, ())) for h in hashes), np.int64, len(hashes))
        rare = held <= common
        shared = index.shared(lo[rare], hi[rare])
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


def group_labels(paragraphs: Sequence[Paragraph], groups: Sequence[Sequence[Paragraph]]) -> list[int]:
    """A label per paragraph, in ``paragraphs`` order: copies share one (the
    first row of their group), every other paragraph is its own."""
    row = {(p.source, p.paragraph): i for i, p in enumerate(paragraphs)}
    labels = list(range(len(paragraphs)))
    for group in groups:
        rows = sorted(row[(p.source, p.paragraph)] for p in group)
        for r in rows:
            labels[r] = rows[0]
    return labels


def duplicate_groups(paragraphs: Sequence[Paragraph], threshold: float) -> list[int]:
    """Group labels for ``paragraphs`` compared all at once (a full build)."""
    groups, _ = update_groups([], [], set(), paragraphs, ShingleIndex.empty(), threshold)
    return group_labels(paragraphs, groups)
