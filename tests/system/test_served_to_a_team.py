"""Served beyond this machine to a team: logins, roles, API tokens, the audit
log, rate limits, and clear messages on Gradio's raw routes. A real app on
0.0.0.0 with a reader and an editor made by ``qa users add`` (the rules alone
are in tests/unit/test_access_rules.py and test_users.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from gradio_client import Client, handle_file
from helpers import CORPUS, ROOT, free_port, serve_app

PASSWORDS = {"rob": "reader-pass", "ana": "editor-pass", "burst": "burst-pass"}
ROLES = {"rob": "reader", "ana": "editor", "burst": "reader"}
ASKS_PER_MINUTE = 12


def _qa(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qa", *args], cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    root = tmp_path_factory.mktemp("team")
    shutil.copytree(CORPUS, root / "corpus")
    tokens = {}
    for name, role in ROLES.items():
        added = _qa("users", "add", name, "--role", role, "--index", str(root / "index"), stdin=PASSWORDS[name] + "\n")
        assert added.returncode == 0, added.stderr
        made = _qa("token", "create", name, "--index", str(root / "index"))
        assert made.returncode == 0 and "shown only now" in made.stderr
        tokens[name] = made.stdout.strip()
    env = {"QA_ASKS_PER_MINUTE": str(ASKS_PER_MINUTE)}
    with open(root / "app.log", "w") as log:
        for server in serve_app(root, root / "corpus", free_port(), log, env, ["--host", "0.0.0.0"]):
            server.tokens = tokens
            yield server


def _auth(team, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {team.tokens[name]}"}


def _audit(team) -> list[dict]:
    run = _qa("audit", "--json", "-n", "100", "--index", str(team.index))
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


def test_users_are_listed_with_their_roles_and_tokens(team):
    run = _qa("users", "list", "--index", str(team.index))
    assert run.returncode == 0
    lines = {line.split()[0]: line for line in run.stdout.splitlines()}
    assert "reader" in lines["rob"] and "editor" in lines["ana"] and "tokens: " in lines["ana"]
    assert PASSWORDS["ana"] not in (team.index / "users.json").read_text("utf-8")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/sources"),
        ("GET", "/api/search?q=Putin"),
        ("POST", "/api/ask"),
        ("GET", "/api/articles/001_2ba139ad32a30a4e.txt/text"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/config"),
        ("GET", "/gradio_api/info"),
        ("POST", "/gradio_api/call/sources"),
        ("POST", "/gradio_api/queue/join"),
        ("GET", "/gradio_api/file=corpus/001_2ba139ad32a30a4e.txt"),
        ("POST", "/gradio_api/upload"),
    ],
)
def test_an_anonymous_client_reads_nothing(team, method: str, path: str):
    reply = requests.request(method, team.url + path, json={"question": "Who?", "data": []}, timeout=30)
    assert reply.status_code == 401
    assert "Log in first" in reply.json()["error"] and reply.headers["WWW-Authenticate"] == "Bearer"


def test_the_page_asks_for_a_login_and_shows_no_article(team):
    page = requests.get(team.url + "/", timeout=30)
    assert page.ok and "auth_required" in page.text
    assert "Pompeo" not in page.text and "Baring" not in page.text
    with pytest.raises(Exception, match=r"login|credentials"):
        Client(team.url, verbose=False)


def test_a_readers_token_answers_and_its_writes_get_403(team, tmp_path: Path):
    reply = requests.post(
        f"{team.url}/api/ask", json={"question": "Who founded Baring Vostok?"}, headers=_auth(team, "rob"), timeout=60
    )
    assert reply.ok and reply.json()["answer"] == "Michael Calvey"
    staged = requests.post(
        f"{team.url}/gradio_api/upload",
        files={"files": ("x.txt", b"T\n\nText.\n")},
        headers=_auth(team, "rob"),
        timeout=30,
    )
    assert staged.status_code == 403 and "rob is a reader" in staged.json()["error"]
    before = sorted(p.name for p in team.corpus.iterdir())
    reader = Client(team.url, verbose=False, headers=_auth(team, "rob"))
    assert reader.predict("Who founded Baring Vostok?", [], api_name="/ask")["answer"] == "Michael Calvey"
    with pytest.raises(Exception, match="rob is a reader"):
        reader.predict("001_2ba139ad32a30a4e.txt", "", api_name="/remove")
    assert sorted(p.name for p in team.corpus.iterdir()) == before
    refused = [e for e in _audit(team) if e["user"] == "rob" and e["result"].startswith("refused")]
    assert {e["action"] for e in refused} == {"upload", "remove"}


def test_an_editors_upload_works_and_is_in_the_audit_log(team, tmp_path: Path):
    article = tmp_path / "009_team.txt"
    article.write_text("Team test\n\nThe newsroom summit was held in Tallinn on Monday.\n", "utf-8")
    editor = Client(team.url, verbose=False, headers=_auth(team, "ana"))
    message, _, _ = editor.predict([handle_file(str(article))], False, "", api_name="/upload")
    assert "1 added" in message and (team.corpus / article.name).read_bytes() == article.read_bytes()
    assert editor.predict(api_name="/remove", source=article.name)["removed"] == article.name
    mine = [(e["action"], e["file"], e["result"]) for e in _audit(team) if e["user"] == "ana"]
    assert ("upload", article.name, "ok") in mine and ("remove", article.name, "ok") in mine
    entry = next(e for e in _audit(team) if e["user"] == "ana")
    assert entry["client"] == "127.0.0.1" and entry["time"].endswith("+00:00")


def test_a_token_that_matches_nobody_is_401_and_recorded(team):
    reply = requests.get(f"{team.url}/api/sources", headers={"Authorization": "Bearer qa_0000_madeup"}, timeout=30)
    assert reply.status_code == 401 and "not valid" in reply.json()["error"]
    assert any(e["action"] == "token" and e["result"].startswith("failed") for e in _audit(team))
    basic = requests.get(f"{team.url}/api/sources", headers={"Authorization": "Basic cm9iOng="}, timeout=30)
    assert basic.status_code == 401 and "Bearer" in basic.json()["error"]


def test_a_burst_gets_429_with_retry_after(team):
    replies = [
        requests.get(f"{team.url}/api/search", params={"q": "Putin", "k": 1}, headers=_auth(team, "burst"), timeout=60)
        for _ in range(ASKS_PER_MINUTE + 3)
    ]
    codes = [r.status_code for r in replies]
    assert codes[:ASKS_PER_MINUTE] == [200] * ASKS_PER_MINUTE and codes[-1] == 429
    last = replies[-1]
    assert int(last.headers["Retry-After"]) >= 1 and "Too many" in last.json()["error"]
    # Another user's allowance is their own.
    assert requests.get(f"{team.url}/api/sources", headers=_auth(team, "rob"), timeout=30).ok


def test_an_exposed_start_without_users_is_refused_in_one_line(tmp_path: Path):
    run = subprocess.run(
        [sys.executable, "app.py", "--host", "0.0.0.0", "--port", str(free_port()), "--index", str(tmp_path / "i")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "qa users add" in lines[0] and "QA_PUBLIC_READ=1" in lines[0]


def test_a_file_named_only_in_rfc_5987_form_gets_a_message_and_nothing_is_stored(team):
    body = (
        b"--XX\r\nContent-Disposition: form-data; name=\"files\"; filename*=UTF-8''..%2F..%2Fetc%2Fx.txt\r\n"
        b"Content-Type: text/plain\r\n\r\nhello\r\n--XX--\r\n"
    )
    headers = {**_auth(team, "ana"), "Content-Type": "multipart/form-data; boundary=XX"}
    reply = requests.post(f"{team.url}/gradio_api/upload", data=body, headers=headers, timeout=30)
    assert reply.status_code == 400 and "filename*=" in reply.json()["error"] and "Nothing was stored" in reply.text
    assert not Path("/etc/x.txt").exists() and not (team.corpus.parent / "x.txt").exists()


def _raw_call(team, name: str, data: list) -> str:
    """A REST call as a script makes it: POST the values, read the event stream."""
    headers = _auth(team, "ana")
    event = requests.post(f"{team.url}/gradio_api/call/{name}", json={"data": data}, headers=headers, timeout=30)
    assert event.ok, event.text
    stream = requests.get(f"{team.url}/gradio_api/call/{name}/{event.json()['event_id']}", headers=headers, timeout=60)
    return stream.text


def test_a_rest_call_with_too_few_values_says_what_the_endpoint_takes(team):
    reply = _raw_call(team, "upload", [[]])
    assert "event: error" in reply and "/upload takes 3 values, files, replace (default False), token" in reply
    assert "Javascript" not in reply and "event handler" not in reply


@pytest.mark.parametrize(
    "files",
    [
        [{"path": "/no/such/file.txt", "meta": {"_type": "gradio.FileData"}}],
        [{"path": "/no/such/file.txt", "meta": {"_type": "gradio.FileData"}, "is_stream": True}],
        [{"path": "/no/such/file.txt"}],
        "/no/such/file.txt",
    ],
)
def test_file_data_naming_a_missing_server_path_gets_a_message(team, files):
    reply = _raw_call(team, "upload", [files, False, ""])
    assert "was not added" in reply or "files are sent as a list of files uploaded first" in reply
    for raw in ("Errno", "No such file", "validation error", "pydantic"):
        assert raw not in reply
    assert not (team.corpus / "file.txt").exists()


def test_login_in_chromium_a_wrong_password_a_reader_and_an_editor(team):
    playwright_api = pytest.importorskip("playwright.sync_api")
    from test_browser import CHROMIUM, CHROMIUM_ARGS

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            seen = {}
            for name, password in (("rob", "not-the-password"), ("rob", PASSWORDS["rob"]), ("ana", PASSWORDS["ana"])):
                page = browser.new_page()
                page.goto(team.url, wait_until="load")
                page.locator("input[type=text]").fill(name)
                page.locator("input[type=password]").fill(password)
                page.get_by_role("button", name="Login").click()
                if password != PASSWORDS[name]:
                    playwright_api.expect(page.get_by_text("Incorrect Credentials")).to_be_visible(timeout=30_000)
                    page.close()
                    continue
                page.locator("#question textarea").wait_for(timeout=60_000)
                page.get_by_role("tab", name="Articles").click()
                playwright_api.expect(page.locator("#who")).to_contain_text("Logged in as", timeout=30_000)
                seen[name] = (page.locator("#write-controls").is_visible(), page.locator("#who").inner_text())
                page.close()
        finally:
            browser.close()
    assert seen["rob"][0] is False and "a reader" in seen["rob"][1]
    assert seen["ana"][0] is True and "an editor" in seen["ana"][1]
    logins = [(e["user"], e["result"]) for e in _audit(team) if e["action"] == "login"]
    assert ("rob", "ok") in logins and ("ana", "ok") in logins
    assert any(user == "rob" and result.startswith("failed") for user, result in logins)


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    root = tmp_path_factory.mktemp("public")
    shutil.copytree(CORPUS, root / "corpus")
    with open(root / "app.log", "w") as log:
        yield from serve_app(root, root / "corpus", free_port(), log, {"QA_PUBLIC_READ": "1"}, ["--host", "0.0.0.0"])


def test_a_public_archive_answers_anyone_and_keeps_writes_for_editors(public, tmp_path: Path):
    assert requests.get(f"{public.url}/api/sources", timeout=30).ok
    anyone = Client(public.url, verbose=False)
    assert anyone.predict("Who founded Baring Vostok?", [], api_name="/ask")["answer"] == "Michael Calvey"
    article = tmp_path / "010_public.txt"
    article.write_text("Public test\n\nThe open summit was held in Oslo.\n", "utf-8")
    message, _, _ = anyone.predict([handle_file(str(article))], False, "", api_name="/upload")
    assert "needs an editor" in message and not (public.corpus / article.name).exists()
    with pytest.raises(Exception, match="needs an editor"):
        anyone.predict("001_2ba139ad32a30a4e.txt", "", api_name="/remove")
    assert (public.corpus / "001_2ba139ad32a30a4e.txt").exists()
