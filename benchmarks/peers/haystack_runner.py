"""Haystack 2.x on a peer-benchmark job (run with benchmarks/peers/.venv-haystack).

The standard hybrid extractive pipeline: an in-memory document store, BM25
and embedding retrievers joined by reciprocal-rank fusion, then
`ExtractiveReader` with our reader weights and the same window settings.
"""

from __future__ import annotations

import time
from importlib import metadata

import torch
from haystack import Document, Pipeline
from haystack.components.embedders import SentenceTransformersDocumentEmbedder, SentenceTransformersTextEmbedder
from haystack.components.joiners import DocumentJoiner
from haystack.components.readers import ExtractiveReader
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
from haystack.document_stores.in_memory import InMemoryDocumentStore
from protocol import answer_all, read_job, write_result


def main() -> None:
    job = read_job()
    store = InMemoryDocumentStore()
    # Ids of our own: Haystack's default id hashes content and meta, and rejects a repeated paragraph of a file.
    documents = [
        Document(id=f"{p['source']}#{p['paragraph']}", content=p["text"], meta={"source": p["source"]})
        for p in job["paragraphs"]
    ]
    embedder = SentenceTransformersDocumentEmbedder(
        model=job["embedding_model"], batch_size=32, normalize_embeddings=True, progress_bar=False
    )
    embedder.warm_up()  # model loading is not index building, for any system
    start = time.perf_counter()
    store.write_documents(embedder.run(documents)["documents"])
    build_s = time.perf_counter() - start

    candidates, read_k = job["candidates"], job["read_k"]
    pipeline = Pipeline()
    pipeline.add_component(
        "query_embedder",
        SentenceTransformersTextEmbedder(model=job["embedding_model"], normalize_embeddings=True, progress_bar=False),
    )
    pipeline.add_component("dense", InMemoryEmbeddingRetriever(store, top_k=candidates))
    pipeline.add_component("bm25", InMemoryBM25Retriever(store, top_k=candidates))
    pipeline.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=read_k))
    pipeline.add_component(
        "reader",
        ExtractiveReader(
            model=job["reader_model"],  # top_k stays at its default (20): it sets how no-answer is scored
            max_seq_length=job["max_length"],
            stride=job["stride"],
            no_answer=True,
            model_kwargs={"dtype": torch.float32},
        ),
    )
    pipeline.connect("query_embedder.embedding", "dense.query_embedding")
    pipeline.connect("dense", "joiner")
    pipeline.connect("bm25", "joiner")
    pipeline.connect("joiner", "reader.documents")
    last_ranking: list[list[str]] = []

    def answer(question: str, history: list) -> tuple[str | None, str | None]:
        out = pipeline.run(
            {"query_embedder": {"text": question}, "bm25": {"query": question}, "reader": {"query": question}},
            include_outputs_from={"joiner"},
        )
        last_ranking[:] = [[d.meta["source"]] for d in out["joiner"]["documents"]]
        best = max(out["reader"]["answers"], key=lambda a: a.score)
        if best.data is None:  # the no-answer candidate won
            return None, None
        return best.data, best.document.meta["source"]

    def retrieve(question: str, history: list, k: int) -> list[list[str]]:
        return last_ranking[:k]  # the fused ranking the reader was given for this question

    rows = answer_all(job, answer, retrieve)
    notes = f"BM25 + embedding top {candidates} each, RRF top {read_k}, ExtractiveReader(no_answer=True, top_k=20); best answer taken"
    write_result("Haystack", metadata.version("haystack-ai"), build_s, rows, notes)


if __name__ == "__main__":
    main()
