"""The plain JSON API (qa/serving/api.py) over real HTTP, on the real app: answers
with exact provenance, and a clear JSON error for every bad request."""

from __future__ import annotations

import json

import pytest
import requests
from helpers import check_passages, check_provenance


def _error(reply: requests.Response, status: int) -> str:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error"} and body["error"].strip()
    assert "Traceback" not in body["error"] and "/work" not in body["error"]
    return body["error"]


def test_ask_answers_with_exact_provenance(app_server):
    reply = requests.post(
        f"{app_server.url}/api/ask", json={"question": "What was Paul Whelan accused of?"}, timeout=60
    )
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    answer = reply.json()
    assert answer["answerable"] and "espionage" in answer["answer"]
    top = answer["citations"][0]
    assert top["text"][top["answer_start"] : top["answer_end"]] == answer["answer"]
    check_provenance(answer, app_server.corpus)


def test_ask_follows_up_on_history_and_declines(app_server):
    history = [
        {"role": "user", "content": "What was Paul Whelan accused of?"},
        {"role": "assistant", "content": "espionage"},
    ]
    reply = requests.post(
        f"{app_server.url}/api/ask", json={"question": "Who visited him in jail?", "history": history}, timeout=60
    )
    assert reply.status_code == 200
    assert "Jon Huntsman" in reply.json()["answer"]
    unanswerable = requests.post(
        f"{app_server.url}/api/ask", json={"question": "Who won the 2019 Champions League final?"}, timeout=60
    ).json()
    assert not unanswerable["answerable"] and unanswerable["answer"] == ""
    check_provenance(unanswerable, app_server.corpus)
    assert unanswerable["candidate"] is None  # nothing in the articles comes close


def test_the_schema_documents_the_candidate(app_server):
    schema = requests.get(f"{app_server.url}/openapi.json", timeout=30).json()
    answer = schema["components"]["schemas"]["Answer"]
    assert "candidate" in answer["properties"]
    assert {"answer", "confidence", "citations"} <= set(schema["components"]["schemas"]["Candidate"]["properties"])


def test_search_and_sources(app_server):
    passages = requests.get(f"{app_server.url}/api/search", params={"q": "Sochi talks", "k": 3}, timeout=60).json()
    assert len(passages) == 3
    check_passages(passages, app_server.corpus)
    sources = requests.get(f"{app_server.url}/api/sources", timeout=60).json()
    assert {"001_2ba139ad32a30a4e.txt", "002_fab38d7c02004fe4.txt"} <= {s["source"] for s in sources}


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ("{not json", 400, "not valid JSON"),
        (json.dumps({"question": "   "}), 422, "empty"),
        (json.dumps({"question": ""}), 422, "empty"),
        (json.dumps({"question": "x" * 2001}), 422, "at most 2000 characters"),
        (json.dumps({"question": "Who?\ud800"}), 422, "surrogate"),
        (json.dumps({"question": 42}), 422, "question"),
        (json.dumps({}), 422, "question"),
        (json.dumps([]), 422, "JSON object"),
        (json.dumps({"question": "Who?", "history": 3}), 422, "history"),
        (json.dumps({"question": "Who?", "history": [{"role": "bot", "content": "hi"}]}), 422, "history[0].role"),
        (json.dumps({"question": "Who?", "history": [{"role": "user", "content": "x" * 20_001}]}), 422, "history"),
        (json.dumps({"question": "Who?", "extra": 1}), 422, "extra"),
    ],
)
def test_bad_asks_get_a_json_error_with_a_message(app_server, body, status, says):
    reply = requests.post(
        f"{app_server.url}/api/ask", data=body.encode(), headers={"content-type": "application/json"}, timeout=60
    )
    assert says in _error(reply, status)


def test_oversized_bodies_are_refused_before_reading_them_whole(app_server):
    huge = json.dumps({"question": "Who?", "history": [{"role": "user", "content": "x" * 300_000}]})
    reply = requests.post(
        f"{app_server.url}/api/ask", data=huge, headers={"content-type": "application/json"}, timeout=60
    )
    assert "KB" in _error(reply, 413)

    def chunks():  # no Content-Length: the limit applies as the body streams in
        for _ in range(40):
            yield b"x" * 10_000

    reply = requests.post(
        f"{app_server.url}/api/ask", data=chunks(), headers={"content-type": "application/json"}, timeout=60
    )
    _error(reply, 413)


@pytest.mark.parametrize("k", ["abc", "", "2.5", "0", "51", "1e400"])
def test_search_refuses_a_k_that_is_not_a_whole_number_in_range(app_server, k):
    reply = requests.get(f"{app_server.url}/api/search", params={"q": "Sochi", "k": k}, timeout=60)
    assert "k" in _error(reply, 422)


def test_unknown_routes_and_methods_answer_json(app_server):
    assert "/docs" in _error(requests.get(f"{app_server.url}/api/nothing", timeout=30), 404)
    _error(requests.get(f"{app_server.url}/api/ask", timeout=30), 405)


def test_the_api_is_documented_offline_at_docs(app_server):
    schema = requests.get(f"{app_server.url}/openapi.json", timeout=30).json()
    assert {"/api/ask", "/api/search", "/api/sources"} <= set(schema["paths"])
    assert "answerable" in json.dumps(schema["components"]["schemas"])
    page = requests.get(f"{app_server.url}/docs", timeout=30).text
    assert "/docs-static/swagger-ui-bundle.js" in page and "cdn." not in page
    assert requests.get(f"{app_server.url}/docs-static/swagger-ui-bundle.js", timeout=30).ok


def test_a_long_question_within_the_limit_is_answered_not_hung(app_server):
    """The reader cuts a question longer than its window instead of panicking the tokenizer."""
    preamble = "Could you please tell me, considering everything the articles report about the visit, "
    question = (preamble * 20)[:1900] + " who visited Paul Whelan in jail?"
    reply = requests.post(f"{app_server.url}/api/ask", json={"question": question}, timeout=60)
    assert reply.status_code == 200, reply.text
    check_provenance(reply.json(), app_server.corpus)
