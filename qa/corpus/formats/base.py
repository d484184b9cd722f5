"""What every format reader gives: a text layer and the file's metadata.

The text layer is the text that paragraphs, offsets and quotes refer to: for
a ``.txt`` file the file itself decoded, for other formats the text extracted
from it, paragraphs separated by blank lines. ``Extracted.text[start:end]``
is what a citation quotes, and ``GET /api/articles/{source}/text`` serves it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Protocol


class ArticleError(ValueError):
    """One file cannot be read as an article; the message says why."""


@dataclass(frozen=True)
class Metadata:
    """What a file says about itself; "" where it says nothing."""

    title: str = ""
    outlet: str = ""  # the publication (a page's site name)
    author: str = ""
    published: str = ""  # ISO 8601 date
    url: str = ""  # the article's canonical address, when a page names one


@dataclass(frozen=True)
class Extracted:
    """A file's text layer, its metadata and, for paged formats, where each page starts."""

    text: str
    meta: Metadata = Metadata()
    pages: tuple[int, ...] = ()  # offset into ``text`` where page 1, 2, ... starts; () when not paged
    format: str = "txt"

    def page_at(self, offset: int) -> int | None:
        return page_at(self.pages, offset)


def page_at(pages: tuple[int, ...] | list[int], offset: int) -> int | None:
    """The 1-based page holding ``offset`` of a text layer whose pages start at ``pages``."""
    if not pages:
        return None
    return max(1, bisect.bisect_right(pages, offset))


class FormatReader(Protocol):
    """One file format: its suffixes, a check of the content, and the extraction."""

    name: str
    suffixes: tuple[str, ...]

    def looks_like(self, data: bytes) -> bool:
        """Whether ``data`` is plausibly a file of this format (magic bytes, markup)."""
        ...

    def extract(self, data: bytes) -> Extracted:
        """The text layer and metadata, or :class:`ArticleError` with the reason."""
        ...


def join_paragraphs(paragraphs: list[str]) -> tuple[str, list[int]]:
    """Paragraphs as one text layer, a blank line between them, and where each starts."""
    starts, offset = [], 0
    for p in paragraphs:
        starts.append(offset)
        offset += len(p) + 2
    return "\n\n".join(paragraphs), starts


def clean_line(text: str) -> str:
    """One paragraph's text on one line: runs of white space as one space."""
    return " ".join(text.split())
