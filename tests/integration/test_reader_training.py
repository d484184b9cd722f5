"""The reader's training script runs end to end on a tiny SQuAD slice, so it cannot rot
(its loss and batching alone are in tests/unit/test_training_losses.py)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

from helpers import MINI_SQUAD, ROOT
from safetensors import safe_open

from qa.evaluation.squad import evaluate_reader, load_squad
from qa.reading.span_model import SpanModel


def _train(out, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "training.reader", "--train", str(MINI_SQUAD), "--dev", str(MINI_SQUAD),
         "--out", str(out), "--max-steps", "4", "--batch-size", "4", "--max-length", "96", "--stride", "32",
         "--checkpoint-every", "2", "--negatives", "1.0", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_training_runs_checkpoints_refuses_another_recipe_resumes_and_exports(tmp_path):
    out = tmp_path / "reader"
    run = _train(out)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((out / "training.json").read_text())
    assert summary["steps"] == 4
    dev = summary["history"][-1]  # scored after each epoch; the last at step 4
    assert dev["step"] == 4 and dev["dev_questions"] == 8 and 0 <= dev["dev_f1"] <= 100
    assert "loss" in run.stderr and "dev after step 4" in run.stderr
    assert (out / "checkpoint" / "state.pt").is_file()

    with safe_open(str(out / "model.safetensors"), "pt") as weights:
        assert str(weights.get_tensor("qa_outputs.weight").dtype) == "torch.float16"
    assert (out / "tokenizer.json").is_file() and (out / "config.json").is_file()

    changed = _train(out, "--lr", "3e-5")  # a checkpoint of another recipe is not resumed
    assert changed.returncode != 0 and "made with other settings" in changed.stderr

    again = _train(out, "--device", "cpu")  # the device is not part of the recipe: it resumes
    assert again.returncode == 0 and "resumed from step 4 of 4" in again.stderr

    longer = _train(out, "--max-steps", "6")  # a finished run trains on with a longer schedule
    assert longer.returncode == 0 and "resumed from step 4 of 6" in longer.stderr
    assert "schedule extended" in longer.stderr
    summary = json.loads((out / "training.json").read_text())
    assert summary["steps"] == 6 and {"step": 4, "schedule_extended_to": 6} in summary["history"]

    # What was exported loads offline and answers with exact substrings.
    model = SpanModel(out, max_length=96, stride=32)
    questions = load_squad(MINI_SQUAD)
    scores = evaluate_reader(model, questions)
    for q in questions:
        assert scores.predictions[q.id] in q.context

    # A new stretch starts from those exported weights and reads the data order on from step 6.
    stretch = _train(tmp_path / "stretch", "--base", str(out), "--data-offset", "6")
    assert stretch.returncode == 0, stretch.stderr[-3000:]
    continued = json.loads((tmp_path / "stretch" / "training.json").read_text())
    steps_per_epoch = math.ceil(continued["windows"] / 4)
    assert continued["epochs"] == (6 + 4) / steps_per_epoch
    assert continued["continues"]["steps"] == 6 and continued["config"]["base"] == str(out)


def test_hard_negatives_from_our_retriever_and_the_shared_norm_loss_train(tmp_path):
    out = tmp_path / "reader"
    # Mined first, alone (on a CPU, say), and kept; the training run reads them back.
    mined = _train(out, "--hard-negatives", "2", "--negatives", "0", "--mine-only")
    assert mined.returncode == 0, mined.stderr[-3000:]
    assert "mined 16 hard negatives" in mined.stderr  # two answer-free paragraphs for each of the 8 questions
    assert not (out / "training.json").exists()
    kept = json.loads((out / "mining" / "hard_negatives.json").read_text())
    assert kept["per_question"] == 2 and sorted(map(len, kept["mined"].values())) == [2] * 8
    alone = _train(tmp_path / "other", "--mine-only")  # nothing to mine without a number of negatives
    assert alone.returncode != 0 and "--hard-negatives N" in alone.stderr
    run = _train(out, "--hard-negatives", "2", "--shared-norm", "1.0", "--negatives", "0")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "hard negatives read from" in run.stderr and "mined 16 hard negatives" in run.stderr
    summary = json.loads((out / "training.json").read_text())
    assert summary["config"]["hard_negatives"] == 2 and summary["config"]["shared_norm"] == 1.0
    assert summary["steps"] == 4
