"""Who may write, and which hosts and origins the app answers: a real app run
with an admin token (the rules alone are in tests/unit/test_access_rules.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from gradio_client import Client, handle_file
from helpers import CORPUS, free_port, serve_app


@pytest.fixture(scope="module")
def locked_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    root = tmp_path_factory.mktemp("locked")
    shutil.copytree(CORPUS, root / "corpus")
    with open(root / "app.log", "w") as log:
        yield from serve_app(root, root / "corpus", free_port(), log, {"QA_ADMIN_TOKEN": "s3cret"})


def test_uploads_need_the_admin_token(locked_app, tmp_path: Path):
    article = tmp_path / "008_token.txt"
    article.write_text("Token test\n\nThe token summit was held in Vilnius on Sunday.\n", "utf-8")
    client = Client(locked_app.url, verbose=False)
    message, _, _ = client.predict([handle_file(str(article))], False, "", api_name="/upload")
    assert "admin token" in message and not (locked_app.corpus / article.name).exists()
    message, _, _ = client.predict([handle_file(str(article))], False, "wrong", api_name="/upload")
    assert "admin token" in message and not (locked_app.corpus / article.name).exists()
    message, _, _ = client.predict([handle_file(str(article))], False, "s3cret", api_name="/upload")
    assert "1 added" in message and (locked_app.corpus / article.name).read_bytes() == article.read_bytes()


def test_other_host_names_and_cross_site_writes_are_refused(locked_app):
    url = locked_app.url
    assert requests.get(f"{url}/api/sources", timeout=30).ok
    assert requests.get(f"{url}/api/sources", headers={"Host": "localhost"}, timeout=30).ok
    rebinding = requests.get(f"{url}/api/sources", headers={"Host": "attacker.example"}, timeout=30)
    assert rebinding.status_code == 400 and "host" in rebinding.json()["error"]
    page = requests.get(f"{url}/", headers={"Host": "attacker.example:7860"}, timeout=30)
    assert page.status_code == 400
    question = {"question": "Who founded Baring Vostok?"}
    same_site = requests.post(f"{url}/api/ask", json=question, headers={"Origin": url}, timeout=60)
    assert same_site.ok
    cross_site = requests.post(
        f"{url}/api/ask", json=question, headers={"Origin": "https://attacker.example"}, timeout=60
    )
    assert cross_site.status_code == 403 and "other sites" in cross_site.json()["error"]
    upload = requests.post(
        f"{url}/gradio_api/upload",
        files={"files": ("x.txt", b"Title\n\nText.\n")},
        headers={"Origin": "https://attacker.example"},
        timeout=30,
    )
    assert upload.status_code == 403


def test_gradio_refuses_uploads_over_the_file_size_limit(locked_app):
    big = b"word " * 1_100_000  # 5.5 MB, over max_file_bytes
    reply = requests.post(f"{locked_app.url}/gradio_api/upload", files={"files": ("big.txt", big)}, timeout=60)
    assert reply.status_code in (400, 413)
