"""Reading a folder of articles: paragraphs with exact offsets, no page furniture."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from helpers import CORPUS, file_text

from qa.corpus.articles import ArticleError, CorpusError, read_corpus
from qa.corpus.library import ArticleExists, add_article, prune_backups, remove_article
from qa.index.store import IndexStore
from qa.settings import Settings


def test_every_paragraph_slices_its_file_exactly():
    result = read_corpus(CORPUS)
    assert [a.source for a in result.articles] == sorted(p.name for p in CORPUS.glob("*.txt"))
    for article in result.articles:
        text = file_text(article.source)
        numbers = [p.paragraph for p in article.paragraphs]
        assert numbers == list(range(1, len(numbers) + 1))
        for p in article.paragraphs:
            assert text[p.start : p.end] == p.text
            assert p.text == p.text.strip() and p.text


def test_single_newline_paragraphs_are_split():
    # File 002 puts one paragraph per line, with no blank lines between them.
    article = next(a for a in read_corpus(CORPUS).articles if a.source.startswith("002_"))
    assert len(article.paragraphs) == 23  # 22 lines of story and the credit line
    assert article.paragraphs[10].text.startswith("Pompeo arrived in the Black Sea resort of Sochi")
    assert all("\n" not in p.text for p in article.paragraphs)


def test_titles_are_headlines():
    titles = {a.source[:3]: a.title for a in read_corpus(CORPUS).articles}
    assert titles["001"] == "Pompeo to Meet With Putin, Lavrov Amid Tensions"
    assert titles["004"] == "Secretary Pompeo, Putin agree on political solution in Syria, deeper cooperation"


@pytest.mark.parametrize(
    "furniture",
    [
        "Read more:",
        "Pompeo in Brussels to discuss Iran",  # a linked headline under "Read more:"
        "The Looming War And Tehran",
        "Also on rt.com",
        "Click here for more political news",
        "Follow us on Twitter",
        "captcha",
        "Comment:",
        "Latest news",
        "Check Also",
        "The Western Balkans",
        "Like this story? Share it with a friend!",
    ],
)
def test_boilerplate_is_dropped(furniture: str):
    paragraphs = [p.text for a in read_corpus(CORPUS).articles for p in a.paragraphs]
    assert not [t for t in paragraphs if furniture in t]


def test_article_text_next_to_boilerplate_is_kept():
    paragraphs = [p.text for a in read_corpus(CORPUS).articles for p in a.paragraphs]
    assert any(t.startswith("He cancelled plans to arrive in Moscow on Monday") for t in paragraphs)
    assert any(t.startswith("Pompeo met Lavrov in Finland") for t in paragraphs)


def test_datelines_and_credits_are_article_text():
    paragraphs = [p.text for a in read_corpus(CORPUS).articles for p in a.paragraphs]
    assert "10 May, 2019 12:08 / Updated 6 years ago" in paragraphs
    assert "Additional reporting by Sam Jones in Madrid" in paragraphs


def test_general_boilerplate_rules_on_another_site(tmp_path: Path):
    text = (
        "Council approves new bridge\n\n"
        "The city council approved the new river bridge on Thursday after a two-year debate\n"
        "that split the town, officials said. Work starts in March and lasts a year.\n\n"
        "Share this article on Facebook\n\n"
        "Related: Mayor defends budget\n\n"
        "Sign up for our morning newsletter\n\n"
        "Subscribe to read more stories like this\n\n"
        "The bridge will cost 40 million euros, the mayor said.\n"
    )
    (tmp_path / "bridge.txt").write_text(text, "utf-8")
    [article] = read_corpus(tmp_path).articles
    assert [p.text[:30] for p in article.paragraphs] == [
        "Council approves new bridge",
        "The city council approved the ",  # a hard-wrapped paragraph stays whole
        "The bridge will cost 40 millio",
    ]
    assert "\n" in article.paragraphs[1].text
    for p in article.paragraphs:
        assert text[p.start : p.end] == p.text


def test_crlf_and_curly_quotes_keep_offsets(tmp_path: Path):
    text = "Headline here\r\n\r\n\u201cWe will respond,\u201d she said.\r\nA second paragraph.\r\n"
    (tmp_path / "crlf.txt").write_bytes(text.encode("utf-8"))
    [article] = read_corpus(tmp_path).articles
    assert [p.text for p in article.paragraphs] == [
        "Headline here",
        "\u201cWe will respond,\u201d she said.",
        "A second paragraph.",
    ]
    for p in article.paragraphs:
        assert text[p.start : p.end] == p.text


def test_bad_files_are_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    (tmp_path / "good.txt").write_text("A headline\n\nThe minister resigned on Friday.\n", "utf-8")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 owners protest.".encode("latin-1"))
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "notes.xlsx").write_bytes(b"PK\x03\x04 a spreadsheet")
    with caplog.at_level(logging.WARNING, logger="qa.corpus.articles"):
        result = read_corpus(tmp_path)
    assert [a.source for a in result.articles] == ["good.txt"]
    reasons = {s.source: s.reason for s in result.skipped}
    assert "not valid UTF-8" in reasons["latin1.txt"]
    assert "binary" in reasons["image.txt"]
    assert result.ignored == ("notes.xlsx",)
    assert "latin1.txt" in caplog.text and "image.txt" in caplog.text


def test_articles_in_subfolders_are_named_by_relative_path(tmp_path: Path):
    (tmp_path / "2019" / "may").mkdir(parents=True)
    (tmp_path / "2019" / "may" / "talks.txt").write_text("Talks in Sochi\n\nThey met on Tuesday.\n", "utf-8")
    [article] = read_corpus(tmp_path).articles
    assert article.source == "2019/may/talks.txt"


def test_empty_folder_gives_a_clear_message(tmp_path: Path):
    corpus = tmp_path / "empty"
    corpus.mkdir()
    store = IndexStore(Settings.from_env(corpus_dir=corpus, index_dir=tmp_path / "index"))
    with pytest.raises(CorpusError, match=r"No readable articles in .*empty"):
        store.update()


def test_missing_folder_gives_a_clear_message(tmp_path: Path):
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("../x.txt", b"Escape\n\nThis tries to leave the corpus folder.\n", "not allowed"),
        ("sub/x.txt", b"Nested\n\nThis names a folder.\n", "not allowed"),
        (".hidden.txt", b"Hidden\n\nA hidden file.\n", "not allowed"),
        ("report.xlsx", b"Report\n\nNot a format the tool reads.\n", "not allowed"),
        ("report.pdf", b"Report\n\nA text file named as a PDF.\n", "not one"),
        ("latin.txt", "Caf\xe9 owners protest.".encode("latin-1"), "not valid UTF-8"),
        ("big.txt", b"Big\n\n" + b"word " * 300_000, "over the"),
        ("blank.txt", b"  \n\n \n", "no article text"),
    ],
)
def test_rejected_uploads_change_nothing(tmp_path: Path, name: str, data: bytes, message: str):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with pytest.raises(ArticleError, match=message):
        add_article(corpus, name, data, max_file_bytes=1_000_000)
    assert list(tmp_path.rglob("*")) == [corpus]


def test_accepted_upload_is_saved_byte_for_byte(tmp_path: Path):
    data = "Talks in Sochi\n\n\u201cWe met,\u201d he said on Tuesday.\n".encode()
    article = add_article(tmp_path, "talks 2019-05.txt", data)
    assert (tmp_path / "talks 2019-05.txt").read_bytes() == data
    assert article.title == "Talks in Sochi" and len(article.paragraphs) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["talks 2019-05.txt"]


def test_an_upload_of_a_taken_name_is_refused_unless_replacing_and_the_old_copy_is_kept(tmp_path: Path):
    corpus, backups = tmp_path / "corpus", tmp_path / "index" / "replaced"
    old, new = b"Talks\n\nThey met in Sochi.\n", b"Talks\n\nThey met in Moscow.\n"
    add_article(corpus, "talks.txt", old)
    with pytest.raises(ArticleExists, match="already in the corpus"):
        add_article(corpus, "talks.txt", new, backup_dir=backups)
    assert (corpus / "talks.txt").read_bytes() == old and not backups.exists()
    add_article(corpus, "talks.txt", new, replace=True, backup_dir=backups)
    assert (corpus / "talks.txt").read_bytes() == new
    [kept] = backups.iterdir()
    assert kept.name.endswith("-talks.txt") and kept.read_bytes() == old


def test_only_the_newest_backups_are_kept(tmp_path: Path):
    for i in range(5):
        (tmp_path / f"2026112{i}T000000.000000Z-a.txt").write_text("x")
    prune_backups(tmp_path, keep=2)
    assert sorted(p.name[:9] for p in tmp_path.iterdir()) == ["20261123T", "20261124T"]


def test_a_removed_article_is_kept_in_the_backups(tmp_path: Path):
    corpus, backups = tmp_path / "corpus", tmp_path / "index" / "replaced"
    add_article(corpus, "talks.txt", b"Talks\n\nThey met in Sochi.\n")
    with pytest.raises(ArticleError, match="only article"):
        remove_article(corpus, "talks.txt", backups)  # the index needs at least one
    add_article(corpus, "other.txt", b"Other\n\nThey met in Helsinki.\n")
    kept = remove_article(corpus, "talks.txt", backups)
    assert not (corpus / "talks.txt").exists() and kept.read_bytes() == b"Talks\n\nThey met in Sochi.\n"
    for name in ("talks.txt", "../index/replaced/x.txt", ".hidden.txt"):
        with pytest.raises(ArticleError):
            remove_article(corpus, name, backups)
