"""Follow-up questions made standalone: pure logic, no model."""

from __future__ import annotations

import pytest

from qa.answers.conversation import standalone_question
from qa.types import Message


def _after(question: str, answer: str) -> list[Message]:
    return [Message("user", question), Message("assistant", answer)]


@pytest.mark.parametrize(
    ("earlier", "answer", "follow_up", "standalone"),
    [
        ("Who founded Baring Vostok?", "Michael Calvey", "When was he detained?", "When was Michael Calvey detained?"),
        ("What was Paul Whelan accused of?", "espionage", "What does he deny?", "What does Paul Whelan deny?"),
        ("Where will the G20 summit be held?", "Osaka", "In which month is it?", "In which month is the G20 summit?"),
        ("When does the New Start treaty expire?", "2021", "Who signed it?", "Who signed the New Start treaty?"),
        ("When did the talks take place?", "Tuesday", "Where was it?", "Where was the talks?"),
        ("Who leads the foreign ministry?", "Lavrov", "What is its budget?", "What is the foreign ministry's budget?"),
        ("Who is Russia's foreign minister?", "Sergei Lavrov", "Is it far?", "Is it far?"),  # no "the" phrase
        ("Who is Russia's foreign minister?", "Sergei Lavrov", "Where is Sochi?", "Where is Sochi?"),
    ],
)
def test_a_pronoun_is_replaced_by_what_the_last_turn_was_about(earlier, answer, follow_up, standalone):
    assert standalone_question(follow_up, _after(earlier, answer)) == standalone


def test_a_first_question_is_left_as_it_is():
    assert standalone_question("Is it far?", []) == "Is it far?"
