"""Where paragraphs are found: search backends behind one narrow interface.

A backend knows paragraphs only by their stable id
(:func:`qa.dedup.paragraph_id`), never by row position, and answers
``search(query, vector, k) -> [(id, score), ...]``, best first, as DrQA's
interchangeable rankers answer ``closest_docs(query, k)``. The index store
hands each backend what changed with ``updated``; a backend returns a new
backend rather than altering the one the app is answering from, so a failed
update leaves the old one in use.

Two backends live in the index folder's build: :class:`FaissBackend` (dense
vectors) and :class:`Bm25Backend` (words). :mod:`qa.milvus_backend` serves
both kinds of search from a Milvus server or a Milvus Lite file.

Both local backends keep two layers, as Lucene keeps segments: a large
*base*, written once and then shared by the builds that follow (hard links,
not copies), and a small *delta* of what was added since, with the base's
removed paragraphs hidden. An update then costs what changed, not the size
of the archive. The delta is folded into a new base once it, or what the
base hides, passes a share of the base (:func:`should_fold`). Search results
are the same either way: BM25 uses the statistics of the live paragraphs of
both layers, and FAISS merges the two layers' hits by score.
"""

from __future__ import annotations

import functools
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

log = logging.getLogger(__name__)

# The delta is folded into the base once it holds this share of the live
# paragraphs (below it, scanning the delta exactly beside the base costs a few
# milliseconds a query at 1M paragraphs), or once the base hides this share of
# its own rows (an HNSW graph is then rebuilt without them).
DELTA_SHARE = 0.05
HIDDEN_SHARE = 0.1


def should_fold(base: int, delta: int, hidden: int) -> bool:
    """Whether a two-layer structure should become one base again."""
    live = base - hidden + delta
    return delta > DELTA_SHARE * max(live, 1) or hidden > HIDDEN_SHARE * max(base, 1)


def new_base_name() -> str:
    """A name for a newly written base: builds that share a base share its files."""
    return uuid.uuid4().hex[:12]


def link_or_write(target: Path, previous: Path | None, write: Callable[[Path], None]) -> None:
    """``target`` as a hard link to the same file of the previous build when it
    has one (a base is never changed once written), else written anew."""
    old = previous / target.name if previous else None
    if old is not None and old.is_file():
        try:
            os.link(old, target)
            return
        except OSError:  # a file system without hard links: copy by writing
            pass
    write(target)


def save_layers(
    folder: Path,
    previous: Path | None,
    prefix: str,
    name: str,
    base: Callable[[], dict[str, np.ndarray]],
    delta: dict[str, np.ndarray],
) -> None:
    """``<prefix>-base-<name>.npz`` (linked from the previous build when it has
    it; ``base()`` is called only to write it) and ``<prefix>-delta.npz``."""

    def write_base(path: Path) -> None:
        with open(path, "wb") as f:
            np.savez(f, **base())

    link_or_write(folder / f"{prefix}-base-{name}.npz", previous, write_base)
    with open(folder / f"{prefix}-delta.npz", "wb") as f:
        np.savez(f, **delta)


