"""Independent articles as independent evidence: the combination rule, the
split of an answer's evidence by article, and where the second reading looks.
Pure logic, no model."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.answers.calibration import Rule, combine
from qa.answers.evidence import aggregate, unread_mentions
from qa.types import Passage, Span


def _passage(source: str, text: str, score: float = 0.9, paragraph: int = 1) -> Passage:
    return Passage(source, paragraph, 0, len(text), text, score)


def _span(passage: Passage, answer: str, score: float, null: float = 0.0) -> Span:
    start = passage.text.index(answer)
    return Span(passage, start, start + len(answer), 0, len(passage.text), score, null)


@pytest.mark.parametrize("rule", list(Rule))
def test_one_article_is_its_own_probability(rule: Rule):
    assert combine([0.37], rule, 0.3) == pytest.approx(0.37)
    assert combine([], rule, 0.3) == 0.0


def test_noisy_or_is_right_unless_every_article_is_wrong():
    assert combine([0.5, 0.5], Rule.NOISY_OR, 0.2) == pytest.approx(0.75)
    assert combine([0.6, 0.5, 0.4], Rule.NOISY_OR, 0.2) == pytest.approx(1 - 0.4 * 0.5 * 0.6)


def test_log_odds_add_each_further_articles_excess_over_the_base_rate():
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    expected = 1 / (1 + math.exp(-(logit(0.6) + logit(0.5) - logit(0.2))))
    assert combine([0.5, 0.6], Rule.LOG_ODDS, 0.2) == pytest.approx(expected)


@pytest.mark.parametrize("rule", list(Rule))
def test_readings_at_or_below_the_base_rate_add_nothing(rule: Rule):
    """An article that names the answer in another role is no evidence for it,
    however many such articles there are."""
    assert combine([0.55, 0.01, 0.02, 0.2, 0.1], rule, 0.2) == pytest.approx(0.55)


@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6),
    st.floats(0.0, 1.0),
    st.floats(0.01, 0.9),
    st.sampled_from(list(Rule)),
)
def test_more_agreement_never_lowers_the_probability_and_order_does_not_matter(ps, extra, base, rule):
    p = combine(ps, rule, base)
    assert 0.0 <= p <= 1.0
    assert p >= max(ps) - 1e-6
    assert combine([*ps, extra], rule, base) >= p - 1e-9
    assert combine(list(reversed(ps)), rule, base) == pytest.approx(p)


def test_evidence_splits_by_independent_article():
    a1 = _passage("a.txt", "Talks were held in Sochi on Tuesday.", 0.9, 1)
    a2 = _passage("a.txt", "In Sochi, Putin met Pompeo.", 0.5, 2)
    copy = _passage("a-copy.txt", "Talks were held in Sochi on Tuesday.", 0.8)
    b = _passage("b.txt", "The Sochi talks lasted hours.", 0.7)
    spans = [_span(a1, "Sochi", 3.0), _span(a2, "Sochi", 1.0), _span(copy, "Sochi", 2.0), _span(b, "Sochi", -4.0)]
    family = {"a-copy.txt": "a.txt"}
    [sochi] = aggregate(spans, [a1, copy, b, a2], lambda s: family.get(s, s))
    assert sochi.ranks == (0, 1, 3, 2)
    parts = sochi.by_article(lambda s: family.get(s, s))
    assert [p.articles for p in parts] == [("a.txt",), ("b.txt",)]
    assert [len(p.mentions) for p in parts] == [3, 1]
    assert parts[0].pooled == pytest.approx(3 + math.log(1 + math.exp(-1) + math.exp(-2)))
    assert (parts[0].rank, parts[1].rank) == (0, 2)
    assert parts[1].pooled == parts[1].best.margin == -4.0
    assert all(p.mentioned_in == 1 for p in parts)


def test_the_second_reading_looks_in_articles_that_name_a_leading_answer_but_did_not_give_it():
    read = _passage("a.txt", "Pompeo met Putin in Sochi.")
    copy = _passage("a-copy.txt", "Pompeo met Putin in SOCHI.")
    other = _passage("b.txt", "The Black Sea resort of sochi hosted the talks; Sochi again.")
    unrelated = _passage("c.txt", "Sochifest is a film festival.")
    later = [_passage(f"d{i}.txt", f"Reporters waited in Sochi, report {i} said.") for i in range(4)]
    passages = [read, copy, other, unrelated, *later]
    family = {"a-copy.txt": "a.txt"}
    [sochi] = aggregate([_span(read, "Sochi", 2.0)], passages, lambda s: family.get(s, s))
    targets = unread_mentions([sochi], passages, lambda s: family.get(s, s), per_answer=3)
    # Not the article that gave it, nor its copy, nor "Sochifest"; the first mention in each
    # other article, case aside, up to three articles.
    assert [(p.source, p.text[a:b]) for p, a, b in targets] == [
        ("b.txt", "sochi"),
        ("d0.txt", "Sochi"),
        ("d1.txt", "Sochi"),
    ]
    assert unread_mentions([sochi], passages, lambda s: family.get(s, s), per_answer=0) == []
