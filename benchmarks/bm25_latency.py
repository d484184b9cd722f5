"""Our BM25 (scored at query time, qa/search/base.py) against bm25s's precomputed
index, side by side in one run, on the same tokens and paragraphs.

    .venv/bin/python benchmarks/bm25_latency.py [--squad ../shared/squad] [--queries 300] [--write docs/BENCHMARKS.md]

The paragraphs are SQuAD train + dev (21k), the queries SQuAD dev questions;
the two are called in turn for each query, and their top 10 compared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import measured_on, percentile, publish
from scale import paragraphs_of

from qa.evaluation.squad import load_squad
from qa.search.bm25 import Bm25Backend
from qa.search.tokenization import bm25_tokenize, import_bm25s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared" / "squad")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    texts = paragraphs_of(args.squad / "dev-v1.1.json") + paragraphs_of(args.squad / "train-v1.1-explorer.json")
    questions = [q.question for q in load_squad(args.squad / "dev-v1.1.json", args.queries)]
    ours = Bm25Backend.build(np.arange(len(texts), dtype=np.int64), texts)
    theirs = import_bm25s().BM25()
    theirs.index(bm25_tokenize(texts), show_progress=False)
    ours.search(questions[0], None, 10)  # builds the term-frequency matrix, as the app's warm-up does
    ours_ms, theirs_ms, same = [], [], 0
    for q in questions:
        start = time.perf_counter()
        got = ours.search(q, None, 10)
        ours_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        rows, _ = theirs.retrieve(bm25_tokenize([q]), k=10, show_progress=False)
        theirs_ms.append((time.perf_counter() - start) * 1000)
        same += {i for i, _ in got} == set(rows[0].tolist()) or len(got) < 10
    ratio = statistics.median(ours_ms) / statistics.median(theirs_ms)
    body = "\n".join(
        [
            f"{len(texts):,} SQuAD paragraphs, {len(questions)} SQuAD dev questions, top 10, called in turn:",
            "",
            "| BM25 | p50 ms | p95 ms |",
            "|---|---|---|",
            f"| ours (scored at query time, base + delta) | {statistics.median(ours_ms):.2f} | "
            f"{percentile(ours_ms, 0.95):.2f} |",
            f"| bm25s (precomputed scores) | {statistics.median(theirs_ms):.2f} | {percentile(theirs_ms, 0.95):.2f} |",
            "",
            f"Ratio of p50s **{ratio:.2f}**; the same top 10 for {same} of {len(questions)} questions (ties may "
            f"order differently). Both include tokenizing the question. Measured {measured_on()} "
            f"(`{' '.join(['python', *sys.argv])}`).",
        ]
    )
    publish(body, args.write, "bm25_latency", "BM25: ours against bm25s")


if __name__ == "__main__":
    main()
