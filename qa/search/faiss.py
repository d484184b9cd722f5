"""Dense search with FAISS: exact, HNSW or IVF-PQ, over a base and a delta.

Search results are the same whatever the layers: the two layers' hits are
merged by score, and the base's hidden rows are skipped inside the search.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa import layers
from qa.layers import layer_change, link_or_write, new_base_name, should_fold
from qa.search.base import Rows, top_hits

log = logging.getLogger(__name__)


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
            # FAISS's OpenMP threads would take turns on the cores.
            if self._delta_index is None:
                import faiss

                self._delta_index = faiss.IndexFlatIP(self.delta_vectors.shape[1])
                self._delta_index.add(np.ascontiguousarray(self.delta_vectors, np.float32))
            scores, rows = self._delta_index.search(query_vector, min(k, len(self.delta_ids)))
            found = rows[0] >= 0
            ids = np.concatenate([np.array([i for i, _ in hits], np.int64), self.delta_ids[rows[0][found]]])
            hits = top_hits(ids, np.concatenate([np.array([s for _, s in hits], np.float32), scores[0][found]]), k)
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
            return grown.folded(everything)
        return grown

    def folded(self, everything: Callable[[], Rows]) -> FaissBackend:
        """The same vectors in one base (``everything``: every live row, for a rebuild)."""
        import faiss

        total = int(self.index.ntotal)
        if self.index_type == "hnsw" and len(self.hidden) <= layers.HIDDEN_SHARE * max(total, 1):
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


# Exact search grows linearly with the archive; up to here it stays small beside
# the reader, and above it HNSW answers in under a millisecond with high recall
# (figures in docs/BENCHMARKS.md). IVF-PQ is a setting only: its recall costs answers.
HNSW_FROM = 200_000


def resolve_index_type(index_type: str, rows: int) -> str:
    if index_type != "auto":
        return index_type
    return "flat" if rows < HNSW_FROM else "hnsw"
