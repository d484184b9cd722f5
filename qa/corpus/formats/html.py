"""Web pages (``.html``, ``.htm``): the article's main text only, without
navigation, related links, cookie banners or comments, and its metadata (title,
site name, author, date, canonical address), with trafilatura; htmldate
dates a page whose metadata trafilatura finds no date in. Nothing is fetched:
both read only the bytes given."""

from __future__ import annotations

import logging
import re

from qa.corpus.formats.base import ArticleError, Extracted, Metadata, clean_line, join_paragraphs

# An article has at least one line of prose this long; a page without one is navigation.
PROSE_WORDS = 8

_MARKUP = re.compile(rb"^\s*(?:\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html|head|body|meta|title|article|div|p)\b", re.I)


class HtmlReader:
    name = "html"
    suffixes = (".html", ".htm")

    def looks_like(self, data: bytes) -> bool:
        return bool(_MARKUP.match(data[:4096]))

    def extract(self, data: bytes) -> Extracted:
        import trafilatura

        logging.getLogger("trafilatura").setLevel(logging.ERROR)
        html = _decoded(data)
        document = trafilatura.bare_extraction(
            html, include_comments=False, include_tables=False, with_metadata=True, deduplicate=False
        )
        body = getattr(document, "text", None) or ""
        paragraphs = [clean_line(line) for line in body.split("\n") if line.strip()]
        # trafilatura's fallbacks return whatever text a page has: a menu is no article.
        if not any(len(p.split()) >= PROSE_WORDS for p in paragraphs):
            raise ArticleError("is a web page with no article text (only navigation, links or scripts)")
        meta = Metadata(
            title=clean_line(document.title or ""),
            outlet=clean_line(document.sitename or ""),
            author=clean_line(document.author or ""),
            published=document.date or _page_date(html),
            url=document.url or "",
        )
        if meta.title and paragraphs[0] != meta.title:
            paragraphs.insert(0, meta.title)  # the headline is article text, as in a .txt file
        text, _ = join_paragraphs(paragraphs)
        return Extracted(text, meta, format=self.name)


def _decoded(data: bytes) -> str:
    """The page as text: UTF-8 unless its meta tag names another charset that decodes it."""
    found = re.search(rb"""<meta[^>]+charset=["']?([\w-]+)""", data[:4096], re.I)
    for encoding in ([found.group(1).decode("ascii")] if found else []) + ["utf-8", "cp1252"]:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


def _page_date(html: str) -> str:
    from htmldate import find_date

    logging.getLogger("htmldate").setLevel(logging.ERROR)
    try:
        return find_date(html, original_date=True, extensive_search=True) or ""
    except Exception:  # a date is a nicety: a page htmldate cannot date is still an article
        return ""
