"""Who may write, and which hosts and origins the app answers: the rules
alone, no server (a real app run with an admin token is in
tests/system/test_access_server.py)."""

from __future__ import annotations

import pytest

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
