"""Citations always quote their files as they are now: an article edited or
deleted on disk while the bot runs is never cited with offsets that no
longer hold."""

from __future__ import annotations

import os
from pathlib import Path

from qa import QAPipeline, Settings
from qa.corpus.provenance import SourceFiles
from qa.types import Passage

WHELAN = "001_2ba139ad32a30a4e.txt"
QUESTION = "What was Paul Whelan accused of?"


def _assert_quotes_hold(answer, corpus: Path) -> None:
    for c in [*answer.citations, *answer.support]:
        assert (corpus / c.source).read_bytes().decode("utf-8")[c.start : c.end] == c.text


def _touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_source_files_notice_edits_and_deletions(tmp_path: Path):
    article = tmp_path / "a.txt"
    article.write_text("Title\n\nPompeo met Putin in Sochi.\n", "utf-8")
    quote = Passage("a.txt", 1, 7, 33, "Pompeo met Putin in Sochi.", 1.0)
    files = SourceFiles(tmp_path)
    assert files.quotes(quote)
    article.write_text("Title\n\nUpdated: Pompeo met Putin in Sochi.\n", "utf-8")
    _touch_later(article)
    assert not files.quotes(quote)
    article.unlink()
    assert not files.quotes(quote) and files.text("a.txt") is None


def test_an_article_edited_on_disk_is_reindexed_before_it_is_cited(corpus_copy: Path, tmp_path: Path):
    bot = QAPipeline(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index"))
    before = bot.ask(QUESTION)
    assert before.answerable and before.citations[0].source == WHELAN
    path = corpus_copy / WHELAN
    text = path.read_text("utf-8")
    title, rest = text.split("\n", 1)
    path.write_text(f"{title}\n\nEditor's note: this article was updated on Friday with new details.\n{rest}", "utf-8")
    _touch_later(path)

    after = bot.ask(QUESTION)
    assert after.answerable and "espionage" in after.answer
    assert after.citations[0].source == WHELAN and after.citations[0].start > before.citations[0].start
    _assert_quotes_hold(after, corpus_copy)
    for p in bot.search(QUESTION, 5):
        assert path.read_text("utf-8")[p.start : p.end] == p.text or p.source != WHELAN


def test_an_article_deleted_on_disk_is_no_longer_cited_or_listed(corpus_copy: Path, tmp_path: Path):
    bot = QAPipeline(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index"))
    assert bot.ask(QUESTION).citations[0].source == WHELAN
    (corpus_copy / WHELAN).unlink()
    answer = bot.ask(QUESTION)
    assert WHELAN not in {c.source for c in [*answer.citations, *answer.support]}
    _assert_quotes_hold(answer, corpus_copy)
    assert WHELAN not in {s.source for s in bot.sources()}


def test_the_sources_list_drops_an_article_deleted_on_disk(corpus_copy: Path, tmp_path: Path):
    bot = QAPipeline(Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index"))
    assert WHELAN in {s.source for s in bot.sources()}
    (corpus_copy / WHELAN).unlink()
    assert WHELAN not in {s.source for s in bot.sources()}
    assert WHELAN not in bot.index.manifest["files"]  # the index itself was brought up to date
