"""Format readers (qa/corpus/formats): each format's text layer holds every
paragraph of the sample article it was made from, its metadata is read, page
furniture is gone, and a file that cannot be read says why. The fixtures are
made from the sample corpus by tests/data/formats/make_fixtures.py."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from helpers import CORPUS, ROOT

from qa.corpus.articles import parse_article, read_corpus, split_paragraphs
from qa.corpus.formats import ArticleError, extract, page_at

FIXTURES = ROOT / "tests" / "data" / "formats"
FORMATS = ("html", "pdf", "docx", "md")
STEMS = sorted(p.stem for p in CORPUS.glob("*.txt"))


def _fixture(fmt: str, stem: str) -> Path:
    return FIXTURES / fmt / f"{stem}.{fmt}"


def _paragraphs(stem: str) -> list[str]:
    text = (CORPUS / f"{stem}.txt").read_text("utf-8")
    return [" ".join(p.text.split()) for p in split_paragraphs(text, stem)]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("stem", STEMS)
def test_every_paragraph_of_the_article_is_in_the_text_layer(fmt: str, stem: str):
    path = _fixture(fmt, stem)
    layer = extract(path.read_bytes(), path.name)
    assert layer.format == fmt
    missing = [p for p in _paragraphs(stem) if p not in layer.text]
    assert not missing, f"{path.name} lacks: {missing[:2]}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_paragraph_offsets_slice_the_text_layer(fmt: str):
    path = _fixture(fmt, STEMS[2])
    article = parse_article(path.read_bytes(), path.name)
    assert article.paragraphs
    for p in article.paragraphs:
        assert article.text[p.start : p.end] == p.text


@pytest.mark.parametrize("stem", STEMS)
def test_a_news_page_gives_its_article_alone_and_its_metadata(stem: str):
    path = _fixture("html", stem)
    layer = extract(path.read_bytes(), path.name)
    for furniture in ("cookies", "Privacy policy", "Subscribe", "Related stories", "Oil prices climb", "reader42"):
        assert furniture not in layer.text
    meta = layer.meta
    assert meta.outlet and meta.author and meta.title
    assert meta.published.startswith("2019-05-1")
    assert meta.url == f"https://news.example/{stem}"
    assert layer.text.startswith(meta.title)  # the headline is article text


def test_a_pdf_keeps_its_pages_and_drops_running_headers_and_footers():
    path = _fixture("pdf", STEMS[2])
    layer = extract(path.read_bytes(), path.name)
    assert len(layer.pages) == 4 and layer.pages[0] == 0
    assert list(layer.pages) == sorted(layer.pages)
    assert "Page 1 of 4" not in layer.text and "Page 2" not in layer.text
    assert layer.text.count("The Daily Ledger") == 1  # the running header is gone; its copyright line stays
    # A paragraph that runs on to the next page is one paragraph, and its page is where the words are.
    quote = "Before the meeting, Putin was set to visit a defence plant"
    assert quote in layer.text
    assert page_at(layer.pages, layer.text.index("Trump cancelled talks")) == 2
    assert layer.page_at(0) == 1 and layer.page_at(len(layer.text)) == 4


def test_a_hyphen_at_a_line_end_is_kept_unless_the_document_spells_the_word_whole():
    from qa.corpus.formats.pdf import _join

    assert _join("a fifth-", "generation jet", frozenset())[0] == "a fifth-generation jet"
    assert _join("the investi-", "gation began", frozenset({"investigation"})) == ("the investigation began", 11)
    assert _join("Putin-", "Trump talks", frozenset())[0] == "Putin-Trump talks"
    assert _join("one line", "and the next", frozenset()) == ("one line and the next", 9)


def test_docx_and_markdown_metadata():
    docx = extract(_fixture("docx", STEMS[2]).read_bytes(), "a.docx").meta
    assert (docx.title, docx.author, docx.published) == (
        "Putin tells Pompeo he hopes for revitalised relations",
        "Anna Kowalski",
        "2019-05-14",
    )
    md = extract(_fixture("md", STEMS[2]).read_bytes(), "a.md")
    assert md.meta.title == "Putin tells Pompeo he hopes for revitalised relations"
    assert "#" not in md.text and "*By" not in md.text  # markup removed


def test_markdown_headings_lists_and_links_are_plain_paragraphs():
    text = "# Talks in Sochi\n\nPompeo met **Putin** in [Sochi](https://x.example).\n\n## Next\n\n- one item\n- two\n"
    layer = extract(text.encode(), "notes.md")
    assert layer.text == "Talks in Sochi\n\nPompeo met Putin in Sochi.\n\nNext\n\none item\n\ntwo"


def test_a_mixed_folder_reads_every_format_and_ignores_the_rest(tmp_path: Path):
    for fmt, stem in zip(FORMATS, STEMS, strict=False):
        (tmp_path / f"{stem}.{fmt}").write_bytes(_fixture(fmt, stem).read_bytes())
    (tmp_path / f"{STEMS[4]}.txt").write_bytes((CORPUS / f"{STEMS[4]}.txt").read_bytes())
    (tmp_path / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    result = read_corpus(tmp_path)
    assert sorted(a.format for a in result.articles) == ["docx", "html", "md", "pdf", "txt"]
    assert result.ignored == ("sheet.xlsx",) and not result.skipped
    html = next(a for a in result.articles if a.format == "html")
    assert html.outlet == "Persia Digest" and html.published == "2019-05-13" and html.url


def _pdf(encrypt: str | None = None, blank: bool = False) -> bytes:
    import pypdf

    writer = pypdf.PdfWriter()
    if blank:
        writer.add_blank_page(200, 200)
    else:
        writer.append(pypdf.PdfReader(_fixture("pdf", STEMS[4])))
    if encrypt:
        writer.encrypt(encrypt)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


BAD_FILES = {
    "an encrypted PDF": ("secret.pdf", lambda: _pdf(encrypt="s3cret"), "encrypted"),
    "an image-only PDF": ("scan.pdf", lambda: _pdf(blank=True), "no text layer"),
    "a truncated PDF": ("cut.pdf", lambda: _fixture("pdf", STEMS[0]).read_bytes()[:3000], "PDF"),
    "a DOCX that is not a zip": ("notes.docx", lambda: b"Just some text, not a Word file.", "not one"),
    "a zip that is not a DOCX": ("archive.docx", lambda: _zip({"a.txt": b"hello"}), "not a Word document"),
    "a zip bomb": ("bomb.docx", lambda: _zip({"word/document.xml": b"0" * 5_000_000}), "zip bomb"),
    "a page with no article": (
        "empty.html",
        lambda: b"<html><body><nav><a href='/'>Home</a></nav></body></html>",
        "no article text",
    ),
    "a PDF named as a page": ("page.html", lambda: _fixture("pdf", STEMS[0]).read_bytes(), "is a PDF file"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_that_cannot_be_read_says_why(case: str):
    name, make, reason = BAD_FILES[case]
    with pytest.raises(ArticleError, match=reason):
        parse_article(make(), name)


def test_a_50_mb_page_is_refused_by_its_size():
    with pytest.raises(ArticleError, match="over the 5,000,000-byte limit"):
        parse_article(b"<html><body><p>" + b"word " * 10_000_000 + b"</p></body></html>", "huge.html")


def test_bad_files_in_a_folder_are_listed_with_their_reasons_and_the_rest_is_read(tmp_path: Path):
    for case in ("an encrypted PDF", "a zip bomb", "a page with no article"):
        name, make, _ = BAD_FILES[case]
        (tmp_path / name).write_bytes(make())
    (tmp_path / "good.md").write_text("# Headline\n\nThe minister resigned on Friday.\n", "utf-8")
    result = read_corpus(tmp_path)
    assert [a.source for a in result.articles] == ["good.md"]
    reasons = {s.source: s.reason for s in result.skipped}
    assert set(reasons) == {"secret.pdf", "bomb.docx", "empty.html"}
    assert "encrypted" in reasons["secret.pdf"] and "zip bomb" in reasons["bomb.docx"]


def test_a_filter_admits_by_outlet_and_publication_date():
    from qa.types import Filter, SourceInfo

    reuters = SourceInfo("a.html", "A", 3, "x", outlet="Reuters", published="2019-05-14")
    undated = SourceInfo("b.txt", "B", 3, "y", outlet="AP")
    assert not Filter() and Filter().admits(undated)
    assert Filter(("reuters",)).admits(reuters) and not Filter(("Reuters",)).admits(undated)
    assert Filter(published_from="2019-05-14", published_to="2019-05-14").admits(reuters)
    assert not Filter(published_from="2019-05-15").admits(reuters)
    assert not Filter(published_to="2019-05-13").admits(reuters)
    assert not Filter(published_from="2019-01-01").admits(undated)  # nothing says it is in range
    assert Filter(("Reuters", "AP"), "2019-05-01", "2019-05-31").describe() == (
        "from Reuters or AP, published 2019-05-01 to 2019-05-31"
    )
    assert Filter(published_to="2019-05-31").describe() == "published on or before 2019-05-31"
