"""The app as programs meet it: a real server, reached by gradio_client and plain
HTTP; and the app refusing to start on an index path that is a file."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from gradio_client import Client, handle_file
from helpers import ROOT, check_passages, check_provenance


def _ask(client: Client, question: str, history: list | None = None) -> dict:
    return client.predict(question, history or [], api_name="/ask")


def test_ask_returns_the_answer_object(client: Client, app_server):
    answer = _ask(client, "Who founded Baring Vostok?")
    assert isinstance(answer, dict)
    assert set(answer) == {
        "question", "answer", "answerable", "confidence", "sentence", "citations", "support", "alternatives",
        "candidate",
    }  # fmt: skip
    assert answer["answer"] == "Michael Calvey" and answer["answerable"] is True
    assert answer["citations"][0]["source"] == "001_2ba139ad32a30a4e.txt"
    assert "founder of the Moscow-based Baring Vostok" in answer["sentence"]
    check_provenance(answer, app_server.corpus)


def test_ask_over_plain_http(app_server):
    start = requests.post(
        f"{app_server.url}/gradio_api/call/ask", json={"data": ["What was Paul Whelan accused of?", []]}, timeout=30
    )
    assert start.status_code == 200
    event_id = start.json()["event_id"]
    stream = requests.get(f"{app_server.url}/gradio_api/call/ask/{event_id}", timeout=60)
    events = _parse_events(stream.text)
    assert events[-1][0] == "complete"
    [answer] = json.loads(events[-1][1])
    assert "espionage" in answer["sentence"]
    assert answer["citations"][0]["source"] == "001_2ba139ad32a30a4e.txt"
    check_provenance(answer, app_server.corpus)


def _parse_events(text: str) -> list[tuple[str, str]]:
    events, name = [], None
    for line in text.splitlines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and name:
            events.append((name, line.split(":", 1)[1].strip()))
    return events


def test_search_and_sources(client: Client, app_server):
    passages = client.predict("Jeremy Hunt risk of a conflict by accident", 3, api_name="/search")
    assert len(passages) == 3
    top = passages[0]
    assert set(top) == {"source", "paragraph", "start", "end", "text", "score", "also_in"}
    assert "Jeremy Hunt" in top["text"] and top["also_in"]
    check_passages(passages, app_server.corpus)

    sources = {s["source"]: s for s in client.predict(api_name="/sources")}
    assert sources["001_2ba139ad32a30a4e.txt"]["title"] == "Pompeo to Meet With Putin, Lavrov Amid Tensions"
    assert sources["001_2ba139ad32a30a4e.txt"]["paragraphs"] == 20
    assert len(sources["002_fab38d7c02004fe4.txt"]["sha256"]) == 64


def test_follow_up_question_with_history(client: Client, app_server):
    history = [
        {"role": "user", "content": "What was Paul Whelan accused of?"},
        {"role": "assistant", "content": "espionage"},
    ]
    answer = _ask(client, "Who visited him in jail?", history)
    assert answer["answerable"]
    assert "Jon Huntsman" in answer["answer"]
    assert "visited Whelan in a Moscow jail" in answer["sentence"]
    check_provenance(answer, app_server.corpus)


def test_unanswerable_question(client: Client):
    answer = _ask(client, "Who won the 2019 Champions League final?")
    assert answer["answerable"] is False and answer["answer"] == ""
    assert answer["citations"] and all(c["answer_start"] is None for c in answer["citations"])


def test_bad_questions_get_clear_errors_and_the_server_keeps_serving(client: Client, app_server):
    for question, message in [("", "empty"), ("x" * 100_000, "limit is 2,000")]:
        with pytest.raises(Exception, match=message):
            _ask(client, question)
    assert _ask(client, "Who is the UK foreign secretary?")["answer"] == "Jeremy Hunt"


def _call(app_server, endpoint: str, data: list) -> tuple[str, str]:
    """Gradio's REST call: the last event's name and data."""
    start = requests.post(f"{app_server.url}/gradio_api/call/{endpoint}", json={"data": data}, timeout=30)
    if start.status_code != 200:
        return "rejected", start.text
    stream = requests.get(f"{app_server.url}/gradio_api/call/{endpoint}/{start.json()['event_id']}", timeout=60)
    return _parse_events(stream.text)[-1]


@pytest.mark.parametrize(
    ("endpoint", "data", "says"),
    [
        ("ask", ["Who?", 5], "history must be a list"),
        ("ask", ["Who?", [{"role": "user", "content": "x" * 20_001}]], "limit is 20,000"),
        ("ask", ["Who?", [{"role": "user", "content": "hi"}] * 51], "limit is 50"),
        ("ask", ["Who?\ud800", []], "surrogate"),
        ("search", ["Sochi", "abc"], "whole number"),
        ("search", ["Sochi", None], "whole number"),
        ("search", ["Sochi", [3]], "whole number"),
        ("search", ["Sochi", 2.5], "whole number"),
        ("search", ["Sochi", 1e300], "whole number"),
    ],
)
def test_malformed_calls_get_an_error_with_a_message(app_server, endpoint, data, says):
    event, body = _call(app_server, endpoint, data)
    assert event == "error"
    assert says in body, body


def test_a_huge_body_to_gradio_is_refused(app_server):
    huge = json.dumps({"data": ["Who?", [{"role": "user", "content": "x" * 3_000_000}]]})
    reply = requests.post(
        f"{app_server.url}/gradio_api/call/ask", data=huge, headers={"content-type": "application/json"}, timeout=60
    )
    assert reply.status_code == 413 and "KB" in reply.json()["error"]


def test_an_unknown_endpoint_is_a_404_with_the_list_of_endpoints(app_server):
    reply = requests.post(f"{app_server.url}/gradio_api/call/nothing", json={"data": []}, timeout=30)
    assert reply.status_code == 404 and "/ask" in reply.json()["error"]


def test_a_long_earlier_turn_is_fine(client: Client):
    history = [{"role": "user", "content": "Tell me about Paul Whelan. " * 70}, {"role": "assistant", "content": ""}]
    answer = _ask(client, "What was he accused of?", history)
    assert isinstance(answer["answerable"], bool)


def test_twenty_concurrent_asks_all_answer_correctly(app_server):
    questions = [
        ("Who founded Baring Vostok?", "Michael Calvey"),
        ("Who is the UK foreign secretary?", "Jeremy Hunt"),
        ("Where did Putin meet Trump in July?", "Helsinki"),
        ("How long did Trump talk to Putin on the phone last Friday?", "an hour"),
    ] * 5

    def one(item: tuple[str, str]) -> tuple[str, dict]:
        return item[1], _ask(Client(app_server.url, verbose=False), item[0])

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, questions))
    assert len(results) == 20
    for expected, answer in results:
        assert answer["answer"] == expected
        check_provenance(answer, app_server.corpus)


def test_chat_endpoint_stays_callable(client: Client):
    # The conversation's plain turns are session state, so the API takes the message and the chat shown.
    shown, cleared, cited = client.predict("Who founded Baring Vostok?", [], api_name="/chat")
    assert cleared == ""
    assert "Michael Calvey" in json.dumps(shown)
    assert "001_2ba139ad32a30a4e.txt" in cited


def test_uploaded_article_becomes_citable(client: Client, app_server, tmp_path: Path):
    article = tmp_path / "006_uploaded.txt"
    article.write_text(
        "Lavrov visits Pyongyang\n\nRussian Foreign Minister Sergei Lavrov arrived in Pyongyang on Wednesday "
        "for talks with North Korean officials on the nuclear issue.\n",
        "utf-8",
    )
    message, status, table = client.predict([handle_file(str(article))], api_name="/upload")
    assert "1 added" in message and "embedded 2 paragraphs" in message
    assert "7 articles" in status
    assert ["006_uploaded.txt", 2, "Lavrov visits Pyongyang"] in table["data"]
    assert (app_server.corpus / "006_uploaded.txt").read_bytes() == article.read_bytes()
    answer = _ask(client, "Where did Lavrov arrive on Wednesday for talks with North Korean officials?")
    assert answer["answer"] == "Pyongyang" and answer["citations"][0]["source"] == "006_uploaded.txt"


def test_rejected_upload_changes_nothing(client: Client, app_server, tmp_path: Path):
    before = sorted(p.name for p in app_server.corpus.iterdir())
    sources_before = client.predict(api_name="/sources")
    bad = tmp_path / "scan.txt"
    bad.write_bytes("Caf\xe9 in Paris".encode("latin-1"))
    message, _, _ = client.predict([handle_file(str(bad))], api_name="/upload")
    assert "scan.txt" in message and "not valid UTF" in message
    assert sorted(p.name for p in app_server.corpus.iterdir()) == before
    assert client.predict(api_name="/sources") == sources_before


def test_an_upload_never_overwrites_an_article_unless_asked_and_keeps_the_old_one(
    client: Client, app_server, tmp_path: Path
):
    name = "007_replaceable.txt"
    first, second = tmp_path / "first" / name, tmp_path / "second" / name
    for path, city in ((first, "Tallinn"), (second, "Riga")):
        path.parent.mkdir()
        path.write_text(
            f"Baltic summit moved\n\nThe Baltic energy summit will be held in {city} next spring, "
            "the organisers said on Monday.\n",
            "utf-8",
        )
    client.predict([handle_file(str(first))], api_name="/upload")
    message, _, _ = client.predict([handle_file(str(second))], api_name="/upload")
    assert "already in the corpus" in message and "Replace" in message
    assert (app_server.corpus / name).read_bytes() == first.read_bytes()

    message, _, _ = client.predict([handle_file(str(second))], True, api_name="/upload")
    assert "1 changed" in message
    assert (app_server.corpus / name).read_bytes() == second.read_bytes()
    [kept] = (app_server.index / "replaced").glob(f"*-{name}")
    assert kept.read_bytes() == first.read_bytes()
    answer = _ask(client, "Where will the Baltic energy summit be held?")
    assert answer["answer"] == "Riga" and answer["citations"][0]["source"] == name


def test_an_article_removed_through_the_api_is_no_longer_cited(client: Client, app_server, tmp_path: Path):
    article = tmp_path / "009_removable.txt"
    article.write_text("Removable\n\nThe Arctic council met in Rovaniemi on Tuesday.\n", "utf-8")
    client.predict([handle_file(str(article))], api_name="/upload")
    assert _ask(client, "Where did the Arctic council meet on Tuesday?")["answer"] == "Rovaniemi"
    result = client.predict(article.name, api_name="/remove")
    assert result["removed"] == article.name and "1 removed" in result["message"]
    assert not (app_server.corpus / article.name).exists()
    [kept] = (app_server.index / "replaced").glob(f"*-{article.name}")
    assert kept.read_bytes() == article.read_bytes()
    assert article.name not in {s["source"] for s in client.predict(api_name="/sources")}
    with pytest.raises(Exception, match="no article named"):
        client.predict(article.name, api_name="/remove")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../corpus/001_2ba139ad32a30a4e.txt", "is not allowed"),
        ("/etc/passwd", "is not allowed"),
        ("..", "is not allowed"),
        ("notes.xlsx", "is not allowed"),
        ("", "is not allowed"),
        ("does_not_exist.txt", "no article named 'does_not_exist.txt'"),
    ],
)
def test_a_bad_remove_gets_a_clear_error_and_changes_nothing(client: Client, app_server, name: str, message: str):
    corpus_before = sorted((p.name, p.stat().st_mtime_ns) for p in app_server.corpus.iterdir())
    sources_before = client.predict(api_name="/sources")
    with pytest.raises(Exception, match=re.escape(message)):
        client.predict(name, api_name="/remove")
    assert sorted((p.name, p.stat().st_mtime_ns) for p in app_server.corpus.iterdir()) == corpus_before
    assert client.predict(api_name="/sources") == sources_before


def test_sources_name_headline_outlet_and_date_added(client: Client):
    listed = {s["source"]: s for s in client.predict(api_name="/sources")}
    persia = listed["000_7e31dd43b6b198f1.txt"]
    assert persia["outlet"] == "Persia Digest" and persia["title"].startswith("Mike Pompeo is to meet Vladimir Putin")
    assert listed["001_2ba139ad32a30a4e.txt"]["outlet"] == ""
    assert all(dt.datetime.fromisoformat(s["added"]).tzinfo for s in listed.values())


def test_api_page_documents_the_endpoints(app_server):
    info = requests.get(f"{app_server.url}/gradio_api/info", timeout=30).json()
    assert {"/ask", "/search", "/sources", "/chat", "/upload"} <= set(info["named_endpoints"])
    ask = info["named_endpoints"]["/ask"]
    assert [p["parameter_name"] for p in ask["parameters"]] == ["question", "history"]


def test_an_index_path_that_is_a_file_gets_one_clear_line_from_the_app(corpus_copy: Path, tmp_path: Path):
    index = tmp_path / "index"
    index.write_text("not a folder")
    run = subprocess.run(
        [sys.executable, "app.py", "--corpus", str(corpus_copy), "--index", str(index), "--port", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0
    assert "is a file, not a folder" in run.stderr and "Traceback" not in run.stderr
    assert index.read_text() == "not a folder"
