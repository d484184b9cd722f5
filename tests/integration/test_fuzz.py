"""Whatever a client sends, the pipeline answers with exact provenance or
refuses with a QuestionError that says why: never another exception, never
a hang (hypothesis generates the input)."""

from __future__ import annotations

from helpers import check_passages, check_provenance
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa import QAPipeline, QuestionError

# Any text, lone surrogates included, long enough to cross the reader's window and the 2,000-character limit.
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=2_300) | st.sampled_from(
    ["Who founded Baring Vostok?", "Where did Pompeo and Putin meet?", "When?"]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
TURN = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": TEXT}) | JSON
HISTORY = st.none() | st.lists(TURN, max_size=4) | JSON


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=TEXT, history=HISTORY)
def test_any_question_and_history_get_an_answer_or_a_clear_refusal(bot: QAPipeline, question, history):
    try:
        answer = bot.ask(question, history)
    except QuestionError as err:
        assert str(err).strip()
        return
    check_provenance(answer)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=TEXT, k=st.integers(-5, 60) | st.floats(allow_nan=True) | st.text(max_size=3) | st.none())
def test_any_search_gets_passages_or_a_clear_refusal(bot: QAPipeline, query, k):
    try:
        passages = bot.search(query, k)
    except QuestionError as err:
        assert str(err).strip()
        return
    # At most k: the corpus may hold fewer distinct passages (syndicated copies count once) among the candidates.
    assert 1 <= len(passages) <= (5 if k is None else k)
    check_passages(passages)
