"""An upload call reads only files that Gradio's upload route received: the
rule alone, no server (over the app's REST API and gradio_client in
tests/system/test_upload_paths.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa.serving.access import upload_refusal

SECRET = "Zedland memo\n\nThe vault code of Zedland is 9191.\n"


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    (cache / "abc").mkdir(parents=True)
    outside.mkdir()
    (cache / "abc" / "upload.txt").write_text("Title\n\nText.\n")
    (outside / "secret.txt").write_text(SECRET)
    return cache, outside


def test_a_file_in_the_upload_folder_is_taken(folders):
    cache, _ = folders
    assert upload_refusal(str(cache / "abc" / "upload.txt"), cache) is None


@pytest.mark.parametrize(
    "path",
    [
        "outside/secret.txt",  # a server path outside the upload folder
        "cache/abc/../../outside/secret.txt",  # out of the folder with ..
        "cache/abc/../abc/upload.txt",  # .. even when it stays inside
        "cache/abc",  # a folder
        "cache",  # the folder itself
        "cache/abc/missing.txt",  # nothing there
        "cache/abc/link.txt",  # a symbolic link out of the folder
        "cache/abc/inner-link.txt",  # a symbolic link that stays inside
        "cache/abc/hard.txt",  # a hard link to a file outside
    ],
)
def test_other_paths_are_refused(folders, path: str):
    cache, outside = folders
    (cache / "abc" / "link.txt").symlink_to(outside / "secret.txt")
    (cache / "abc" / "inner-link.txt").symlink_to(cache / "abc" / "upload.txt")
    os.link(outside / "secret.txt", cache / "abc" / "hard.txt")
    assert "not a file uploaded" in upload_refusal(str(cache.parent / path), cache)


@pytest.mark.parametrize("path", [None, "", 3, "/etc/passwd", "http://127.0.0.1:9/x.txt", "a\x00b"])
def test_odd_values_are_refused(folders, path):
    cache, _ = folders
    assert upload_refusal(path, cache)
