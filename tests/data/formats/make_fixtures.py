"""Make the format fixtures from the sample articles (corpus/*.txt):

- ``html/``: each article as a news page, with navigation, related links, a
  cookie banner, comments, and Open Graph and ``article:published_time`` metadata;
- ``pdf/``: the same pages printed to PDF by headless Chromium, with a running
  header and page numbers;
- ``docx/``: a Word file written with python-docx, title, author and date in its core properties;
- ``md/``: a Markdown copy, the headline as a heading.

The outlets, authors, dates and addresses are made up for the fixtures (the
sample files do not carry them). Run from the project root, then check the
files in:

    .venv/bin/python tests/data/formats/make_fixtures.py
"""

from __future__ import annotations

import datetime as dt
import html
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from qa.corpus.articles import TITLE_MAX_WORDS, split_paragraphs  # noqa: E402

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"

# Made-up metadata, one per sample article, in file order.
META = [
    ("Persia Digest", "Dana Rahimi", "2019-05-13", "Pompeo to meet Putin in Russia amid fears of US-Iran clash"),
    ("World Desk Weekly", "Mark Ellison", "2019-05-12", ""),
    ("The Daily Ledger", "Anna Kowalski", "2019-05-14", "Putin tells Pompeo he hopes for revitalised relations"),
    ("Global Wire", "Ivan Petrov", "2019-05-10", ""),
    ("Capitol Dispatch", "Sarah Lin", "2019-05-15", ""),
]


def articles() -> list[tuple[str, str, list[str], tuple[str, str, str, str]]]:
    """(stem, headline, body paragraphs, metadata) of each sample article."""
    out = []
    for path, meta in zip(sorted((ROOT / "corpus").glob("*.txt")), META, strict=True):
        paragraphs = [p.text.replace("\n", " ") for p in split_paragraphs(path.read_text("utf-8"), path.name)]
        first = paragraphs[0]
        is_headline = len(first.split()) <= TITLE_MAX_WORDS and not first.rstrip().endswith((".", "”", '"'))
        headline, body = (first, paragraphs[1:]) if is_headline else (meta[3], paragraphs)
        out.append((path.stem, headline, body, meta))
    return out


def page(stem: str, headline: str, body: list[str], meta: tuple[str, str, str, str]) -> str:
    outlet, author, date, _ = meta
    url = f"https://news.example/{stem}"
    e = html.escape
    paragraphs = "\n".join(f"      <p>{e(p)}</p>" for p in body)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{e(headline)} | {e(outlet)}</title>
  <link rel="canonical" href="{url}">
  <meta property="og:title" content="{e(headline)}">
  <meta property="og:site_name" content="{e(outlet)}">
  <meta property="og:url" content="{url}">
  <meta property="og:type" content="article">
  <meta name="author" content="{e(author)}">
  <meta property="article:published_time" content="{date}T09:30:00+00:00">
  <style>body {{ font-family: serif; max-width: 42em; margin: auto; }} nav a {{ margin-right: 1em; }}
    @media print {{ nav, .cookie-banner, .related, .comments, footer a {{ display: none; }} }}</style>
</head>
<body>
  <div class="cookie-banner" id="cookie-consent">We use cookies to improve your experience.
    <button>Accept all cookies</button> <a href="/privacy">Privacy policy</a></div>
  <header><div class="logo">{e(outlet)}</div>
    <nav><a href="/">Home</a><a href="/world">World</a><a href="/politics">Politics</a><a href="/business">Business</a>
      <a href="/opinion">Opinion</a><a href="/subscribe">Subscribe</a></nav></header>
  <main>
    <article>
      <h1>{e(headline)}</h1>
      <p class="byline">By <span class="author">{e(author)}</span> · <time datetime="{date}">{date}</time></p>
{paragraphs}
    </article>
    <aside class="related"><h2>Related stories</h2><ul>
      <li><a href="/world/a">Oil prices climb as Gulf tensions rise</a></li>
      <li><a href="/world/b">EU ministers meet on Iran deal</a></li>
      <li><a href="/world/c">Five things to know about the Mueller report</a></li></ul></aside>
    <section class="comments" id="comments"><h2>Comments</h2>
      <div class="comment"><b>reader42</b>: Great article, thanks for sharing!</div>
      <div class="comment"><b>jdoe</b>: I disagree with this take entirely.</div></section>
  </main>
  <footer><p>© 2019 {e(outlet)}. All rights reserved.</p><a href="/terms">Terms</a> <a href="/contact">Contact</a></footer>
</body>
</html>
"""


def markdown(headline: str, body: list[str], meta: tuple[str, str, str, str]) -> str:
    return f"# {headline}\n\n*By {meta[1]}, {meta[0]}*\n\n" + "\n\n".join(body) + "\n"


def docx(path: Path, headline: str, body: list[str], meta: tuple[str, str, str, str]) -> None:
    import docx as python_docx

    document = python_docx.Document()
    document.add_heading(headline, level=1)
    for p in body:
        document.add_paragraph(p)
    props = document.core_properties
    props.title, props.author = headline, meta[1]
    props.created = dt.datetime.fromisoformat(meta[2] + "T09:30:00+00:00")
    props.modified = props.created
    document.save(path)


def main() -> None:
    from playwright.sync_api import sync_playwright

    for folder in ("html", "pdf", "docx", "md"):
        (HERE / folder).mkdir(exist_ok=True)
    items = articles()
    for stem, headline, body, meta in items:
        (HERE / "html" / f"{stem}.html").write_text(page(stem, headline, body, meta), "utf-8")
        (HERE / "md" / f"{stem}.md").write_text(markdown(headline, body, meta), "utf-8")
        docx(HERE / "docx" / f"{stem}.docx", headline, body, meta)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        tab = browser.new_page()
        for stem, _, _, meta in items:
            tab.goto((HERE / "html" / f"{stem}.html").as_uri())
            tab.pdf(
                path=str(HERE / "pdf" / f"{stem}.pdf"),
                format="A5",
                display_header_footer=True,
                header_template=f'<div style="font-size:8px;width:100%;text-align:center">{html.escape(meta[0])}</div>',
                footer_template='<div style="font-size:8px;width:100%;text-align:center">'
                'Page <span class="pageNumber"></span> of <span class="totalPages"></span></div>',
                margin={"top": "20mm", "bottom": "20mm", "left": "15mm", "right": "15mm"},
            )
        browser.close()


if __name__ == "__main__":
    main()
