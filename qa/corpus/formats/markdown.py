"""Markdown (``.md``): the markup removed, headings, list items and quotes as
paragraphs of their own, parsed with markdown-it-py (CommonMark)."""

from __future__ import annotations

from markdown_it import MarkdownIt

from qa.corpus.formats.base import ArticleError, Extracted, Metadata, clean_line, join_paragraphs
from qa.corpus.formats.text import decode_utf8

# Blocks whose inline text becomes one paragraph.
_BLOCKS = {"paragraph_open", "heading_open"}


class MarkdownReader:
    name = "md"
    suffixes = (".md", ".markdown")

    def looks_like(self, data: bytes) -> bool:
        return b"\x00" not in data

    def extract(self, data: bytes) -> Extracted:
        source = decode_utf8(data)
        tokens = MarkdownIt("commonmark").parse(source)
        paragraphs: list[str] = []
        title = ""
        for i, token in enumerate(tokens):
            if token.type in _BLOCKS and i + 1 < len(tokens) and tokens[i + 1].type == "inline":
                text = clean_line(_plain(tokens[i + 1]))
                if text:
                    paragraphs.append(text)
                    if token.type == "heading_open" and token.tag == "h1" and not title:
                        title = text
            elif token.type in ("code_block", "fence"):
                paragraphs += [clean_line(block) for block in token.content.split("\n\n") if block.strip()]
        if not paragraphs:
            raise ArticleError("has no article text")
        text, _ = join_paragraphs(paragraphs)
        return Extracted(text, Metadata(title=title), format=self.name)


def _plain(inline) -> str:
    """An inline token's words without markup: link and image text kept, addresses dropped."""
    out = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(child.content)
        elif child.type == "html_inline":
            continue
    return "".join(out)
