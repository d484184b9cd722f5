"""The answer scorer: which aggregated answer is best, and the probability
that it is right.

Two models, both fitted on SQuAD 2.0 dev in open mode (``python -m
training.calibrator``; what they were fitted on and how they score are in
``qa/models/calibrator/README.md``), stored together in one small JSON file:

- The ranker orders a question's answers by a weighted sum of
  :data:`RANK_FEATURES`: pooled evidence (:mod:`qa.answers.evidence`), the log
  probability that an answer to the question is of the answer's kind
  (:mod:`qa.reading.kinds`, floored at :data:`PRIOR_FLOOR`) and the retrieval
  score, fitted as a conditional logit (a softmax over each question's
  answers): a country rarely answers "which city".
- The calibrator, a logistic regression over :data:`FEATURES`, turns an
  answer's features into the probability that it is right. The pipeline
  abstains when the best answer's probability is below its threshold, chosen
  for a stated precision of answered questions.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.answers.evidence import Evidence, answer_words
from qa.reading.kinds import QuestionTypes, span_kind
from qa.search.tokenization import weighted_share
from qa.settings import SHIPPED_MODELS

SHIPPED_CALIBRATOR = SHIPPED_MODELS / "calibrator" / "calibrator.json"

# The question-type model is never trusted beyond 99%: its own labels are rules.
PRIOR_FLOOR = 0.01

# The lead of a lone answer, and the most any lead counts, for calibrators
# fitted before the cap was chosen by the fit (their files do not name one).
UNFITTED_LEAD_CAP = 10.0

RANK_FEATURES = ("evidence", "prior", "retrieval")

FEATURES = (
    "evidence",  # pooled margin over "no answer", across passages (log-sum-exp)
    "margin",  # the best single passage's margin
    "prior",  # log P(answer kind | question), floored
    "lead",  # ranking score minus the best other answer's, the margin to the runner-up, capped
    "log_articles",  # log(1 + independent articles where the reader found the answer)
    "log_mentioned",  # log(1 + independent articles among all retrieved passages that mention it)
    "retrieval",  # best retrieval score of its passages, in [0, 1]
    "log_rank",  # log(1 + best retrieval rank of its passages)
    "coverage",  # IDF-weighted share of the question's content words in the answer's sentence
    "passage_coverage",  # the same in the answer's passage
    "missing_rare",  # the largest IDF share of one question word missing from that passage
    "missing_name",  # 1 when a name or number the question gives is not in that passage ("China's foreign minister")
    "in_question",  # share of the answer's words that the question already says
    "log_length",  # log(1 + words in the answer)
)


def rank_features(question: str, answers: Sequence[Evidence], types: QuestionTypes) -> np.ndarray:
    """One row of :data:`RANK_FEATURES` per answer."""
    kinds = types.probabilities(question)
    rows = [(e.pooled, math.log(max(kinds[span_kind(e.text)], PRIOR_FLOOR)), e.retrieval) for e in answers]
    return np.asarray(rows, dtype=np.float64).reshape(len(answers), len(RANK_FEATURES))


def rank_answers(
    question: str, answers: Sequence[Evidence], types: QuestionTypes, weights: Sequence[float]
) -> list[tuple[float, Evidence]]:
    """(ranking score, answer), best first."""
    scores = rank_features(question, answers, types) @ np.asarray(weights, dtype=np.float64)
    return sorted(zip(scores.tolist(), answers, strict=True), key=lambda se: -se[0])


def answer_features(
    question: str,
    ranked: Sequence[tuple[float, Evidence]],
    types: QuestionTypes,
    term_weights: Mapping[str, float],
    tokenize: Callable[[list[str]], list[list[str]]],
    lead_cap: float = UNFITTED_LEAD_CAP,
) -> np.ndarray:
    """One row of :data:`FEATURES` per answer of :func:`rank_answers`.

    ``term_weights`` maps the question's content terms to their IDF;
    ``tokenize`` turns texts into the same kind of terms (the lexical index's
    tokenizer), so coverage is measured in the index's own vocabulary.
    The lead counts up to ``lead_cap`` either way (a lone answer's is the cap):
    past a clear lead, a weak answer over weaker rivals is no likelier to be
    right, and an uncapped lead let such answers through.
    """
    if not ranked:
        return np.zeros((0, len(FEATURES)))
    question_words = set(answer_words(question))
    scores = [score for score, _ in ranked]
    total_weight = sum(term_weights.values())
    answers = [e for _, e in ranked]
    ranking = rank_features(question, answers, types)
    names = question_names(question)
    texts = list(dict.fromkeys([e.best.sentence for e in answers] + [e.best.passage.text for e in answers]))
    terms = dict(zip(texts, (set(t) for t in tokenize(texts)), strict=True))
    rows = []
    for i, e in enumerate(answers):
        others = scores[:i] + scores[i + 1 :]
        lead = scores[i] - max(others) if others else lead_cap
        in_sentence, in_passage = terms[e.best.sentence], terms[e.best.passage.text]
        missing = [w for t, w in term_weights.items() if t not in in_passage]
        words = answer_words(e.text)
        evidence, prior, retrieval = ranking[i]
        rows.append(
            (
                evidence,
                e.best.margin,
                prior,
                max(-lead_cap, min(lead_cap, lead)),
                math.log1p(len(e.articles)),
                math.log1p(e.mentioned_in),
                retrieval,
                math.log1p(e.rank),
                weighted_share(term_weights, in_sentence),
                weighted_share(term_weights, in_passage),
                max(missing, default=0.0) / total_weight if total_weight else 0.0,
                float(any(name not in _folded(e.best.passage.text) for name in names)),
                sum(w in question_words for w in words) / len(words) if words else 0.0,
                math.log1p(len(words)),
            )
        )
    return np.asarray(rows, dtype=np.float64)


_NAME_OR_NUMBER = re.compile(r"(?<!^)(?<![.?!]\s)\b(?:[A-Z][\w\-]*|\d[\d,.]*\d|\d)")


def question_names(question: str) -> list[str]:
    """The capitalised words (after the first) and numbers of a question, folded
    (:func:`_folded`): what a passage that answers it almost always repeats."""
    return [_folded(m.group()) for m in _NAME_OR_NUMBER.finditer(question.strip())]


def _folded(text: str) -> str:
    """Lower case without hyphens and dots: "G-20" and "G20", "U.S." and "US" match."""
    return text.lower().replace("-", "").replace(".", "")


@dataclass(frozen=True)
class Calibrator:
    """A logistic regression over standardised :data:`FEATURES`."""

    rank_weights: tuple[float, ...]  # the ranker's, one per RANK_FEATURES
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float  # abstain below this probability
    about: dict = field(default_factory=dict)  # what it was fitted on, and the precision the threshold was chosen for
    lead_cap: float = UNFITTED_LEAD_CAP  # the most the lead counts (answer_features), chosen by the fit

    @classmethod
    def load(cls, path: Path | str = SHIPPED_CALIBRATOR) -> Calibrator:
        data = json.loads(Path(path).read_text("utf-8"))
        if tuple(data["features"]) != FEATURES or tuple(data["rank_features"]) != RANK_FEATURES:
            raise ValueError(f"{path} was fitted on other features; refit it with python -m training.calibrator")
        return cls(
            rank_weights=tuple(data["rank_weights"]),
            features=tuple(data["features"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            coef=tuple(data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            about=data.get("about", {}),
            lead_cap=float(data.get("lead_cap", UNFITTED_LEAD_CAP)),
        )

    def save(self, path: Path | str) -> None:
        data = {
            "rank_features": list(RANK_FEATURES),
            "rank_weights": [round(v, 6) for v in self.rank_weights],
            "features": list(self.features),
            "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale],
            "coef": [round(v, 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
            "threshold": round(self.threshold, 4),
            "lead_cap": self.lead_cap,
            "about": self.about,
        }
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=1) + "\n", "utf-8")

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(right) for each row of features, in [0, 1]."""
        if len(x) == 0:
            return np.zeros(0)
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        logits = z @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40)))
