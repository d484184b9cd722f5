"""The neural reader: a fine-tuned span-extraction transformer over the
retrieved passages (see training/reader.py and qa/models/reader/README.md).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

from qa.reading.sentences import sentence_spans
from qa.reading.span_model import SpanModel, SpanScore
from qa.runtime import Engine, reader_file, session
from qa.settings import SHIPPED_MODELS
from qa.timing import stage
from qa.types import Passage, Span

log = logging.getLogger(__name__)

SHIPPED_READER = SHIPPED_MODELS / "reader"


@functools.lru_cache(maxsize=4)
def load_span_model(path: str, engine: str = Engine.TORCH.value, cache_dir: str | None = None) -> SpanModel:
    """The span model of the weights in ``path``, run by ``engine`` (by
    PyTorch, with a warning, if the ONNX export cannot be made or loaded)."""
    if engine != Engine.TORCH:
        try:
            file = reader_file(path, Engine(engine), Path(cache_dir) if cache_dir else None)
            return SpanModel(path, session=session(file))
        except Exception as err:  # an answer from PyTorch beats no answer; the warning says why it is slower
            log.warning("Cannot run the reader with %s (%s); using PyTorch instead", engine, err)
    return SpanModel(path)


@functools.lru_cache(maxsize=4)
def weights_digest(path: str) -> str:
    """The first 16 hex digits of the reader weights' sha256."""
    return hashlib.sha256((Path(path) / "model.safetensors").read_bytes()).hexdigest()[:16]


class NeuralReader:
    """Reads each passage with the span model and keeps its ``spans_per_passage``
    best spans with their raw scores and their window's "no answer" score."""

    def __init__(
        self,
        path: Path | str = SHIPPED_READER,
        spans_per_passage: int = 5,
        engine: Engine | str = Engine.TORCH,
        cache_dir: Path | str | None = None,
    ):
        self.path = str(path)
        self.engine = Engine(engine)
        self.cache_dir = str(cache_dir) if cache_dir else None
        self.spans_per_passage = spans_per_passage
        self.span_model: SpanModel | None = None

    def warm_up(self) -> None:
        if self.span_model is None:
            self.span_model = load_span_model(self.path, self.engine.value, self.cache_dir)

    def run(self, question: str, passages: Sequence[Passage], context: str = "") -> list[Span]:
        if not passages:
            return []
        self.warm_up()
        found = self.span_model.top_spans(
            [question] * len(passages), [p.text for p in passages], self.spans_per_passage
        )
        with stage("reader: sentences"):
            return self._spans(passages, found)

    def _spans(self, passages: Sequence[Passage], found: list[list[SpanScore]]) -> list[Span]:
        spans = []
        for passage, candidates in zip(passages, found, strict=True):
            sentences = sentence_spans(passage.text)
            for candidate in candidates:
                start, end = _trim(passage.text, candidate.start, candidate.end)
                if end <= start:
                    continue
                sentence = next(((a, b) for a, b in sentences if a <= start < b), (0, len(passage.text)))
                spans.append(
                    Span(
                        passage,
                        start,
                        end,
                        sentence[0],
                        max(sentence[1], end),
                        candidate.score,
                        candidate.null_score,
                    )
                )
        spans.sort(key=lambda s: -s.score)
        return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop whitespace and trailing punctuation a token boundary may carry."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return start, end
