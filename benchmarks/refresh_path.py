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

``--scan-files N``: what finding the changed files costs in a folder of N
small files, a whole scan (a ``stat`` per file, as ``qa index`` and the app's
first look do) against the folder watch the app keeps (qa/corpus/watch.py).

``--fold``: at the largest size, a fold of the index's layers is started in
the background (as the app starts one once its delta passes its share), and
while it runs, ``refresh()`` after adding and deleting an article and
``ask()`` are timed against the same calls with no fold running. Also how
long the fold held the writer's lock, and how long it ran in all (what an
update that folds inline waits).
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
from updates import ARTICLE, fold_costs, synthetic_embed

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


def measure_all(
    texts: list[str], sizes: list[int], repeats: int, work: Path
) -> tuple[list[dict], dict[int, QAPipeline]]:
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
    rows = [
        {
            "files": n,
            "paragraphs": bots[n].paragraph_count,
            **{f"{k}_s": statistics.median(v) for k, v in runs[n].items()},
            "embed_own_s": embed_s,
        }
        for n in sizes
    ]
    return rows, bots


def scan_costs(files: int, work: Path, repeats: int) -> dict[str, float]:
    """Median seconds to find one changed file among ``files``: a whole scan, and the watch."""
    from qa.corpus.articles import read_corpus, read_files
    from qa.corpus.watch import FolderWatch

    corpus = work / f"scan-{files}"
    corpus.mkdir()
    for i in range(files):
        (corpus / f"a{i:06d}.txt").write_text(f"Article {i}\n\nText of article {i}, a paragraph of it.\n", "utf-8")
    stats = {f"a{i:06d}.txt": (corpus / f"a{i:06d}.txt").stat() for i in range(files)}
    known = lambda source, size, mtime: source in stats  # noqa: E731 -- every file known: a stat each, no reads
    watch = FolderWatch(corpus)
    watch.start()
    scan, watched = [], []
    for i in range(repeats):
        (corpus / "a000000.txt").write_text(f"Changed {i}\n\nA changed paragraph of the article.\n", "utf-8")
        start = time.perf_counter()
        read_corpus(corpus, known=known)
        scan.append(time.perf_counter() - start)
        start = time.perf_counter()
        read_files(corpus, watch.changed() or (), known=lambda *a: False)
        watched.append(time.perf_counter() - start)
    watch.close()
    return {"files": files, "scan_s": statistics.median(scan), "watch_s": statistics.median(watched)}


def render_scan(scan: dict[str, float]) -> str:
    return "\n".join(
        [
            "| files | whole scan (a stat per file) s | folder watch s | ratio |",
            "|---|---|---|---|",
            f"| {scan['files']:,} | {scan['scan_s']:.4f} | {scan['watch_s']:.4f} | {scan['watch_s'] / scan['scan_s']:.3f} |",
        ]
    )


def render_fold(fold: dict[str, float], paragraphs: int) -> str:
    f = fold
    return "\n".join(
        [
            f"A fold of {paragraphs:,} paragraphs in the background: {f['fold_s']:.1f} s in all (what an update "
            f"that folds inline waits), of which the writer's lock was held {f['lock_s']:.3f} s.",
            "",
            "| | refresh() p50 s | refresh() longest s | ask() p50 s | ask() longest s | calls |",
            "|---|---|---|---|---|---|",
            f"| no fold running | {f['idle_refresh_p50']:.3f} | {f['idle_refresh_max']:.3f} | {f['idle_ask_p50']:.3f} "
            f"| {f['idle_ask_max']:.3f} | {f['idle_calls']} |",
            f"| while the fold runs | {f['during_refresh_p50']:.3f} | {f['during_refresh_max']:.3f} "
            f"| {f['during_ask_p50']:.3f} | {f['during_ask_max']:.3f} | {f['during_calls']} |",
        ]
    )


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
    parser.add_argument("--scan-files", type=int, default=0, help="also time finding one changed file among so many")
    parser.add_argument("--fold", action="store_true", help="also time refresh() and ask() during a background fold")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    texts = squad_texts(args.squad)
    command = " ".join(["python", *sys.argv])
    with tempfile.TemporaryDirectory() as tmp:
        rows, bots = measure_all(texts, args.files, args.repeats, Path(tmp))
        body = render(rows, args.repeats, command)
        if args.scan_files:
            body += "\n\nFinding the changed file:\n\n" + render_scan(
                scan_costs(args.scan_files, Path(tmp), args.repeats)
            )
        if args.fold:
            largest = bots[max(args.files)]
            fold = fold_costs(largest, "Who visited Pyongyang on Wednesday?", args.repeats)
            body += "\n\n" + render_fold(fold, largest.paragraph_count)
    publish(body, args.write, "refresh_path", "refresh() after one article, by folder size")


if __name__ == "__main__":
    main()
