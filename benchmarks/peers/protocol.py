"""What every runner reads and writes: one JSON job in, one JSON result out.

Runners live in different virtual environments (ours, Haystack's, txtai's), so
this module uses the standard library only. A job holds the paragraphs to index
(the same paragraphs, with their source files, for every system), the
questions, and the paths of the embedding model and the reader weights. A
result holds, per question, the answer (None when the system abstains), the
file it cites, the files of the top retrieved passages and the time taken to
answer; plus the index build time and the process's peak memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

# answer_fn(question, history) -> (answer or None, cited source or None)
AnswerFn = Callable[[str, list], tuple[str | None, str | None]]
# retrieve_fn(question, history, k) -> the top k passages, best first, each as the
# files it stands for (one, or more where a system groups syndicated copies)
RetrieveFn = Callable[[str, list, int], list[list[str]]]


def read_job() -> dict:
    return json.loads(Path(sys.argv[1]).read_text("utf-8"))


def answer_all(job: dict, answer_fn: AnswerFn, retrieve_fn: RetrieveFn) -> list[dict]:
    """Answer every question of the job, timing the answer only (retrieval for
    recall is asked separately, untimed). The first question is asked once
    before timing starts, so lazy model loading is not charged to it."""
    questions = job["questions"]
    if questions:
        answer_fn(questions[0]["question"], questions[0]["history"])
    rows = []
    for q in questions:
        start = time.perf_counter()
        answer, source = answer_fn(q["question"], q["history"])
        latency_ms = (time.perf_counter() - start) * 1000
        retrieved = retrieve_fn(q["question"], q["history"], job["recall_k"])
        rows.append(
            {"id": q["id"], "answer": answer, "source": source, "retrieved": retrieved, "latency_ms": latency_ms}
        )
    return rows


def write_result(system: str, version: str, build_s: float, rows: list[dict], notes: str = "") -> None:
    result = {
        "system": system,
        "version": version,
        "build_s": build_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "answers": rows,
        "notes": notes,
    }
    Path(sys.argv[2]).write_text(json.dumps(result), "utf-8")
