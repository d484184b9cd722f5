"""Answer boundaries (qa/answers/boundaries.py): pure logic over the shipped answer-kind model."""

from __future__ import annotations

import pytest

from qa.answers.boundaries import phrase_end, trim
from qa.reading.kinds import load_question_types
from qa.types import Passage, Span


@pytest.mark.parametrize(
    ("question", "span", "answer"),
    [
        # An apposition after a name: the name answers.
        (
            "Which arms control agreement is about to expire?",
            "New Start, one of the last remaining arms control agreements between Russia and the US",
            "New Start",
        ),
        ("Who is Russia's foreign minister?", "Sergei Lavrov, who met Pompeo in Sochi", "Sergei Lavrov"),
        ("Who is Russia's foreign minister?", "Sergei Lavrov who met Pompeo", "Sergei Lavrov"),
        ("Who is the Kremlin's spokesman?", "Dmitry Peskov – the Kremlin spokesman – said", "Dmitry Peskov"),
        ("How much did the deal cost?", "$5 million, the largest ever paid", "$5 million"),
        # The same kind either way: the span stays whole.
        ("In which city did Pompeo hold talks?", "Osaka, Japan", "Osaka, Japan"),
        ("When was the report published?", "10 May, 2019 12:08", "10 May, 2019 12:08"),
        # A short capitalised run after a comma qualifies a place or a name.
        ("Where was Wardenclyffe located?", "Shoreham, Long Island", "Shoreham, Long Island"),
        # A title's colon is not a cut; nor is a comma in the next sentence.
        ("What trailer appeared?", "Ninja Turtles: Out of the Shadows", "Ninja Turtles: Out of the Shadows"),
        (
            "What game did he play in?",
            "NFC Championship Game. Despite this, he played",
            "NFC Championship Game. Despite this, he played",
        ),
        # A list goes on after its commas.
        (
            "Who else did Tesla meet in 1886?",
            "Alfred S. Brown, a Western Union superintendent, and New York attorney Charles F. Peck",
            "Alfred S. Brown, a Western Union superintendent, and New York attorney Charles F. Peck",
        ),
        (
            "Which machines?",
            "deterministic machines, probabilistic machines, quantum machines",
            "deterministic machines, probabilistic machines, quantum machines",
        ),
        (
            "Which countries' tankers were sabotaged?",
            "Emirati, Norwegian and Saudi tankers",
            "Emirati, Norwegian and Saudi tankers",
        ),
        ("Which cities?", "Paris, Rome, or Oslo", "Paris, Rome, or Oslo"),
        # A relative pronoun after a common noun is not cut; a clause the question asks for is kept.
        ("What did they discuss?", "the treaty which expires", "the treaty which expires"),
        (
            "Why did the US withdraw?",
            "because Russia violated the treaty, which it denies",
            "because Russia violated the treaty, which it denies",
        ),
        # A bracket is never cut open.
        (
            "What is the official name of the deal?",
            "Joint Comprehensive Plan of Action (JCPOA)",
            "Joint Comprehensive Plan of Action (JCPOA)",
        ),
    ],
)
def test_an_answer_ends_where_its_phrase_ends(question: str, span: str, answer: str) -> None:
    kinds = load_question_types().probabilities(question)
    assert span[: phrase_end(kinds, span)] == answer


def test_a_trimmed_span_keeps_its_place_and_score() -> None:
    text = "Moscow is to quit New Start, one of the last remaining arms control agreements, next year."
    passage = Passage("a.txt", 1, 100, 100 + len(text), text, 0.8)
    start = text.index("New Start")
    end = text.index(", next year")
    span = Span(passage, start, end, 0, len(text), 7.5, 1.0)
    (trimmed,) = trim("Which arms control agreement will Moscow quit?", [span], load_question_types())
    assert trimmed.answer == "New Start"
    assert (trimmed.answer_start, trimmed.score, trimmed.null_score, trimmed.passage) == (start, 7.5, 1.0, passage)
    assert passage.text[trimmed.answer_start : trimmed.answer_end] == trimmed.answer
