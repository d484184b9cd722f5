"""Fit the answer calibrator (qa/answers/calibration.py) on SQuAD 2.0 dev in open mode.

    python -m training.calibrator --squad ../shared/squad/dev-v2.0.json \
        [--check ../shared/squad/dev-v1.1.json] [--precision 0.8] [--cache .fit/readings.pkl]

The data, none of it seed_dev.jsonl:

- SQuAD 2.0 dev's articles are split in two halves. The articles whose
  questions the SQuAD v1.1 open-mode check reads (its first 2,000 questions,
  ``--check``) go to the report half, so that check is not fit data either;
  the others alternate between the halves in file order.
- Every paragraph becomes an article of one corpus, as ``qa eval`` does in
  open mode, except the paragraphs of every third article of the fit half:
  their questions become unanswerable, as a question is whose article is not
  in the user's folder. The report half's every third article is treated the
  same way in a second corpus: its questions are asked there too, as
  unanswerable ones, so both halves hold the same kinds of question.
- Every question is asked as the pipeline asks it (hybrid retrieval, the
  neural reader's candidates from the first ``read_k`` passages, aggregation
  over all ``mention_k``, answers ranked by evidence and kind). An answer is
  right when its token F1 against a gold answer is at least 0.5; every answer
  to an unanswerable question is wrong.

The ranker is fitted first, as a conditional logit: a softmax over each
answerable question's answers whose right ones should take the mass. The
most the lead over the runner-up may count is chosen next, among
:data:`LEAD_CAPS`, by the calibrator's 5-fold cross-validated log loss on the
fit half. The calibrator is then fitted on the fit half's two best-ranked
answers of every question (the runner-up shows it what a negative lead means, for the
alternatives). Its threshold is the lowest at which the fit half's answered
questions reach ``--precision``, counting the questions asked with their
article in the index, as the report half's are. The report half then
measures precision, coverage (the share of answerable questions answered)
and calibration, against the scoring this replaces: the best single span,
scored by a sigmoid of its margin over "no answer" (90%) and its passage's
retrieval score (10%), with its threshold chosen on the fit half in the same
way.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import pickle
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.answers.calibration import (
    FEATURES,
    RANK_FEATURES,
    SHIPPED_CALIBRATOR,
    UNFITTED_LEAD_CAP,
    Calibrator,
    answer_features,
    rank_answers,
    rank_features,
)
from qa.answers.evidence import aggregate
from qa.evaluation.evaluate import squad_as_corpus
from qa.evaluation.metrics import token_f1
from qa.evaluation.squad import load_squad
from qa.index.store import IndexStore
from qa.reading.neural import SHIPPED_READER, NeuralReader, weights_digest
from qa.search.retriever import HybridRetriever
from qa.search.tokenization import bm25_tokenize
from qa.serving.logs import quiet_libraries
from qa.settings import Settings
from qa.types import Passage, Span

log = logging.getLogger("training.calibrator")

RIGHT_F1 = 0.5  # an answer this close to a gold answer counts as right

CHECK_QUESTIONS = 2000


@dataclass
class Reading:
    """What the pipeline saw for one question, before any scoring."""

    id: str
    question: str
    answers: tuple[str, ...]  # empty: unanswerable (in SQuAD 2.0, or its article left out)
    half: str  # "fit" or "report"
    left_out: bool
    passages: list[Passage]  # all retrieved; the reader read the first read_k
    spans: list[Span]
    term_weights: dict[str, float]
    families: dict[str, str]


def split_articles(squad: Path, check: Path | None) -> tuple[list[int], list[int]]:
    """(fit half, report half) as article numbers."""
    titles = [a["title"] for a in json.loads(squad.read_text("utf-8"))["data"]]
    checked: set[str] = set()
    if check:
        data = json.loads(check.read_text("utf-8"))["data"]
        seen = 0
        for article in data:
            if seen >= CHECK_QUESTIONS:
                break
            checked.add(article["title"])
            seen += sum(len(p["qas"]) for p in article["paragraphs"])
    others = [number for number, title in enumerate(titles) if title not in checked]
    fit = others[0::2]
    report = sorted(others[1::2] + [number for number, title in enumerate(titles) if title in checked])
    return fit, report


def read_all(squad: Path, check: Path | None, settings: Settings, reader_path: str, every: int = 1) -> list[Reading]:
    """Every question against the corpus without the fit half's left-out
    articles (every third), then the report half's every third article's
    questions against the corpus without those too: unanswerable there."""
    fit, report = split_articles(squad, check)
    fit_left_out, report_left_out = frozenset(fit[::3]), frozenset(report[::3])
    half = {a: "fit" for a in fit} | {a: "report" for a in report}
    readings = _read(squad, settings, reader_path, fit_left_out, every, half)
    return readings + _read(squad, settings, reader_path, fit_left_out | report_left_out, every, half, report_left_out)


def _read(
    squad: Path,
    settings: Settings,
    reader_path: str,
    leave_out: frozenset[int],
    every: int,
    half: dict[int, str],
    only: frozenset[int] | None = None,
) -> list[Reading]:
    """Every ``every``-th question (of the articles in ``only``, if given)
    against the corpus without the articles in ``leave_out``."""
    article_of = {q.id: q.article for q in load_squad(squad)}
    with tempfile.TemporaryDirectory(prefix="qa-fit-") as tmp:
        questions = squad_as_corpus(squad, Path(tmp) / "corpus", leave_out=leave_out)[::every]
        if only is not None:
            questions = [q for q in questions if article_of[q.id] in only]
        settings = settings.replace(corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index")
        index, _ = IndexStore(settings).open()
    retriever = HybridRetriever(index, settings)
    # Read as the app reads: the calibrator scores what the shipped engine's reader says.
    reader = NeuralReader(reader_path, engine=settings.engine, cache_dir=settings.cache_dir)
    readings = []
    started = time.time()
    for i, q in enumerate(questions, 1):
        passages = retriever.run(q.question, max(settings.read_k, settings.mention_k))
        spans = reader.run(q.question, passages[: settings.read_k])
        sources = {p.source for p in passages}
        readings.append(
            Reading(
                id=q.id,
                question=q.question,
                answers=q.answers,
                half=half[article_of[q.id]],
                left_out=article_of[q.id] in leave_out,
                passages=passages,
                spans=spans,
                term_weights=index.term_weights(q.question),
                families={s: index.family_of(s) for s in sources},
            )
        )
        if i % 500 == 0:
            log.info("read %d of %d questions (%.0f s)", i, len(questions), time.time() - started)
    return readings


def by_squad_article(readings: list[Reading]) -> list[Reading]:
    """The readings with each SQuAD article's paragraphs as one family, so
    that they count once, as a news article's paragraphs do: in open mode
    every paragraph is a file of its own ("a012_p003.txt" of article 12), and
    its syndication family is itself."""
    return [
        dataclasses.replace(r, families={s: s.split("_p")[0] for s in {p.source for p in r.passages} | set(r.families)})
        for r in readings
    ]


@dataclass
class Scored:
    """A question's answers, best-ranked first, with features and labels, and the old scorer's choice."""

    reading: Reading
    texts: list[str]
    features: np.ndarray
    right: np.ndarray
    old_confidence: float
    old_right: bool


def score_readings(
    readings: list[Reading],
    types,
    rank_weights: Sequence[float] | None = None,
    lead_cap: float = UNFITTED_LEAD_CAP,
) -> list[Scored]:
    """Each question's answers, ranked by ``rank_weights`` (or, without them,
    with only their rank features computed: the ranker's training data)."""
    scored = []
    for r in readings:
        answers = aggregate(r.spans, r.passages, lambda s, r=r: r.families.get(s, s))
        if rank_weights is None:
            x = rank_features(r.question, answers, types)
            texts = [e.text for e in answers]
        else:
            ranked = rank_answers(r.question, answers, types, rank_weights)
            x = answer_features(r.question, ranked, types, r.term_weights, bm25_tokenize, lead_cap)
            texts = [e.text for _, e in ranked]
        right = np.array([_is_right(text, r.answers) for text in texts], dtype=bool)
        old_confidence, old_answer = _old_score(r.spans)
        scored.append(Scored(r, texts, x, right, old_confidence, _is_right(old_answer, r.answers)))
    return scored


