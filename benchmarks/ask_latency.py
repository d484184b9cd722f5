"""Latency of answering a question: in the library, and through the app's /ask.

    .venv/bin/python benchmarks/ask_latency.py [--rounds 3] [--write docs/BENCHMARKS.md]

Asks every question of tests/data/seed_dev.jsonl `rounds` times, first straight
through `QAPipeline.ask` (the baseline, same process), then through a real app
server via gradio_client, and reports p50/p95 of each and their ratio. The
figures are written into the named Markdown file between markers, with the
machine, versions, date and command.
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


def start_app(corpus: Path, index: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--corpus", str(corpus), "--index", str(index)],
        cwd=ROOT,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", type=Path, help="Markdown file to put the results in")
    args = parser.parse_args()
    questions = [json.loads(line) for line in (ROOT / "tests/data/seed_dev.jsonl").read_text().splitlines() if line]

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
