"""Latency of answering a question: where it goes, in the library, over HTTP, and under load.

    .venv/bin/python benchmarks/ask_latency.py [--rounds 3] [--against REV] [--write docs/BENCHMARKS.md]

Asks every question of tests/data/seed_dev.jsonl `rounds` times:
1. straight through `QAPipeline.ask` with each engine (`torch` is the
   baseline), with the time of every stage (qa/timing.py) per question;
2. through a real app server with the default engine: Gradio's `/ask` via
   gradio_client and `POST /api/ask` with one HTTP request a call;
3. with 1, 4 and 16 concurrent clients on each of those two routes: answers
   per second and p50.
Ratios are against the in-process PyTorch p50 of the same run. With
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

from report import measured_on, percentile, publish

from qa import QAPipeline, Settings
from qa.runtime import Engine
from qa.timing import recording


def time_calls(call, questions: list[dict], rounds: int) -> list[float]:
    call(questions[0])  # warm-up: model and caches loaded
    times = []
    for _ in range(rounds):
        for q in questions:
            start = time.perf_counter()
            call(q)
            times.append((time.perf_counter() - start) * 1000)
    return times


def start_app(
    corpus: Path, index: Path, tree: Path = ROOT, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, str]:
    """The app of the source ``tree``, serving ``corpus`` on a free port, with
    no rate limit (a benchmark is one client asking as fast as it can) unless
    ``env`` sets one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    limits = {"QA_ASKS_PER_MINUTE": "0", "QA_UPLOADS_PER_MINUTE": "0"}
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--corpus", str(corpus), "--index", str(index), *args],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree), **limits, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import requests

    url = f"http://127.0.0.1:{port}"
    for _ in range(360):
        try:
            if requests.get(f"{url}/gradio_api/info", timeout=2).status_code in (200, 401):  # 401: a login page
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


def stage_breakdown(bot: QAPipeline, questions: list[dict], rounds: int) -> tuple[list[float], dict[str, list[float]]]:
    """Each question's total time and its time per stage, in milliseconds."""
    bot.ask(questions[0]["question"])
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    for _ in range(rounds):
        for q in questions:
            with recording() as times:
                start = time.perf_counter()
                bot.ask(q["question"], q["history"])
                totals.append((time.perf_counter() - start) * 1000)
            times["other (checks, follow-ups, bookkeeping)"] = totals[-1] - sum(times.values())
            for name, ms in times.items():
                stages.setdefault(name, []).append(ms)
    return totals, stages


def under_load(connect, questions: list[dict], clients: int, per_client: int) -> tuple[float, list[float]]:
    """Answers per second and each call's latency with ``clients`` calling at
    once, each over a connection of its own (``connect()`` returns a call),
    as separate users would."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    local = threading.local()
    work = [questions[i % len(questions)] for i in range(clients * per_client)]
    latencies: list[float] = []

    def open_connection() -> None:
        local.call = connect()
        local.call(questions[0])  # not timed: the connection's first call

    def one(q: dict) -> None:
        start = time.perf_counter()
        local.call(q)
        latencies.append((time.perf_counter() - start) * 1000)

    with ThreadPoolExecutor(clients, initializer=open_connection) as pool:
        list(pool.map(lambda _: time.sleep(0.2), range(clients)))  # every thread started and connected
        start = time.perf_counter()
        list(pool.map(one, work))
        elapsed = time.perf_counter() - start
    return len(work) / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-client", type=int, default=12, help="questions each concurrent client asks")
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

    rows: list[tuple[str, list[float]]] = []
    breakdowns: dict[str, dict[str, list[float]]] = {}
    load: list[tuple[str, int, float, list[float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        for engine in Engine:
            bot = QAPipeline(Settings.from_env(corpus_dir=ROOT / "corpus", index_dir=index, engine=engine.value))
            totals, breakdowns[engine.value] = stage_breakdown(bot, questions, args.rounds)
            rows.append((f"`QAPipeline.ask`, engine `{engine.value}`", totals))
            del bot

        proc, url = start_app(ROOT / "corpus", index)
        try:
            import requests
            from gradio_client import Client

            def gradio_connection():
                client = Client(url, verbose=False)
                return lambda q: client.predict(q["question"], q["history"], api_name="/ask")

            def json_connection():
                http = requests.Session()

                def ask(q: dict) -> None:
                    reply = http.post(f"{url}/api/ask", json={"question": q["question"], "history": q["history"]})
                    reply.raise_for_status()

                return ask

            rows.append(("`POST /api/ask` over HTTP (requests)", time_calls(json_connection(), questions, args.rounds)))
            rows.append(
                ("Gradio `/ask` through gradio_client", time_calls(gradio_connection(), questions, args.rounds))
            )
            for name, connect in (("`POST /api/ask`", json_connection), ("Gradio `/ask`", gradio_connection)):
                for clients in (1, 4, 16):
                    rate, latencies = under_load(connect, questions, clients, args.per_client)
                    load.append((name, clients, rate, latencies))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(index, ignore_errors=True)

    base = statistics.median(rows[0][1])
    table = ["| path | p50 ms | p95 ms | p50 ratio to `torch` in process |", "|---|---|---|---|"]
    for name, times in rows:
        p50 = statistics.median(times)
        table.append(f"| {name} | {p50:.1f} | {percentile(times, 0.95):.1f} | {p50 / base:.2f} |")

    engines = list(breakdowns)
    names = list(dict.fromkeys(name for stages in breakdowns.values() for name in stages))
    stages_table = [
        "| stage (mean ms per question) | " + " | ".join(f"`{e}`" for e in engines) + " |",
        "|---|" + "---|" * len(engines),
    ]
    for name in names:
        cells = [statistics.fmean(breakdowns[e].get(name, [0.0])) for e in engines]
        stages_table.append(f"| {name} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    means = [statistics.fmean(t) for _, t in rows[: len(engines)]]
    stages_table.append("| **total (mean)** | " + " | ".join(f"**{m:.1f}**" for m in means) + " |")

    load_table = [
        "| route, default engine | concurrent clients | answers/s | p50 ms | p95 ms |",
        "|---|---|---|---|---|",
    ]
    for name, clients, rate, latencies in load:
        load_table.append(
            f"| {name} | {clients} | {rate:.1f} | {statistics.median(latencies):.0f} | {percentile(latencies, 0.95):.0f} |"
        )
    info = (
        f"Measured {measured_on()}, torch {metadata.version('torch')}, onnxruntime {metadata.version('onnxruntime')}, "
        f"gradio {metadata.version('gradio')}, fastapi {metadata.version('fastapi')}; {len(questions)} seed dev "
        f"questions × {args.rounds} rounds; under load each client asks {args.per_client} questions "
        f"(`{' '.join(['python', *sys.argv])}`). The app serves the default engine, `{Settings().engine}`."
    )
    report = "\n".join([*table, "", *stages_table, "", *load_table, "", info])
    publish(report, args.write, "ask_latency", "Question latency")


if __name__ == "__main__":
    main()
