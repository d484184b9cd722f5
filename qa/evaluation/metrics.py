"""Answer metrics with the official SQuAD normalisation (lower case, no
punctuation, no articles, single spaces).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from qa.answers.evidence import normalize_answer


def exact_match(prediction: str, gold: Iterable[str]) -> float:
    """1.0 if the prediction equals any gold answer after normalisation."""
    return max((float(normalize_answer(prediction) == normalize_answer(g)) for g in gold), default=0.0)


def token_f1(prediction: str, gold: Iterable[str]) -> float:
    """The best token-overlap F1 of the prediction against any gold answer."""
    return max((_f1(prediction, g) for g in gold), default=0.0)


def _f1(prediction: str, gold: str) -> float:
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = Counter(predicted) & Counter(expected)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(expected)
    return 2 * precision * recall / (precision + recall)
