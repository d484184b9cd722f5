"""Who may write, and which hosts and origins the app answers: the rules
alone, no server (a real app run with an admin token is in
tests/system/test_access_server.py)."""

from __future__ import annotations

import pytest

from qa import Settings
from qa.serving.access import (
    allowed_hosts,
    is_loopback,
    login_required,
    start_refusal,
    user_of_token,
    write_refusal,
    writes_possible,
)
from qa.serving.users import Role, User, UserStore

READER, EDITOR = User("rob", Role.READER), User("ana", Role.EDITOR)


@pytest.mark.parametrize(
    ("settings", "user", "typed", "refused"),
    [
        ({}, None, False, None),
        ({"read_only": True}, None, False, "read-only"),
        ({"read_only": True}, EDITOR, False, "read-only"),
        ({"admin_token": "s3cret"}, None, False, "admin token"),
        ({"admin_token": "s3cret"}, None, True, "admin token"),
        ({"host": "0.0.0.0"}, None, False, "QA_ADMIN_TOKEN"),
        ({"host": "0.0.0.0"}, READER, False, "rob is a reader"),
        ({"host": "0.0.0.0"}, EDITOR, False, None),
        ({}, READER, False, "needs an editor"),
    ],
)
def test_who_may_change_the_corpus(settings: dict, user: User | None, typed: bool, refused: str | None):
    refusal = write_refusal(Settings(**settings), user, typed)
    assert (refusal is None) == (refused is None)
    if refused:
        assert refused in refusal


def test_a_token_stands_for_its_user_and_the_admin_token_for_an_editor(tmp_path):
    store = UserStore(tmp_path / "users.json")
    store.add("rob", "reader", "readerpass")
    token, _ = store.create_token("rob")
    settings = Settings(admin_token="s3cret")
    assert user_of_token(settings, store, token) == READER
    assert user_of_token(settings, store, "s3cret") == User("admin", Role.EDITOR)
    assert user_of_token(settings, store, "wrong") is None and user_of_token(settings, store, "") is None
    assert user_of_token(Settings(), store, "s3cret") is None  # no admin token set: none matches


def test_reading_needs_a_login_only_when_served_beyond_this_machine_and_not_public():
    assert not login_required(Settings()) and not login_required(Settings(host="::1"))
    assert login_required(Settings(host="0.0.0.0"))
    assert not login_required(Settings(host="0.0.0.0", public_read=True))


def test_an_exposed_start_with_nobody_to_log_in_is_refused_in_one_line():
    refusal = start_refusal(Settings(host="0.0.0.0"), [])
    assert refusal and "qa users add" in refusal and "QA_PUBLIC_READ=1" in refusal and "\n" not in refusal
    assert start_refusal(Settings(host="0.0.0.0"), [READER]) is None
    assert start_refusal(Settings(host="0.0.0.0", public_read=True), []) is None
    assert start_refusal(Settings(), []) is None


def test_whether_anyone_may_write_at_all():
    assert writes_possible(Settings()) and writes_possible(Settings(host="0.0.0.0", admin_token="s3cret"))
    assert not writes_possible(Settings(host="0.0.0.0")) and not writes_possible(Settings(read_only=True))
    assert writes_possible(Settings(host="0.0.0.0"), [EDITOR]) and not writes_possible(
        Settings(host="0.0.0.0"), [READER]
    )


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
