"""What every reader is: the protocol the pipeline knows readers by."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from qa.answers.evidence import Evidence
from qa.types import Passage, Span


class Reader(Protocol):
    """Finds answer candidates in passages and says how likely each answer is.

    ``run`` returns candidate spans from every passage with the reader's own
    scores; the pipeline merges them into answers (:mod:`qa.answers.evidence`) and
    asks ``rank`` to order them and give each the probability that it is
    right. "No answer" wins when the best one's probability is below
    ``abstain_below``.
    """

    abstain_below: float

    def warm_up(self) -> None:
        """Load models; called once before the first question."""
        ...

    def run(self, question: str, passages: Sequence[Passage], context: str = "") -> list[Span]:
        """Answer candidates from ``passages``, best first.

        ``context`` is earlier conversation that the question may refer to
        ("he", "there"); it helps find the passage but is never the answer.
        """
        ...

    def rank(self, question: str, answers: Sequence[Evidence]) -> list[tuple[float, Evidence]]:
        """The answers, best first, each with the probability (in [0, 1]) that it is right."""
        ...
