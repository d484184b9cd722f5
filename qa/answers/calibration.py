"""The answer scorer: the probability that each aggregated answer is right.

Fitted on SQuAD 2.0 dev in open mode (``python -m training.calibrator``;
what was fitted on what, and how it scores, is in
``qa/models/calibrator/README.md``), stored in one small JSON file.

An answer's probability is built in two steps, because SQuAD can teach the
first and not the second:

- **Per article.** A logistic regression over :data:`FEATURES` gives the
  probability that *one independent article's* reading of an answer is right:
  the reader's margins over "no answer" in that article's passages, the log
  probability that an answer to the question is of the answer's kind
  (:mod:`qa.reading.kinds`, floored at :data:`PRIOR_FLOOR`), its lead over
  the best reading of another answer, retrieval and how well the passage
  covers the question. SQuAD has what this needs: one reading per article.
- **Across articles, by a stated rule.** Independent articles (syndicated
  copies count once) that give the same answer are combined by
  :func:`combine`, which assumes they erred independently: a noisy-OR of the
  per-article probabilities, or their log odds against the base rate summed
  (:class:`Rule`). SQuAD cannot teach what agreement between news articles is
  worth (its answers seldom repeat across articles), so the rule is the
  product's assumption, not a fitted weight. An article whose reading is
  weaker than the base rate adds nothing: an article that names the answer in
  another role is not evidence against it, and no rule may amplify it.

A ranking score (a weighted sum of :data:`RANK_FEATURES`, fitted as a
conditional logit over each question's answers) measures an article's
reading against the best reading of any other answer: the lead. The pipeline abstains when the best answer's probability is below
the threshold, chosen for a stated precision of answered questions.
"""

from __future__ import annotations

import enum
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

# The lead of a lone answer, and the most any lead counts, unless the fit chose another.
UNFITTED_LEAD_CAP = 10.0

RANK_FEATURES = ("evidence", "prior", "retrieval")

FEATURES = (
    "evidence",  # pooled margin over "no answer" across the article's passages (log-sum-exp)
    "margin",  # the article's best single passage's margin
    "prior",  # log P(answer kind | question), floored
    "lead",  # ranking score minus the best other answer's in any article, capped
    "retrieval",  # best retrieval score of its passages in the article, in [0, 1]
    "log_rank",  # log(1 + best retrieval rank of those passages)
    "coverage",  # IDF-weighted share of the question's content words in the answer's sentence
    "passage_coverage",  # the same in the answer's passage
    "missing_rare",  # the largest IDF share of one question word missing from that passage
    "missing_name",  # 1 when a name or number the question gives is not in that passage ("China's foreign minister")
    "in_question",  # share of the answer's words that the question already says
    "log_length",  # log(1 + words in the answer)
)


class Rule(enum.StrEnum):
    """How the per-article probabilities of one answer are combined (:func:`combine`)."""

    NOISY_OR = "noisy-or"  # 1 - prod(1 - p): right unless every article's reading is wrong
    LOG_ODDS = "log-odds"  # the best article's log odds, plus each other's excess over the base rate


def combine(probabilities: Sequence[float], rule: Rule, base_rate: float) -> float:
    """The probability that an answer is right, from the probabilities that
    each independent article's reading of it is right, assuming the articles
    erred independently. Readings at or below ``base_rate`` add nothing."""
    if not len(probabilities):
        return 0.0
    p = np.clip(np.sort(np.asarray(probabilities, dtype=np.float64))[::-1], 1e-9, 1 - 1e-9)
    useful = np.concatenate([p[:1], p[1:][p[1:] > base_rate]])
    if rule == Rule.NOISY_OR:
        return float(1.0 - np.prod(1.0 - useful))
    logit = lambda q: np.log(q / (1.0 - q))  # noqa: E731
    z = logit(useful[0]) + float(np.sum(logit(useful[1:]) - logit(base_rate)))
    return float(1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z)))))


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


@dataclass(frozen=True)
class Scorer:
    """What article features are computed with: the question's term weights
    (IDF of its content terms) and the lexical index's tokenizer, so coverage
    is measured in the index's own vocabulary, and the syndication families."""

    types: QuestionTypes
    rank_weights: Sequence[float]
    term_weights: Mapping[str, float]
    tokenize: Callable[[list[str]], list[list[str]]]
    family_of: Callable[[str], str] = str
    lead_cap: float = UNFITTED_LEAD_CAP


