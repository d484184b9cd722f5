"""Our pipeline against Haystack and txtai: same paragraphs, same questions,
same embedding model (the packaged all-MiniLM-L6-v2), same reader weights (ours).

    .venv/bin/python benchmarks/peers/run.py --data tests/data/seed_dev.jsonl --write docs/BENCHMARKS.md
    .venv/bin/python benchmarks/peers/run.py --data ../shared/squad/dev-v1.1.json --limit 1000 --write docs/BENCHMARKS.md

Each peer runs in its own virtual environment (`benchmarks/peers/.venv-<peer>`),
created on first use with the pinned torch first and the peer's pinned release,
so their dependencies never touch the project's. Every system runs in a
process of its own, one after the other, offline, and reports per question its
answer, cited file, retrieved files and time; this script scores them all with
the project's metrics (official SQuAD normalisation) and prints a table with
the ratio of ours to each peer.

The corpus is the paragraphs our reader of articles keeps (so every system
sees exactly the same passages, with their file names for citations); a
SQuAD file is used in open mode (every paragraph a file, every question asked
against the whole index). Peers get the question alone: they keep no
conversation, so a follow-up reaches them without its history.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE.parent))

from report import measured_on, percentile, publish

from qa.corpus.articles import read_corpus
from qa.evaluation.evaluate import EvalQuestion, load_jsonl, squad_as_corpus
from qa.evaluation.metrics import exact_match, token_f1
from qa.reading.neural import SHIPPED_READER
from qa.search.embeddings import model_path
from qa.settings import Settings

# The peers share our versions of the libraries that load the models.
SHARED = [f"{name}=={metadata.version(name)}" for name in ("sentence-transformers", "transformers")]
PEERS = {
    # the last 2.x release, which still has ExtractiveReader (it needs accelerate)
    "haystack": ["haystack-ai==2.31.0", "accelerate==1.15.0", "sentencepiece==0.2.3", *SHARED],
    "txtai": ["txtai==9.14.0", *SHARED],
}
RUNNERS = {"ours": "ours.py", "ours-best": "ours.py", "haystack": "haystack_runner.py", "txtai": "txtai_runner.py"}
# "ours-best" is ours answering with its best answer however unsure, as the peers do: F1 counts an
# abstention as 0, so this row separates what our reader finds from what our threshold withholds.
ENVIRONMENT = {"ours-best": {"QA_MIN_CONFIDENCE": "0", "QA_PEER_SYSTEM": "ours-best"}}
RECALL_K = 5


def peer_python(name: str) -> Path:
    """The peer's own virtual environment, created (once) with torch pinned first."""
    venv = HERE / f".venv-{name}"
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    wanted = "\n".join(["torch==2.13.0", *PEERS[name]])
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"setting up {venv.name} ({', '.join(PEERS[name])}) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "torch==2.13.0"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEERS[name]], check=True)
    stamp.write_text(wanted)
    return python


def make_job(corpus: Path, questions: list[EvalQuestion], settings: Settings) -> dict:
    articles = read_corpus(corpus, settings.max_file_bytes).articles
    return {
        "corpus_dir": str(corpus),
        "paragraphs": [
            {"text": p.text, "source": p.source, "paragraph": p.paragraph} for a in articles for p in a.paragraphs
        ],
        "questions": [{"id": q.id, "question": q.question, "history": list(q.history)} for q in questions],
        "embedding_model": model_path(settings.model),
        "reader_model": str(SHIPPED_READER),
        "candidates": settings.candidates,
        "read_k": settings.read_k,
        "max_length": 256,  # the window and stride our reader uses at inference
        "stride": 96,
        "recall_k": RECALL_K,
    }


def run_system(name: str, job_file: Path, work: Path) -> dict:
    python = Path(sys.executable) if name.startswith("ours") else peer_python(name)
    out = work / f"{name}.json"
    env = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env["PYTHONPATH"] = str(HERE) + (os.pathsep + str(ROOT) if name.startswith("ours") else "")
    env |= ENVIRONMENT.get(name, {})
    print(f"running {name} ...", flush=True)
    subprocess.run([str(python), str(HERE / RUNNERS[name]), str(job_file), str(out)], check=True, env=env)
    return json.loads(out.read_text("utf-8"))


