"""How sure each pooled answer is: the probability that it is right, best first.

The pipeline pools the reader's spans into answers (qa/answers/evidence.py)
and asks a :class:`Ranker` to order them. "No answer" wins when the best
answer's probability is below the ranker's ``abstain_below``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from qa.answers.calibration import SHIPPED_CALIBRATOR, Calibrator, answer_features, rank_answers
from qa.answers.evidence import Evidence
from qa.index.view import IndexView
from qa.reading.kinds import SHIPPED_TYPES, QuestionTypes, gazetteers, load_question_types
from qa.reading.neural import weights_digest
from qa.search.tokenization import bm25_tokenize

log = logging.getLogger(__name__)


class Ranker(Protocol):
    """Orders answers and gives each the probability (in [0, 1]) that it is right."""

    abstain_below: float

    def warm_up(self) -> None:
        """Load models; called once before the first question."""
        ...

    def rank(self, question: str, answers: Sequence[Evidence]) -> list[tuple[float, Evidence]]:
        """The answers, best first, each with the probability that it is right."""
        ...


@functools.lru_cache(maxsize=2)
def load_calibrator(path: str) -> Calibrator:
    return Calibrator.load(path)


class CalibratedRanker:
    """Ranks answers by their evidence and answer kind, and the calibrator
    (qa/answers/calibration.py) gives each the probability that it is right.
    ``reader_weights`` names the reader whose scores the calibrator reads, to
    warn when it was fitted for other weights."""

    def __init__(
        self,
        index: IndexView,
        reader_weights: Path | str | None = None,
        calibrator: Path | str = SHIPPED_CALIBRATOR,
        question_types: Path | str = SHIPPED_TYPES,
    ):
        self.index = index
        self.reader_weights = str(reader_weights) if reader_weights else None
        self.calibrator_path = str(calibrator)
        self.question_types_path = str(question_types)
        self.calibrator: Calibrator | None = None
        self.question_types: QuestionTypes | None = None

    def warm_up(self) -> None:
        if self.calibrator is not None:
            return
        self.question_types = load_question_types(self.question_types_path)
        gazetteers()  # slow to load: not on the first question
        self.index.term_weights("warm up")  # likewise: builds what term weights read
        self.calibrator = load_calibrator(self.calibrator_path)
        fitted_for = self.calibrator.about.get("reader_weights")
        if fitted_for and self.reader_weights and fitted_for != weights_digest(self.reader_weights):
            log.warning(
                "The answer calibrator was fitted for other reader weights (%s): confidences may be off; "
                "refit it with python -m training.calibrator",
                fitted_for,
            )

    @property
    def abstain_below(self) -> float:
        self.warm_up()
        return self.calibrator.threshold

    def rank(self, question: str, answers: Sequence[Evidence]) -> list[tuple[float, Evidence]]:
        self.warm_up()
        ranked = rank_answers(question, answers, self.question_types, self.calibrator.rank_weights)
        features = answer_features(
            question,
            ranked,
            self.question_types,
            self.index.term_weights(question),
            bm25_tokenize,
            self.calibrator.lead_cap,
        )
        probabilities = self.calibrator.probabilities(features)
        return [(float(p), e) for p, (_, e) in zip(probabilities, ranked, strict=True)]


class BestSpanRanker:
    """Ranks answers by the best span score behind each (the sentence reader's
    scores are in [0, 1] already)."""

    # Answerable seed_dev questions scored 0.52 and up with the sentence
    # reader, unanswerable ones 0.31 and below.
    abstain_below = 0.40

    def warm_up(self) -> None:
        pass

    def rank(self, question: str, answers: Sequence[Evidence]) -> list[tuple[float, Evidence]]:
        return sorted(((e.best.score, e) for e in answers), key=lambda se: -se[0])
