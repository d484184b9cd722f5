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


MOUNTS = """\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 22 0:35 / /mnt/newsroom rw,relatime shared:20 - nfs4 server:/archive rw,vers=4.2
41 22 0:36 / /mnt/sshfs rw,nosuid shared:21 - fuse.sshfs user@host:/ rw
42 40 254:1 / /mnt/newsroom/local rw shared:22 - ext4 /dev/vdb rw
43 22 254:2 / /mnt/my\\040disk rw shared:23 - xfs /dev/vdc rw
"""


@pytest.mark.parametrize(
    ("folder", "watched"),
    [
        ("/home/me/corpus", True),
        ("/mnt/newsroom/2026", False),
        ("/mnt/newsroom", False),
        ("/mnt/sshfs/articles", False),
        ("/mnt/newsroom/local/articles", True),  # a local disk mounted inside the share
        ("/mnt/my disk/articles", True),
        ("/mnt/newsroomx/articles", True),  # only a prefix of the share's name
    ],
)
def test_a_folder_on_a_network_or_fuse_file_system_is_not_watched(folder, watched):
    from qa.corpus.watch import events_seen_here

    assert events_seen_here(folder, MOUNTS) is watched


def test_linked_files_are_named_so_that_each_look_reads_them(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    target = tmp_path / "elsewhere.txt"
    target.write_text(TEXT, "utf-8")
    os.symlink(target, corpus / "latest.txt")
    (corpus / "own.txt").write_text(TEXT, "utf-8")
    os.link(corpus / "own.txt", tmp_path / "second-name.txt")
    (corpus / "plain.txt").write_text(TEXT, "utf-8")
    assert read_corpus(corpus).linked == {"latest.txt", "own.txt"}
    assert read_files(corpus, {"latest.txt", "plain.txt"}).linked == {"latest.txt"}
