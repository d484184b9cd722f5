"""Who may write, and which hosts and origins the app answers: the rules
(fast, no server), then a real app run with an admin token."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import CORPUS, _free_port, _serve
from gradio_client import Client, handle_file

from qa import Settings
from qa.serving.access import allowed_hosts, is_loopback, write_refusal, writes_possible


@pytest.mark.parametrize(
    ("settings", "token", "refused"),
    [
        ({}, None, None),
        ({"read_only": True}, None, "read-only"),
        ({"admin_token": "s3cret"}, None, "admin token"),
        ({"admin_token": "s3cret"}, "wrong", "admin token"),
        ({"admin_token": "s3cret"}, "s3cret", None),
        ({"host": "0.0.0.0"}, None, "QA_ADMIN_TOKEN"),
        ({"host": "0.0.0.0", "admin_token": "s3cret"}, "s3cret", None),
        ({"host": "0.0.0.0", "admin_token": "s3cret", "read_only": True}, "s3cret", "read-only"),
    ],
)
def test_who_may_change_the_corpus(settings: dict, token: str | None, refused: str | None):
    refusal = write_refusal(Settings(**settings), token)
    assert (refusal is None) == (refused is None)
    if refused:
        assert refused in refusal


def test_whether_anyone_may_write_at_all():
    assert writes_possible(Settings()) and writes_possible(Settings(host="0.0.0.0", admin_token="s3cret"))
    assert not writes_possible(Settings(host="0.0.0.0")) and not writes_possible(Settings(read_only=True))


def test_hosts_answered_by_default_and_when_set():
    assert allowed_hosts(Settings()) == ["127.0.0.1", "localhost", "[::1]"]
    assert allowed_hosts(Settings(host="0.0.0.0")) == ["*"]
    assert allowed_hosts(Settings(host="0.0.0.0", allowed_hosts="qa.example.org, 10.0.0.5")) == [
        "qa.example.org",
        "10.0.0.5",
    ]
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


def test_the_admin_token_is_never_printed():
    assert "s3cret" not in repr(Settings(admin_token="s3cret"))


@pytest.fixture(scope="module")
def locked_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    root = tmp_path_factory.mktemp("locked")
    shutil.copytree(CORPUS, root / "corpus")
    with open(root / "app.log", "w") as log:
        yield from _serve(root, root / "corpus", _free_port(), log, {"QA_ADMIN_TOKEN": "s3cret"})


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


def test_any_host_still_refuses_writes_from_other_sites():
    """Served beyond this machine without QA_ALLOWED_HOSTS: every host name is
    answered, but a write must come from a page of the host it is sent to."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from qa.serving.api import HostAndOrigin

    app = FastAPI()
    app.post("/write")(lambda: {"ok": True})
    app.add_middleware(HostAndOrigin, hosts=["*"])
    client = TestClient(app, base_url="http://qa.example.org")
    assert client.post("/write").status_code == 200  # a script: no Origin
    assert client.post("/write", headers={"Origin": "http://qa.example.org"}).status_code == 200
    assert client.post("/write", headers={"Origin": "https://attacker.example"}).status_code == 403
