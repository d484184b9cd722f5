"""txtai on a peer-benchmark job (run with benchmarks/peers/.venv-txtai).

A hybrid `Embeddings` index (dense vectors plus BM25 scoring) and txtai's
`Extractor` pointed at our reader, which txtai runs as its extractive
question-answering pipeline (`Questions`): the top passages are joined into one
context and read in a single window, answering None below a span probability
of 0.05. When the reader's best start is [CLS] (our reader's "no answer"),
txtai 9.14 raises a TypeError; that is recorded as an abstention.
"""

from __future__ import annotations

import time
from importlib import metadata

from protocol import answer_all, read_job, write_result
from txtai import Embeddings
from txtai.pipeline import Extractor
from txtai.pipeline.text import Questions

MODEL_POSITIONS = 512  # the reader's position limit: txtai reads one window, truncated to the tokenizer's length


def main() -> None:
    job = read_job()
    paragraphs = job["paragraphs"]
    embeddings = Embeddings(path=job["embedding_model"], method="sentence-transformers", content=True, hybrid=True)
    start = time.perf_counter()
    embeddings.index([(str(i), p["text"], None) for i, p in enumerate(paragraphs)])
    build_s = time.perf_counter() - start

    extractor = Extractor(embeddings, job["reader_model"], output="reference", gpu=False)
    assert isinstance(extractor.model, Questions), "txtai did not load the reader as extractive QA"
    # Our tokenizer is saved with the training window (192); give txtai the model's full length.
    extractor.model.tokenizer.model_max_length = MODEL_POSITIONS

    def answer(question: str, history: list) -> tuple[str | None, str | None]:
        try:
            out = extractor(question)
        except TypeError:
            # txtai maps the best start token to a word; when that token is [CLS],
            # where our reader puts "no answer", it has no word and txtai raises.
            # What the model said is "no answer", so that is what we record.
            return None, None
        if not out["answer"]:
            return None, None
        return out["answer"], paragraphs[int(out["reference"])]["source"]

    def retrieve(question: str, history: list, k: int) -> list[list[str]]:
        return [[paragraphs[int(hit["id"])]["source"]] for hit in embeddings.search(question, k)]

    rows = answer_all(job, answer, retrieve)
    notes = f"hybrid Embeddings, Extractor context={extractor.context} passages in one {MODEL_POSITIONS}-token window"
    write_result("txtai", metadata.version("txtai"), build_s, rows, notes)


if __name__ == "__main__":
    main()