def fit_ranker(scored: list[Scored], l2: float = 1e-3) -> tuple[float, ...]:
    """Weights of :data:`RANK_FEATURES` that put each answerable question's
    probability mass (a softmax over its answers) on its right answers."""
    import torch

    data = [(torch.tensor(s.features), torch.tensor(s.right)) for s in scored if len(s.features) and s.right.any()]
    x = torch.cat([f for f, _ in data])
    mean, scale = x.mean(0), x.std(0) + 1e-9
    data = [((f - mean) / scale, right) for f, right in data]
    w = torch.zeros(x.shape[1], dtype=x.dtype, requires_grad=True)
    optimizer = torch.optim.LBFGS([w], max_iter=500)

    def loss():
        optimizer.zero_grad()
        value = sum(torch.logsumexp(f @ w, 0) - torch.logsumexp((f @ w)[right], 0) for f, right in data)
        value = value / len(data) + l2 * (w**2).sum()
        value.backward()
        return value

    optimizer.step(loss)
    return tuple(float(v) for v in (w.detach() / scale))  # on the raw features: the shift drops out of a softmax


def _is_right(answer: str, gold: tuple[str, ...]) -> bool:
    return bool(gold) and bool(answer) and token_f1(answer, gold) >= RIGHT_F1


def _old_score(spans: list[Span]) -> tuple[float, str]:
    """The scoring this calibrator replaces: each passage's best span, scored by
    0.9 * sigmoid(margin / 4) + 0.1 * retrieval score; the best wins."""
    best: dict[tuple[str, int], Span] = {}
    for s in spans:
        key = (s.passage.source, s.passage.paragraph)
        if key not in best or s.score > best[key].score:
            best[key] = s
    scored = [
        (0.9 / (1 + math.exp(-(s.score - s.null_score) / 4)) + 0.1 * s.passage.score, s.answer) for s in best.values()
    ]
    return max(scored, default=(0.0, ""))


