"""Latency of answering a question: in the library, and through the app's /ask.

    .venv/bin/python benchmarks/ask_latency.py [--rounds 3] [--against REV] [--write docs/BENCHMARKS.md]

Asks every question of tests/data/seed_dev.jsonl `rounds` times, first straight
through `QAPipeline.ask` (the baseline, same process), then through a real app
server via gradio_client, and reports p50/p95 of each and their ratio. With
`--against REV`, the app as it was at git revision REV (checked out into a
temporary worktree, run with this venv) is served beside today's, and the two
`/ask` are called in turn, question by question, so both see the same machine
load: their ratio is the cost of the change. The figures are written into the
named Markdown file between markers, with the machine, versions, date and
command.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import measured_on, percentile, publish  # noqa: E402

from qa import QAPipeline, Settings  # noqa: E402


def time_calls(call, questions: list[dict], rounds: int) -> list[float]:
    call(questions[0])  # warm-up: model and caches loaded
    times = []
    for _ in range(rounds):
        for q in questions:
            start = time.perf_counter()
            call(q)
            times.append((time.perf_counter() - start) * 1000)
    return times


def start_app(corpus: Path, index: Path, tree: Path = ROOT) -> tuple[subprocess.Popen, str]:
    """The app of the source ``tree``, serving ``corpus`` on a free port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--corpus", str(corpus), "--index", str(index)],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import requests

    url = f"http://127.0.0.1:{port}"
    for _ in range(360):
        try:
            if requests.get(f"{url}/gradio_api/info", timeout=2).ok:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the app did not start")


def side_by_side(questions: list[dict], rounds: int, revision: str, tmp: Path) -> tuple[list[float], list[float]]:
    """/ask of today's app and of the app at ``revision``, called in turn."""
    from gradio_client import Client

    tree = tmp / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), revision], cwd=ROOT, check=True)
    servers = []
    try:
        servers = [start_app(ROOT / "corpus", tmp / "index-now"), start_app(ROOT / "corpus", tmp / "index-then", tree)]
        now, then = (Client(url, verbose=False) for _, url in servers)
        times: dict[Client, list[float]] = {now: [], then: []}
        for client in (now, then):
            client.predict(questions[0]["question"], [], api_name="/ask")  # warm-up
        for r in range(rounds):
            for q in questions:
                for client in (now, then) if r % 2 == 0 else (then, now):  # neither always goes first
                    start = time.perf_counter()
                    client.predict(q["question"], q["history"], api_name="/ask")
                    times[client].append((time.perf_counter() - start) * 1000)
        return times[now], times[then]
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=30)
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="REV", help="also time /ask of the app at this git revision, in turn")
    parser.add_argument("--write", type=Path, help="Markdown file to put the results in")
    args = parser.parse_args()
    questions = [json.loads(line) for line in (ROOT / "tests/data/seed_dev.jsonl").read_text().splitlines() if line]
    if args.against:
        with tempfile.TemporaryDirectory() as tmp:
            now, then = side_by_side(questions, args.rounds, args.against, Path(tmp))
        table = [
            "| `/ask` through gradio_client | p50 ms | p95 ms | p50 ratio to the baseline |",
            "|---|---|---|---|",
            f"| at `{args.against}` (baseline) | {statistics.median(then):.0f} | {percentile(then, 0.95):.0f} | 1.00 |",
            f"| now | {statistics.median(now):.0f} | {percentile(now, 0.95):.0f} | "
            f"{statistics.median(now) / statistics.median(then):.2f} |",
        ]
        info = (
            f"Measured {measured_on()}; {len(questions)} seed dev questions × {args.rounds} rounds, "
            f"the two apps called in turn (`{' '.join(['python', *sys.argv])}`)."
        )
        publish("\n".join([*table, "", info]), args.write, "ask_latency_change", "Question latency, before and after")
        return

    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        bot = QAPipeline(Settings.from_env(corpus_dir=ROOT / "corpus", index_dir=index))
        library = time_calls(lambda q: bot.ask(q["question"], q["history"]), questions, args.rounds)

        proc, url = start_app(ROOT / "corpus", index)
        try:
            from gradio_client import Client

            client = Client(url, verbose=False)
            api = time_calls(
                lambda q: client.predict(q["question"], q["history"], api_name="/ask"), questions, args.rounds
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(index, ignore_errors=True)

    rows = [("`QAPipeline.ask` in process (baseline)", library), ("`/ask` through gradio_client", api)]
    table = ["| path | p50 ms | p95 ms | p50 ratio to baseline |", "|---|---|---|---|"]
    base = statistics.median(library)
    for name, times in rows:
        table.append(
            f"| {name} | {statistics.median(times):.0f} | {percentile(times, 0.95):.0f} | {statistics.median(times) / base:.2f} |"
        )
    info = (
        f"Measured {measured_on()}, torch {metadata.version('torch')}, sentence-transformers {metadata.version('sentence-transformers')}, "
        f"gradio {metadata.version('gradio')}; {len(questions)} seed dev questions × {args.rounds} rounds "
        f"(`{' '.join(['python', *sys.argv])}`)."
    )
    report = "\n".join([*table, "", info])
    publish(report, args.write, "ask_latency", "Question latency")


if __name__ == "__main__":
    main()
