"""An upload call reads only files that Gradio's upload route received: a
crafted call naming any other server path is refused and changes nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from conftest import CORPUS
from gradio import utils as gradio_utils
from gradio_client import Client

from qa.serving.access import upload_refusal

SECRET = "Zedland memo\n\nThe vault code of Zedland is 9191.\n"


# -- the rule, without a server ------------------------------------------------------


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


# -- over the app's REST API and gradio_client ------------------------------------------


def _paths(app_server, tmp_path: Path) -> dict[str, str]:
    secret = tmp_path / "zz_secret_memo.txt"
    secret.write_text(SECRET, "utf-8")
    cache = gradio_utils.get_upload_folder()
    return {
        "outside the cache": str(secret),
        "/etc/passwd": "/etc/passwd",
        "a corpus file": str(app_server.corpus / sorted(p.name for p in CORPUS.iterdir())[1]),
        "the cache with ../": os.path.join(cache, "..", os.path.relpath(secret, Path(cache).parent)),
    }


def _unchanged(app_server):
    corpus = sorted((p.name, p.stat().st_mtime_ns) for p in app_server.corpus.iterdir())
    sources = requests.get(f"{app_server.url}/api/sources", timeout=30).json()
    return corpus, sources


def _rest_upload(url: str, path: str) -> str:
    data = {"data": [[{"path": path, "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}], False, ""]}
    event = requests.post(f"{url}/gradio_api/call/upload", json=data, timeout=30).json()["event_id"]
    stream = requests.get(f"{url}/gradio_api/call/upload/{event}", timeout=60).text
    assert "event: error" in stream, stream
    return json.loads(stream.split("data:", 1)[1].strip())["error"]


@pytest.mark.parametrize("form", ["outside the cache", "/etc/passwd", "a corpus file", "the cache with ../"])
def test_a_server_path_is_refused_over_rest(app_server, tmp_path: Path, form: str):
    before = _unchanged(app_server)
    message = _rest_upload(app_server.url, _paths(app_server, tmp_path)[form])
    assert "not a file uploaded to this server" in message
    assert _unchanged(app_server) == before
    assert "zz_secret_memo.txt" not in {p.name for p in app_server.corpus.iterdir()}


@pytest.mark.parametrize("form", ["outside the cache", "/etc/passwd", "a corpus file", "the cache with ../"])
def test_a_server_path_is_refused_over_gradio_client(app_server, tmp_path: Path, form: str):
    """gradio_client uploads a local file's bytes itself; a crafted client
    sends the server path instead, as the REST call above does."""
    client = Client(app_server.url, verbose=False)
    endpoint = next(e for e in client.endpoints.values() if e.api_name == "/upload")
    endpoint._upload_file = lambda f, data_index: f  # send the path as given
    before = _unchanged(app_server)
    path = _paths(app_server, tmp_path)[form]
    with pytest.raises(Exception, match="not a file uploaded to this server"):
        client.predict([{"path": path, "meta": {"_type": "gradio.FileData"}}], False, "", api_name="/upload")
    assert _unchanged(app_server) == before
    assert Path(path).exists()  # nothing the call named was deleted