def article_features(question: str, answers: Sequence[Evidence], scorer: Scorer) -> list[np.ndarray]:
    """For each answer, one row of :data:`FEATURES` per independent article
    that gives it (:meth:`Evidence.by_article`), in order of their best mention.

    The lead counts up to ``lead_cap`` either way (a lone answer's is the
    cap): past a clear lead, a weak answer over weaker rivals is no likelier
    to be right.
    """
    parts = [e.by_article(scorer.family_of) for e in answers]
    flat = [(i, a) for i, articles in enumerate(parts) for a in articles]
    if not flat:
        return [np.zeros((0, len(FEATURES))) for _ in answers]
    ranking = rank_features(question, [a for _, a in flat], scorer.types)
    scores = ranking @ np.asarray(scorer.rank_weights, dtype=np.float64)
    best_other = _best_other([i for i, _ in flat], scores.tolist())
    question_words = set(answer_words(question))
    total_weight = sum(scorer.term_weights.values())
    names = question_names(question)
    texts = list(dict.fromkeys([a.best.sentence for _, a in flat] + [a.best.passage.text for _, a in flat]))
    terms = dict(zip(texts, (set(t) for t in scorer.tokenize(texts)), strict=True))
    rows: list[list[tuple[float, ...]]] = [[] for _ in answers]
    cap = scorer.lead_cap
    for n, (i, a) in enumerate(flat):
        lead = scores[n] - best_other[n] if best_other[n] is not None else cap
        in_sentence, in_passage = terms[a.best.sentence], terms[a.best.passage.text]
        missing = [w for t, w in scorer.term_weights.items() if t not in in_passage]
        words = answer_words(answers[i].text)
        evidence, prior, retrieval = ranking[n]
        rows[i].append(
            (
                evidence,
                a.best.margin,
                prior,
                max(-cap, min(cap, lead)),
                retrieval,
                math.log1p(a.rank),
                weighted_share(scorer.term_weights, in_sentence),
                weighted_share(scorer.term_weights, in_passage),
                max(missing, default=0.0) / total_weight if total_weight else 0.0,
                float(any(name not in _folded(a.best.passage.text) for name in names)),
                sum(w in question_words for w in words) / len(words) if words else 0.0,
                math.log1p(len(words)),
            )
        )
    return [np.asarray(r, dtype=np.float64).reshape(len(r), len(FEATURES)) for r in rows]


def _best_other(owners: list[int], scores: list[float]) -> list[float | None]:
    """For each article's reading, the best score of another answer's reading
    in any article (None: there is no other answer)."""
    top: list[tuple[float, int]] = []
    for score, owner in sorted(zip(scores, owners, strict=True), reverse=True):
        if not top or top[0][1] != owner:
            top.append((score, owner))
            if len(top) == 2:
                break
    return [next((score for score, o in top if o != owner), None) for owner in owners]


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
    """A logistic regression over standardised :data:`FEATURES` (per article),
    and the rule that combines articles (:func:`combine`)."""

    rank_weights: tuple[float, ...]  # the ranker's, one per RANK_FEATURES
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float  # abstain below this probability
    about: dict = field(default_factory=dict)  # what it was fitted on, and the precision the threshold was chosen for
    lead_cap: float = UNFITTED_LEAD_CAP  # the most the lead counts (article_features), chosen by the fit
    rule: Rule = Rule.NOISY_OR  # how an answer's articles combine
    base_rate: float = 0.5  # share of article readings that are right, in the fit data: what adds nothing

    @classmethod
    def load(cls, path: Path | str = SHIPPED_CALIBRATOR) -> Calibrator:
        data = json.loads(Path(path).read_text("utf-8"))
        if (
            tuple(data["features"]) != FEATURES
            or tuple(data["rank_features"]) != RANK_FEATURES
            or data.get("rule") not in set(Rule)
        ):
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
            rule=Rule(data["rule"]),
            base_rate=float(data["base_rate"]),
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
            "rule": self.rule.value,
            "base_rate": round(self.base_rate, 4),
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

    def answer_probabilities(self, rows: Sequence[np.ndarray]) -> list[float]:
        """For each answer's article rows (:func:`article_features`), the probability that it is right."""
        return [combine(self.probabilities(x), self.rule, self.base_rate) for x in rows]
