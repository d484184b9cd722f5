"""What answer boundaries (qa/answers/boundaries.py) do to SQuAD v1.1 in open mode:
the same retrieval and the same reader's spans, ranked with and without the cut.

    .venv/bin/python benchmarks/answer_boundaries.py [--squad ../shared/squad/dev-v1.1.json]
        [--limit 2000] [--write docs/BENCHMARKS.md]

Every paragraph of the file is an article of one corpus, as `qa eval` does
with a SQuAD file; the first `--limit` questions are asked against the whole
index. Each question is read once; both variants rank those spans, so the
difference is the cut alone. F1 and EM are over every question, never
abstaining (the bot's best answer, whatever its confidence), and at the
calibrator's threshold (a declined question scores 0).
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import measured_on, publish

from qa import Settings
from qa.answers.boundaries import trim
from qa.answers.evidence import aggregate
from qa.evaluation.evaluate import squad_as_corpus
from qa.evaluation.metrics import exact_match, token_f1
from qa.index.store import IndexStore
from qa.pipeline import make_reader
from qa.reading.kinds import load_question_types
from qa.search.retriever import HybridRetriever
from qa.serving.logs import quiet_libraries

VARIANTS = ("without the cut", "with the cut (shipped)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared" / "squad" / "dev-v1.1.json")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--cache", type=Path, help="keep the readings here and reuse them (to try other cuts)")
    args = parser.parse_args()
    quiet_libraries(logging.ERROR)
    types = load_question_types()
    totals = {v: {"f1": 0.0, "em": 0.0, "f1_kept": 0.0, "answered": 0} for v in VARIANTS}
    changed: list[tuple[str, str, str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="qa-bounds-") as tmp:
        questions = squad_as_corpus(args.squad, Path(tmp) / "corpus", args.limit)
        settings = Settings.from_env(corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index")
        index, _ = IndexStore(settings).open()
    reader, ranker = make_reader(settings, index)
    readings = read(questions, index, settings, reader, args.cache)
    for q, (passages, spans) in zip(questions, readings, strict=True):
        said = {}
        for variant, cut in zip(VARIANTS, (False, True), strict=True):
            cut_spans = trim(q.question, spans, types) if cut else spans
            ranked = ranker.rank(q.question, aggregate(cut_spans, passages, index.family_of))
            confidence, answer = (ranked[0][0], ranked[0][1].text) if ranked else (0.0, "")
            f1 = token_f1(answer, q.answers)
            totals[variant]["f1"] += f1
            totals[variant]["em"] += exact_match(answer, q.answers)
            if confidence >= ranker.abstain_below:
                totals[variant]["f1_kept"] += f1
                totals[variant]["answered"] += 1
            said[variant] = (answer, f1)
        (before, f1_before), (after, f1_after) = said.values()
        if before != after:
            changed.append((q.question, before, after, f1_before, f1_after))
    n = len(questions)
    lines = [
        f"Measured {measured_on()}; SQuAD v1.1 dev, open mode over all its paragraphs, the first {n} questions, "
        f"each read once and ranked both ways (`benchmarks/answer_boundaries.py --limit {args.limit}`).",
        "",
        "| | F1, never abstaining | EM, never abstaining | F1 at the threshold | answered at the threshold |",
        "|---|---|---|---|---|",
    ]
    for variant, t in totals.items():
        lines.append(
            f"| {variant} | {100 * t['f1'] / n:.1f} | {100 * t['em'] / n:.1f} | {100 * t['f1_kept'] / n:.1f} "
            f"| {t['answered']} |"
        )
    better = sum(after > before for _, _, _, before, after in changed)
    worse = sum(after < before for _, _, _, before, after in changed)
    lines += [
        "",
        f"The best answer changed for {len(changed)} questions: F1 up for {better}, down for {worse}. "
        "The first ten of them (question: without → with, F1 before → after):",
        "",
    ]
    for question, before, after, f1_before, f1_after in changed[:10]:
        lines.append(f"- {question} {before!r} → {after!r} ({f1_before:.2f} → {f1_after:.2f})")
    publish("\n".join(lines), args.write, "answer_boundaries", "Answer boundaries on SQuAD v1.1 open")


def read(questions, index, settings, reader, cache: Path | None) -> list[tuple[list, list]]:
    """Each question's retrieved passages and the reader's spans, from ``cache`` when it holds them."""
    if cache and cache.exists():
        kept = pickle.loads(cache.read_bytes())
        if kept["ids"] == [q.id for q in questions]:
            return kept["readings"]
    retriever = HybridRetriever(index, settings)
    readings, started = [], time.time()
    for i, q in enumerate(questions, 1):
        passages = retriever.run(q.question, max(settings.read_k, settings.mention_k))
        readings.append((passages, reader.run(q.question, passages[: settings.read_k])))
        if i % 250 == 0:
            print(f"{i} of {len(questions)} questions ({time.time() - started:.0f} s)", file=sys.stderr)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps({"ids": [q.id for q in questions], "readings": readings}))
    return readings


if __name__ == "__main__":
    main()
