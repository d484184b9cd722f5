"""A transformer span-extraction model: question + context → best answer span.

Used by the neural reader at query time and by training for its dev scores.
Long contexts are read in overlapping windows (``stride`` tokens shared), and
the best span of any window wins; spans are returned as character offsets into
the context, so answers are always exact substrings.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from qa.runtime import INPUTS
from qa.timing import stage


@dataclass(frozen=True)
class SpanScore:
    start: int  # character offsets into the context
    end: int
    score: float  # start logit + end logit
    null_score: float  # the [CLS] ("no answer") score of the window the span came from


class SpanModel:
    def __init__(
        self,
        model_or_path,
        tokenizer=None,
        max_length: int = 256,
        stride: int = 96,
        max_answer_tokens: int = 30,
        batch_size: int = 32,
        session=None,
    ):
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        if isinstance(model_or_path, str | Path):
            tokenizer = AutoTokenizer.from_pretrained(str(model_or_path))
            if session is None:
                model_or_path = AutoModelForQuestionAnswering.from_pretrained(str(model_or_path), dtype=torch.float32)
        # An ONNX Runtime session (qa/runtime.py) runs the forward pass when given; else the PyTorch model.
        self.session = session
        self.model = None if session is not None else model_or_path
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self.batch_size = batch_size
        # Every window repeats the question, so a long one is cut to leave room
        # for the passage (and the tokenizer needs stride < room for the passage).
        self.max_question_tokens = (max_length - stride) // 2

    def best_spans(self, questions: Sequence[str], contexts: Sequence[str]) -> list[SpanScore]:
        """The best span for each (question, context) pair."""
        return [spans[0] for spans in self.top_spans(questions, contexts, 1)]

    def top_spans(self, questions: Sequence[str], contexts: Sequence[str], n: int = 5) -> list[list[SpanScore]]:
        """The ``n`` best distinct spans for each (question, context) pair, best
        first. Scores are raw logit sums, comparable across pairs and windows:
        nothing is normalised per passage."""
        with stage("reader: tokenising"):
            encoded = self._encode(questions, contexts)
        pair_of_window = encoded["overflow_to_sample_mapping"]
        found: list[dict[tuple[int, int], SpanScore]] = [{} for _ in questions]
        was_training = self.model is not None and self.model.training
        if self.model is not None:
            self.model.eval()
        with torch.inference_mode():
            for windows in self._batches([len(ids) for ids in encoded["input_ids"]]):
                batch = self.tokenizer.pad(
                    {k: [encoded[k][w] for w in windows] for k in INPUTS},
                    return_tensors="np",
                )
                with stage("reader: forward pass"):
                    start_logits, end_logits = self._logits(batch)
                with stage("reader: best spans"):
                    self._collect(encoded, windows, start_logits, end_logits, n, found, pair_of_window)
        if was_training:
            self.model.train()
        return [sorted(spans.values(), key=lambda c: -c.score)[:n] for spans in found]

    def _encode(self, questions: Sequence[str], contexts: Sequence[str]):
        bounded = {q: self._bounded(q) for q in set(questions)}
        return self.tokenizer(
            [bounded[q] for q in questions],
            list(contexts),
            truncation="only_second",
            max_length=self.max_length,
            stride=self.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )

    def _collect(self, encoded, windows, start_logits, end_logits, n, found, pair_of_window) -> None:
        """Adds each window's ``n`` best spans to its pair's candidates, as character offsets."""
        # A span starts and ends on a whole word of the context: "Soc" or "Pomp"
        # is never an answer, and such pieces would take the places of real candidates.
        context = np.zeros(start_logits.shape, dtype=bool)
        words = np.full(start_logits.shape, -1)
        for row, w in enumerate(windows):
            sequence, word_ids = encoded.sequence_ids(w), encoded.word_ids(w)
            context[row, : len(sequence)] = [sid == 1 for sid in sequence]
            words[row, : len(word_ids)] = [-1 if word is None else word for word in word_ids]
        # Token t goes on the word of token t - 1 (a "##" piece): neither an end before it nor a start on it.
        goes_on = np.zeros_like(context)
        goes_on[:, 1:] = (words[:, 1:] == words[:, :-1]) & context[:, 1:] & context[:, :-1]
        can_end = context.copy()
        can_end[:, :-1] &= ~goes_on[:, 1:]
        can_start, can_end = torch.from_numpy(context & ~goes_on), torch.from_numpy(can_end)
        length = can_start.shape[1]
        for row, (best, where, null) in enumerate(self._best(start_logits, end_logits, can_start, can_end, n)):
            w = windows[row]
            offsets = encoded["offset_mapping"][w]
            spans = found[pair_of_window[w]]
            for score, flat in zip(best, where, strict=True):
                s, e = divmod(flat, length)
                candidate = SpanScore(offsets[s][0], offsets[e][1], score, null)
                # Windows overlap, so one span can come from two of them: keep its best reading.
                key = (candidate.start, candidate.end)
                if key not in spans or candidate.score > spans[key].score:
                    spans[key] = candidate

    def _logits(self, batch: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Start and end logits of a padded batch of windows, as float32 on the CPU."""
        if self.session is not None:
            start, end = self.session.run(None, {k: batch[k].astype(np.int64) for k in INPUTS})
            return torch.from_numpy(start), torch.from_numpy(end)
        out = self.model(**{k: torch.from_numpy(batch[k]).to(self.model.device) for k in INPUTS})
        return out.start_logits.float().cpu(), out.end_logits.float().cpu()

    def _bounded(self, question: str) -> str:
        """The question, or its last ``max_question_tokens`` tokens (a long
        question usually ends with what it asks)."""
        encoded = self.tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoded["offset_mapping"]
        if len(offsets) <= self.max_question_tokens:
            return question
        return question[offsets[-self.max_question_tokens][0] :]

    def _batches(self, lengths: list[int]) -> list[list[int]]:
        """Windows grouped by length, so a short paragraph is not padded to the
        longest one: sorted, cut where a window is over 1.25 times as long as
        the batch's first, and at ``batch_size``."""
        batches: list[list[int]] = []
        for w in sorted(range(len(lengths)), key=lambda w: lengths[w]):
            if batches and len(batches[-1]) < self.batch_size and lengths[w] <= 1.25 * lengths[batches[-1][0]]:
                batches[-1].append(w)
            else:
                batches.append([w])
        return batches

    def _best(self, start_logits, end_logits, can_start, can_end, n: int):
        """For each window: its best span scores, their flat (start, end)
        positions, and its "no answer" score."""
        null = (start_logits[:, 0] + end_logits[:, 0]).tolist()
        masked = torch.finfo(torch.float32).min / 4
        start_logits = start_logits.masked_fill(~can_start, masked)
        end_logits = end_logits.masked_fill(~can_end, masked)
        scores = start_logits[:, :, None] + end_logits[:, None, :]
        scores = scores + _band(scores.shape[1], self.max_answer_tokens)
        best, where = scores.flatten(1).topk(min(n, scores.shape[1] ** 2), dim=1)
        for row in range(len(null)):
            valid = [(b, f) for b, f in zip(best[row].tolist(), where[row].tolist(), strict=True) if b > masked / 2]
            yield [b for b, _ in valid], [f for _, f in valid], null[row]


@functools.lru_cache(maxsize=64)
def _band(length: int, width: int) -> torch.Tensor:
    """0 where end >= start and end - start < width, a large negative elsewhere."""
    i = torch.arange(length)
    allowed = (i[None, :] >= i[:, None]) & (i[None, :] - i[:, None] < width)
    return torch.where(allowed, 0.0, torch.finfo(torch.float32).min / 4)