def score(result: dict, questions: list[EvalQuestion]) -> dict:
    by_id = {row["id"]: row for row in result["answers"]}
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    n = max(len(answerable), 1)
    em = f1 = cited = recalled = 0.0
    for q in answerable:
        row = by_id[q.id]
        em += exact_match(row["answer"] or "", q.answers)
        f1 += token_f1(row["answer"] or "", q.answers)
        cited += row["answer"] is not None and row["source"] in q.sources
        recalled += any(set(files) & set(q.sources) for files in row["retrieved"][:RECALL_K])
    latencies = [row["latency_ms"] for row in result["answers"]]
    return {
        "system": result["system"],
        "version": result["version"],
        "exact_match": em / n,
        "f1": f1 / n,
        f"recall@{RECALL_K}": recalled / n,
        "citation_accuracy": cited / n,
        "abstention_accuracy": (
            sum(by_id[q.id]["answer"] is None for q in unanswerable) / len(unanswerable) if unanswerable else None
        ),
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "build_s": result["build_s"],
        "peak_rss_mib": result["peak_rss_mib"],
        "notes": result["notes"],
    }


def render(scores: list[dict], dataset: str, job: dict, command: str) -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    lines = [
        f"{dataset}: {len(job['questions']):,} questions over {len(job['paragraphs']):,} paragraphs.",
        "",
        f"| system | EM | F1 | recall@{RECALL_K} | citation accuracy | abstention | p50 ms | p95 ms | build s | peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        lines.append(
            f"| {s['system']} {s['version']} | {pct(s['exact_match'])} | {pct(s['f1'])} | {pct(s[f'recall@{RECALL_K}'])} | "
            f"{pct(s['citation_accuracy'])} | {pct(s['abstention_accuracy'])} | {s['p50_ms']:.0f} | {s['p95_ms']:.0f} | "
            f"{s['build_s']:.1f} | {s['peak_rss_mib']:.0f} |"
        )
    ours_rows = [s for s in scores if s["system"].startswith("ours")]
    peers = [s for s in scores if not s["system"].startswith("ours")]
    if ours_rows and peers:
        lines += [
            "",
            "Ratios, ours to each peer (F1 and recall: higher is better for us above 1; time and memory: ours is smaller below 1):",
            "",
            "| ours | peer | F1 | recall@5 | p50 latency | build time | peak memory |",
            "|---|---|---|---|---|---|---|",
        ]
        for ours, s in ((o, p) for o in ours_rows for p in peers):
            lines.append(
                f"| {ours['system']} | {s['system']} | {_ratio(ours['f1'], s['f1'])} | "
                f"{_ratio(ours[f'recall@{RECALL_K}'], s[f'recall@{RECALL_K}'])} | {_ratio(ours['p50_ms'], s['p50_ms'])} | "
                f"{_ratio(ours['build_s'], s['build_s'])} | {_ratio(ours['peak_rss_mib'], s['peak_rss_mib'])} |"
            )
    lines += ["", *(f"- {s['system']}: {s['notes']}" for s in scores)]
    lines += [
        "",
        f"Measured {measured_on()}, torch 2.13.0 CPU, {', '.join(SHARED)}; each system in its own process, one after the other (`{command}`).",
    ]
    return "\n".join(lines)


def _ratio(ours: float, peer: float) -> str:
    return f"{ours / peer:.2f}" if peer else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "seed_dev.jsonl")
    parser.add_argument("--limit", type=int, help="first N questions only")
    parser.add_argument("--systems", default="ours,ours-best,haystack,txtai")
    parser.add_argument("--write", type=Path, help="Markdown file to write the figures into")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    settings = Settings.from_env()
    with tempfile.TemporaryDirectory(prefix="qa-peers-") as tmp:
        work = Path(tmp)
        if args.data.suffix == ".jsonl":
            corpus, questions = settings.corpus_dir, load_jsonl(args.data)[: args.limit]
            dataset = f"`{args.data.name}` over the sample corpus"
        else:
            corpus = work / "corpus"
            questions = squad_as_corpus(args.data, corpus, args.limit)
            dataset = f"`{args.data.name}` in open mode"
        job = make_job(corpus, questions, settings)
        job_file = work / "job.json"
        job_file.write_text(json.dumps(job), "utf-8")
        scores = [score(run_system(name, job_file, work), questions) for name in args.systems.split(",")]
    if args.json:
        args.json.write_text(json.dumps(scores, indent=1))
    report = render(scores, dataset, job, " ".join(["python", *sys.argv]))
    section = "peers_" + ("seed" if args.data.suffix == ".jsonl" else "squad")
    publish(report, args.write, section, f"Against Haystack and txtai: {args.data.name}")


if __name__ == "__main__":
    main()
