"""Answer quality and retrieval, with one-flag ablations: the dev questions over
the sample corpus, and SQuAD v1.1 dev in open mode.

    .venv/bin/python benchmarks/eval_table.py [--squad-limit 2000] [--write docs/BENCHMARKS.md]

Each row is `python -m qa eval` with one setting changed from the defaults
(hybrid retrieval, duplicate grouping, neural reader). SQuAD open mode indexes
all 2,067 dev paragraphs as articles and asks the first `--squad-limit`
questions (0: all 10,570) against the whole index, with the defaults only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import measured_on, publish

from qa import Settings
from qa.evaluation.evaluate import EvalReport, run_eval

ABLATIONS = {
    "defaults: hybrid, grouped copies, neural reader": {},
    "dense retrieval only": {"retrieval": "dense"},
    "BM25 retrieval only": {"retrieval": "bm25"},
    "no duplicate grouping": {"group_duplicates": False},
    "first-version (sentence) reader": {"reader": "sentence"},
}


def row(name: str, r: EvalReport) -> str:
    abstention = "n/a" if r.abstention_accuracy is None else f"{r.abstention_accuracy:.0%}"
    return (
        f"| {name} | {r.recall[1]:.1%} | {r.recall[5]:.1%} | {r.recall[20]:.1%} | {r.mrr:.3f} | {r.exact_match:.1%} | "
        f"{r.f1:.1%} | {r.citation_accuracy:.1%} | {abstention} | {r.false_abstentions:.1%} | "
        f"{r.latency_p50_ms:.0f} / {r.latency_p95_ms:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dev", type=Path, default=ROOT / "tests" / "data" / "seed_dev.jsonl")
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared" / "squad" / "dev-v1.1.json")
    parser.add_argument("--squad-limit", type=int, default=2000, help="0: every question")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    settings = Settings.from_env()
    header = [
        "| dataset / variant | recall@1 | recall@5 | recall@20 | MRR | EM | F1 | citation | abstention | "
        "false abstentions | p50 / p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines = [*header]
    for name, change in ABLATIONS.items():
        report = run_eval(args.dev, settings.replace(**change))
        lines.append(row(f"{args.dev.name}: {name}", report))
        print(lines[-1], flush=True)
    squad = run_eval(args.squad, settings, args.squad_limit or None)
    lines.append(row(f"{args.squad.name} open mode, {squad.questions:,} questions: defaults", squad))
    print(lines[-1], flush=True)
    command = " ".join(["python", *sys.argv])
    lines += [
        "",
        f"{args.dev.name}: {report.questions} questions ({report.answerable} answerable) over the sample corpus. "
        "Recall counts a passage from a gold source file (or a grouped copy of one); citation accuracy is the top "
        "citation in a gold source; abstention is the share of unanswerable questions declined. Latency is "
        "`QAPipeline.ask` per question, in process.",
        "",
        f"Measured {measured_on()} (`{command}`).",
    ]
    text = "\n".join(lines)
    publish(text, args.write, "evaluation", "Evaluation with ablations")


if __name__ == "__main__":
    main()
