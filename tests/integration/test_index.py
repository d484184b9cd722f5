"""The persisted index: incremental updates, recovery, atomic writes, duplicate groups
(the app started on an index path that is a file: tests/system/test_app.py)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import NEW_ARTICLE, ROOT

from qa import QAPipeline, Settings
from qa.corpus import articles
from qa.index import changes as changes_module
from qa.index.errors import IndexOutdated
from qa.index.manifest import LAYOUT_VERSION
from qa.index.store import IndexStore
from qa.search.embeddings import model_path
from qa.settings import PACKAGED_MODEL


def _store(corpus: Path, index: Path, **overrides) -> IndexStore:
    return IndexStore(Settings.from_env(corpus_dir=corpus, index_dir=index, **overrides))


def test_update_embeds_only_what_changed(corpus_copy: Path, tmp_path: Path):
    store = _store(corpus_copy, tmp_path / "index")
    index, report = store.update()
    assert report.rebuilt_because == "there was no index yet"
    assert report.embedded_paragraphs == len(index.paragraphs) == 85

    index, report = store.update()
    assert report.up_to_date and report.embedded_paragraphs == 0

    (corpus_copy / "005_new.txt").write_text(NEW_ARTICLE, "utf-8")
    index, report = store.update()
    assert report.added == ["005_new.txt"] and report.embedded_paragraphs == 3
    assert len(index.paragraphs) == 88

    changed = corpus_copy / "003_850cf3de63addd31.txt"
    changed.write_text(changed.read_text("utf-8") + "\nA paragraph added by the editor later.\n", "utf-8")
    index, report = store.update()
    assert report.changed == ["003_850cf3de63addd31.txt"]
    assert report.embedded_paragraphs == 16  # the 15 paragraphs it had, plus the new one
    assert len(index.paragraphs) == 89

    (corpus_copy / "001_2ba139ad32a30a4e.txt").unlink()
    index, report = store.update()
    assert report.removed == ["001_2ba139ad32a30a4e.txt"] and report.embedded_paragraphs == 0
    assert len(index.paragraphs) == 69
    assert "001_2ba139ad32a30a4e.txt" not in {p.source for p in index.paragraphs}

    # What was reused is what a fresh build computes (updates append their rows
    # after the base's: compared in corpus order), and reads back the same.
    fresh, _ = _store(corpus_copy, tmp_path / "fresh").update()
    reloaded = _store(corpus_copy, tmp_path / "index").load()
    for other in (fresh, reloaded):
        assert sorted((p.source, p.paragraph, p.start, p.end) for p in other.paragraphs) == sorted(
            (p.source, p.paragraph, p.start, p.end) for p in index.paragraphs
        )
        vectors = dict(zip(other.ids.tolist(), other.embeddings, strict=True))
        assert max(abs(vectors[i] - v).max() for i, v in zip(index.ids.tolist(), index.embeddings, strict=True)) < 1e-5
        assert other.groups == fresh.groups if other is fresh else other.groups == index.groups
    assert reloaded.paragraphs == index.paragraphs


def test_unchanged_files_are_known_by_size_and_time_and_not_read_again(corpus_copy, tmp_path, monkeypatch):
    for path in corpus_copy.iterdir():
        os.utime(path, ns=(time.time_ns() - 10**10,) * 2)  # written a while ago
    store = _store(corpus_copy, tmp_path / "index")
    store.update()
    read: list[str] = []
    real = articles.read_article
    monkeypatch.setattr(articles, "read_article", lambda path, *a: read.append(path.name) or real(path, *a))
    (corpus_copy / "005_new.txt").write_text(NEW_ARTICLE, "utf-8")
    edited = corpus_copy / "003_850cf3de63addd31.txt"
    edited.write_text(edited.read_text("utf-8") + "\nA late paragraph.\n", "utf-8")
    touched = corpus_copy / "004_eef2673d1aa29b10.txt"
    os.utime(touched)  # a new time, same bytes: read, found unchanged
    _, report = store.update()
    assert sorted(read) == ["003_850cf3de63addd31.txt", "004_eef2673d1aa29b10.txt", "005_new.txt"]
    assert report.added == ["005_new.txt"] and report.changed == ["003_850cf3de63addd31.txt"]
    assert "004_eef2673d1aa29b10.txt" in report.unchanged and report.embedded_paragraphs == 3 + 16


def test_each_article_keeps_the_date_it_was_added(corpus_copy: Path, tmp_path: Path):
    store = _store(corpus_copy, tmp_path / "index")
    first, _ = store.update()
    built = first.manifest["built_at"]
    assert {s.added for s in first.sources()} == {built}
    time.sleep(1.1)  # times are kept to the second
    (corpus_copy / "005_new.txt").write_text(NEW_ARTICLE, "utf-8")
    index, _ = store.update()
    added = {s.source: s.added for s in index.sources()}
    assert added["005_new.txt"] == index.manifest["built_at"] > built
    assert {added[s] for s in added if s != "005_new.txt"} == {built}


def test_an_index_in_another_layout_is_rebuilt_and_says_why(corpus_copy: Path, tmp_path: Path):
    """A build another version of the app wrote, in a layout this one does not
    read, is neither read wrongly nor a crash: it is rebuilt, and the report says why."""
    store = _store(corpus_copy, tmp_path / "index")
    index, _ = store.update()
    build = store.folder / (store.folder / "CURRENT").read_text().strip()
    manifest = json.loads((build / "manifest.json").read_text("utf-8"))
    manifest["layout"] = LAYOUT_VERSION - 1
    (build / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    store = _store(corpus_copy, tmp_path / "index")  # a new process: nothing in memory
    with pytest.raises(IndexOutdated, match="another version"):
        store.load()
    rebuilt, report = store.update()
    assert "another version" in report.rebuilt_because
    assert report.embedded_paragraphs == len(index.paragraphs)
    assert rebuilt.manifest["layout"] == LAYOUT_VERSION and rebuilt.groups == index.groups


def test_a_new_article_is_citable_after_update(corpus_copy: Path, tmp_path: Path):
    bot = QAPipeline(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index"))
    (corpus_copy / "005_new.txt").write_text(NEW_ARTICLE, "utf-8")
    bot.refresh()
    answer = bot.ask("Where did Lavrov arrive on Wednesday for talks on the nuclear issue?")
    assert answer.answerable
    assert answer.citations[0].source == "005_new.txt"
    assert answer.answer == "Pyongyang"


def test_index_survives_reload_from_disk(corpus_copy: Path, tmp_path: Path):
    built, _ = _store(corpus_copy, tmp_path / "index").update()
    loaded = _store(corpus_copy, tmp_path / "index").load()
    assert loaded.paragraphs == built.paragraphs and loaded.groups == built.groups
    manifest = loaded.manifest
    assert manifest["model"] == PACKAGED_MODEL and manifest["dimension"] == 384
    assert set(manifest["versions"]) >= {"sentence-transformers", "faiss-cpu", "bm25s", "torch"}
    assert manifest["files"]["000_7e31dd43b6b198f1.txt"]["paragraphs"] == 12
    assert len(manifest["files"]["000_7e31dd43b6b198f1.txt"]["sha256"]) == 64


@pytest.mark.parametrize(
    "damage",
    [
        "truncate-faiss",
        "garble-paragraphs",
        "delete-bm25",
        "bad-pointer",
        "pointer-is-a-folder",
        "pointer-is-binary",
        "pointer-too-long",
        "pointer-outside",
        "junk-everywhere",
    ],
)
def test_corrupt_index_is_rebuilt_with_a_message(corpus_copy: Path, tmp_path: Path, damage: str):
    folder = tmp_path / "index"
    _store(corpus_copy, folder).update()
    build = folder / (folder / "CURRENT").read_text().strip()
    if damage == "truncate-faiss":
        (faiss_file,) = build.glob("dense-base-*.faiss")
        data = faiss_file.read_bytes()
        faiss_file.write_bytes(data[: len(data) // 2])
    elif damage == "garble-paragraphs":
        (build / "paragraphs-delta.json").write_text('[["000', "utf-8")
    elif damage == "delete-bm25":
        next(build.glob("bm25-base-*.npz")).unlink()
    elif damage == "pointer-is-a-folder":
        (folder / "CURRENT").unlink()
        (folder / "CURRENT").mkdir()
    elif damage == "pointer-is-binary":
        (folder / "CURRENT").write_bytes(bytes(range(256)))
    elif damage == "pointer-too-long":
        (folder / "CURRENT").write_text("build-" + "x" * 10_000)
    elif damage == "pointer-outside":
        (folder / "CURRENT").write_text("../../etc")
    elif damage == "junk-everywhere":
        for child in folder.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
        (folder / "CURRENT").write_text("junk")
        (folder / "junk.bin").write_bytes(os.urandom(1000))
        (folder / "build-junk").mkdir()
    else:
        (folder / "CURRENT").write_text("build-that-never-was\n")

    bot = QAPipeline(Settings.from_env(corpus_dir=corpus_copy, index_dir=folder))
    assert "unreadable" in bot.last_update.rebuilt_because or "does not" in bot.last_update.rebuilt_because
    assert bot.last_update.embedded_paragraphs == 85
    assert bot.ask("Who founded Baring Vostok?").answer == "Michael Calvey"
    assert _store(corpus_copy, folder).update()[1].up_to_date  # the rebuilt index is current and readable


def test_an_index_that_cannot_be_written_is_served_as_it_is(corpus_copy: Path, tmp_path: Path):
    """Its lock cannot be opened for writing (here: a folder in its place, which
    stops root too), so nothing is written: the index is served as built."""
    folder = tmp_path / "index"
    _store(corpus_copy, folder).update()
    (folder / ".lock").unlink()
    (folder / ".lock").mkdir()
    before = sorted(p.name for p in folder.iterdir())
    index, report = _store(corpus_copy, folder).update()
    assert report.read_only and report.up_to_date and len(index.paragraphs) == 85
    (corpus_copy / "005_new.txt").write_text(NEW_ARTICLE, "utf-8")
    index, report = _store(corpus_copy, folder).update()
    assert report.read_only and report.added == ["005_new.txt"] and len(index.paragraphs) == 85
    assert sorted(p.name for p in folder.iterdir()) == before


def test_another_model_triggers_a_rebuild(corpus_copy: Path, tmp_path: Path):
    folder = tmp_path / "index"
    _store(corpus_copy, folder).update()
    # The same weights under another name: a different model as far as the index knows.
    other = tmp_path / "my-model"
    shutil.copytree(model_path(PACKAGED_MODEL), other)
    index, report = _store(corpus_copy, folder, model=str(other)).update()
    assert report.rebuilt_because.startswith("the embedding model changed")
    assert report.embedded_paragraphs == 85
    assert index.manifest["model"] == str(other)


def test_killed_build_leaves_the_previous_index_usable(corpus_copy: Path, tmp_path: Path):
    folder = tmp_path / "index"
    _store(corpus_copy, folder).update()
    current = (folder / "CURRENT").read_text()
    # Enough new text that embedding takes a while, then kill -9 mid-way.
    for i in range(60):
        body = "\n\n".join(
            f"Report {i}-{j}: the delegation discussed item {j} of the agenda at length." for j in range(40)
        )
        (corpus_copy / f"bulk_{i:03}.txt").write_text(f"Bulk report {i}\n\n{body}\n", "utf-8")
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa", "index", "--corpus", str(corpus_copy), "--index", str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    seen = b""
    while b"Embedding" not in seen and time.time() < deadline:
        seen += os.read(proc.stderr.fileno(), 4096)
    assert b"Embedding" in seen, "the build never started embedding"
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    assert (folder / "CURRENT").read_text() == current
    index = _store(corpus_copy, folder).load()
    assert len(index.paragraphs) == 85
    for leftover in corpus_copy.glob("bulk_*.txt"):
        leftover.unlink()
    bot = QAPipeline(Settings.from_env(corpus_dir=corpus_copy, index_dir=folder))
    assert bot.last_update.up_to_date
    assert bot.ask("Who founded Baring Vostok?").citations[0].source == "001_2ba139ad32a30a4e.txt"


def test_syndicated_copies_are_grouped(bot: QAPipeline):
    index = bot.index
    pairs = set()
    for row in range(len(index.paragraphs)):
        for other in index.copies_of(row):
            a, b = index.paragraphs[row], index.paragraphs[other]
            pairs.add(tuple(sorted([(a.source[:3], a.paragraph), (b.source[:3], b.paragraph)])))
    assert pairs == {
        (("000", 2), ("002", 12)),
        (("000", 3), ("002", 13)),
        (("000", 4), ("002", 15)),
        (("000", 5), ("002", 16)),
        (("000", 6), ("002", 17)),
        (("000", 7), ("002", 19)),
        (("000", 8), ("002", 20)),
        (("000", 9), ("002", 21)),
        (("000", 10), ("002", 22)),
    }


def test_search_returns_one_passage_per_syndicated_group(bot: QAPipeline):
    passages = bot.search("Jeremy Hunt worried about the risk of a conflict happening by accident", k=5)
    top = passages[0]
    assert (top.source[:3], top.paragraph) in {("000", 9), ("002", 21)}
    copy = top.also_in[0]
    assert {top.source[:3], copy.source[:3]} == {"000", "002"}
    assert all((p.source, p.paragraph) != (copy.source, copy.paragraph) for p in passages)
    text = (ROOT / "corpus" / copy.source).read_bytes().decode("utf-8")
    assert "Jeremy Hunt" in text[copy.start : copy.end]


def test_manifest_lists_each_file_with_checksum(bot: QAPipeline):
    sources = {s.source: s for s in bot.sources()}
    assert len(sources) == 5
    raw = (ROOT / "corpus" / "002_fab38d7c02004fe4.txt").read_bytes()
    assert sources["002_fab38d7c02004fe4.txt"].sha256 == hashlib.sha256(raw).hexdigest()
    assert sources["002_fab38d7c02004fe4.txt"].paragraphs == 23
    assert json.dumps([s.to_dict() for s in bot.sources()])  # serialisable as the API returns it


def test_a_watched_store_sees_what_a_scan_sees(corpus_copy: Path, tmp_path: Path, monkeypatch):
    """A long-lived store (the app's) looks only at the files its folder watch
    names, and ends each update where a store that scans the folder ends."""
    watched = IndexStore(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "watched"), watch=True)
    scanned = _store(corpus_copy, tmp_path / "scanned")
    edited = corpus_copy / "003_850cf3de63addd31.txt"
    steps = [
        lambda: None,
        lambda: (corpus_copy / "005_new.txt").write_text(NEW_ARTICLE, "utf-8"),
        lambda: edited.write_text(edited.read_text("utf-8") + "\nA late paragraph.\n", "utf-8"),
        lambda: os.utime(corpus_copy / "004_eef2673d1aa29b10.txt"),
        lambda: (corpus_copy / "001_2ba139ad32a30a4e.txt").unlink(),
        lambda: (corpus_copy / "notes.xlsx").write_bytes(b"a spreadsheet"),
        lambda: (corpus_copy / "empty.txt").write_text("", "utf-8"),
        lambda: (corpus_copy / "empty.txt").write_text(NEW_ARTICLE.replace("Pompeo", "Lavrov"), "utf-8"),
        lambda: (corpus_copy / ".upload").write_text(NEW_ARTICLE + "\nMore.\n", "utf-8"),
        lambda: os.rename(corpus_copy / ".upload", corpus_copy / "uploaded.txt"),
        lambda: (corpus_copy / "world").mkdir(),  # a new folder: the watch asks for a whole scan
        lambda: (corpus_copy / "world" / "006.txt").write_text(NEW_ARTICLE.replace("Pompeo", "Kerry"), "utf-8"),
    ]
    scans: list[bool] = []
    real = changes_module.read_corpus
    monkeypatch.setattr(changes_module, "read_corpus", lambda *a, **k: scans.append(True) or real(*a, **k))
    whole = []
    for step in steps:
        step()
        scans.clear()
        index, report = watched.update()
        whole.append(bool(scans))
        monkeypatch.setattr(changes_module, "read_corpus", real)
        expected_index, expected = scanned.update()
        for field in ("added", "changed", "removed", "skipped", "ignored", "embedded_paragraphs"):
            assert getattr(report, field) == getattr(expected, field), field
        assert report.unchanged_count == expected.unchanged_count
        assert index.manifest["files"].keys() == expected_index.manifest["files"].keys()
        where = lambda i: sorted((p.source, p.paragraph, p.start, p.end) for p in i.paragraphs)  # noqa: E731
        assert where(index) == where(expected_index)
        monkeypatch.setattr(changes_module, "read_corpus", lambda *a, **k: scans.append(True) or real(*a, **k))
    # The first update scans (nothing is known yet), and so does the one after a folder was made.
    assert whole == [True] + [False] * 9 + [True, False]
    assert watched._look.watch.changed() == set()


def test_a_watched_store_reads_a_linked_file_changed_through_its_target(corpus_copy: Path, tmp_path: Path):
    """A write through a link's target makes no event for the link's name: each look reads linked files."""
    target = tmp_path / "wire-copy.txt"
    target.write_text(NEW_ARTICLE, "utf-8")
    os.symlink(target, corpus_copy / "005_linked.txt")
    store = IndexStore(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index"), watch=True)
    store.update()
    index, report = store.update()
    assert report.up_to_date and "005_linked.txt" in index.manifest["files"]
    target.write_text(NEW_ARTICLE.replace("Pyongyang", "Hanoi"), "utf-8")
    index, report = store.update()
    assert report.changed == ["005_linked.txt"]
    assert any("Hanoi" in p.text for p in index.paragraphs)
