"""How cost grows with the corpus: build throughput and FAISS index types.

    .venv/bin/python benchmarks/scale.py [--squad ../shared/squad] [--sizes 2000,20000,1000000] [--write docs/BENCHMARKS.md]

1. Build throughput: `qa index` over the SQuAD dev paragraphs (2,067) against
   raw `SentenceTransformer.encode` of the same texts in the same run; the
   ratio is our overhead (reading, BM25, duplicate grouping, writing).
2. A full build of the 20k-paragraph index (SQuAD train + dev paragraphs, one
   file each), for its vectors. (What updating it costs: benchmarks/updates.py.)
3. Query latency p50/p95, memory and recall@10 against exact search for the
   FAISS index types (flat, HNSW, IVF-PQ) at each size. 2k and 20k use the
   real embeddings of those two builds; 1M is synthetic: the 20k real vectors
   plus Gaussian noise, re-normalised. Queries are embeddings of SQuAD dev
   questions.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import measured_on, percentile, publish

from qa import Settings
from qa.evaluation.evaluate import squad_as_corpus
from qa.evaluation.squad import load_squad
from qa.index.store import IndexStore
from qa.search.embeddings import encode, load_encoder
from qa.search.faiss import FaissBackend

INDEX_TYPES = ("flat", "hnsw", "ivfpq")


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_throughput(squad_dir: Path, work: Path) -> tuple[list[str], np.ndarray, dict]:
    corpus = work / "dev-corpus"
    squad_as_corpus(squad_dir / "dev-v1.1.json", corpus)
    texts = [p.read_text("utf-8").strip() for p in sorted(corpus.glob("*.txt"))]
    settings = Settings.from_env(corpus_dir=corpus, index_dir=work / "dev-index")
    load_encoder(settings.model)
    encode(settings.model, texts[:64])  # warm-up
    start = time.perf_counter()
    encoder = load_encoder(settings.model)
    encoder.encode(texts, batch_size=32, normalize_embeddings=True)
    raw = len(texts) / (time.perf_counter() - start)
    start = time.perf_counter()
    index, _ = IndexStore(settings).update()
    ours = len(index.paragraphs) / (time.perf_counter() - start)
    return (
        texts,
        index.embeddings,
        {
            "paragraphs": len(index.paragraphs),
            "raw_encode_per_s": raw,
            "qa_index_per_s": ours,
            "ratio": ours / raw,
        },
    )


def paragraphs_of(squad_file: Path) -> list[str]:
    seen, texts = set(), []
    for q in load_squad(squad_file):
        if q.context not in seen:
            seen.add(q.context)
            texts.append(q.context)
    return texts


def measure_index(vectors: np.ndarray, queries: np.ndarray) -> list[dict]:
    rows, exact_top = [], None
    for kind in INDEX_TYPES:
        start = time.perf_counter()
        index = FaissBackend.build(np.arange(len(vectors)), vectors, kind).index  # ids = rows
        build_s = time.perf_counter() - start
        import faiss

        size_mib = len(faiss.serialize_index(index)) / 2**20
        times, found = [], []
        for q in queries:
            t = time.perf_counter()
            _, ids = index.search(q.reshape(1, -1), 10)
            times.append((time.perf_counter() - t) * 1000)
            found.append(ids[0])
        found = np.array(found)
        if kind == "flat":
            exact_top = found
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact_top, strict=True)]))
        rows.append(
            {
                "index": kind,
                "vectors": len(vectors),
                "build_s": build_s,
                "p50_ms": statistics.median(times),
                "p95_ms": percentile(times, 0.95),
                "size_mib": size_mib,
                "recall_at_10": recall,
            }
        )
        del index
    return rows


def big_build(texts: list[str], work: Path) -> tuple[np.ndarray, dict]:
    """The 21k-paragraph index built in full (its update costs: benchmarks/updates.py)."""
    corpus = work / "big-corpus"
    corpus.mkdir()
    for i, text in enumerate(texts):
        (corpus / f"p{i:06d}.txt").write_text(text + "\n", "utf-8")
    settings = Settings.from_env(corpus_dir=corpus, index_dir=work / "big-index")
    start = time.perf_counter()
    index, _ = IndexStore(settings).update()
    full = time.perf_counter() - start
    return index.embeddings, {"paragraphs": len(index.paragraphs), "full_build_s": full}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared" / "squad")
    parser.add_argument("--sizes", default="2000,20000,1000000", help="which of 2000, 20000, 1000000 to run")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = {int(s) for s in args.sizes.split(",")}
    results: dict = {}
    model = Settings().model
    with tempfile.TemporaryDirectory(prefix="qa-scale-") as tmp:
        work = Path(tmp)
        dev_texts, dev_vectors, results["build"] = build_throughput(args.squad, work)
        print("build:", json.dumps(results["build"]), flush=True)
        questions = [q.question for q in load_squad(args.squad / "dev-v1.1.json", args.queries)]
        queries = encode(model, questions)
        results["indexes"] = []
        if 2000 in sizes:
            results["indexes"] += measure_index(dev_vectors, queries)
        if sizes & {20000, 1000000}:
            big_texts = dev_texts + paragraphs_of(args.squad / "train-v1.1-explorer.json")
            big_vectors, results["big_build"] = big_build(big_texts, work)
            print("21k build:", json.dumps(results["big_build"]), flush=True)
            if 20000 in sizes:
                results["indexes"] += measure_index(big_vectors, queries)
            if 1000000 in sizes:
                rng = np.random.default_rng(0)
                copies = -(-1_000_000 // len(big_vectors))
                synthetic = np.vstack(
                    [big_vectors + rng.normal(0, 0.05, big_vectors.shape).astype(np.float32) for _ in range(copies)]
                )[:1_000_000]
                synthetic /= np.linalg.norm(synthetic, axis=1, keepdims=True)
                results["indexes"] += measure_index(np.ascontiguousarray(synthetic, dtype=np.float32), queries)
                del synthetic
        shutil.rmtree(work, ignore_errors=True)
    results["peak_rss_mib"] = rss_mib()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    report = render(results, " ".join(["python", *sys.argv]))
    publish(report, args.write, "scale", "Cost as the corpus grows")


def render(results: dict, command: str) -> str:
    b = results["build"]
    lines = [
        f"Index build over {b['paragraphs']:,} SQuAD dev paragraphs: `qa index` {b['qa_index_per_s']:.0f} paragraphs/s, "
        f"raw `SentenceTransformer.encode` {b['raw_encode_per_s']:.0f} paragraphs/s: ratio **{b['ratio']:.2f}**.",
        "",
        "| vectors | index | build s | query p50 ms | query p95 ms | size MiB | recall@10 vs flat |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results["indexes"]:
        lines.append(
            f"| {r['vectors']:,} | {r['index']} | {r['build_s']:.1f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | "
            f"{r['size_mib']:.1f} | {r['recall_at_10']:.3f} |"
        )
    lines += [
        "",
        f"Peak memory of the run: {results['peak_rss_mib']:.0f} MiB. Measured {measured_on()}, faiss-cpu {metadata.version('faiss-cpu')}, "
        f"sentence-transformers {metadata.version('sentence-transformers')} (`{command}`).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
