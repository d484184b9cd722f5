"""Where paragraphs are found: search backends behind one narrow interface.

A backend knows paragraphs only by their stable id
(:func:`qa.dedup.paragraph_id`), never by row position, and answers
``search(query, vector, k) -> [(id, score), ...]``, best first, as DrQA's
interchangeable rankers answer ``closest_docs(query, k)``. The index store
hands each backend the paragraphs of a new build with ``updated``; a backend
changes only what changed, and returns a new backend rather than altering the
one the app is answering from. So a failed update leaves the old one in use.

Two backends live in the index folder's build: :class:`FaissBackend` (dense
vectors) and :class:`Bm25Backend` (words). :mod:`qa.milvus_backend` serves
both kinds of search from a Milvus server or a Milvus Lite file.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

# An HNSW graph cannot drop vectors: removed ones are hidden from results
# until they are this share of the graph, and then it is rebuilt.
HNSW_REBUILD_SHARE = 0.1


class SearchBackend(Protocol):
    """One way of finding paragraphs: by meaning (vectors), by words, or both."""

    def search(self, query: str, vector: np.ndarray | None, k: int) -> list[tuple[int, float]]:
        """The ``k`` best paragraphs for the query, as (id, score), best first."""
        ...

    def updated(self, ids: np.ndarray, texts: Sequence[str], vectors: np.ndarray, new: set[int]) -> SearchBackend:
        """A backend over exactly ``ids`` (with their texts and vectors, row by
        row); ``new`` are the ids not indexed before. Ids it held that are not
        in ``ids`` are removed."""
        ...

    def save(self, folder: Path) -> None:
        """Write what the backend keeps into a build folder (the store checksums every file there)."""
        ...


# -- dense: FAISS ------------------------------------------------------------------


@dataclass
class FaissBackend:
    """FAISS inner-product search over unit vectors, by stable id.

    "flat" (exact) and "ivfpq" drop and add vectors in place; "hnsw" adds in
    place, hides removed vectors from results, and is rebuilt once they are
    a tenth of the graph.
    """

    index: object  # faiss.Index holding stable ids (IndexIDMap2, or IVF with its own ids)
    index_type: str
    hidden: np.ndarray  # positions of vectors removed from an HNSW graph but still in it
    _id_of: np.ndarray | None = field(default=None, repr=False)
    _hidden_set: set[int] = field(default_factory=set, repr=False)

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, index_type: str) -> FaissBackend:
        index = dense_index(vectors, index_type)
        if len(vectors):
            index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.asarray(ids, np.int64))
        return cls(index, index_type, np.zeros(0, np.int64))

    @classmethod
    def load(cls, folder: Path, index_type: str) -> FaissBackend:
        import faiss

        hidden = folder / "dense-hidden.npy"
        return cls(
            faiss.read_index(str(folder / "dense.faiss")),
            index_type,
            np.load(hidden, allow_pickle=False) if hidden.exists() else np.zeros(0, np.int64),
        )

    def __len__(self) -> int:
        return int(self.index.ntotal) - len(self.hidden)

    def search(self, query: str, vector: np.ndarray | None, k: int) -> list[tuple[int, float]]:
        if vector is None or len(self) == 0:
            return []
        query_vector = np.asarray(vector, np.float32).reshape(1, -1)
        if not len(self.hidden):
            scores, ids = self.index.search(query_vector, min(k, len(self)))
            return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        # Search the graph itself, drop the hidden positions, then name the rest by id.
        import faiss

        n = min(k + len(self.hidden), int(self.index.ntotal))
        scores, positions = self.index.index.search(query_vector, n)
        if self._id_of is None:  # this backend's positions never change: read them once
            self._id_of = faiss.vector_to_array(self.index.id_map)
            self._hidden_set = set(self.hidden.tolist())
        id_of, hidden = self._id_of, self._hidden_set
        hits = [
            (int(id_of[p]), float(s))
            for p, s in zip(positions[0], scores[0], strict=True)
            if p >= 0 and p not in hidden
        ]
        return hits[:k]

    def updated(self, ids: np.ndarray, texts: Sequence[str], vectors: np.ndarray, new: set[int]) -> FaissBackend:
        import faiss

        if self.index_type == "ivfpq" and len(ids) > 4 * max(int(self.index.ntotal), 1):
            return FaissBackend.build(ids, vectors, self.index_type)  # grown far past what it was trained on
        keep = set(ids.tolist()) - new  # a changed article's paragraphs keep their ids: replaced, not kept
        held = self._ids()
        index, hidden = faiss.clone_index(self.index), self.hidden
        if self.index_type == "hnsw":
            gone = np.flatnonzero([i not in keep for i in held.tolist()])
            hidden = np.union1d(hidden, gone).astype(np.int64)
        else:
            gone = np.array([i for i in held.tolist() if i not in keep], np.int64)
            if len(gone):
                index.remove_ids(gone)
        rows = [r for r, i in enumerate(ids.tolist()) if i not in keep]
        if rows:
            index.add_with_ids(np.ascontiguousarray(vectors[rows], np.float32), ids[rows].astype(np.int64))
        if len(hidden) > HNSW_REBUILD_SHARE * max(int(index.ntotal), 1):
            log.info("Rebuilding the HNSW graph without its %d removed vectors", len(hidden))
            return FaissBackend.build(ids, vectors, self.index_type)
        return FaissBackend(index, self.index_type, hidden)

    def _ids(self) -> np.ndarray:
        """The id at each position of the FAISS index (hidden ones too)."""
        import faiss

        if isinstance(self.index, faiss.IndexIDMap2 | faiss.IndexIDMap):
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        invlists = faiss.extract_index_ivf(self.index).invlists
        return np.concatenate(
            [faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy() for i in range(invlists.nlist)]
            or [np.zeros(0, np.int64)]
        )

    def save(self, folder: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(folder / "dense.faiss"))
        np.save(folder / "dense-hidden.npy", self.hidden, allow_pickle=False)


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


@dataclass
class Bm25Backend:
    """BM25 over stemmed words (bm25s). Each paragraph's tokens are kept, so
    an update tokenizes only new paragraphs; the BM25 matrix itself is
    rebuilt from the kept token ids (IDF and lengths change with any document)."""

    bm25: object  # bm25s.BM25, row r = ids[r]
    ids: np.ndarray  # int64 paragraph id per row
    vocab: list[str]  # token id -> token
    flat: np.ndarray  # int32 token ids of every row, one after the other
    offsets: np.ndarray  # row r's tokens are flat[offsets[r]:offsets[r + 1]]

    @classmethod
    def build(cls, ids: np.ndarray, texts: Sequence[str]) -> Bm25Backend:
        empty = cls(None, np.zeros(0, np.int64), [], np.zeros(0, np.int32), np.zeros(1, np.int64))
        return empty.updated(np.asarray(ids, np.int64), texts, np.zeros((len(texts), 0)), set(np.asarray(ids).tolist()))

    @classmethod
    def load(cls, folder: Path) -> Bm25Backend:
        bm25 = import_bm25s().BM25.load(str(folder / "bm25"))
        with np.load(folder / "bm25-tokens.npz", allow_pickle=False) as z:
            return cls(bm25, z["ids"], z["vocab"].tolist(), z["flat"], z["offsets"])

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, vector: np.ndarray | None, k: int) -> list[tuple[int, float]]:
        tokens = bm25_tokenize([query])
        if not len(self.ids) or not tokens[0]:
            return []
        rows, scores = self.bm25.retrieve(tokens, k=min(k, len(self.ids)), show_progress=False)
        return [(int(self.ids[r]), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]

    def updated(self, ids: np.ndarray, texts: Sequence[str], vectors: np.ndarray, new: set[int]) -> Bm25Backend:
        row_of = {i: r for r, i in enumerate(self.ids.tolist())}
        vocab, token_id = list(self.vocab), {t: i for i, t in enumerate(self.vocab)}
        fresh_rows = [r for r, i in enumerate(ids.tolist()) if i in new or i not in row_of]
        fresh = dict(zip(fresh_rows, bm25_tokenize([texts[r] for r in fresh_rows]), strict=True))
        docs: list[np.ndarray] = []
        for r, i in enumerate(ids.tolist()):
            if r in fresh:
                for t in fresh[r]:
                    if t not in token_id:
                        token_id[t] = len(vocab)
                        vocab.append(t)
                docs.append(np.array([token_id[t] for t in fresh[r]], np.int32))
            else:
                old = row_of[i]
                docs.append(self.flat[self.offsets[old] : self.offsets[old + 1]])
        lengths = np.array([len(d) for d in docs], np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = np.concatenate(docs) if docs else np.zeros(0, np.int32)
        bm25 = bm25_index(flat, offsets, vocab) if docs else None
        return Bm25Backend(bm25, np.asarray(ids, np.int64), vocab, flat, offsets)

    def document_frequency(self) -> dict[str, int]:
        """How many paragraphs each token occurs in."""
        if self.bm25 is None:
            return {}
        postings = np.diff(self.bm25.scores["indptr"])
        return {token: int(postings[i]) for token, i in self.bm25.vocab_dict.items() if token}

    def save(self, folder: Path) -> None:
        if self.bm25 is not None:
            self.bm25.save(str(folder / "bm25"))
        with open(folder / "bm25-tokens.npz", "wb") as f:
            np.savez(f, ids=self.ids, vocab=np.array(self.vocab, dtype=str), flat=self.flat, offsets=self.offsets)


def bm25_index(flat: np.ndarray, offsets: np.ndarray, vocab: list[str], k1: float = 1.5, b: float = 0.75):
    """A bm25s index over documents given as token ids (document r is
    ``flat[offsets[r]:offsets[r + 1]]``), scored exactly as ``bm25s.BM25().index``
    scores (its default "lucene" variant), but computed with numpy in one pass
    rather than a Python loop per document: 0.05 s instead of 0.6 s at 21k
    paragraphs, which is most of an update's cost."""
    import scipy.sparse

    bm25 = import_bm25s().BM25(k1=k1, b=b)
    n, size = len(offsets) - 1, len(vocab)
    lengths = np.diff(offsets)
    pairs, tf = np.unique(np.repeat(np.arange(n, dtype=np.int64), lengths) * size + flat, return_counts=True)
    doc, token = pairs // size, pairs % size
    df = np.bincount(token, minlength=size)
    idf = np.zeros(size, np.float32)
    idf[df > 0] = np.log(1 + (n - df[df > 0] + 0.5) / (df[df > 0] + 0.5))
    tf = tf.astype(np.float32)
    tfc = tf / (k1 * ((1 - b) + b * lengths[doc] / lengths.mean()) + tf)
    matrix = scipy.sparse.csc_matrix(((idf[token] * tfc).astype(np.float32), (doc, token)), shape=(n, size))
    # What bm25s.BM25.index sets once it has its scores, "" being the token of an empty query.
    bm25.scores = {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr, "num_docs": n}
    bm25.vocab_dict = {t: i for i, t in enumerate(vocab)}
    bm25.vocab_dict.setdefault("", size)
    bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
    bm25.nonoccurrence_array = None  # used only by the BM25L and BM25+ variants
    return bm25
