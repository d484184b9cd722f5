"""The corpus folder's watch (qa/corpus/watch.py) and reading only the files it names."""

from __future__ import annotations

import os
import shutil

import pytest

from qa.corpus import watch as watch_module
from qa.corpus.articles import read_corpus, read_files
from qa.corpus.watch import FolderWatch

pytestmark = pytest.mark.skipif(watch_module.INotify is None, reason="inotify is Linux's")

TEXT = "A headline\n\nA first paragraph of the article, long enough to be one.\n"


@pytest.fixture
def folder(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "world").mkdir(parents=True)
    (corpus / "a.txt").write_text(TEXT, "utf-8")
    (corpus / "world" / "b.txt").write_text(TEXT, "utf-8")
    return corpus


@pytest.fixture
def watch(folder):
    w = FolderWatch(folder)
    assert w.start()
    yield w
    w.close()


def test_nothing_changed_is_an_empty_set(watch):
    assert watch.changed() == set()
    assert watch.changed() == set()


def test_files_added_written_touched_renamed_and_deleted_are_named(folder, watch):
    (folder / "new.txt").write_text(TEXT, "utf-8")
    with open(folder / "a.txt", "a", encoding="utf-8") as f:
        f.write("More.\n")
    os.utime(folder / "world" / "b.txt")
    assert watch.changed() == {"new.txt", "a.txt", "world/b.txt"}
    os.rename(folder / "new.txt", folder / "world" / "moved.txt")
    (folder / "a.txt").unlink()
    assert watch.changed() == {"new.txt", "world/moved.txt", "a.txt"}


def test_hidden_files_are_left_out_and_an_upload_renamed_into_place_shows(folder, watch):
    (folder / ".partial").write_text(TEXT, "utf-8")
    assert watch.changed() == set()
    os.rename(folder / ".partial", folder / "upload.txt")
    assert watch.changed() == {"upload.txt"}


@pytest.mark.parametrize(
    "act",
    [
        lambda folder: (folder / "new-folder").mkdir(),
        lambda folder: shutil.rmtree(folder / "world"),
        lambda folder: os.rename(folder / "world", folder / "europe"),
    ],
    ids=["folder made", "folder deleted", "folder renamed"],
)
def test_a_change_of_folders_asks_for_a_whole_scan(folder, watch, act):
    act(folder)
    assert watch.changed() is None
    assert not watch.armed
    assert watch.start() and watch.changed() == set()


def test_the_corpus_folder_moved_asks_for_a_whole_scan(folder, watch):
    os.rename(folder, folder.with_name("elsewhere"))
    assert watch.changed() is None


def test_a_watch_not_started_or_closed_knows_nothing(folder):
    w = FolderWatch(folder)
    assert w.changed() is None
    assert w.start()
    w.close()
    assert w.changed() is None


def test_a_folder_that_cannot_be_watched_is_scanned(tmp_path):
    assert not FolderWatch(tmp_path / "missing").start()


def test_reading_named_files_reads_what_a_scan_reads_of_them(folder):
    (folder / "notes.xlsx").write_bytes(b"not an article")
    (folder / "empty.txt").write_text("", "utf-8")
    os.symlink(folder / "gone.txt", folder / "broken.txt")
    names = {"a.txt", "world/b.txt", "notes.xlsx", "empty.txt", "broken.txt", "missing.txt", "world"}
    part = read_files(folder, names)
    whole = read_corpus(folder)
    assert [a.source for a in part.articles] == [a.source for a in whole.articles]
    assert part.articles == whole.articles
    assert part.ignored == whole.ignored == ("notes.xlsx",)
    assert [s.source for s in part.skipped] == [s.source for s in whole.skipped] == ["broken.txt", "empty.txt"]
    assert part.stats == whole.stats
