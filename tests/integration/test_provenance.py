"""Citations always quote their files as they are now: an article edited or
deleted on disk while the bot runs is never cited with offsets that no
longer hold (the file check alone is in tests/unit/test_source_files.py)."""

from __future__ import annotations

from pathlib import Path

from helpers import check_provenance, touch_later

from qa import QAPipeline, Settings

WHELAN = "001_2ba139ad32a30a4e.txt"
QUESTION = "What was Paul Whelan accused of?"


def test_an_article_edited_on_disk_is_reindexed_before_it_is_cited(corpus_copy: Path, tmp_path: Path):
    bot = QAPipeline(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index"))
    before = bot.ask(QUESTION)
    assert before.answerable and before.citations[0].source == WHELAN
    path = corpus_copy / WHELAN
    text = path.read_text("utf-8")
    title, rest = text.split("\n", 1)
    path.write_text(f"{title}\n\nEditor's note: this article was updated on Friday with new details.\n{rest}", "utf-8")
    touch_later(path)

    after = bot.ask(QUESTION)
    assert after.answerable and "espionage" in after.answer
    assert after.citations[0].source == WHELAN and after.citations[0].start > before.citations[0].start
    check_provenance(after, corpus_copy)
    for p in bot.search(QUESTION, 5):
        assert path.read_text("utf-8")[p.start : p.end] == p.text or p.source != WHELAN


def test_an_article_deleted_on_disk_is_no_longer_cited_or_listed(corpus_copy: Path, tmp_path: Path):
    bot = QAPipeline(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index"))
    assert bot.ask(QUESTION).citations[0].source == WHELAN
    (corpus_copy / WHELAN).unlink()
    answer = bot.ask(QUESTION)
    assert WHELAN not in {c.source for c in [*answer.citations, *answer.support]}
    check_provenance(answer, corpus_copy)
    assert WHELAN not in {s.source for s in bot.sources()}


def test_the_sources_list_drops_an_article_deleted_on_disk(corpus_copy: Path, tmp_path: Path):
    bot = QAPipeline(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index"))
    assert WHELAN in {s.source for s in bot.sources()}
    (corpus_copy / WHELAN).unlink()
    assert WHELAN not in {s.source for s in bot.sources()}
    assert WHELAN not in bot.index.manifest["files"]  # the index itself was brought up to date
