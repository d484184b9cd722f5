"""The neural reader: a fine-tuned span-extraction transformer over the
retrieved passages (see qa/train_reader.py and qa/models/reader/README.md)."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path

from qa.reader import sentence_spans
from qa.span_model import SpanModel
from qa.types import Passage, Span

SHIPPED_READER = Path(__file__).resolve().parent / "models" / "reader"


@functools.lru_cache(maxsize=2)
def load_span_model(path: str) -> SpanModel:
    import torch

    model = SpanModel(path)
    model.model.to(torch.float32)
    return model


class NeuralReader:
    """Reads each passage with the span model; a span's score combines how far
    the model prefers it over "no answer" (a sigmoid of the margin over
    ``temperature``, 90%) and the passage's retrieval score (10%).

    The weights, ``temperature`` and ``abstain_below`` were tuned on
    seed_dev.jsonl with ``benchmarks/tune_reader.py``: there answerable
    questions score 0.94 and up, unanswerable ones 0.49 and below.
    """

    abstain_below = 0.6

    def __init__(
        self,
        path: Path | str = SHIPPED_READER,
        retrieval_weight: float = 0.1,
        temperature: float = 4.0,
    ):
        self.span_model = load_span_model(str(path))
        self.retrieval_weight = retrieval_weight
        self.temperature = temperature

    def run(self, question: str, passages: Sequence[Passage], context: str = "") -> list[Span]:
        if not passages:
            return []
        best = self.span_model.best_spans([question] * len(passages), [p.text for p in passages])
        spans = []
        for passage, span in zip(passages, best, strict=True):
            if span.end <= span.start:
                continue
            start, end = _trim(passage.text, span.start, span.end)
            sentence = next(((a, b) for a, b in sentence_spans(passage.text) if a <= start < b), (0, len(passage.text)))
            margin = span.score - span.null_score
            reader_probability = 1.0 / (1.0 + math.exp(-margin / self.temperature))
            score = (1 - self.retrieval_weight) * reader_probability + self.retrieval_weight * passage.score
            spans.append(Span(passage, start, end, sentence[0], max(sentence[1], end), min(max(score, 0.0), 1.0)))
        spans.sort(key=lambda s: -s.score)
        return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop whitespace and trailing punctuation a token boundary may carry."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return start, end