FIT_ANSWERS = 2  # the best-ranked answers of each question the calibrator is fitted on


def mix_weights(scored: list[Scored], answerable_share: float) -> np.ndarray:
    """A weight per question that makes answerable questions ``answerable_share``
    of the total (mean weight 1)."""
    answerable = np.array([bool(s.reading.answers) for s in scored])
    if answerable.all() or not answerable.any():
        return np.ones(len(scored))
    share = np.where(answerable, answerable_share / answerable.mean(), (1 - answerable_share) / (1 - answerable.mean()))
    return share


def fit_rows(scored: list[Scored], weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, rightness and weight of each question's best-ranked answers:
    what the calibrator is fitted and cross-validated on."""
    rows = [(s.features[:FIT_ANSWERS], s.right[:FIT_ANSWERS], w) for s, w in zip(scored, weights, strict=True)]
    x = np.vstack([f for f, _, _ in rows if len(f)])
    y = np.concatenate([r for _, r, _ in rows if len(r)])
    w = np.concatenate([np.full(len(f), weight) for f, _, weight in rows if len(f)])
    return x, y, w


def fit(scored: list[Scored], weights: np.ndarray) -> Calibrator:
    """A logistic regression over each question's best-ranked answers, each
    question weighted (threshold 1 until one is chosen)."""
    from sklearn.linear_model import LogisticRegression

    x, y, w = fit_rows(scored, weights)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=5000).fit((x - mean) / scale, y, sample_weight=w)
    floats = lambda values: tuple(float(v) for v in values)  # noqa: E731
    return Calibrator(
        (), FEATURES, floats(mean), floats(scale), floats(model.coef_[0]), float(model.intercept_[0]), 1.0
    )


LEAD_CAPS = (1.0, 2.0, 3.0, 5.0, 10.0)


def choose_lead_cap(
    readings: list[Reading], types, rank_weights: Sequence[float], answerable_share: float, folds: int = 5
) -> tuple[float, dict[float, float]]:
    """The cap of :data:`LEAD_CAPS` whose calibrator has the lowest
    cross-validated log loss on ``readings`` (questions shuffled into
    ``folds``), and every cap's loss."""
    from sklearn.metrics import log_loss

    losses = {}
    for cap in LEAD_CAPS:
        scored = score_readings(readings, types, rank_weights, cap)
        weights = mix_weights(scored, answerable_share)
        order = np.random.default_rng(0).permutation(len(scored))
        held_out_loss = []
        for part in np.array_split(order, folds):
            held = set(part.tolist())
            train = [i for i in range(len(scored)) if i not in held]
            calibrator = fit([scored[i] for i in train], weights[train])
            x, y, w = fit_rows([scored[i] for i in sorted(held)], weights[sorted(held)])
            p = np.clip(calibrator.probabilities(x), 1e-6, 1 - 1e-6)
            held_out_loss.append(log_loss(y, p, sample_weight=w, labels=[False, True]))
        losses[cap] = round(float(np.mean(held_out_loss)), 5)
    return min(losses, key=losses.get), losses


@dataclass(frozen=True)
class Choice:
    """What one question got: the best answer's confidence, whether it is right."""

    confidence: float
    right: bool
    answerable: bool
    weight: float = 1.0


def top_choices(scored: list[Scored], calibrator: Calibrator, weights: np.ndarray) -> list[Choice]:
    out = []
    for s, w in zip(scored, weights, strict=True):
        p = float(calibrator.probabilities(s.features[:1])[0]) if len(s.features) else 0.0
        out.append(Choice(p, bool(len(s.right) and s.right[0]), bool(s.reading.answers), float(w)))
    return out


def old_choices(scored: list[Scored], weights: np.ndarray) -> list[Choice]:
    return [
        Choice(s.old_confidence, s.old_right, bool(s.reading.answers), float(w))
        for s, w in zip(scored, weights, strict=True)
    ]


def threshold_for(choices: list[Choice], precision: float) -> float:
    """The lowest threshold at which the answered questions reach ``precision``."""
    best, right, answered = 1.0, 0.0, 0.0
    for c in sorted(choices, key=lambda c: -c.confidence):
        right += c.weight * c.right
        answered += c.weight
        if right / answered >= precision:
            best = c.confidence
    return best


def operating_point(choices: list[Choice], threshold: float) -> dict:
    """Precision (mix-weighted), coverage of answerable questions, and declines."""
    answered = [c for c in choices if c.confidence >= threshold]
    answerable = [c for c in choices if c.answerable]
    unanswerable = [c for c in choices if not c.answerable]
    weight = sum(c.weight for c in answered)
    return {
        "threshold": round(threshold, 4),
        "questions": len(choices),
        "answered": len(answered),
        "precision": round(sum(c.weight * c.right for c in answered) / weight, 4) if weight else None,
        "coverage": round(sum(c.answerable for c in answered) / len(answerable), 4) if answerable else None,
        "right_of_answerable": round(sum(c.right for c in answered) / len(answerable), 4) if answerable else None,
        "declined_unanswerable": round(sum(c.confidence < threshold for c in unanswerable) / len(unanswerable), 4)
        if unanswerable
        else None,
    }


def coverage_at_precision(choices: list[Choice], precision: float) -> float:
    """The most answerable questions answered at a threshold whose answered
    questions keep ``precision``: the precision-coverage curve, read at one point."""
    return operating_point(choices, threshold_for(choices, precision))["coverage"] or 0.0


def calibration_error(choices: list[Choice], bins: int = 10) -> float:
    """Expected calibration error of the best answers' confidences (mix-weighted)."""
    total, error = sum(c.weight for c in choices), 0.0
    for b in range(bins):
        inside = [
            c for c in choices if b / bins <= c.confidence < (b + 1) / bins or (b == bins - 1 and c.confidence == 1)
        ]
        if inside:
            weight = sum(c.weight for c in inside)
            said = sum(c.weight * c.confidence for c in inside) / weight
            right = sum(c.weight * c.right for c in inside) / weight
            error += weight / total * abs(said - right)
    return round(float(error), 4)


def ranking_auc(choices: list[Choice]) -> float:
    """How well the confidence orders right answers above the rest (mix-weighted ROC AUC)."""
    from sklearn.metrics import roc_auc_score

    return round(
        float(
            roc_auc_score(
                [c.right for c in choices], [c.confidence for c in choices], sample_weight=[c.weight for c in choices]
            )
        ),
        4,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--squad", required=True, type=Path, help="SQuAD 2.0 dev JSON")
    parser.add_argument(
        "--check", type=Path, help="SQuAD v1.1 dev JSON: its first 2,000 questions' articles are not fit"
    )
    parser.add_argument("--precision", type=float, default=0.8, help="precision of answered questions to hold")
    parser.add_argument(
        "--answerable-share",
        type=float,
        default=0.75,
        help="share of answerable questions in the mix the confidence is calibrated for",
    )
    parser.add_argument("--reader-model", default=str(SHIPPED_READER))
    parser.add_argument("--out", default=str(SHIPPED_CALIBRATOR))
    parser.add_argument("--cache", type=Path, help="keep the readings here and reuse them (they take ~15 min)")
    parser.add_argument("--report", type=Path, help="write the figures here as JSON")
    parser.add_argument("--every", type=int, default=1, help="ask only every N-th question (smoke tests)")
    parser.add_argument(
        "--families",
        choices=("paragraph", "article"),
        default="paragraph",
        help="what counts once: each paragraph file (as qa eval writes SQuAD) or each SQuAD article's paragraphs together",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO)
    quiet_libraries(logging.ERROR)

    settings = Settings.from_env()
    cached = pickle.loads(args.cache.read_bytes()) if args.cache and args.cache.exists() else None
    if isinstance(cached, list):  # readings kept before engines existed were PyTorch's
        cached = {"engine": "torch", "readings": cached}
    weights = weights_digest(args.reader_model)
    # Readings kept for other reader weights or another engine are read again (a cache from
    # before the weights were recorded was made with the weights of its day: also read again).
    if cached and cached["engine"] == settings.engine and cached.get("reader_weights") == weights:
        readings = [Reading(**fields) for fields in cached["readings"]]
    else:
        readings = read_all(args.squad, args.check, settings, args.reader_model, args.every)
        if args.cache:  # plain fields: loadable however this module was started
            args.cache.parent.mkdir(parents=True, exist_ok=True)
            kept = {"engine": settings.engine, "reader_weights": weights, "readings": [vars(r) for r in readings]}
            args.cache.write_bytes(pickle.dumps(kept))

    if args.families == "article":
        readings = by_squad_article(readings)

    from qa.reading.kinds import load_question_types

    types = load_question_types()
    fit_readings = [r for r in readings if r.half == "fit"]
    rank_weights = fit_ranker(score_readings(fit_readings, types))
    lead_cap, cap_losses = choose_lead_cap(fit_readings, types, rank_weights, args.answerable_share)
    log.info("lead cap %s (cross-validated log loss by cap: %s)", lead_cap, cap_losses)
    scored = score_readings(readings, types, rank_weights, lead_cap)
    fit_half = [s for s in scored if s.reading.half == "fit"]
    report_half = [s for s in scored if s.reading.half == "report"]
    fit_weights = mix_weights(fit_half, args.answerable_share)
    report_weights = mix_weights(report_half, args.answerable_share)
    calibrator = dataclasses.replace(fit(fit_half, fit_weights), rank_weights=rank_weights, lead_cap=lead_cap)
    threshold = threshold_for(top_choices(fit_half, calibrator, fit_weights), args.precision)
    old_threshold = threshold_for(old_choices(fit_half, fit_weights), args.precision)
    new_report = top_choices(report_half, calibrator, report_weights)
    old_report = old_choices(report_half, report_weights)
    figures = {
        "precision_target": args.precision,
        "answerable_share": args.answerable_share,
        "lead_cap": {"chosen": lead_cap, "cv_log_loss_fit_half": {str(k): v for k, v in cap_losses.items()}},
        "fit_half": {
            "questions": len(fit_half),
            "answers": sum(min(len(s.features), FIT_ANSWERS) for s in fit_half),
            "left_out": sum(s.reading.left_out for s in fit_half),
            "unanswerable": sum(not s.reading.answers for s in fit_half),
        },
        "report_half": {
            "questions": len(report_half),
            "unanswerable": sum(not s.reading.answers for s in report_half),
            "after": operating_point(new_report, threshold),
            "before": operating_point(old_report, old_threshold),
            "coverage_at_precision": {
                "after": coverage_at_precision(new_report, args.precision),
                "before": coverage_at_precision(old_report, args.precision),
            },
            "calibration_error": {"after": calibration_error(new_report), "before": calibration_error(old_report)},
            "auc_right_vs_not": {"after": ranking_auc(new_report), "before": ranking_auc(old_report)},
            "best_answer_right": {
                "after": round(float(np.mean([c.right for c in new_report if c.answerable])), 4),
                "before": round(float(np.mean([c.right for c in old_report if c.answerable])), 4),
            },
        },
    }
    calibrator = dataclasses.replace(
        calibrator,
        threshold=threshold,
        about={
            "version": 1,
            "fitted_on": (
                f"{args.squad.name} in open mode: {len(fit_half)} questions of the fit half of its articles "
                f"({figures['fit_half']['left_out']} of them from articles left out of the index); "
                "not seed_dev.jsonl"
            ),
            "right_means": f"token F1 >= {RIGHT_F1} against a gold answer",
            "threshold_for_precision": args.precision,
            "answerable_share": args.answerable_share,
            "reader_weights": weights,
            "reader_engine": settings.engine,
            "report_half": figures["report_half"],
            "command": "python -m training.calibrator " + " ".join(sys.argv[1:] if argv is None else argv),
        },
    )
    calibrator.save(args.out)
    print(json.dumps(figures, indent=1))
    for name, c in zip(RANK_FEATURES, calibrator.rank_weights, strict=True):
        print(f"  rank {name:<14} {c:+.3f}")
    for name, c in zip(FEATURES, calibrator.coef, strict=True):
        print(f"  {name:<19} {c:+.3f}")
    if args.report:
        args.report.write_text(json.dumps(figures, indent=1), "utf-8")


if __name__ == "__main__":
    main()
