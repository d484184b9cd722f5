"""Folding the index's layers in the background (qa/index/fold.py): updates
never wait on a fold, and a fold replays the updates that came while it ran."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import NEW_ARTICLE

from qa import QAPipeline, Settings, layers
from qa.index import fold as fold_module
from qa.index.store import IndexStore


@pytest.fixture
def folds_often(monkeypatch):
    """Every update wants a fold, and none folds inline: only the background folds."""
    monkeypatch.setattr(layers, "DELTA_SHARE", 0.01)
    monkeypatch.setattr(layers, "HIDDEN_SHARE", 0.01)
    monkeypatch.setattr(layers, "DEFERRED_LIMIT", 10_000)


@pytest.fixture
def held_fold(monkeypatch):
    """A gate the background fold waits at before it folds."""
    gate, real = threading.Event(), fold_module.folded
    monkeypatch.setattr(fold_module, "folded", lambda *a: gate.wait(60) and real(*a))
    return gate


def _where(index) -> list[tuple[str, int, int, int]]:
    return sorted((p.source, p.paragraph, p.start, p.end) for p in index.paragraphs)


def _same_search(a, b) -> None:
    vector = b.stored.vectors()[0]
    assert {i for i, _ in a.dense.search("", vector, 20)} == {i for i, _ in b.dense.search("", vector, 20)}
    query = "Pompeo talks with Putin in Sochi"
    hits_a, hits_b = a.lexical.search(query, None, 20), b.lexical.search(query, None, 20)
    assert [i for i, _ in hits_a] == [i for i, _ in hits_b]
    assert np.allclose([s for _, s in hits_a], [s for _, s in hits_b])


def test_an_update_leaves_the_fold_to_the_background(corpus_copy: Path, tmp_path: Path, folds_often):
    settings = Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    store = IndexStore(settings, watch=True, fold_in_background=True)
    store.update()
    base = store.load().stored.name
    (corpus_copy / "005_new.txt").write_text(NEW_ARTICLE, "utf-8")
    index, _ = store.update()
    assert len(index.stored.delta) == 3 and index.stored.name == base  # written unfolded
    store.wait_for_fold(60)
    folded = store.load()
    assert folded.stored.name != base and not folded.stored.delta and not len(folded.stored.removed)
    assert not folded.file_entries.delta and _where(folded) == _where(index) and folded.groups == index.groups
    _same_search(folded, index)


def test_a_fold_replays_the_updates_that_came_while_it_ran(corpus_copy: Path, tmp_path: Path, folds_often, held_fold):
    settings = Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    store = IndexStore(settings, watch=True, fold_in_background=True)
    store.update()
    folded_indexes: list = []
    store.on_fold = folded_indexes.append
    (corpus_copy / "005_new.txt").write_text(NEW_ARTICLE, "utf-8")
    store.update()  # the fold starts, and waits at the gate
    edited = corpus_copy / "003_850cf3de63addd31.txt"
    edited.write_text(edited.read_text("utf-8") + "\nA paragraph added by the editor later.\n", "utf-8")
    (corpus_copy / "001_2ba139ad32a30a4e.txt").unlink()
    latest, report = store.update()  # not waiting on the fold
    latest_build = (tmp_path / "index" / "CURRENT").read_text().strip()
    assert report.changed == ["003_850cf3de63addd31.txt"] and report.removed == ["001_2ba139ad32a30a4e.txt"]
    held_fold.set()
    store.wait_for_fold(60)

    now = store.load()
    fresh, _ = IndexStore(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "fresh")).update()
    assert _where(now) == _where(fresh) == _where(latest)
    assert now.stored.name != latest.stored.name  # the folded base, with the update replayed on it
    assert len(now.stored.base) == 85 + 3 and len(now.stored.delta) == 16
    assert set(now.manifest["files"]) == set(fresh.manifest["files"])
    assert folded_indexes and folded_indexes[-1].stored.name == now.stored.name
    assert sorted(sorted(g) for g in _groups(now)) == sorted(sorted(g) for g in _groups(fresh))
    _same_search(now, fresh)
    # Left in the folder: the current build and the one it replaced, for readers still opening it.
    current = (tmp_path / "index" / "CURRENT").read_text().strip()
    assert {p.name for p in (tmp_path / "index").glob("*build-*")} == {current, latest_build}


def _groups(index) -> list[list[int]]:
    members: dict[int, list[int]] = {}
    for pid, label in zip(index.ids.tolist(), index.groups, strict=True):
        members.setdefault(label, []).append(pid)
    return [g for g in members.values() if len(g) > 1]


def test_the_app_answers_from_the_folded_index(corpus_copy: Path, tmp_path: Path, folds_often):
    bot = QAPipeline(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index"))
    (corpus_copy / "005_new.txt").write_text(NEW_ARTICLE, "utf-8")
    bot.refresh()
    bot.store.wait_for_fold(60)
    assert not bot.index.stored.delta  # the folded index took the unfolded one's place
    answer = bot.ask("Where did Lavrov arrive on Wednesday for talks on the nuclear issue?")
    assert answer.answer == "Pyongyang" and answer.citations[0].source == "005_new.txt"


def test_an_update_while_the_fold_writes_keeps_the_folds_files(corpus_copy, tmp_path, folds_often, monkeypatch):
    """A fold writes its build outside the writer's lock: an update that clears
    old builds meanwhile leaves it alone, and the fold still lands."""
    gate, written = threading.Event(), threading.Event()
    real = fold_module.write_unpublished

    def slow_write(*args):
        folder = real(*args)
        written.set()
        gate.wait(60)
        return folder

    monkeypatch.setattr(fold_module, "write_unpublished", slow_write)
    store = IndexStore(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index"), fold_in_background=True)
    store.update()
    folded_indexes: list = []
    store.on_fold = folded_indexes.append
    (corpus_copy / "005_new.txt").write_text(NEW_ARTICLE, "utf-8")
    store.update()
    assert written.wait(60)
    (corpus_copy / "006_new.txt").write_text(NEW_ARTICLE.replace("Lavrov", "Wang Yi"), "utf-8")
    store.update()  # makes a build current, and clears the builds it does not keep
    gate.set()
    store.wait_for_fold(60)
    assert folded_indexes, "the fold did not land"
    now = store.load()
    assert {"005_new.txt", "006_new.txt"} <= set(now.manifest["files"]) and len(now.stored.base) == 85 + 3


def test_no_background_fold_without_the_memory_for_it(corpus_copy, tmp_path, folds_often, monkeypatch, caplog):
    from qa.index import store as store_module

    monkeypatch.setattr(store_module, "room_for_a_copy", lambda: False)
    store = IndexStore(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index"), fold_in_background=True)
    store.update()
    (corpus_copy / "005_new.txt").write_text(NEW_ARTICLE, "utf-8")
    index, _ = store.update()
    assert store._folding is None and len(index.stored.delta) == 3
    assert "needs as much memory again" in caplog.text


def test_a_fold_of_an_index_read_from_disk_survives_its_build_being_removed(
    corpus_copy, tmp_path, folds_often, held_fold
):
    """An index read from disk keeps its shingles there: the fold holds them
    before later updates remove that build."""
    settings = Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    IndexStore(settings).update()
    store = IndexStore(settings, watch=True, fold_in_background=True)
    index, _ = store.update()  # up to date: the index as read from disk
    assert index.shingles is None
    folded_indexes: list = []
    store.on_fold = folded_indexes.append
    assert store.fold_in_background() is not None
    for name in ("005_new.txt", "006_new.txt"):  # two builds: the one being folded is removed
        (corpus_copy / name).write_text(NEW_ARTICLE.replace("Lavrov", name[:3]), "utf-8")
        store.update()
    held_fold.set()
    store.wait_for_fold(60)
    assert folded_indexes and {"005_new.txt", "006_new.txt"} <= set(store.load().manifest["files"])
    assert not list((tmp_path / "index").glob(".tmp-build-*"))
