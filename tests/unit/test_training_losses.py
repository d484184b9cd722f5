"""The reader training's pure parts: the shared-norm loss and batches that keep
a question's windows together (small tensors, no model)."""

from __future__ import annotations

import math

import pytest
import torch

from training.reader import question_batches, shared_norm_loss


def test_shared_norm_loss_compares_spans_across_a_questions_windows():
    # Two windows of one question, four tokens each; token 0 is [CLS], tokens 1-3 are context.
    in_context = torch.tensor([[False, True, True, True]] * 2)
    batch = {
        "question": torch.tensor([0, 0]),
        "in_context": in_context,
        "start_positions": torch.tensor([2, 0]),  # the answer starts at token 2 of the first window
        "end_positions": torch.tensor([3, 0]),
    }
    flat = torch.zeros(2, 4)
    assert shared_norm_loss(flat, flat, batch).item() == pytest.approx(math.log(6))  # 6 context tokens in all
    starts, ends = torch.full((2, 4), -20.0), torch.full((2, 4), -20.0)
    starts[0, 2] = ends[0, 3] = 20.0
    assert shared_norm_loss(starts, ends, batch).item() < 1e-6
    starts[1, 1] = 20.0  # an equally strong start in the distractor window halves the gold start's share
    assert shared_norm_loss(starts, ends, batch).item() == pytest.approx(math.log(2) / 2, abs=1e-4)


def test_question_batches_keep_each_questions_windows_together():
    question_of_window = torch.tensor([0, 0, 1, 2, 2, 2, 3])
    batches = question_batches(question_of_window, batch_size=4, seed=13)
    assert sorted(torch.cat(batches).tolist()) == list(range(7))
    for batch in batches:
        questions = set(question_of_window[batch].tolist())
        assert all(set(question_of_window.eq(q).nonzero().flatten().tolist()) <= set(batch.tolist()) for q in questions)
