"""What readers say about answers: one JSON line per 👍, 👎 or reason.

The file lives next to the index (``<index>/feedback.jsonl``) and holds the
question, the answer, its citations, the rating and reason, and the time:
nothing about who gave it. Each click is one line, appended whole, so a
reader who gives 👎 and then picks a reason leaves two lines; the later one is
their final say. Read it with any JSON-lines tool (``jq -s 'group_by(.reason)'``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from qa.types import Answer

FILE_NAME = "feedback.jsonl"

# A public app takes feedback from anyone: the file stops growing here
# (about 20,000 answers' worth) rather than fill the disk.
MAX_BYTES = 50_000_000


class FeedbackError(RuntimeError):
    """Feedback that cannot be kept; the message says why."""


class Rating(StrEnum):
    UP = "up"
    DOWN = "down"


class Reason(StrEnum):
    """Why an answer was marked down (the chat's feedback menu offers these)."""

    WRONG_ANSWER = "wrong answer"
    WRONG_SOURCE = "wrong source"
    SHOULD_NOT_KNOW = "should have said it does not know"

    @property
    def label(self) -> str:
        return self.value[0].upper() + self.value[1:]

    @classmethod
    def from_label(cls, label: str) -> Reason | None:
        return next((r for r in cls if r.label == label), None)


@dataclass(frozen=True)
class Feedback:
    rating: Rating
    reason: Reason | None
    answer: Answer

    def to_dict(self) -> dict[str, Any]:
        a = self.answer
        return {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "rating": self.rating.value,
            "reason": self.reason.value if self.reason else None,
            "question": a.question,
            "answer": a.answer,
            "answerable": a.answerable,
            "confidence": round(a.confidence, 4),
            "citations": [
                {"source": c.source, "paragraph": c.paragraph, "start": c.start, "end": c.end, "text": c.text}
                for c in a.citations
            ],
        }


_lock = threading.Lock()


def record(index_dir: Path, feedback: Feedback, max_bytes: int = MAX_BYTES) -> Path:
    """Append ``feedback`` to the index folder's feedback file; OSError if it
    cannot be written, FeedbackError if the file is full."""
    path = Path(index_dir) / FILE_NAME
    line = (json.dumps(feedback.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
    with _lock:
        if path.exists() and path.stat().st_size + len(line) > max_bytes:
            raise FeedbackError(f"the feedback file {path} has reached its {max_bytes:,}-byte limit")
        # One write on an O_APPEND descriptor: a line lands whole, after every other.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    return path


def read(index_dir: Path) -> list[dict[str, Any]]:
    """Every feedback line so far, oldest first."""
    path = Path(index_dir) / FILE_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
