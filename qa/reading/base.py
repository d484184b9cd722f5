"""What every reader is: the protocol the pipeline knows readers by."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from qa.types import Passage, Span


class Reader(Protocol):
    """Finds answer candidates in passages.

    ``run`` returns candidate spans from every passage with the reader's own
    scores; the pipeline pools them into answers (qa/answers/evidence.py) and
    a ranker (qa/answers/ranking.py) says how likely each is to be right.
    """

    def warm_up(self) -> None:
        """Load models; called once before the first question."""
        ...

    def run(self, question: str, passages: Sequence[Passage], context: str = "") -> list[Span]:
        """Answer candidates from ``passages``, best first.

        ``context`` is earlier conversation that the question may refer to
        ("he", "there"); it helps find the passage but is never the answer.
        """
        ...
