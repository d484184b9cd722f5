"""What a login costs a question: `POST /api/ask` with an API token, on an app
served beyond this machine (login required), against the same call anonymous
on loopback, side by side.

    .venv/bin/python benchmarks/login_latency.py [--rounds 3] [--write docs/BENCHMARKS.md]

Two app servers over the sample corpus: one on 127.0.0.1 (no login, as a
single user runs it) and one on 0.0.0.0 with a reader and their token in its
users file. Both keep the default rate limits raised out of the way (the
limiter still runs on every call), and both are called in turn, question by
question, so they see the same machine load. Also Gradio's `/ask` through
gradio_client with the token. The figure is the ratio of the two p50s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ask_latency import start_app
from report import measured_on, percentile, publish

# High enough that no call waits: the limiter's own cost is part of what is measured.
LIMITS = {"QA_ASKS_PER_MINUTE": "1000000", "QA_UPLOADS_PER_MINUTE": "1000"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    questions = [json.loads(line) for line in (ROOT / "tests/data/seed_dev.jsonl").read_text().splitlines() if line]
    questions = [q for q in questions if not q.get("history")]

    import requests
    from gradio_client import Client

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        qa = [sys.executable, "-m", "qa"]
        index = ["--index", str(tmp / "index-login")]
        subprocess.run(
            [*qa, "users", "add", "rob", "--role", "reader", *index],
            input="reader-pass\n",
            text=True,
            check=True,
            cwd=ROOT,
        )
        token = subprocess.run(
            [*qa, "token", "create", "rob", *index], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout.strip()
        servers = [
            start_app(ROOT / "corpus", tmp / "index-open", env=LIMITS),
            start_app(ROOT / "corpus", tmp / "index-login", env=LIMITS, args=("--host", "0.0.0.0")),
        ]
        try:
            (_, open_url), (_, login_url) = servers
            auth = {"Authorization": f"Bearer {token}"}
            session = requests.Session()
            calls = {
                "POST /api/ask, anonymous on loopback": lambda q: session.post(
                    f"{open_url}/api/ask", json={"question": q}, timeout=60
                ),
                "POST /api/ask, reader's token, served on 0.0.0.0": lambda q: session.post(
                    f"{login_url}/api/ask", json={"question": q}, headers=auth, timeout=60
                ),
            }
            open_client = Client(open_url, verbose=False)
            login_client = Client(login_url, verbose=False, headers=auth)
            calls["Gradio /ask, anonymous on loopback"] = lambda q: open_client.predict(q, [], api_name="/ask")
            calls["Gradio /ask, reader's token, served on 0.0.0.0"] = lambda q: login_client.predict(
                q, [], api_name="/ask"
            )
            for call in calls.values():  # warm-up
                call(questions[0]["question"])
            times: dict[str, list[float]] = {name: [] for name in calls}
            for _ in range(args.rounds):
                for q in questions:
                    for name, call in calls.items():
                        start = time.perf_counter()
                        reply = call(q["question"])
                        times[name].append((time.perf_counter() - start) * 1000)
                        if hasattr(reply, "status_code"):
                            reply.raise_for_status()
        finally:
            for proc, _ in servers:
                proc.terminate()
                proc.wait(timeout=30)

    names = list(times)
    table = ["| route | p50 ms | p95 ms | p50 / anonymous |", "|---|---|---|---|"]
    for i, name in enumerate(names):
        base = statistics.median(times[names[i - i % 2]])
        p50 = statistics.median(times[name])
        table.append(f"| {name} | {p50:.1f} | {percentile(times[name], 0.95):.1f} | {p50 / base:.3f} |")
    info = (
        f"Measured {measured_on()}; {len(questions)} single-turn seed dev questions × {args.rounds} rounds, "
        f"the two servers called in turn (`{' '.join(['python', *sys.argv])}`)."
    )
    publish("\n".join([*table, "", info]), args.write, "login_latency", "What a login costs a question")


if __name__ == "__main__":
    main()
