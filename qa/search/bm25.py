"""BM25 search over a base and a delta of paragraphs' tokens.

Scores use the statistics of the live paragraphs of both layers, so they are
the same whatever the layers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qa.layers import layer_change, load_layers, new_base_name, save_layers, should_fold
from qa.processes import map_chunks
from qa.search.base import Rows, top_hits
from qa.search.tokenization import bm25_tokenize

TOKENIZE_BATCH = 50_000


@dataclass(frozen=True)
class Bm25Layer:
    """Paragraphs' BM25 tokens as ids into the layer's vocabulary: row r's
    tokens are ``flat[offsets[r]:offsets[r + 1]]``."""

    ids: np.ndarray  # int64 paragraph id per row
    vocab: list[str]  # token id -> token
    flat: np.ndarray  # int32
    offsets: np.ndarray  # int64, one more than rows

    @classmethod
    def empty(cls) -> Bm25Layer:
        return cls(np.zeros(0, np.int64), [], np.zeros(0, np.int32), np.zeros(1, np.int64))

    @classmethod
    def of(cls, ids: np.ndarray, tokens: Sequence[Sequence[str]]) -> Bm25Layer:
        token_id: dict[str, int] = {}
        flat = np.fromiter(
            (token_id.setdefault(t, len(token_id)) for doc in tokens for t in doc), np.int32, sum(map(len, tokens))
        )
        offsets = np.concatenate([[0], np.cumsum([len(d) for d in tokens], dtype=np.int64)]).astype(np.int64)
        return cls(np.asarray(ids, np.int64), list(token_id), flat, offsets)

    def __len__(self) -> int:
        return len(self.ids)

    @functools.cached_property
    def token_id(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.vocab)}

    @functools.cached_property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @functools.cached_property
    def matrix(self):
        """Term frequencies, rows × vocabulary, by column (a column is a token's postings)."""
        import scipy.sparse

        rows = np.repeat(np.arange(len(self.ids), dtype=np.int64), self.lengths)
        ones = np.ones(len(self.flat), np.float32)
        shape = (len(self.ids), len(self.vocab))
        matrix = scipy.sparse.csc_matrix((ones, (rows, self.flat.astype(np.int64))), shape=shape)
        matrix.sum_duplicates()
        return matrix

    @functools.cached_property
    def df(self) -> np.ndarray:
        """Rows each token occurs in."""
        return np.diff(self.matrix.indptr)

    def token_counts(self, rows: np.ndarray) -> np.ndarray:
        """Per token of the vocabulary, how many of ``rows`` it occurs in."""
        counts = np.zeros(len(self.vocab), np.int64)
        for r in rows.tolist():
            counts[np.unique(self.flat[self.offsets[r] : self.offsets[r + 1]])] += 1
        return counts

    def rows(self, mask: np.ndarray) -> Bm25Layer:
        """The layer with only the rows in ``mask`` (same vocabulary)."""
        flat = self.flat[np.repeat(mask, self.lengths)]
        offsets = np.concatenate([[0], np.cumsum(self.lengths[mask])]).astype(np.int64)
        return Bm25Layer(self.ids[mask], self.vocab, flat, offsets)

    def joined(self, other: Bm25Layer) -> Bm25Layer:
        """This layer's rows, then ``other``'s, in one vocabulary."""
        return Bm25Layer.concatenated([self, other])

    @classmethod
    def concatenated(cls, layers: Sequence[Bm25Layer]) -> Bm25Layer:
        """The layers' rows in order, in one vocabulary (the first layer's ids kept)."""
        first = layers[0]
        vocab, token_id = list(first.vocab), dict(first.token_id)
        flats, offsets = [first.flat], [first.offsets]
        for layer in layers[1:]:
            mapping = np.fromiter(
                (token_id.setdefault(t, len(token_id)) for t in layer.vocab), np.int32, len(layer.vocab)
            )
            flats.append(mapping[layer.flat] if len(layer.flat) else np.zeros(0, np.int32))
            offsets.append(layer.offsets[1:] + offsets[-1][-1])
        vocab += list(token_id)[len(vocab) :]
        ids = np.concatenate([layer.ids for layer in layers])
        return cls(ids, vocab, np.concatenate(flats).astype(np.int32), np.concatenate(offsets))

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {
            f"{prefix}ids": self.ids,
            f"{prefix}vocab": np.array(self.vocab, dtype=str),
            f"{prefix}flat": self.flat,
            f"{prefix}offsets": self.offsets,
        }

    @classmethod
    def from_arrays(cls, z, prefix: str = "") -> Bm25Layer:
        return cls(z[f"{prefix}ids"], z[f"{prefix}vocab"].tolist(), z[f"{prefix}flat"], z[f"{prefix}offsets"])


@dataclass
class Bm25Backend:
    """BM25 (the Lucene variant bm25s scores by default, k1 1.5, b 0.75) over
    stemmed words. Each paragraph's tokens are kept, so an update tokenizes
    only new paragraphs. Scores are computed at query time from term
    frequencies, with the document frequencies and mean length of the live
    paragraphs of both layers: the same scores as one index over them all."""

    base: Bm25Layer
    hidden: np.ndarray  # sorted base rows removed
    delta: Bm25Layer
    name: str = field(default_factory=new_base_name)
    hidden_df: np.ndarray | None = None  # per base token, the hidden rows it occurs in

    K1 = 1.5
    B = 0.75

    @classmethod
    def build(cls, ids: np.ndarray, texts: Sequence[str]) -> Bm25Backend:
        # Tokenized a batch at a time, over every core: a million paragraphs'
        # tokens as Python strings would take gigabytes at once.
        layer = Bm25Layer.concatenated([Bm25Layer.empty(), *map_chunks(_layer_of, list(texts), TOKENIZE_BATCH)])
        return cls(replace(layer, ids=np.asarray(ids, np.int64)), np.zeros(0, np.int64), Bm25Layer.empty())

    @classmethod
    def load(cls, folder: Path) -> Bm25Backend:
        name, base, delta = load_layers(folder, "bm25")
        return cls(Bm25Layer.from_arrays(base), delta["hidden"], Bm25Layer.from_arrays(delta), name)

    def __post_init__(self) -> None:
        if self.hidden_df is None:
            self.hidden_df = self.base.token_counts(self.hidden)

    def __len__(self) -> int:
        return len(self.base) - len(self.hidden) + len(self.delta)

    @functools.cached_property
    def _norms(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's length normalisation, per layer: k1 · (1 − b + b · length / mean length)."""
        return tuple(
            self.K1 * ((1 - self.B) + self.B * layer.lengths / self._mean_length) for layer in (self.base, self.delta)
        )

    @functools.cached_property
    def _mean_length(self) -> float:
        total = self.base.lengths.sum() - self.base.lengths[self.hidden].sum() + self.delta.lengths.sum()
        return float(total) / max(len(self), 1)

    def frequency(self, token: str) -> int:
        """How many live paragraphs ``token`` occurs in."""
        count = 0
        if (i := self.base.token_id.get(token)) is not None:
            count += int(self.base.df[i] - self.hidden_df[i])
        if (i := self.delta.token_id.get(token)) is not None:
            count += int(self.delta.df[i])
        return count

    def document_frequency(self) -> dict[str, int]:
        """How many paragraphs each token occurs in."""
        counts = {t: self.frequency(t) for t in {*self.base.vocab, *self.delta.vocab}}
        return {t: c for t, c in counts.items() if c}

    def search(self, query: str, vector: np.ndarray | None, k: int) -> list[tuple[int, float]]:
        tokens = bm25_tokenize([query])[0]
        n = len(self)
        if not n or not tokens:
            return []
        ids, scores = [], []
        for layer, norm in zip((self.base, self.delta), self._norms, strict=True):
            if not len(layer):
                continue
            total = np.zeros(len(layer), np.float32)
            for token in tokens:  # a repeated word counts again, as in bm25s
                column = layer.token_id.get(token)
                if column is None:
                    continue
                df = self.frequency(token)
                idf = np.float32(np.log(1 + (n - df + 0.5) / (df + 0.5)))
                lo, hi = layer.matrix.indptr[column], layer.matrix.indptr[column + 1]
                rows, tf = layer.matrix.indices[lo:hi], layer.matrix.data[lo:hi]
                total[rows] += (idf * (tf / (norm[rows] + tf))).astype(np.float32)
            if layer is self.base and len(self.hidden):
                total[self.hidden] = 0
            hit = np.flatnonzero(total > 0)
            ids.append(layer.ids[hit])
            scores.append(total[hit])
        if not ids:
            return []
        return top_hits(np.concatenate(ids), np.concatenate(scores), k)

    def updated(self, added: Rows, removed: np.ndarray, everything: Callable[[], Rows]) -> Bm25Backend:
        hidden, newly, keep = layer_change(self.base.ids, self.hidden, self.delta.ids, removed, added.ids)
        fresh = Bm25Layer.of(added.ids, bm25_tokenize(list(added.texts)))
        delta = self.delta.rows(keep).joined(fresh)
        if should_fold(len(self.base), len(delta), len(hidden)):
            return Bm25Backend(self.base, hidden, delta, self.name, self.hidden_df).folded()
        hidden_df = self.hidden_df + self.base.token_counts(newly)
        return Bm25Backend(self.base, hidden, delta, self.name, hidden_df)

    def folded(self) -> Bm25Backend:
        """The same rows in one base."""
        live = np.ones(len(self.base), bool)
        live[self.hidden] = False
        return Bm25Backend(self.base.rows(live).joined(self.delta), np.zeros(0, np.int64), Bm25Layer.empty())

    def save(self, folder: Path, previous: Path | None) -> None:
        delta = {"hidden": self.hidden, **self.delta.arrays()}
        save_layers(folder, previous, "bm25", self.name, self.base.arrays, delta)


def _layer_of(texts: Sequence[str]) -> Bm25Layer:
    """One batch's tokens as a layer (its ids are set by the caller)."""
    return Bm25Layer.of(np.zeros(len(texts), np.int64), bm25_tokenize(list(texts)))
