"""Evidence aggregation, answer kinds and the calibrated scorer: pure logic, no model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qa.answers.calibration import (
    FEATURES,
    SHIPPED_CALIBRATOR,
    UNFITTED_LEAD_CAP,
    Calibrator,
    answer_features,
    rank_answers,
)
from qa.answers.evidence import aggregate, distinct_locations, same_answer
from qa.corpus.copies import syndication_families
from qa.reading.kinds import load_question_types, span_kind
from qa.types import Location, Passage, Span


def _passage(source: str, text: str, score: float = 0.9, paragraph: int = 1, also_in=()) -> Passage:
    return Passage(source, paragraph, 0, len(text), text, score, tuple(also_in))


def _span(passage: Passage, answer: str, score: float, null: float = 0.0) -> Span:
    start = passage.text.index(answer)
    return Span(passage, start, start + len(answer), 0, len(passage.text), score, null)


def _words(texts: list[str]) -> list[list[str]]:
    return [t.lower().replace("?", "").replace(".", "").split() for t in texts]


@pytest.mark.parametrize(
    ("shorter", "longer", "same"),
    [
        ("Sochi", "the Black Sea resort of Sochi", True),
        ("Lavrov", "Sergey Lavrov", True),
        ("Sergei Lavrov", "Sergey Lavrov", True),
        ("Osaka", "Osaka, Japan", True),
        ("May 28", "until May 28", True),
        ("in Osaka", "Osaka, Japan", True),
        ("Joint Comprehensive Plan of Action", "Joint Comprehensive Plan of Action (JCPOA)", True),
        ("Moscow", "a Moscow jail", False),
        ("the US", "the US secretary of state", False),
        ("Iran", "Iraq", False),
    ],
)
def test_which_mentions_are_the_same_answer(shorter: str, longer: str, same: bool):
    p = _passage("a.txt", f"{shorter} | {longer}")
    assert same_answer(_span(p, shorter, 1.0), _span(p, longer, 1.0)) is same


def test_evidence_is_pooled_across_passages_and_counted_by_article():
    sochi = [_passage(f"{i}.txt", f"Talks were held in Sochi, report {i} said.", 0.8) for i in range(3)]
    venezuela = _passage("v.txt", "Pompeo and Putin are expected to discuss unrest in Venezuela.", 0.9)
    spans = [_span(p, "Sochi", 6.0, -2.0) for p in sochi] + [_span(venezuela, "Venezuela", 9.0, -4.0)]
    answers = aggregate(spans, [venezuela, *sochi])
    by_text = {a.text: a for a in answers}
    assert by_text["Sochi"].pooled == pytest.approx(8.0 + math.log(3))  # margins 8 in three passages
    assert len(by_text["Sochi"].articles) == by_text["Sochi"].mentioned_in == 3
    assert by_text["Venezuela"].pooled == 13.0 and len(by_text["Venezuela"].articles) == 1
    assert by_text["Sochi"].retrieval == 0.8 and by_text["Venezuela"].retrieval == 0.9
    assert by_text["Sochi"].rank == 1 and by_text["Venezuela"].rank == 0


def test_mentions_in_passages_the_reader_did_not_rank_count_as_articles():
    read = _passage("a.txt", "The talks were in Sochi on Tuesday.")
    unread = [_passage("b.txt", "Sochi is a resort city."), _passage("c.txt", "Nothing about it here, Sochiville.")]
    [sochi, *_] = aggregate([_span(read, "Sochi", 5.0)], [read, *unread])
    assert sochi.articles == ("a.txt",) and sochi.mentioned_in == 2


def test_syndicated_copies_count_once():
    original = _passage("002.txt", "Pompeo arrived in Sochi on Tuesday.", also_in=[Location("000.txt", 4, 0, 10)])
    copy_elsewhere = _passage("000.txt", "Talks in Sochi began in the evening.", paragraph=9)
    independent = _passage("001.txt", "He travels to Sochi for talks.")
    spans = [_span(p, "Sochi", 5.0) for p in (original, copy_elsewhere, independent)]
    families = syndication_families(["002.txt", "000.txt", "001.txt"], [3, 3, 8])
    assert families == {"000.txt": "000.txt", "002.txt": "000.txt", "001.txt": "001.txt"}
    # Sources joined through a chain of groups are one family, named by the first in name order.
    chain = syndication_families(["c", "b", "b", "a", "d", "e"], [0, 0, 2, 2, 4, 5])
    assert chain == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "e"}
    [sochi] = aggregate(spans, [original, copy_elsewhere, independent], lambda s: families.get(s, s))
    assert len(sochi.mentions) == 3  # three passages of evidence ...
    assert len(sochi.articles) == 2 and sochi.mentioned_in == 2  # ... from two independent articles
    assert [s.passage.source for s in sochi.support(lambda s: families.get(s, s))] == ["002.txt", "001.txt"]


def test_the_same_answer_in_one_passage_counts_once():
    p = _passage("a.txt", "The resort of Sochi, where talks were held in Sochi.")
    spans = [_span(p, "Sochi", 4.0), _span(p, "resort of Sochi", 3.0), _span(p, "in Sochi", 2.0)]
    [answer] = aggregate(spans, [p])
    assert len(answer.mentions) == 1 and answer.pooled == 4.0 and answer.text == "Sochi"


def test_boundary_variants_of_one_location_are_one_candidate():
    p = _passage("a.txt", "Lavrov blamed the US for provoking the crisis, and later Iran.")
    q = _passage("b.txt", "Lavrov blamed the US for provoking the crisis.")
    spans = [
        _span(p, "the US for provoking the crisis", 5.0),
        _span(p, "the US", 6.0),  # overlaps the clause, with a larger margin: it stands for both
        _span(p, "Iran", 1.0),  # elsewhere in the passage: a candidate of its own
        _span(q, "the US for provoking the crisis", 5.0),  # another passage: kept
    ]
    kept = distinct_locations(spans)
    assert [(s.passage.source, s.answer) for s in kept] == [
        ("a.txt", "the US"),
        ("b.txt", "the US for provoking the crisis"),
        ("a.txt", "Iran"),
    ]
    # The clause is no longer the runner-up of its own answer.
    assert [a.text for a in aggregate(spans, [p, q])] == ["the US", "the US for provoking the crisis", "Iran"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Sochi", "city"),
        ("Osaka, Japan", "city"),
        ("Finland", "country"),
        ("the US", "country"),
        ("Sergey Lavrov", "name"),
        ("The Guardian", "organisation"),
        ("May 28", "date"),
        ("an hour", "number"),
        ("espionage", "phrase"),
        ("the timing of the visit a coincidence", "clause"),
        ("Iranian Foreign Minister", "phrase"),
    ],
)
def test_span_kinds(text: str, kind: str):
    assert span_kind(text) == kind


def test_questions_are_typed_by_the_shipped_model():
    types = load_question_types()
    assert max(types.probabilities("In which city did they meet?").items(), key=lambda kv: kv[1])[0] == "city"
    assert types.fit("Who is the Kremlin spokesman?", "Dmitry Peskov") > 5 * types.fit(
        "Who is the Kremlin spokesman?", "the timing of the visit a coincidence"
    )
    assert types.fit("Which city will host the summit?", "Finland") < 0.05


def _ranked(question: str, spans: list[Span], passages: list[Passage]) -> list[tuple[str, float]]:
    """(answer, probability) best first, with the shipped ranker, kinds and calibrator."""
    calibrator, types = Calibrator.load(), load_question_types()
    ranked = rank_answers(question, aggregate(spans, passages), types, calibrator.rank_weights)
    x = answer_features(question, ranked, types, {"citi": 1.0, "talk": 2.0}, _words)
    return [(e.text, float(p)) for (_, e), p in zip(ranked, calibrator.probabilities(x), strict=True)]


def test_three_articles_saying_sochi_beat_one_saying_venezuela_with_a_larger_margin():
    sochi = [_passage(f"{i}.txt", f"Pompeo held talks with Putin in Sochi, article {i} says.") for i in range(3)]
    venezuela = _passage("v.txt", "Pompeo and Putin held talks about the unrest in Venezuela.")
    spans = [_span(p, "Sochi", 5.0, -2.0) for p in sochi] + [_span(venezuela, "Venezuela", 5.0, -3.0)]
    for question in ("Where did Pompeo and Putin hold talks?", "In which city did Pompeo and Putin hold talks?"):
        assert _ranked(question, spans, [venezuela, *sochi])[0][0] == "Sochi"
    # The kind asked for widens the gap: Venezuela is a country, not a city.
    assert (
        _ranked("Where did they hold talks?", spans, [venezuela, *sochi])[1][1]
        > _ranked("In which city did they hold talks?", spans, [venezuela, *sochi])[1][1]
    )


def test_a_clause_does_not_answer_who_over_a_name_with_like_evidence():
    p = _passage("a.txt", "Dmitry Peskov said he considered the timing of the visit a coincidence.")
    spans = [_span(p, "the timing of the visit a coincidence", 9.0, -1.0), _span(p, "Dmitry Peskov", 8.5, -1.0)]
    assert _ranked("Who is the Kremlin spokesman?", spans, [p])[0][0] == "Dmitry Peskov"


def test_the_shipped_calibrator_loads_and_gives_probabilities():
    calibrator = Calibrator.load()
    assert calibrator.features == FEATURES
    assert 0.0 < calibrator.threshold < 1.0
    assert calibrator.about["fitted_on"] and "seed_dev" not in calibrator.about["fitted_on"].replace("not seed_dev", "")
    rng = np.random.default_rng(0)
    p = calibrator.probabilities(rng.normal(0, 50, size=(200, len(FEATURES))))
    assert p.shape == (200,) and ((p >= 0) & (p <= 1)).all()
    assert calibrator.probabilities(np.zeros((0, len(FEATURES)))).shape == (0,)


def test_the_lead_counts_up_to_the_calibrators_cap(tmp_path):
    p = _passage("a.txt", "Talks were held in Sochi, and later in Osaka.")
    weak = _passage("b.txt", "Nothing here but Brussels.", score=0.1)
    spans = [_span(p, "Sochi", 9.0), _span(weak, "Brussels", 1.0)]
    calibrator, types = Calibrator.load(), load_question_types()
    ranked = rank_answers("Where were the talks held?", aggregate(spans, [p, weak]), types, calibrator.rank_weights)
    lead = FEATURES.index("lead")
    capped = answer_features("Where were the talks?", ranked, types, {"talk": 1.0}, _words, lead_cap=2.0)
    assert capped[0, lead] == 2.0 and capped[1, lead] == -2.0  # far ahead, far behind: both count as the cap
    alone = answer_features("Where were the talks?", ranked[:1], types, {"talk": 1.0}, _words, lead_cap=2.0)
    assert alone[0, lead] == 2.0  # a lone answer leads by the cap
    # A calibrator file from before the cap was fitted reads as the cap it was fitted with.
    data = json.loads(SHIPPED_CALIBRATOR.read_text("utf-8"))
    assert data["lead_cap"] == calibrator.lead_cap
    del data["lead_cap"]
    (tmp_path / "old.json").write_text(json.dumps(data), "utf-8")
    assert Calibrator.load(tmp_path / "old.json").lead_cap == UNFITTED_LEAD_CAP == 10.0
