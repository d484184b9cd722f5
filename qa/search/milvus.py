"""Milvus as the search backend: dense and BM25 search in one collection.

    QA_BACKEND=milvus QA_MILVUS_URI=./index/milvus.db     # Milvus Lite: a local file, nothing to start
    QA_BACKEND=milvus QA_MILVUS_URI=http://host:19530     # Milvus Standalone or Distributed

The collection holds each paragraph's stable id, its words as our BM25
analyses them (stemmed, stop words dropped) and its vector. Milvus computes
the BM25 sparse vectors from those words itself (a BM25 function on the
schema), so one collection answers both kinds of search, and our retriever
fuses the two rankings as it fuses FAISS and bm25s. Updates are upserts and
deletes by id. The build folder keeps only which collection it used.

A Milvus collection is not part of the build folder's atomic swap: an update
writes to it before the new build becomes current. Until then the answering
index skips ids it does not know, and a build that finds the collection
disagreeing with its paragraphs (an update that crashed half-way) writes
them into it again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.search.base import Rows
from qa.search.tokenization import bm25_tokenize

log = logging.getLogger(__name__)

BATCH = 1000  # rows per insert call


@dataclass(frozen=True)
class MilvusBackend:
    """A view of the paragraph collection: ``kind`` "dense" searches vectors,
    "bm25" searches words. Both views share one client and collection."""

    client: object  # pymilvus.MilvusClient
    uri: str
    collection: str
    ids: np.ndarray  # the ids the collection holds for the build using it
    kind: str = "dense"

    FILE = "milvus.json"

    @classmethod
    def connect(cls, uri: str, collection: str, dim: int) -> MilvusBackend:
        """The collection at ``uri``, created if missing (empty)."""
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        if "://" not in uri:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        client = MilvusClient(uri)
        if not client.has_collection(collection):
            schema = client.create_schema(auto_id=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True)
            schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(
                Function(
                    name="bm25",
                    function_type=FunctionType.BM25,
                    input_field_names=["text"],
                    output_field_names=["sparse"],
                )
            )
            index = client.prepare_index_params()
            index.add_index("dense", index_type="FLAT", metric_type="IP")
            index.add_index(
                "sparse",
                index_type="SPARSE_INVERTED_INDEX",
                metric_type="BM25",
                params={"bm25_k1": 1.5, "bm25_b": 0.75},
            )
            # Milvus Lite builds indexes at once and lacks the call pymilvus makes to wait
            # for them: its gRPC server would log that as an error, with a traceback.
            grpc_log = logging.getLogger("grpc._server")
            level = grpc_log.level
            grpc_log.setLevel(logging.CRITICAL)
            try:
                client.create_collection(collection, schema=schema, index_params=index)
            finally:
                grpc_log.setLevel(level)
        client.load_collection(collection)  # a collection is searchable only once loaded
        return cls(client, uri, collection, np.zeros(0, np.int64))

    @classmethod
    def load(cls, folder: Path, uri: str, ids: np.ndarray, texts: Sequence[str], vectors: np.ndarray) -> MilvusBackend:
        """The collection a build used, written again from the build's own
        paragraphs if it holds anything else (see the module's note)."""
        saved = json.loads((folder / cls.FILE).read_text("utf-8"))
        backend = cls.connect(uri or saved["uri"], saved["collection"], vectors.shape[1])
        backend = replace(backend, ids=np.asarray(ids, np.int64))
        if backend.count() != len(ids):
            log.warning(
                "The Milvus collection %s holds %d paragraphs, the index %d: writing the index's paragraphs into it",
                saved["collection"],
                backend.count(),
                len(ids),
            )
            return cls.filled(backend.uri, saved["collection"], ids, texts, vectors)
        return backend

    @classmethod
    def filled(
        cls, uri: str, collection: str, ids: np.ndarray, texts: Sequence[str], vectors: np.ndarray
    ) -> MilvusBackend:
        """The collection emptied of whatever it held, then filled with these paragraphs."""
        cls.connect(uri, collection, vectors.shape[1]).client.drop_collection(collection)
        empty = cls.connect(uri, collection, vectors.shape[1])
        rows = Rows(np.asarray(ids, np.int64), texts, vectors)
        return empty.updated(rows, np.zeros(0, np.int64), lambda: rows)

    def count(self) -> int:
        return int(self.client.get_collection_stats(self.collection)["row_count"])

    def view(self, kind: str) -> MilvusBackend:
        return replace(self, kind=kind)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, vector: np.ndarray | None, k: int) -> list[tuple[int, float]]:
        if not len(self.ids):
            return []
        if self.kind == "dense":
            if vector is None:
                return []
            data, field, metric = [np.asarray(vector, np.float32).ravel().tolist()], "dense", "IP"
        else:
            words = _analysed([query])[0]
            if not words:
                return []
            data, field, metric = [words], "sparse", "BM25"
        hits = self.client.search(
            self.collection,
            data=data,
            anns_field=field,
            limit=min(k, len(self.ids)),
            search_params={"metric_type": metric},
            output_fields=["id"],
        )[0]
        # Milvus Lite reports BM25 as a negated distance: the order is what counts.
        return [(int(h["id"]), abs(float(h["distance"]))) for h in hits]

    def updated(self, added: Rows, removed: np.ndarray, everything: Callable[[], Rows]) -> MilvusBackend:
        gone = np.union1d(np.asarray(removed, np.int64), np.asarray(added.ids, np.int64))
        held = self.ids[np.isin(self.ids, np.asarray(removed, np.int64))]
        if len(held):
            self.client.delete(self.collection, ids=held.tolist())
        for start in range(0, len(added.ids), BATCH):
            batch = range(start, min(start + BATCH, len(added.ids)))
            words = _analysed([added.texts[r] for r in batch])
            self.client.upsert(
                self.collection,
                [
                    {"id": int(added.ids[r]), "text": w, "dense": added.vectors[r].astype(np.float32).tolist()}
                    for r, w in zip(batch, words, strict=True)
                ],
            )
        self.client.flush(self.collection)
        ids = np.concatenate([self.ids[~np.isin(self.ids, gone)], np.asarray(added.ids, np.int64)])
        return replace(self, ids=ids)

    def save(self, folder: Path, previous: Path | None) -> None:
        (folder / self.FILE).write_text(json.dumps({"uri": self.uri, "collection": self.collection}), "utf-8")


def _analysed(texts: Sequence[str]) -> list[str]:
    """Texts as our BM25 sees them (stemmed, stop words dropped), words joined
    by spaces. Milvus indexes these, so its BM25 matches the words bm25s
    matches: Milvus Lite's analyzer has no stemmer, and a server's English
    analyzer stems differently."""
    return [" ".join(tokens) for tokens in bm25_tokenize(list(texts))]
