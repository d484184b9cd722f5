"""What an update costs as the archive grows, per backend, and what Ray adds to a build.

    .venv/bin/python benchmarks/updates.py [--squad ../shared/squad] [--write docs/BENCHMARKS.md]

1. A 21k-paragraph index (SQuAD train + dev paragraphs, one file each) is
   built once, with the real model. Then, with one index store (as the app
   keeps one), one article is added, changed and deleted. The embedding of
   the article's own paragraphs is timed apart, since the target is "so many
   seconds plus the embedding of its own paragraphs".
2. The same index moved to Milvus Lite (vectors reused). That costs the
   inserts. Then the same add, change and delete, and query latency for dense
   and BM25 search against FAISS and our BM25, with recall@10 against exact
   search.
3. Build throughput on the SQuAD dev paragraphs: the plain embedding against
   `qa index --ray` (a local Ray on this machine), in the same run.
4. A synthetic archive of 200k or 1M paragraphs (``--archive-sizes``): real text,
   SQuAD's paragraphs copied again and again with every word of copy k tagged
   ("Lavrov" -> "Lavrovq7"), so that copies share no shingles and no words
   (an archive of distinct articles, not of duplicates), in files of 20
   paragraphs. Vectors are synthetic (a random unit vector per paragraph,
   seeded by its text): the model would take days on 2 cores. Through one
   index store: one article added, changed and deleted; a day's articles
   (4% of the index) added at once; then as many again, which folds the delta
   into a new base; query latency with a full delta and after the fold; and
   loading the index from disk.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import measured_on, percentile, publish
from scale import paragraphs_of

from qa import Settings
from qa.evaluation.evaluate import squad_as_corpus
from qa.evaluation.squad import load_squad
from qa.index.memory import return_freed_memory
from qa.index.store import IndexStore
from qa.search import embeddings

ARTICLE = (
    "Lavrov visits Pyongyang\n\n"
    "Russian Foreign Minister Sergei Lavrov arrived in Pyongyang on Wednesday for talks on the nuclear issue.\n\n"
    "He was greeted at the airport by a delegation of North Korean officials.\n"
)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def add_change_delete(store: IndexStore, corpus: Path) -> dict:
    """Seconds to add, change and delete one three-paragraph article through ``store``."""
    path = corpus / "zz-new-article.txt"
    path.write_text(ARTICLE, "utf-8")
    (_, added), add_s = timed(store.update)
    path.write_text(ARTICLE.replace("Wednesday", "Thursday"), "utf-8")
    (_, changed), change_s = timed(store.update)
    path.unlink()
    (index, removed), delete_s = timed(store.update)
    assert added.added and changed.changed and removed.removed, "the updates did not see the article"
    texts = [p for p in ARTICLE.split("\n\n") if p.strip()]
    _, embed_s = timed(lambda: embeddings.encode(store.settings.model, texts))
    return {
        "paragraphs": len(index.paragraphs),
        "add_s": add_s,
        "change_s": change_s,
        "delete_s": delete_s,
        "embed_own_s": embed_s,
    }


def query_latency(index, questions: list[str], vectors: np.ndarray, exact: list[list[int]] | None) -> dict:
    dense_ms, lexical_ms, found = [], [], []
    for q, v in zip(questions, vectors, strict=True):
        hits, s = timed(lambda v=v: index.dense_search(v, 10))
        dense_ms.append(s * 1000)
        found.append([r for r, _ in hits])
        _, s = timed(lambda q=q: index.lexical_search(q, 10))
        lexical_ms.append(s * 1000)
    recall = None
    if exact is not None:
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)]))
    return {
        "dense_p50_ms": statistics.median(dense_ms),
        "dense_p95_ms": percentile(dense_ms, 0.95),
        "bm25_p50_ms": statistics.median(lexical_ms),
        "recall_at_10": recall,
        "found": found,
    }


def ray_throughput(squad_dir: Path, work: Path) -> dict:
    from qa.index.ray_build import ray_embedder

    corpus = work / "dev-corpus"
    squad_as_corpus(squad_dir / "dev-v1.1.json", corpus)
    plain = Settings.from_env(corpus_dir=corpus, index_dir=work / "dev-plain")
    embeddings.encode(plain.model, ["warm-up"])
    (index, _), plain_s = timed(lambda: IndexStore(plain).update())
    ray_settings = plain.replace(index_dir=work / "dev-ray")
    start = time.perf_counter()
    with ray_embedder(ray_settings.model, batch_size=ray_settings.embed_batch_size) as embed:
        started_s = time.perf_counter() - start
        (ray_index, _), build_s = timed(lambda: IndexStore(ray_settings, embed).update())
    total_s = time.perf_counter() - start
    assert np.abs(ray_index.embeddings - index.embeddings).max() < 1e-4
    n = len(index.paragraphs)
    return {
        "paragraphs": n,
        "plain_per_s": n / plain_s,
        "ray_per_s": n / total_s,
        "ray_start_s": started_s,
        "ray_build_per_s": n / build_s,
    }


_WORD = re.compile(r"\w+")
ARTICLE_PARAGRAPHS = 20


def synthetic_archive(texts: list[str], folder: Path, paragraphs: int, first_copy: int = 0) -> int:
    """Files of ``ARTICLE_PARAGRAPHS`` paragraphs, ``paragraphs`` in all: ``texts``
    over and over, every word of copy k > 0 tagged with k. Returns the next copy number."""
    folder.mkdir(parents=True, exist_ok=True)
    written, copy = 0, first_copy
    while written < paragraphs:
        tag = "q" + np.base_repr(copy, 36).lower()
        for start in range(0, len(texts), ARTICLE_PARAGRAPHS):
            chunk = texts[start : start + ARTICLE_PARAGRAPHS][: paragraphs - written]
            if copy:
                chunk = [_WORD.sub(r"\g<0>" + tag, t) for t in chunk]
            (folder / f"c{copy:04d}-{start:06d}.txt").write_text("\n\n".join(chunk) + "\n", "utf-8")
            written += len(chunk)
            if written >= paragraphs:
                break
        copy += 1
    past = time.time() - 3600  # written an hour ago, as an archive's files are
    for path in folder.iterdir():
        os.utime(path, (past, past))
    return copy


def fold_costs(bot, question: str, rounds: int) -> dict[str, float]:
    """refresh() and ask() while a background fold runs, against the same with none."""
    store = bot.store
    held: list[float] = []
    commit = store._commit_fold

    def timed_commit(*args):
        start = time.perf_counter()
        try:
            return commit(*args)
        finally:
            held.append(time.perf_counter() - start)

    store._commit_fold = timed_commit
    idle = _calls(bot, question, rounds)
    start = time.perf_counter()
    thread = store.fold_in_background()
    assert thread is not None, "no fold started"
    during = _calls(bot, question, rounds, until=thread)
    thread.join()
    fold_s = time.perf_counter() - start
    return {
        "fold_s": fold_s,
        "lock_s": held[0] if held else float("nan"),
        **{f"idle_{k}": v for k, v in idle.items()},
        **{f"during_{k}": v for k, v in during.items()},
    }


def _calls(bot, question: str, rounds: int, until=None) -> dict[str, float]:
    """Median and longest refresh() (one article added, then deleted) and ask(),
    ``rounds`` times, or while ``until`` (a thread) runs (once at least)."""
    path = Path(bot.settings.corpus_dir) / "zz-fold-article.txt"
    refresh, ask = [], []
    i = 0
    while i < 1 or (until is not None and until.is_alive()) or (until is None and i < rounds):
        for act in (lambda: path.write_text(ARTICLE, "utf-8"), path.unlink):
            act()
            start = time.perf_counter()
            bot.refresh()
            refresh.append(time.perf_counter() - start)
        start = time.perf_counter()
        bot.ask(question)
        ask.append(time.perf_counter() - start)
        i += 1
    return {
        "refresh_p50": statistics.median(refresh),
        "refresh_max": max(refresh),
        "ask_p50": statistics.median(ask),
        "ask_max": max(ask),
        "calls": len(ask),
    }


def synthetic_embed(texts, on_batch=None) -> np.ndarray:
    """A random unit vector per text, the same for the same text."""
    vectors = np.empty((len(texts), 384), np.float32)
    for i, text in enumerate(texts):
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        vectors[i] = np.random.default_rng(seed).standard_normal(384, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    if on_batch:
        on_batch(len(texts))
    return vectors


def archive_updates(texts: list[str], questions: list[str], size: int, work: Path) -> dict:
    """What updates cost in a synthetic archive of ``size`` paragraphs (see the module's note)."""
    corpus = work / f"archive-{size}"
    next_copy = synthetic_archive(texts, corpus, size)
    settings = Settings.from_env(corpus_dir=corpus, index_dir=work / f"archive-{size}-index")
    store = IndexStore(settings, synthetic_embed)
    (index, _), build_s = timed(store.update)
    result = {"paragraphs": len(index.paragraphs), "index_type": index.manifest["index_type"], "build_s": build_s}
    result["build_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result |= add_change_delete(store, corpus)
    print(f"archive {size}:", json.dumps(result), flush=True)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(questions), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    day = int(0.04 * size)  # a day's articles: the delta grows to 4% of the index, short of a fold
    synthetic_archive(texts, corpus / "day-1", day, next_copy)
    (index, _), result["day_s"] = timed(store.update)
    result["day_paragraphs"] = day
    result["delta_rows"] = len(index.stored.delta)
    result["with_delta"] = query_latency(index, questions, vectors, None)
    synthetic_archive(texts, corpus / "day-2", day, next_copy + 1)
    (index, _), result["fold_s"] = timed(store.update)
    result["folded"] = not index.stored.delta
    result["after_fold"] = query_latency(index, questions, vectors, None)
    for q in (result["with_delta"], result["after_fold"]):
        q.pop("found")
    _, result["load_s"] = timed(IndexStore(settings).load)
    del store, index
    gc.collect()
    return_freed_memory()
    result |= user_path(settings, corpus, questions[0])
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"archive {size}:", json.dumps(result), flush=True)
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(work / f"archive-{size}-index", ignore_errors=True)
    return result


def user_path(settings: Settings, corpus: Path, question: str, rounds: int = 3) -> dict:
    """The app's own path on the archive: ``QAPipeline.refresh()`` after one
    article is added, changed and deleted (medians of ``rounds``), then
    refresh() and ask() while a fold of the whole index runs in the background."""
    from qa import QAPipeline

    bot, open_s = timed(lambda: QAPipeline(settings))
    path = corpus / "zz-new-article.txt"
    times: dict[str, list[float]] = {"add": [], "change": [], "delete": []}
    for _ in range(rounds + 1):
        for kind, act in (
            ("add", lambda: path.write_text(ARTICLE, "utf-8")),
            ("change", lambda: path.write_text(ARTICLE.replace("Wednesday", "Thursday"), "utf-8")),
            ("delete", path.unlink),
        ):
            act()
            _, seconds = timed(bot.refresh)
            times[kind].append(seconds)
    result = {"open_s": open_s} | {f"refresh_{k}_s": statistics.median(v[1:]) for k, v in times.items()}
    result["fold"] = fold_costs(bot, question, rounds)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared" / "squad")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--limit", type=int, help="use only this many paragraphs (a quick check of the script)")
    parser.add_argument("--only-ray", action="store_true", help="measure only the Ray build")
    parser.add_argument(
        "--archive-sizes",
        default="200000",
        help="synthetic archive sizes, comma-separated ('' for none); 1000000 takes about 37 minutes and 19 GiB "
        "(docs/BENCHMARKS.md)",
    )
    parser.add_argument("--only-archive", action="store_true", help="measure only the synthetic archive")
    parser.add_argument("--write", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="qa-updates-") as tmp:
        work = Path(tmp)
        texts = paragraphs_of(args.squad / "dev-v1.1.json") + paragraphs_of(args.squad / "train-v1.1-explorer.json")
        questions = [q.question for q in load_squad(args.squad / "dev-v1.1.json", args.queries)]
        # First, alone in the process, so its peak memory is its own.
        results["archive"] = [
            archive_updates(texts, questions, int(n), work) for n in args.archive_sizes.split(",") if n.strip()
        ]
        if args.only_archive:
            print(render_archive(results["archive"]))
            return
        results["ray"] = ray_throughput(args.squad, work)
        print("ray:", json.dumps(results["ray"]), flush=True)
        if args.only_ray:
            return

        corpus = work / "big-corpus"
        corpus.mkdir()
        texts = texts[: args.limit]
        for i, text in enumerate(texts):
            (corpus / f"p{i:06d}.txt").write_text(text + "\n", "utf-8")
        past = time.time() - 3600  # written an hour ago, as an archive's files are
        for path in corpus.iterdir():
            os.utime(path, (past, past))
        settings = Settings.from_env(corpus_dir=corpus, index_dir=work / "big-index")
        store = IndexStore(settings)
        (index, _), full_s = timed(store.update)
        results["full_build"] = {"paragraphs": len(index.paragraphs), "seconds": full_s}
        print("full build:", json.dumps(results["full_build"]), flush=True)
        results["faiss"] = add_change_delete(store, corpus)
        print("faiss:", json.dumps(results["faiss"]), flush=True)

        vectors = np.stack(
            [embeddings.encode_query(settings.model, q, settings.engine, settings.cache_dir) for q in questions]
        )
        faiss_q = query_latency(index, questions, vectors, None)

        milvus_settings = settings.replace(backend="milvus")
        milvus_store = IndexStore(milvus_settings)
        (milvus_index, _), move_s = timed(milvus_store.update)
        results["milvus"] = add_change_delete(milvus_store, corpus) | {"move_s": move_s}
        milvus_index, _ = milvus_store.update()
        milvus_q = query_latency(milvus_index, questions, vectors, faiss_q["found"])
        faiss_q.pop("found"), milvus_q.pop("found")
        results["queries"] = {"faiss": faiss_q, "milvus": milvus_q}
        print("milvus:", json.dumps(results["milvus"]), json.dumps(results["queries"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    publish(render(results, " ".join(["python", *sys.argv])), args.write, "updates", "Updates that cost what changed")


def render(r: dict, command: str) -> str:
    full, f, m, q = r["full_build"], r["faiss"], r["milvus"], r["queries"]
    lines = [
        f"A {full['paragraphs']:,}-paragraph index (SQuAD train + dev, one file per paragraph) built in "
        f"{full['seconds']:.0f} s. Then one three-paragraph article added, changed and deleted, through one index "
        f"store as the app keeps one. Embedding the article's own paragraphs takes {f['embed_own_s']:.2f} s of each "
        "add or change.",
        "",
        "| backend | add one article s | change it s | delete it s |",
        "|---|---|---|---|",
        f"| FAISS + BM25 (default) | {f['add_s']:.2f} | {f['change_s']:.2f} | {f['delete_s']:.2f} |",
        f"| Milvus Lite | {m['add_s']:.2f} | {m['change_s']:.2f} | {m['delete_s']:.2f} |",
        "",
        f"Moving the index to Milvus Lite (inserting {full['paragraphs']:,} paragraphs, vectors reused) took "
        f"{m['move_s']:.0f} s.",
        "",
        "| backend | dense query p50 ms | p95 ms | recall@10 vs FAISS flat | BM25 query p50 ms |",
        "|---|---|---|---|---|",
        f"| FAISS flat + BM25 | {q['faiss']['dense_p50_ms']:.2f} | {q['faiss']['dense_p95_ms']:.2f} | 1.000 | "
        f"{q['faiss']['bm25_p50_ms']:.2f} |",
        f"| Milvus Lite (FLAT, BM25 function) | {q['milvus']['dense_p50_ms']:.2f} | {q['milvus']['dense_p95_ms']:.2f} | "
        f"{q['milvus']['recall_at_10']:.3f} | {q['milvus']['bm25_p50_ms']:.2f} |",
        "",
        f"Ray: `qa index` over {r['ray']['paragraphs']:,} SQuAD dev paragraphs embeds {r['ray']['plain_per_s']:.0f} "
        f"paragraphs/s in process. With `--ray` (a local Ray on this machine, started in {r['ray']['ray_start_s']:.1f} s) "
        f"the same build runs at {r['ray']['ray_per_s']:.0f} paragraphs/s, start-up included "
        f"({r['ray']['ray_build_per_s']:.0f}/s without it): ratio **{r['ray']['ray_per_s'] / r['ray']['plain_per_s']:.2f}**. "
        "One machine gains nothing from Ray. A cluster adds an actor, holding a copy of the model, per GPU or per two cores.",
        "",
        "",
        render_archive(r["archive"]),
        "",
        f"Measured {measured_on()} (`{command}`).",
    ]
    return "\n".join(lines)


def render_archive(runs: list[dict]) -> str:
    lines = [
        "A synthetic archive (SQuAD's paragraphs copied with each copy's words tagged, so copies share no "
        "shingles or words; 20 paragraphs a file; a random unit vector per paragraph), through one index store:",
        "",
        "| paragraphs | FAISS index | full build s | add one article s | change it s | delete it s | a day's articles (4%) s | "
        "the next day's, folding the delta s | load from disk s | peak memory MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for a in runs:
        lines.append(
            f"| {a['paragraphs']:,} | {a['index_type']} | {a['build_s']:.0f} | {a['add_s']:.2f} | {a['change_s']:.2f} | "
            f"{a['delete_s']:.2f} | {a['day_s']:.1f} ({a['day_paragraphs']:,} paragraphs) | {a['fold_s']:.1f} | "
            f"{a['load_s']:.1f} | {a['peak_rss_mib']:,.0f} |"
        )
    lines += [
        "",
        "The app's own path on the same archive (`QAPipeline.refresh()` after one three-paragraph article, the "
        "real model embedding it), and a fold of the whole index run in the background as the app runs one:",
        "",
        "| paragraphs | open s | refresh() add s | change s | delete s | first build's peak MiB | background fold s "
        "| lock held s | refresh() during it, p50 / longest s | ask() idle p50 s | ask() during it, p50 / longest s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for a in runs:
        f = a["fold"]
        lines.append(
            f"| {a['paragraphs']:,} | {a['open_s']:.1f} | {a['refresh_add_s']:.2f} | {a['refresh_change_s']:.2f} | "
            f"{a['refresh_delete_s']:.2f} | {a['build_peak_rss_mib']:,.0f} | {f['fold_s']:.1f} | {f['lock_s']:.2f} | "
            f"{f['during_refresh_p50']:.2f} / {f['during_refresh_max']:.2f} | {f['idle_ask_p50']:.2f} | "
            f"{f['during_ask_p50']:.2f} / {f['during_ask_max']:.2f} |"
        )
    lines += [
        "",
        "| paragraphs | delta rows | dense query p50 ms | p95 ms | BM25 query p50 ms |",
        "|---|---|---|---|---|",
    ]
    for a in runs:
        for label, q in ((f"{a['delta_rows']:,}", a["with_delta"]), ("0 (folded)", a["after_fold"])):
            lines.append(
                f"| {a['paragraphs']:,} | {label} | {q['dense_p50_ms']:.2f} | {q['dense_p95_ms']:.2f} | "
                f"{q['bm25_p50_ms']:.2f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
