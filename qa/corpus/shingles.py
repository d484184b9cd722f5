"""Word shingles of paragraphs: what finding syndicated copies compares.

A paragraph's shingles are hashes of its runs of :data:`SHINGLE_WORDS`
words. :class:`ShingleIndex` finds, for a paragraph's shingles, the
paragraphs that share them; :class:`ShingleLayers` keeps one between
updates as a base and a delta (qa/layers.py).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qa.layers import among, load_layers, new_base_name, save_layers, should_fold
from qa.processes import map_chunks

SHINGLE_WORDS = 3

# Paragraphs shorter than this many shingles are too generic to call copies.
MIN_SHINGLES = 6

# A shingle in more paragraphs than this is common phrasing: it suggests no copies.
COMMON_SHINGLE = 1000

_WORD = re.compile(r"\w+")


def shingles(text: str) -> np.ndarray:
    """The distinct word 3-shingles of ``text`` as stable 64-bit hashes (the
    first 8 bytes of BLAKE2b, little-endian), sorted."""
    words = _WORD.findall(text.lower())
    grams = set(map(" ".join, zip(*(words[i:] for i in range(SHINGLE_WORDS)), strict=False)))  # runs of 3 words
    digests = b"".join([hashlib.blake2b(g.encode(), digest_size=8).digest() for g in grams])
    return np.sort(np.frombuffer(digests, "<u8").astype(np.uint64))


def shingle_sets(texts: Sequence[str]) -> list[np.ndarray]:
    """``shingles`` of each text, over every core for many."""
    return [s for chunk in map_chunks(_shingle_chunk, texts, SHINGLE_CHUNK) for s in chunk]


SHINGLE_CHUNK = 10_000


def _shingle_chunk(texts: Sequence[str]) -> list[np.ndarray]:
    return [shingles(t) for t in texts]


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
        keep, keep_ids = ~among(self.owners, gone), ~among(self.ids, gone)
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
    (qa/search/base.py): a base written once and shared by later builds, the
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
        in_base = removed[among(removed, self.base.ids, sorted_already=True)]
        return replace(self, gone=np.union1d(self.gone, in_base), delta=self.delta.without(removed))

    def with_added(self, added: dict[int, np.ndarray]) -> ShingleLayers:
        layers = replace(self, delta=self.delta.merged(ShingleIndex.of(added))) if added else self
        return layers.folded() if should_fold(len(self.base), len(layers.delta), len(layers.gone)) else layers

    def folded(self) -> ShingleLayers:
        """The same shingles in one base."""
        return ShingleLayers(
            self.base.without(self.gone.tolist()).merged(self.delta), np.zeros(0, np.int64), ShingleIndex.empty()
        )

    def save(self, folder: Path, previous: Path | None) -> None:
        delta = {"gone": self.gone, **self.delta.arrays()}
        save_layers(folder, previous, "shingles", self.name, self.base.arrays, delta)

    @classmethod
    def load(cls, folder: Path) -> ShingleLayers:
        name, base, delta = load_layers(folder, "shingles")
        return cls(ShingleIndex.from_arrays(base), delta["gone"], ShingleIndex.from_arrays(delta), name)