def load_layers(folder: Path, prefix: str) -> tuple[str, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The base's name and arrays, and the delta's arrays, as ``save_layers`` wrote them."""
    (base_file,) = folder.glob(f"{prefix}-base-*.npz")
    with np.load(base_file, allow_pickle=False) as z:
        base = dict(z)
    with np.load(folder / f"{prefix}-delta.npz", allow_pickle=False) as z:
        delta = dict(z)
    return base_file.stem.removeprefix(f"{prefix}-base-"), base, delta


class Rows(NamedTuple):
    """Paragraphs handed to a backend: ids, texts and vectors, row by row."""

    ids: np.ndarray
    texts: Sequence[str]
    vectors: np.ndarray


class SearchBackend(Protocol):
    """One way of finding paragraphs: by meaning (vectors), by words, or both."""

    def search(self, query: str, vector: np.ndarray | None, k: int) -> list[tuple[int, float]]:
        """The ``k`` best paragraphs for the query, as (id, score), best first."""
        ...

    def updated(self, added: Rows, removed: np.ndarray, everything: Callable[[], Rows]) -> SearchBackend:
        """A backend without the ``removed`` ids and with ``added`` (an added id
        it holds already is replaced). ``everything()`` gives every paragraph
        of the result, for a backend that chooses to rebuild."""
        ...

    def save(self, folder: Path, previous: Path | None) -> None:
        """Write what the backend keeps into a new build folder (the store
        checksums every file there); files of the ``previous`` build that did
        not change may be linked instead."""
        ...


class LayerChange(NamedTuple):
    """What an update does to a base-and-delta structure (see the module's note)."""

    hidden: np.ndarray  # sorted base positions hidden after it
    newly_hidden: np.ndarray  # those of them it hides
    delta_kept: np.ndarray  # mask of the delta's rows that stay (the added rows follow them)


def layer_change(
    base_ids: np.ndarray, hidden: np.ndarray, delta_ids: np.ndarray, removed: np.ndarray, added_ids: np.ndarray
) -> LayerChange:
    """Removed ids leave either layer; an added id that is present already is
    replaced: hidden in the base, dropped from the delta, added again."""
    gone = np.union1d(np.asarray(removed, np.int64), np.asarray(added_ids, np.int64))
    newly = np.setdiff1d(np.flatnonzero(np.isin(base_ids, gone)), hidden)
    kept = ~np.isin(delta_ids, gone) if len(gone) and len(delta_ids) else np.ones(len(delta_ids), bool)
    return LayerChange(np.union1d(hidden, newly).astype(np.int64), newly.astype(np.int64), kept)


def _top(ids: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` highest-scoring (id, score) pairs, best first (ties: lower position first)."""
    if k <= 0 or not len(ids):
        return []
    if len(ids) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        order = part[np.lexsort((part, -scores[part]))]
    else:
        order = np.lexsort((np.arange(len(ids)), -scores))
    return [(int(ids[i]), float(scores[i])) for i in order]


# -- dense: FAISS ------------------------------------------------------------------


@dataclass
class FaissBackend:
    """FAISS inner-product search over unit vectors, by stable id.

    The base is a FAISS index: exact ("flat"), graph ("hnsw") or compressed
    ("ivfpq"), never changed once built; its removed vectors are hidden from
    results by position. The delta holds the vectors added since, scanned
    exactly. Folding adds the delta to a copy of an HNSW graph (a graph
    cannot drop vectors: it is rebuilt once its hidden ones pass the share),
    and rebuilds a flat or IVF-PQ index.
    """

    index: object  # faiss.Index holding stable ids (IndexIDMap2, or IVF with its own ids)
    index_type: str
    hidden: np.ndarray  # sorted positions in the base of removed vectors
    delta_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    delta_vectors: np.ndarray | None = None  # (rows, dimension); none given: empty
    name: str = field(default_factory=new_base_name)
    _base_ids: np.ndarray | None = field(default=None, repr=False)
    _params: tuple[object, object] | None = field(default=None, repr=False)
    _delta_index: object | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.delta_vectors is None:
            self.delta_vectors = np.zeros((0, self.index.d), np.float32)

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, index_type: str) -> FaissBackend:
        index = dense_index(vectors, index_type)
        if len(vectors):
            index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.asarray(ids, np.int64))
        return cls(index, index_type, np.zeros(0, np.int64))

    @classmethod
    def load(cls, folder: Path, index_type: str) -> FaissBackend:
        import faiss

        (base,) = folder.glob("dense-base-*.faiss")
        with np.load(folder / "dense-delta.npz", allow_pickle=False) as z:
            hidden, ids, vectors = z["hidden"], z["ids"], z["vectors"]
        name = base.stem.removeprefix("dense-base-")
        return cls(faiss.read_index(str(base)), index_type, hidden, ids, vectors, name)

    def __len__(self) -> int:
        return int(self.index.ntotal) - len(self.hidden) + len(self.delta_ids)

    def search(self, query: str, vector: np.ndarray | None, k: int) -> list[tuple[int, float]]:
        if vector is None or len(self) == 0:
            return []
        query_vector = np.asarray(vector, np.float32).reshape(1, -1)
        hits = self._search_base(query_vector, k)
        if len(self.delta_ids):
            # Exact search of the delta, by FAISS too: numpy's BLAS threads and
            # FAISS's OpenMP threads would take turns on the cores (7 ms, not 0.5).
            if self._delta_index is None:
                import faiss

                self._delta_index = faiss.IndexFlatIP(self.delta_vectors.shape[1])
                self._delta_index.add(np.ascontiguousarray(self.delta_vectors, np.float32))
            scores, rows = self._delta_index.search(query_vector, min(k, len(self.delta_ids)))
            found = rows[0] >= 0
            ids = np.concatenate([np.array([i for i, _ in hits], np.int64), self.delta_ids[rows[0][found]]])
            hits = _top(ids, np.concatenate([np.array([s for _, s in hits], np.float32), scores[0][found]]), k)
        return hits

    def _search_base(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        total = int(self.index.ntotal)
        if total == len(self.hidden):
            return []
        if not len(self.hidden):
            scores, ids = self.index.search(query_vector, min(k, total))
            return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        # Hidden vectors are skipped inside the search (a FAISS selector), so the
        # search still asks for k. By position in a graph or flat index, since
        # after a fold an HNSW graph may hold a replaced id twice, once hidden.
        if self._params is None:  # this backend's hidden positions never change: made once
            self._params = self._skipping_hidden()
        params, _ = self._params
        if hasattr(self.index, "id_map"):
            scores, positions = self.index.index.search(query_vector, min(k, total), params=params)
            id_of = self.base_ids
            return [(int(id_of[p]), float(s)) for p, s in zip(positions[0], scores[0], strict=True) if p >= 0]
        scores, ids = self.index.search(query_vector, min(k, total), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _skipping_hidden(self) -> tuple[object, object]:
        """Search parameters that skip the hidden vectors (with the selector,
        which must outlive them)."""
        import faiss

        if hasattr(self.index, "id_map"):
            selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(self.hidden.astype(np.int64)))
            if self.index_type == "hnsw":
                graph = faiss.downcast_index(self.index.index)
                return faiss.SearchParametersHNSW(sel=selector, efSearch=graph.hnsw.efSearch), selector
            return faiss.SearchParameters(sel=selector), selector
        # IVF keeps its own ids, each once (a fold drops hidden ones): skipped by id.
        selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(self.base_ids[self.hidden]))
        return faiss.SearchParametersIVF(sel=selector, nprobe=self.index.nprobe), selector

    @property
    def base_ids(self) -> np.ndarray:
        """The id at each position of the base (hidden ones too)."""
        if self._base_ids is None:
            import faiss

            if hasattr(self.index, "id_map"):
                self._base_ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
            else:
                invlists = faiss.extract_index_ivf(self.index).invlists
                self._base_ids = np.concatenate(
                    [
                        faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
                        for i in range(invlists.nlist)
                    ]
                    or [np.zeros(0, np.int64)]
                )
        return self._base_ids

    def updated(self, added: Rows, removed: np.ndarray, everything: Callable[[], Rows]) -> FaissBackend:
        hidden, _, keep = layer_change(self.base_ids, self.hidden, self.delta_ids, removed, added.ids)
        delta_ids = np.concatenate([self.delta_ids[keep], np.asarray(added.ids, np.int64)])
        delta_vectors = np.vstack([self.delta_vectors[keep], np.asarray(added.vectors, np.float32)])
        grown = FaissBackend(self.index, self.index_type, hidden, delta_ids, delta_vectors, self.name, self.base_ids)
        if should_fold(int(self.index.ntotal), len(delta_ids), len(hidden)):
            return grown._folded(everything)
        return grown

    def _folded(self, everything: Callable[[], Rows]) -> FaissBackend:
        import faiss

        total = int(self.index.ntotal)
        if self.index_type == "hnsw" and len(self.hidden) <= HIDDEN_SHARE * max(total, 1):
            index = faiss.clone_index(self.index)
            index.add_with_ids(self.delta_vectors, self.delta_ids)
            return FaissBackend(index, self.index_type, self.hidden)
        rows = everything()
        if self.index_type == "ivfpq" and len(rows.ids) <= 4 * max(total - len(self.hidden), 1):
            # Within what it was trained on: drop and add in place rather than train again.
            index = faiss.clone_index(self.index)
            if len(self.hidden):
                index.remove_ids(self.base_ids[self.hidden])
            index.add_with_ids(self.delta_vectors, self.delta_ids)
            return FaissBackend(index, self.index_type, np.zeros(0, np.int64))
        if self.index_type == "hnsw":
            log.info("Rebuilding the HNSW graph without its %d removed vectors", len(self.hidden))
        return FaissBackend.build(rows.ids, rows.vectors, self.index_type)

    def save(self, folder: Path, previous: Path | None) -> None:
        import faiss

        link_or_write(
            folder / f"dense-base-{self.name}.faiss", previous, lambda path: faiss.write_index(self.index, str(path))
        )
        with open(folder / "dense-delta.npz", "wb") as f:
            np.savez(f, hidden=self.hidden, ids=self.delta_ids, vectors=self.delta_vectors)


def dense_index(vectors: np.ndarray, index_type: str):
    """An empty FAISS inner-product index that takes stable ids: exact
    ("flat"), graph ("hnsw", M=32) or compressed ("ivfpq", 8-bit product
    codes, trained on ``vectors``)."""
    import faiss

    dim = vectors.shape[1]
    if index_type == "ivfpq" and len(vectors):
        lists = max(1, min(int(4 * np.sqrt(len(vectors))), len(vectors) // 39))
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, lists, 48, 8, faiss.METRIC_INNER_PRODUCT)
        index.train(np.ascontiguousarray(vectors, np.float32))
        index.nprobe = min(16, lists)
        return index
    if index_type == "hnsw":
        graph = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = 80
        graph.hnsw.efSearch = 64
        return faiss.IndexIDMap2(graph)
    if index_type in ("flat", "ivfpq"):
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    raise ValueError(f"unknown index type {index_type!r}: use auto, flat, hnsw or ivfpq")


# -- words: BM25 ---------------------------------------------------------------------


def bm25_tokenize(texts: list[str]) -> list[list[str]]:
    """The words BM25 matches, per text: lowercased, English stop words
    dropped, Snowball-stemmed (also the terms of the answer features)."""
    bm25s = import_bm25s()
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False)


@functools.lru_cache(maxsize=1)
def import_bm25s():
    """bm25s, imported without the DEBUG level it sets on its own logger (it
    would print "DEBUG: Building index from tokens" in every command)."""
    logger = logging.getLogger("bm25s")
    level = logger.level
    import bm25s

    logger.setLevel(level)
    return bm25s


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


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
        vocab, token_id = list(self.vocab), dict(self.token_id)
        mapping = np.fromiter((token_id.setdefault(t, len(token_id)) for t in other.vocab), np.int32, len(other.vocab))
        vocab += list(token_id)[len(vocab) :]
        flat = np.concatenate([self.flat, mapping[other.flat] if len(other.flat) else np.zeros(0, np.int32)])
        offsets = np.concatenate([self.offsets, other.offsets[1:] + self.offsets[-1]])
        return Bm25Layer(np.concatenate([self.ids, other.ids]), vocab, flat.astype(np.int32), offsets)

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
        # Tokenized a batch at a time: a million paragraphs' tokens as Python
        # strings would take gigabytes at once.
        layer = Bm25Layer.empty()
        for start in range(0, len(texts), TOKENIZE_BATCH):
            batch = slice(start, start + TOKENIZE_BATCH)
            layer = layer.joined(Bm25Layer.of(np.asarray(ids)[batch], bm25_tokenize(list(texts[batch]))))
        return cls(layer, np.zeros(0, np.int64), Bm25Layer.empty())

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
        return _top(np.concatenate(ids), np.concatenate(scores), k)

    def updated(self, added: Rows, removed: np.ndarray, everything: Callable[[], Rows]) -> Bm25Backend:
        hidden, newly, keep = layer_change(self.base.ids, self.hidden, self.delta.ids, removed, added.ids)
        fresh = Bm25Layer.of(added.ids, bm25_tokenize(list(added.texts)))
        delta = self.delta.rows(keep).joined(fresh)
        if should_fold(len(self.base), len(delta), len(hidden)):
            live = np.ones(len(self.base), bool)
            live[hidden] = False
            return Bm25Backend(self.base.rows(live).joined(delta), np.zeros(0, np.int64), Bm25Layer.empty())
        hidden_df = self.hidden_df + self.base.token_counts(newly)
        return Bm25Backend(self.base, hidden, delta, self.name, hidden_df)

    def save(self, folder: Path, previous: Path | None) -> None:
        delta = {"hidden": self.hidden, **self.delta.arrays()}
        save_layers(folder, previous, "bm25", self.name, self.base.arrays, delta)
