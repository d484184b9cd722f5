"""The evaluation metrics, against cases computed by hand (the evaluation of a
real pipeline is in tests/integration/test_evaluation.py)."""

from __future__ import annotations

import pytest
from helpers import SEED_DEV

from qa.answers.evidence import normalize_answer
from qa.evaluation.evaluate import load_jsonl
from qa.evaluation.metrics import exact_match, token_f1
from qa.evaluation.squad import GoldReading, SquadQuestion


def test_normalisation_follows_squad():
    assert normalize_answer("The  U.S. Navy's  fleet!") == "us navys fleet"
    assert normalize_answer("An apple, a pear") == "apple pear"


@pytest.mark.parametrize(
    ("prediction", "gold", "em", "f1"),
    [
        ("Sochi", ["Sochi"], 1.0, 1.0),
        ("in Sochi", ["Sochi"], 0.0, 2 * (1 / 2 * 1) / (1 / 2 + 1)),  # precision 1/2, recall 1: F1 2/3
        ("the Black Sea resort of Sochi", ["Sochi", "Black Sea resort"], 0.0, 2 * (3 / 5) * 1 / (3 / 5 + 1)),
        ("Lavrov", ["Sergei Lavrov", "Lavrov"], 1.0, 1.0),
        ("Moscow", ["Sochi"], 0.0, 0.0),
        ("", ["Sochi"], 0.0, 0.0),
        ("", [""], 1.0, 1.0),  # an abstention where none is answerable
    ],
)
def test_exact_match_and_f1(prediction, gold, em, f1):
    assert exact_match(prediction, gold) == em
    assert token_f1(prediction, gold) == pytest.approx(f1)


def test_seed_dev_loads_in_the_project_format():
    questions = load_jsonl(SEED_DEV)
    assert len(questions) == 53
    assert sum(q.answerable for q in questions) == 46
    follow_up = next(q for q in questions if q.id == "dev-fu1")
    assert follow_up.history[1]["content"] == "Michael Calvey"


def test_a_null_margin_turns_weak_spans_into_abstentions_on_squad_2():
    context = "The Eiffel Tower is in Paris. It opened in 1889."
    answerable = SquadQuestion("q1", "Where is the tower?", context, ("Paris",), (23,), 0, 0)
    impossible = SquadQuestion("q2", "Who painted it?", context, (), (), 0, 0)
    reading = GoldReading([answerable, impossible], {"q1": "Paris", "q2": "1889"}, {"q1": 3.0, "q2": 0.5})

    always_answers = reading.scores(None)
    assert always_answers.exact_match == 50.0 and always_answers.no_answer_accuracy == 0.0

    abstains_below_1 = reading.scores(1.0)
    assert abstains_below_1.predictions == {"q1": "Paris", "q2": ""}
    assert abstains_below_1.exact_match == 100.0 and abstains_below_1.no_answer_accuracy == 100.0
    assert abstains_below_1.has_answer_f1 == 100.0

    too_strict = reading.scores(5.0)  # abstains on everything: right on q2 only
    assert too_strict.exact_match == 50.0 and too_strict.has_answer_f1 == 0.0
