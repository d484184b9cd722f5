"""The users file: roles, password hashes, API tokens; no server."""

from __future__ import annotations

import json
import os
import stat

import pytest

from qa.serving.users import Role, User, UserError, UserStore


@pytest.fixture
def store(tmp_path) -> UserStore:
    return UserStore(tmp_path / "users.json")


def test_a_user_logs_in_with_their_password_only(store: UserStore):
    store.add("ana", "editor", "correct horse")
    assert store.check_password("ana", "correct horse") == User("ana", Role.EDITOR)
    assert store.check_password("ana", "wrong horse") is None
    assert store.check_password("nobody", "correct horse") is None
    assert store.users() == [User("ana", Role.EDITOR)]


def test_the_file_holds_hashes_not_passwords_and_only_its_owner_reads_it(store: UserStore):
    store.add("ana", "editor", "correct horse")
    token, _ = store.create_token("ana")
    text = store.path.read_text("utf-8")
    assert "correct horse" not in text and token not in text
    assert json.loads(text)["users"]["ana"]["password"].startswith("$argon2id$")
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600


def test_tokens_act_as_their_user_until_revoked_by_id_or_value(store: UserStore):
    store.add("rob", "reader", "readerpass")
    first, info = store.create_token("rob")
    second, _ = store.create_token("rob")
    assert first.startswith("qa_") and store.check_token(first) == store.check_token(second) == User("rob", Role.READER)
    assert store.revoke_token(info.id).user == "rob" and store.check_token(first) is None
    store.revoke_token(second)
    assert store.check_token(second) is None and store.tokens() == []
    assert store.check_token("qa_made_up") is None and store.check_token("") is None


def test_removing_a_user_revokes_their_tokens(store: UserStore):
    store.add("rob", "reader", "readerpass")
    token, _ = store.create_token("rob")
    assert store.remove("rob") == 1
    assert store.check_token(token) is None and store.users() == []


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("bad name", "reader", "longenough", "not a user name"),
        ("", "reader", "longenough", "not a user name"),
        ("admin", "editor", "longenough", "QA_ADMIN_TOKEN"),
        ("rob", "owner", "longenough", "reader or editor"),
        ("rob", "reader", "short", "at least 8"),
    ],
)
def test_bad_users_are_refused_with_a_reason(store: UserStore, name, role, password, message):
    with pytest.raises(UserError, match=message):
        store.add(name, role, password)
    assert not store.path.exists()


def test_duplicates_and_unknown_names_are_refused(store: UserStore):
    store.add("rob", "reader", "readerpass")
    with pytest.raises(UserError, match="already a user"):
        store.add("rob", "editor", "readerpass")
    with pytest.raises(UserError, match="no user named"):
        store.remove("ana")
    with pytest.raises(UserError, match="no user named"):
        store.create_token("ana")
    with pytest.raises(UserError, match="no token"):
        store.revoke_token("deadbeef")


def test_a_change_by_another_process_is_seen_without_a_restart(store: UserStore):
    assert store.users() == []
    UserStore(store.path).add("ana", "editor", "correct horse")  # as `qa users add` does beside a running app
    assert store.user("ana") == User("ana", Role.EDITOR)


def test_a_broken_users_file_is_a_clear_error(store: UserStore):
    store.path.write_text("{not json", "utf-8")
    with pytest.raises(UserError, match="cannot be read"):
        store.users()
    store.path.write_text('{"version": 9}', "utf-8")
    with pytest.raises(UserError, match="version-1"):
        store.users()
