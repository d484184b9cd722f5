"""Many clients at once, with an article replaced mid-run: errors, throughput, stale citations.

    .venv/bin/python benchmarks/load_test.py [--clients 50] [--seconds 60] [--write docs/BENCHMARKS.md]

Serves the app over a copy of the sample corpus, then `clients` threads, each
with its own HTTP connection, ask the seed dev questions through
`POST /api/ask` for `seconds`. Half-way through, an article that answers many
of them is replaced through the app's `/upload` (replace=True), so the index
is rebuilt under load. Every citation of every answer is checked against the
article file: an answer received before the replacement started must quote
the old text, one received after it finished the new text, one in between
either. Reports answers/s, p50/p95, errors and citations that did not slice
their file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ask_latency import start_app
from report import measured_on, percentile, publish

REPLACED = "001_2ba139ad32a30a4e.txt"  # Whelan, Calvey, Huntsman: cited by many seed questions


def edited(text: str) -> str:
    """The article with a paragraph added after its title: every later offset moves."""
    title, rest = text.split("\n", 1)
    return f"{title}\n\nEditor's note: this article was updated with a correction on Friday.\n{rest}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    questions = [json.loads(line) for line in (ROOT / "tests/data/seed_dev.jsonl").read_text().splitlines() if line]

    import requests
    from gradio_client import Client, handle_file

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        old_text = (corpus / REPLACED).read_bytes().decode("utf-8")
        new_text = edited(old_text)
        new_file = Path(tmp) / "upload" / REPLACED
        new_file.parent.mkdir()
        new_file.write_text(new_text, "utf-8")
        proc, url = start_app(corpus, Path(tmp) / "index")
        try:
            window: dict[str, float] = {}
            results: list[tuple[float, float, dict | None, str | None]] = []  # sent, received, answer, error
            lock = threading.Lock()
            deadline = time.monotonic() + args.seconds

            def client(seed: int) -> None:
                rng = random.Random(seed)
                http = requests.Session()
                while time.monotonic() < deadline:
                    q = rng.choice(questions)
                    sent = time.monotonic()
                    try:
                        reply = http.post(
                            f"{url}/api/ask", json={"question": q["question"], "history": q["history"]}, timeout=120
                        )
                        answer, error = (reply.json(), None) if reply.ok else (None, f"HTTP {reply.status_code}")
                    except requests.RequestException as err:
                        answer, error = None, type(err).__name__
                    with lock:
                        results.append((sent, time.monotonic(), answer, error))

            def replace_mid_run() -> None:
                time.sleep(args.seconds / 2)
                window["start"] = time.monotonic()
                Client(url, verbose=False).predict([handle_file(str(new_file))], True, api_name="/upload")
                window["end"] = time.monotonic()

            threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
            threads.append(threading.Thread(target=replace_mid_run))
            started = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - started
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        replaced_ok = (corpus / REPLACED).read_bytes().decode("utf-8") == new_text

    texts = {p.name: p.read_bytes().decode("utf-8") for p in (ROOT / "corpus").glob("*.txt")}
    stale = checked = 0
    for sent, received, answer, _ in results:
        if answer is None:
            continue
        for c in [*answer["citations"], *answer["support"]]:
            checked += 1
            if c["source"] != REPLACED:
                versions = [texts[c["source"]]]
            elif received < window["start"]:
                versions = [old_text]
            elif sent > window["end"]:
                versions = [new_text]
            else:
                versions = [old_text, new_text]
            stale += all(v[c["start"] : c["end"]] != c["text"] for v in versions)
    latencies = [(received - sent) * 1000 for sent, received, _, error in results if error is None]
    errors = [error for *_, error in results if error]
    lines = [
        "| clients | seconds | answers | answers/s | p50 ms | p95 ms | errors | citations checked | stale citations |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {args.clients} | {elapsed:.0f} | {len(latencies)} | {len(latencies) / elapsed:.1f} | "
        f"{statistics.median(latencies):.0f} | {percentile(latencies, 0.95):.0f} | {len(errors)} | {checked} | {stale} |",
        "",
        f"`{REPLACED}` replaced through `/upload` (replace=True) {window['start'] - started:.0f} s into the run; "
        f"the upload and re-index took {window['end'] - window['start']:.1f} s"
        f"{'' if replaced_ok else ' (the file was NOT replaced)'}. Errors: {sorted(set(errors)) or 'none'}. "
        f"Measured {measured_on()} (`{' '.join(['python', *sys.argv])}`).",
    ]
    publish("\n".join(lines), args.write, "load_test", "Under load, with an article replaced mid-run")


if __name__ == "__main__":
    main()
