"""PDF (``.pdf``): the text layer of each page, read with pypdf, with its pages kept.

pypdf's layout mode keeps vertical space, so a blank line marks a gap between
paragraphs. From there: hard-wrapped lines are joined into paragraphs, a word
hyphenated at a line's end is joined again (when the document spells it
unbroken elsewhere; otherwise the hyphen is kept, as printed), a paragraph that runs on to the
next page is joined across the break, and lines repeated at the top or bottom
of most pages (running headers, "Page 2 of 4") are dropped. There is no OCR: a
PDF without a text layer is reported as such.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter

from qa.corpus.formats.base import ArticleError, Extracted, Metadata, clean_line

# Lines at each end of a page where running headers and footers stand.
EDGE_LINES = 3
# A line at a page's edge on this share of the pages (at least two) is a running header or footer.
REPEATED_SHARE = 0.6

_SENTENCE_END = re.compile(r"""[.!?:;]["'”’)\]]*$""")
_BROKEN_WORD = re.compile(r"[^\W\d_]-$")


class PdfReader:
    name = "pdf"
    suffixes = (".pdf",)

    def looks_like(self, data: bytes) -> bool:
        return b"%PDF-" in data[:1024]

    def extract(self, data: bytes) -> Extracted:
        pages, info = _page_lines(data)
        if not any(pages):
            raise ArticleError("is a PDF with no text layer (a scan or images only?); it needs OCR, which is not done")
        furniture = _running_lines(pages)
        words = frozenset(w.lower() for lines in pages for line in lines for w in re.findall(r"[^\W\d_]+", line))
        paragraphs: list[str] = []
        page_starts: list[int] = []
        length = 0  # of the text layer so far: "\n\n".join(paragraphs)
        for lines in pages:
            blocks = _blocks([line for i, line in enumerate(lines) if not _is_furniture(lines, i, furniture)], words)
            if blocks and paragraphs and _runs_on(paragraphs[-1], blocks[0]):
                before = paragraphs[-1]
                joined, at = _join(before, blocks.pop(0), words)
                page_starts.append(length - len(before) + at)
                length += len(joined) - len(before)
                paragraphs[-1] = joined
            else:
                page_starts.append(length + (2 if paragraphs and blocks else 0))
            for block in blocks:
                length += len(block) + (2 if paragraphs else 0)
                paragraphs.append(block)
        text = "\n\n".join(paragraphs)
        # No "published": a PDF's creation date is when the file was made (a
        # printed page's is the day it was printed), not when the story appeared.
        meta = Metadata(
            title=clean_line(str(info.get("/Title") or "")),
            author=clean_line(str(info.get("/Author") or "")),
        )
        return Extracted(text, meta, tuple(min(s, len(text)) for s in page_starts), format=self.name)


def _page_lines(data: bytes) -> tuple[list[list[str]], dict]:
    """Each page's lines (stripped, "" for a gap), and the document information."""
    import pypdf
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ArticleError("is an encrypted PDF (it needs a password); save a copy without one")
        pages = []
        for page in reader.pages:
            text = page.extract_text(extraction_mode="layout", layout_mode_space_vertically=True)
            pages.append([clean_line(line) for line in text.split("\n")])
        info = dict(reader.metadata or {})
    except ArticleError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as err:
        raise ArticleError(f"cannot be read as a PDF ({type(err).__name__}: {err}); is it whole?") from None
    if reader.is_encrypted and not any(any(lines) for lines in pages):
        raise ArticleError("is an encrypted PDF (it needs a password); save a copy without one")
    return [_trimmed(lines) for lines in pages], info


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[0]:
        lines = lines[1:]
    while lines and not lines[-1]:
        lines = lines[:-1]
    return lines


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower())


def _edges(lines: list[str]) -> set[int]:
    """Positions of the first and last EDGE_LINES non-empty lines."""
    filled = [i for i, line in enumerate(lines) if line]
    return set(filled[:EDGE_LINES] + filled[-EDGE_LINES:])


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Shapes of lines that stand at the top or bottom of most pages."""
    if len(pages) < 2:
        return set()
    counts = Counter(shape for lines in pages for shape in {_shape(lines[i]) for i in _edges(lines)})
    least = max(2, REPEATED_SHARE * len(pages))
    return {shape for shape, n in counts.items() if n >= least}


def _is_furniture(lines: list[str], i: int, furniture: set[str]) -> bool:
    return bool(lines[i]) and i in _edges(lines) and _shape(lines[i]) in furniture


def _blocks(lines: list[str], words: frozenset[str]) -> list[str]:
    """Runs of lines between gaps, each joined into one paragraph."""
    blocks, current = [], ""
    for line in [*lines, ""]:
        if line:
            current = _join(current, line, words)[0] if current else line
        elif current:
            blocks.append(current)
            current = ""
    return blocks


def _join(before: str, after: str, words: frozenset[str] = frozenset()) -> tuple[str, int]:
    """Two wrapped pieces of one paragraph, and where ``after`` starts in it.

    A hyphen at a line's end stays, joined to the next word ("Putin-Trump",
    "fifth-generation"), unless the document spells the word unbroken
    elsewhere (``words``): then the hyphen only broke it ("investi-gation")."""
    if _BROKEN_WORD.search(before):
        head, tail = re.search(r"([^\W\d_]+)-$", before), re.match(r"[^\W\d_]+", after)
        if head and tail and (head.group(1) + tail.group(0)).lower() in words:
            return before[:-1] + after, len(before) - 1
        return before + after, len(before)
    return before + " " + after, len(before) + 1


def _runs_on(paragraph: str, next_block: str) -> bool:
    """Whether a page's last paragraph goes on at the top of the next page: it
    stops mid-sentence ("... asked Russia to" / "“stop playing games,” ...")."""
    return bool(next_block) and not _SENTENCE_END.search(paragraph)
