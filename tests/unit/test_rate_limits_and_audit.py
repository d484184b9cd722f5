"""Per-client rate limits, which requests draw on which allowance, and the audit log; no server."""

from __future__ import annotations

import json
import os

import pytest

from qa.serving import audit
from qa.serving.gate import Kind, bearer, request_kind
from qa.serving.limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_up_to_the_allowance_passes_and_the_next_waits():
    clock = Clock()
    limiter = RateLimiter(6, clock)  # one a 10 s, six at once
    assert [limiter.wait("ana") for _ in range(6)] == [0] * 6
    assert limiter.wait("ana") == 10
    assert limiter.wait("rob") == 0  # each key has its own allowance
    clock.now += 10
    assert limiter.wait("ana") == 0 and limiter.wait("ana") > 0


def test_no_limit_at_zero():
    limiter = RateLimiter(0)
    assert all(limiter.wait("ana") == 0 for _ in range(1000))


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "/api/ask", Kind.ASK),
        ("GET", "/api/search", Kind.ASK),
        ("POST", "/gradio_api/call/ask", Kind.ASK),
        ("POST", "/gradio_api/call/chat", Kind.ASK),
        ("POST", "/gradio_api/queue/join", Kind.ASK),
        ("POST", "/gradio_api/upload", Kind.UPLOAD),
        ("POST", "/gradio_api/call/remove", Kind.UPLOAD),
        ("POST", "/login", Kind.LOGIN),
        ("GET", "/api/sources", None),
        ("GET", "/gradio_api/call/ask/abc123", None),  # the answer's event stream: the question was counted
        ("GET", "/", None),
    ],
)
def test_which_allowance_a_request_draws_on(method: str, path: str, kind: Kind | None):
    assert request_kind(method, path) is kind


def test_bearer_tokens_are_read_from_the_authorization_header():
    assert bearer({"authorization": "Bearer qa_1_x"}) == "qa_1_x"
    assert bearer({"authorization": "bearer  qa_1_x "}) == "qa_1_x"
    assert bearer({"authorization": "Basic abc"}) is None and bearer({}) is None


def test_audit_lines_are_appended_whole_and_read_back_latest_last(tmp_path):
    for i in range(5):
        assert audit.record(tmp_path, audit.Entry("ana", "10.0.0.5", audit.Action.UPLOAD, f"{i}.txt", "ok"))
    entries = audit.latest(tmp_path, 3)
    assert [e["file"] for e in entries] == ["2.txt", "3.txt", "4.txt"]
    assert set(entries[0]) == {"time", "user", "client", "action", "file", "result"}
    lines = (tmp_path / audit.FILE_NAME).read_text("utf-8").splitlines()
    assert all(json.loads(line)["action"] == "upload" for line in lines)
    assert oct(os.stat(tmp_path / audit.FILE_NAME).st_mode & 0o777) == "0o600"


def test_a_full_audit_log_stops_growing_and_says_so(tmp_path, caplog):
    entry = audit.Entry("ana", "10.0.0.5", audit.Action.REMOVE, "a.txt", "ok")
    assert audit.record(tmp_path, entry, max_bytes=400)
    assert audit.record(tmp_path, entry, max_bytes=400)
    size = (tmp_path / audit.FILE_NAME).stat().st_size
    assert not audit.record(tmp_path, entry, max_bytes=size + 10)
    assert (tmp_path / audit.FILE_NAME).stat().st_size == size and "limit" in caplog.text
