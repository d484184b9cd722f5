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

import torch


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
    ):
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        if isinstance(model_or_path, str | Path):
            tokenizer = AutoTokenizer.from_pretrained(str(model_or_path))
            model_or_path = AutoModelForQuestionAnswering.from_pretrained(str(model_or_path), dtype=torch.float32)
        self.model = model_or_path
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self.batch_size = batch_size

    def best_spans(self, questions: Sequence[str], contexts: Sequence[str]) -> list[SpanScore]:
        """The best span for each (question, context) pair."""
        encoded = self.tokenizer(
            list(questions),
            list(contexts),
            truncation="only_second",
            max_length=self.max_length,
            stride=self.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="longest",
            return_tensors="pt",
        )
        pair_of_window = encoded.pop("overflow_to_sample_mapping").tolist()
        offsets = encoded.pop("offset_mapping")
        in_context = torch.tensor(
            [[sid == 1 for sid in encoded.sequence_ids(i)] for i in range(len(pair_of_window))], dtype=torch.bool
        )
        was_training = self.model.training
        self.model.eval()
        starts, ends = [], []
        with torch.inference_mode():
            for i in range(0, len(pair_of_window), self.batch_size):
                batch = {k: v[i : i + self.batch_size].to(self.model.device) for k, v in encoded.items()}
                out = self.model(**batch)
                starts.append(out.start_logits.float().cpu())
                ends.append(out.end_logits.float().cpu())
        if was_training:
            self.model.train()
        start_logits, end_logits = torch.cat(starts), torch.cat(ends)
        null = start_logits[:, 0] + end_logits[:, 0]
        masked = torch.finfo(torch.float32).min / 4
        start_logits = start_logits.masked_fill(~in_context, masked)
        end_logits = end_logits.masked_fill(~in_context, masked)
        scores = start_logits[:, :, None] + end_logits[:, None, :]
        scores = scores + _band(scores.shape[1], self.max_answer_tokens).to(scores.device)
        best = scores.flatten(1).argmax(dim=1)
        length = scores.shape[1]

        results: list[SpanScore | None] = [None] * len(questions)
        for window, pair in enumerate(pair_of_window):
            s, e = divmod(int(best[window]), length)
            candidate = SpanScore(
                start=int(offsets[window, s, 0]),
                end=int(offsets[window, e, 1]),
                score=float(scores[window, s, e]),
                null_score=float(null[window]),
            )
            current = results[pair]
            if current is None or candidate.score > current.score:
                results[pair] = candidate
        return results  # type: ignore[return-value]


@functools.lru_cache(maxsize=4)
def _band(length: int, width: int) -> torch.Tensor:
    """0 where end >= start and end - start < width, a large negative elsewhere."""
    i = torch.arange(length)
    allowed = (i[None, :] >= i[:, None]) & (i[None, :] - i[:, None] < width)
    return torch.where(allowed, 0.0, torch.finfo(torch.float32).min / 4)
