"""Our pipeline on a peer-benchmark job (run with the project's own Python)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from protocol import answer_all, read_job, write_result

from qa import QAPipeline, Settings
from qa.index.store import IndexStore
from qa.search.embeddings import load_encoder


def main() -> None:
    job = read_job()
    with tempfile.TemporaryDirectory(prefix="qa-peers-") as tmp:
        settings = Settings.from_env(corpus_dir=Path(job["corpus_dir"]), index_dir=Path(tmp) / "index")
        load_encoder(settings.model)  # model loading is not index building, for any system
        start = time.perf_counter()
        IndexStore(settings).update()
        build_s = time.perf_counter() - start
        bot = QAPipeline(settings)

        def answer(question: str, history: list) -> tuple[str | None, str | None]:
            result = bot.ask(question, history)
            if not result.answerable:
                return None, None
            return result.answer, result.citations[0].source

        def retrieve(question: str, history: list, k: int) -> list[list[str]]:
            return [[p.source, *(c.source for c in p.also_in)] for p in bot.search(question, k, history)]

        rows = answer_all(job, answer, retrieve)
    notes = (
        f"engine={settings.engine}, reader={settings.reader}, retrieval={settings.retrieval}, read_k={settings.read_k}"
    )
    if settings.min_confidence is not None:
        notes += f", min_confidence={settings.min_confidence:g} (answers whatever its confidence)"
    write_result(os.environ.get("QA_PEER_SYSTEM", "ours"), metadata.version("qa"), build_s, rows, notes)


if __name__ == "__main__":
    sys.exit(main())
