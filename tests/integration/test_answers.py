"""Asking questions: verbatim answers, exact citations, honest abstention."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from helpers import CORPUS, ROOT, check_provenance, check_quality_bar, file_text

from qa import QAPipeline, QuestionError, Settings
from qa.evaluation.metrics import exact_match
from qa.reading.kinds import span_kind
from qa.serving.render import format_answer


def test_seed_dev_questions_meet_the_quality_bar(bot: QAPipeline, seed_dev: list[dict]):
    """The bar that stands today (see the README's quality section): the
    issue's targets (F1 85, citations 95%) are not met yet. The same bar on
    Milvus is in tests/system/test_milvus.py."""
    check_quality_bar(bot, seed_dev)


# Questions whose wrong answers were of the wrong kind (a country for "which
# city", a person for "which newspaper"): an answer to them must be of the kind asked.
@pytest.mark.parametrize(
    ("qid", "kind"),
    [
        ("dev-23", "city"),
        ("dev-29", "organisation"),
        pytest.param(
            "dev-31",
            "city",
            marks=pytest.mark.xfail(
                strict=True, reason="'Where is Baring Vostok based?' answers Russia, with more evidence than Moscow"
            ),
        ),
        ("dev-41", "city"),
        ("dev-42", "city"),
    ],
)
def test_answers_are_of_the_kind_asked(bot: QAPipeline, seed_dev: list[dict], qid: str, kind: str):
    q = next(q for q in seed_dev if q["id"] == qid)
    answer = bot.ask(q["question"], q["history"])
    assert not answer.answerable or exact_match(answer.answer, q["answers"]) or span_kind(answer.answer) == kind


@pytest.mark.parametrize(
    ("question", "answer", "source"),
    [
        ("Who founded Baring Vostok?", "Michael Calvey", "001_2ba139ad32a30a4e.txt"),
        ("Until what date is Paul Whelan to be kept in pre-trial detention?", "May 28", "001_2ba139ad32a30a4e.txt"),
        ("How long did Trump talk to Putin on the phone last Friday?", "an hour", "003_850cf3de63addd31.txt"),
        ("In which country did Pompeo meet Lavrov at the Arctic summit?", "Finland", "003_850cf3de63addd31.txt"),
        ("Where did Putin meet Trump in July?", "Helsinki", "004_eef2673d1aa29b10.txt"),
    ],
)
def test_short_fact_questions_get_short_answers(bot: QAPipeline, question: str, answer: str, source: str):
    result = bot.ask(question)
    assert result.answerable
    assert result.answer == answer
    assert result.citations[0].source == source
    check_provenance(result)


def test_answer_from_a_syndicated_paragraph_names_its_copy(bot: QAPipeline):
    result = bot.ask("Who is the UK foreign secretary?")
    assert result.answer == "Jeremy Hunt"
    top = result.citations[0]
    assert {top.source, *(c.source for c in top.also_in)} == {"000_7e31dd43b6b198f1.txt", "002_fab38d7c02004fe4.txt"}
    assert len({(c.source, c.paragraph) for c in result.citations}) == len(result.citations)


def test_follow_up_question_uses_the_conversation(bot: QAPipeline, eager_bot: QAPipeline):
    history = [
        {"role": "user", "content": "Who was detained in February?"},
        {"role": "assistant", "content": "Michael Calvey"},
    ]
    alone = eager_bot.ask("What charges does he face?")
    follow_up = eager_bot.ask("What charges does he face?", history)
    assert "embezzlement" in follow_up.sentence
    assert follow_up.citations[0].source == "001_2ba139ad32a30a4e.txt"
    assert "embezzlement" not in alone.sentence

    # Searching with the same history finds what the answer was read from.
    passages = bot.search("What charges does he face?", 3, history)
    assert (passages[0].source, passages[0].paragraph) == (
        follow_up.citations[0].source,
        follow_up.citations[0].paragraph,
    )


def test_follow_up_about_the_secretary_of_state(bot: QAPipeline):
    history = [
        {"role": "user", "content": "Who is the US secretary of state?"},
        {"role": "assistant", "content": "Mike Pompeo"},
    ]
    answer = bot.ask("When did he arrive in Sochi?", history)
    assert answer.answerable
    assert "Tuesday" in answer.answer
    assert "Sochi" in answer.sentence


def test_unrelated_question_is_not_answered(bot: QAPipeline):
    answer = bot.ask("What is the boiling point of mercury?")
    assert not answer.answerable and answer.answer == ""
    assert 1 <= len(answer.citations) <= 5


def test_a_declined_question_offers_its_best_answer_as_a_candidate(sample_settings):
    """Declined (a threshold no answer reaches), the best answer is still
    offered as the closest the articles come, with its probability and exact
    citations, while ``answer`` stays empty; below the floor, nothing is."""
    wary = QAPipeline(sample_settings.replace(min_confidence=0.99))
    answer = wary.ask("Who founded Baring Vostok?")
    assert not answer.answerable and answer.answer == "" and answer.sentence == ""
    assert answer.candidate.answer == "Michael Calvey"
    assert answer.candidate.confidence == answer.confidence >= sample_settings.candidate_floor
    assert answer.candidate.citations[0].source == "001_2ba139ad32a30a4e.txt"
    check_provenance(answer)
    assert answer.to_dict()["candidate"]["answer"] == "Michael Calvey"
    floor = QAPipeline(sample_settings.replace(min_confidence=0.99, candidate_floor=1.0))
    assert floor.ask("Who founded Baring Vostok?").candidate is None


def test_an_answered_or_far_off_question_has_no_candidate(bot: QAPipeline):
    assert bot.ask("Who founded Baring Vostok?").candidate is None
    far_off = bot.ask("What is the boiling point of mercury?")
    assert not far_off.answerable and far_off.confidence < bot.settings.candidate_floor
    assert far_off.candidate is None and far_off.to_dict()["candidate"] is None


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   \n ", "empty"), ("x" * 100_000, "100,000 characters")],
)
def test_bad_questions_get_a_clear_error(bot: QAPipeline, question: str, message: str):
    with pytest.raises(QuestionError, match=message):
        bot.ask(question)


def test_bad_history_gets_a_clear_error(bot: QAPipeline):
    with pytest.raises(QuestionError, match="history"):
        bot.ask("Who is Lavrov?", [{"role": "system", "content": "be brief"}])


def _cli(*args: str, index_dir) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qa", *args, "--corpus", str(CORPUS), "--index", str(index_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_ask_json_prints_the_answer_object(sample_settings, bot: QAPipeline):
    run = _cli("ask", "Who founded Baring Vostok?", "--json", index_dir=sample_settings.index_dir)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert set(answer) == {
        "question", "answer", "answerable", "confidence", "sentence", "citations", "support", "alternatives",
        "candidate",
    }  # fmt: skip
    assert answer["answer"] == "Michael Calvey" and answer["answerable"] is True
    top = answer["citations"][0]
    assert set(top) == {
        "source", "paragraph", "start", "end", "text", "answer_start", "answer_end", "score", "also_in",
        "title", "outlet", "author", "published", "page", "url",
    }  # fmt: skip
    assert file_text(top["source"])[top["start"] : top["end"]] == top["text"]
    check_provenance(answer)


def test_cli_ask_prints_answer_sentence_and_numbered_citations(sample_settings, bot: QAPipeline):
    run = _cli("ask", "Who is the UK foreign secretary?", index_dir=sample_settings.index_dir)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("Answer: Jeremy Hunt")
    assert "“Jeremy Hunt, the UK foreign secretary," in run.stdout
    assert any(line.startswith("[1] 00") and " ¶" in line and "also in" in line for line in lines)


def test_cli_sources_and_index(sample_settings, bot: QAPipeline):
    run = _cli("sources", index_dir=sample_settings.index_dir)
    assert run.returncode == 0, run.stderr
    assert "5 articles, 85 paragraphs" in run.stdout
    assert "Pompeo to Meet With Putin, Lavrov Amid Tensions" in run.stdout
    run = _cli("index", index_dir=sample_settings.index_dir)
    assert run.returncode == 0 and "Index is up to date: 5 articles, 85 paragraphs." in run.stdout


def test_cli_remove_takes_an_article_out_and_keeps_a_copy(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    removed = "003_850cf3de63addd31.txt"
    where = ["--corpus", str(corpus), "--index", str(tmp_path / "i")]
    subprocess.run([sys.executable, "-m", "qa", "index", *where], check=True, capture_output=True, timeout=600)
    run = subprocess.run(
        [sys.executable, "-m", "qa", "remove", removed, "--yes", *where], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr
    assert "1 removed" in run.stdout and "A copy of" in run.stdout
    assert not (corpus / removed).exists()
    assert [p.name.endswith(removed) for p in (tmp_path / "i" / "replaced").iterdir()] == [True]


def test_cli_reports_errors_without_a_traceback(tmp_path, sample_settings):
    empty = tmp_path / "empty"
    empty.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "qa", "index", "--corpus", str(empty), "--index", str(tmp_path / "i")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2
    assert "error: No readable articles in" in run.stderr and "Traceback" not in run.stderr
    run = _cli("ask", "   ", index_dir=sample_settings.index_dir)
    assert run.returncode == 2 and "error: Please type a question" in run.stderr


CONFLICT = {
    "a_wire.txt": "Summit venue announced\n\nThe foreign ministers will hold their summit in Geneva next week, the organisers said on Monday.\n",
    "b_daily.txt": "Ministers pick a city\n\nThe foreign ministers will hold their summit in Vienna next week, a spokesman for the hosts told reporters.\n",
    "c_radio.txt": "Delegates arrive early\n\nDelegates began arriving in Geneva on Sunday for the summit of foreign ministers, police said.\n",
    # A syndicated copy of the wire story: it repeats, it does not corroborate.
    "d_reprint.txt": "Reprinted from the wire\n\nThe foreign ministers will hold their summit in Geneva next week, the organisers said on Monday.\n",
}


def test_support_counts_independent_articles_and_alternatives_name_the_other_answer(tmp_path):
    """Whichever answer the reader prefers (the weights of 2026-11-27 prefer
    Vienna's one article, read with a larger margin, to Geneva's two: see the
    README's quality section), the other is an alternative, and each names
    the independent articles that back it, copies counted once."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in CONFLICT.items():
        (corpus / name).write_text(text, "utf-8")
    bot = QAPipeline(Settings.from_env(corpus_dir=corpus, index_dir=tmp_path / "index"))
    answer = bot.ask("In which city will the foreign ministers hold their summit?")
    assert answer.answerable and answer.answer in ("Geneva", "Vienna")
    [other] = answer.alternatives
    support = {answer.answer: answer.support, other.answer: other.support}
    assert set(support) == {"Geneva", "Vienna"}
    backing = sorted(c.source for c in support["Geneva"])
    assert backing in (["a_wire.txt", "c_radio.txt"], ["c_radio.txt", "d_reprint.txt"])
    wire = next(c for c in support["Geneva"] if c.source in ("a_wire.txt", "d_reprint.txt"))
    assert [loc.source for loc in wire.also_in] == [
        {"a_wire.txt": "d_reprint.txt", "d_reprint.txt": "a_wire.txt"}[wire.source]
    ]
    assert [c.source for c in support["Vienna"]] == ["b_daily.txt"]
    check_provenance(answer, corpus)  # each support, the alternative's included, quotes its file
    shown = format_answer(answer)
    assert shown.startswith("Sources differ:") and "Geneva — 2 articles" in shown and "Vienna — 1 article" in shown
