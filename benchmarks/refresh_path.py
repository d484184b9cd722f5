"""The user's own path: `QAPipeline.refresh()` after one article is added to,
changed in, or deleted from the corpus folder, as the folder grows.

    .venv/bin/python benchmarks/refresh_path.py [--files 1000 4000 10000] [--repeats 5] [--write docs/BENCHMARKS.md]

For each size, a folder of articles of two paragraphs each, made from SQuAD
paragraphs (dev, then the rebuilt train set; every paragraph at most once
per folder, so there are no syndicated copies unless the archive runs out),
is indexed once with synthetic vectors (a random unit vector per paragraph:
the real model would take hours on 2 cores, and refresh() reuses them as
stored). Then one pipeline per size, as the app keeps one, is refreshed
after a three-paragraph article is added, changed and deleted, the sizes in
turn, `repeats` rounds (medians); the new article is embedded with the real
model, its embedding timed apart. The figure the
issue sets is the ratio of the add's median at 4,000 files to that at 1,000.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import measured_on, publish
from updates import ARTICLE, synthetic_embed

from qa import QAPipeline, Settings
from qa.index.store import IndexStore
from qa.search import embeddings


def squad_texts(squad: Path) -> list[str]:
    texts = []
    for name in ("dev-v1.1.json", "train-v1.1-explorer.json"):
        if (squad / name).exists():
            data = json.loads((squad / name).read_text("utf-8"))
            texts += [p["context"].replace("\n", " ") for a in data["data"] for p in a["paragraphs"]]
    return list(dict.fromkeys(texts))


def folder_of(texts: list[str], files: int, corpus: Path) -> None:
    corpus.mkdir(parents=True)
    past = time.time() - 3600  # written an hour ago, as an archive's files are
    for i in range(files):
        first, second = texts[(2 * i) % len(texts)], texts[(2 * i + 1) % len(texts)]
        path = corpus / f"a{i:06d}.txt"
        path.write_text(f"Article {i}\n\n{first}\n\n{second}\n", "utf-8")
        os.utime(path, (past, past))


def prepared(texts: list[str], files: int, work: Path) -> QAPipeline:
    """A pipeline over a folder of ``files`` articles, indexed with synthetic vectors."""
    corpus, index = work / f"corpus-{files}", work / f"index-{files}"
    folder_of(texts, files, corpus)
    settings = Settings.from_env(corpus_dir=corpus, index_dir=index)
    IndexStore(settings, synthetic_embed).update()
    return QAPipeline(settings)


def one_round(bot: QAPipeline) -> dict[str, float]:
    """Seconds of refresh() after adding, changing and deleting one article."""
    path = Path(bot.settings.corpus_dir) / "zz-new-article.txt"
    seconds = {}
    for kind, act in (
        ("add", lambda: path.write_text(ARTICLE, "utf-8")),
        ("change", lambda: path.write_text(ARTICLE.replace("Wednesday", "Thursday"), "utf-8")),
        ("delete", path.unlink),
    ):
        act()
        start = time.perf_counter()
        report = bot.refresh()
        seconds[kind] = time.perf_counter() - start
        assert not report.up_to_date, f"refresh did not see the {kind}"
    return seconds


def measure_all(texts: list[str], sizes: list[int], repeats: int, work: Path) -> list[dict]:
    """Every size's pipeline, refreshed in turn round after round, so that all
    see the same machine load; the first round warms caches and is not counted."""
    bots = {n: prepared(texts, n, work) for n in sizes}
    runs: dict[int, dict[str, list[float]]] = {n: {"add": [], "change": [], "delete": []} for n in sizes}
    for i in range(repeats + 1):
        for n, bot in bots.items():
            for kind, seconds in one_round(bot).items():
                if i:
                    runs[n][kind].append(seconds)
    own = [p for p in ARTICLE.split("\n\n") if p.strip()]
    model = next(iter(bots.values())).settings.model
    embeddings.encode(model, own)
    start = time.perf_counter()
    embeddings.encode(model, own)
    embed_s = time.perf_counter() - start
    return [
        {
            "files": n,
            "paragraphs": bots[n].paragraph_count,
            **{f"{k}_s": statistics.median(v) for k, v in runs[n].items()},
            "embed_own_s": embed_s,
        }
        for n in sizes
    ]


def render(rows: list[dict], repeats: int, command: str) -> str:
    table = [
        "| files | paragraphs | add s | change s | delete s | of which embedding its own paragraphs s | add / add at the smallest |",
        "|---|---|---|---|---|---|---|",
    ]
    base = rows[0]["add_s"]
    for r in rows:
        table.append(
            f"| {r['files']:,} | {r['paragraphs']:,} | {r['add_s']:.3f} | {r['change_s']:.3f} | {r['delete_s']:.3f} "
            f"| {r['embed_own_s']:.3f} | {r['add_s'] / base:.2f} |"
        )
    info = f"Measured {measured_on()}; medians of {repeats} rounds, one pipeline per size, the sizes in turn (`{command}`)."
    return "\n".join([*table, "", info])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared" / "squad")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    texts = squad_texts(args.squad)
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure_all(texts, args.files, args.repeats, Path(tmp))
    command = " ".join(["python", *sys.argv])
    publish(
        render(rows, args.repeats, command), args.write, "refresh_path", "refresh() after one article, by folder size"
    )


if __name__ == "__main__":
    main()
