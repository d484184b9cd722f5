"""An upload call reads only files that Gradio's upload route received: a
crafted call naming any other server path, over the app's REST API and
gradio_client, is refused and changes nothing (the rule alone is in
tests/unit/test_upload_rule.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from gradio import utils as gradio_utils
from gradio_client import Client
from helpers import CORPUS

SECRET = "Zedland memo\n\nThe vault code of Zedland is 9191.\n"


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
