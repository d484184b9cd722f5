"""Evaluating the real pipeline: retrieval recall, MRR, citation accuracy and
abstention on hand-made questions, and `qa eval` on the seed dev set (the
metrics themselves are in tests/unit/test_metrics.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import CORPUS, ROOT, SEED_DEV

from qa.evaluation.evaluate import EvalQuestion, evaluate


def test_recall_mrr_and_abstention_on_hand_made_questions(bot):
    questions = [
        # Found at rank 1 and answered exactly.
        EvalQuestion("a", "Who founded Baring Vostok?", (), ("Michael Calvey",), ("001_2ba139ad32a30a4e.txt",), True),
        # A gold source that is not in the corpus: never retrieved, never cited.
        EvalQuestion("b", "Who founded Baring Vostok?", (), ("Michael Calvey",), ("999_missing.txt",), True),
        EvalQuestion("c", "Who won the 2019 Champions League final?", (), (), (), False),
    ]
    report = evaluate(bot, questions)
    assert report.questions == 3 and report.answerable == 2
    assert report.recall == {1: 0.5, 5: 0.5, 20: 0.5}
    assert report.mrr == 0.5
    assert report.exact_match == 1.0  # both answered "Michael Calvey"
    assert report.citation_accuracy == 0.5
    assert report.abstention_accuracy == 1.0 and report.false_abstentions == 0.0
    assert report.latency_p50_ms > 0


def test_qa_eval_on_the_seed_dev_set(sample_settings, bot, tmp_path):
    out = tmp_path / "eval.json"
    run = subprocess.run(
        [sys.executable, "-m", "qa", "eval", "--data", str(SEED_DEV), "--json", str(out),
         "--corpus", str(CORPUS), "--index", str(sample_settings.index_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "retrieval recall@5" in run.stdout and "citation accuracy" in run.stdout
    report = json.loads(out.read_text())
    assert report["questions"] == 53 and report["answerable"] == 46
    # The quality bar itself is tested in test_answers.py; here, that the figures add up.
    assert 0 < report["citation_accuracy"] <= 1 - report["false_abstentions"]
    assert report["recall"]["@20"] >= report["recall"]["@5"] >= report["recall"]["@1"] >= 0.7
    assert 0 < report["abstention_accuracy"] <= 1
    assert len(report["rows"]) == 53 and {"id", "answer", "confidence"} <= set(report["rows"][0])
    assert 0 < report["exact_match"] <= report["f1"] <= 1
    assert report["settings"]["retrieval"] == "hybrid"
