"""Reading article files and splitting them into paragraphs with exact offsets.

A file's text layer comes from its format's reader (qa/corpus/formats): a
``.txt`` file decoded as UTF-8 (no newline translation), the extracted text of
a web page, PDF, Word or Markdown file. Every paragraph's ``start``/``end``
slice that text layer exactly. Paragraphs are separated
by blank lines; inside a block, each line is its own paragraph unless the block
looks hard-wrapped (all its lines but the last are short), as news files that
put one paragraph per line do. Lines that are page furniture rather than
article text (share prompts, "Read more:" link lists, comment stubs, ...) are
dropped by general rules, not by a list of one site's strings. Datelines
("10 May, 2019 12:08") and credit lines ("Additional reporting by ...") are
article text: they say when a story was published and who reported it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.corpus.formats import SUFFIXES, ArticleError, extract, is_supported
from qa.corpus.text_layers import TextLayers
from qa.types import Article, Paragraph

log = logging.getLogger(__name__)

# A hard-wrapped block's lines (all but its last) are prose of about this width.
WRAP_WIDTH = range(40, 101)

TITLE_MAX_WORDS = 25

_BOILERPLATE = re.compile(
    r"""^(?:
        (?:read|see)\s+(?:more|also)\b.*
      | also\s+(?:on|read|see)\b.*
      | related(?:\s+(?:articles?|stories|news|coverage))?\s*:.*
      | check\s+(?:also|out)\b.*
      | (?:click|tap)\s+here\b.*
      | (?:follow|like|join)\s+us\b.*
      | (?:share|tweet|email)\s+(?:this|it|on)\b.*
      | .{0,40}\bshare\s+it\s+with\s+a\s+friend\b.*
      | like\s+this\s+(?:story|article)\b.*
      | sign\s+up\b.*
      | subscribe\b.*
      | advertisement
      | latest\s+news
      | (?:©|\(c\)|copyright\b).{0,120}\ball\s+rights\s+reserved\.?
      | [*•\-]?\s*(?:captcha|comments?|name|e-?mail|website)\s*:?\s*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


# A header that introduces a list of links to other stories.
_LINK_LIST_HEADER = re.compile(
    r"^(?:read\s+more|see\s+also|related(?:\s+\w+)?|check\s+also|more\s+on\s+this)\s*:?$", re.I
)


_SENTENCE_END = re.compile(r"""[.!?]["'”’)\]]*$""")

_LIST_ITEM = re.compile(r"\s*(?:[*•\-–]|\d+[.)])\s")

_TRUNCATED_TEASER = re.compile(r"(?:…|\.\.\.)$")

# A wire dateline opening a lead names the outlet: "(Persia Digest) - ...",
# "LONDON (Reuters) - ...", "WASHINGTON, May 10 (AP) — ...".
_DATELINE = re.compile(r"^(?:[A-Z][\w .,'’-]{0,40}\s)?\(([A-Z][^()\n]{0,40}?)\)\s*[-–—]+\s*")


@dataclass(frozen=True)
class SkippedFile:
    source: str
    reason: str


@dataclass(frozen=True)
class CorpusReadResult:
    articles: tuple[Article, ...]
    skipped: tuple[SkippedFile, ...]
    ignored: tuple[str, ...]  # files of a format this tool does not read
    unread: tuple[str, ...] = ()  # files the caller knew by size and modification time, not read again
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)  # source -> (size, mtime_ns), articles and unread
    # Files reached through a symbolic link or with other hard links: a write through another path changes them.
    linked: frozenset[str] = frozenset()


class CorpusError(ValueError):
    """The corpus folder cannot be used (missing, or holds no readable article)."""


def read_corpus(
    folder: Path,
    max_file_bytes: int = 5_000_000,
    known: Callable[[str, int, int], bool] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    layers: TextLayers | None = None,
) -> CorpusReadResult:
    """Read every article file under ``folder`` (recursively), in name order:
    each format qa.corpus.formats reads (``.txt``, web pages, PDF, Word, Markdown).

    Unreadable files are skipped with a warning and listed in ``skipped``;
    they never stop the rest of the corpus from being read. A file for which
    ``known(source, size, mtime_ns)`` is true is not read: it is listed in
    ``unread`` (an index uses this to skip the files it has, unchanged).
    ``progress("Reading articles", done, total)`` follows the files read;
    ``layers`` keeps the text extracted from formats other than ``.txt``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"Corpus folder {folder} does not exist or is not a folder.")
    found = [(source, entry.stat, entry.is_symlink()) for source, entry in _files_under(folder)]
    return _read_found(folder, found, max_file_bytes, known, progress, layers)


def read_files(
    folder: Path,
    sources: Iterable[str],
    max_file_bytes: int = 5_000_000,
    known: Callable[[str, int, int], bool] | None = None,
    layers: TextLayers | None = None,
) -> CorpusReadResult:
    """What :func:`read_corpus` reads of ``sources`` alone (paths under
    ``folder``, with "/"): those that are no longer there, or are folders now,
    are left out, as a scan of the folder would not find them."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"Corpus folder {folder} does not exist or is not a folder.")
    found = []
    for source in sorted(sources):
        path = os.path.join(folder, source)
        if os.path.lexists(path) and not os.path.isdir(path):  # a broken link is found, and skipped, as by a scan
            found.append((source, functools.partial(os.stat, path), os.path.islink(path)))
    return _read_found(folder, found, max_file_bytes, known, None, layers)


def _read_found(
    folder: Path,
    found: list[tuple[str, Callable[[], os.stat_result], bool]],
    max_file_bytes: int,
    known: Callable[[str, int, int], bool] | None,
    progress: Callable[[str, int, int], None] | None,
    layers: TextLayers | None,
) -> CorpusReadResult:
    """Read the files of ``found``, (source, its stat, whether it is a symbolic
    link), in that order (see :func:`read_corpus`)."""
    articles: list[Article] = []
    skipped: list[SkippedFile] = []
    ignored: list[str] = []
    unread: list[str] = []
    stats: dict[str, tuple[int, int]] = {}
    linked: set[str] = set()
    for done, (source, stat, is_link) in enumerate(found):
        if progress and done % 50 == 0:
            progress("Reading articles", done, len(found))
        if not is_supported(source):
            ignored.append(source)
            continue
        if is_link:
            linked.add(source)
        try:
            st = stat()  # a stat per file is the whole cost of a scan: no Path, no joined string
            if st.st_nlink > 1:
                linked.add(source)
            stats[source] = (st.st_size, st.st_mtime_ns)
            if known is not None and known(source, st.st_size, st.st_mtime_ns):
                unread.append(source)
                continue
            articles.append(read_article(folder / source, source, max_file_bytes, layers))
        except OSError as err:
            stats.pop(source, None)
            log.warning("Skipping %s: %s", source, err.strerror or err)
            skipped.append(SkippedFile(source, f"cannot be read ({err.strerror or err})"))
        except ArticleError as err:
            stats.pop(source, None)
            log.warning("Skipping %s: %s", source, err)
            skipped.append(SkippedFile(source, str(err)))
    if progress:
        progress("Reading articles", len(found), len(found))
    if ignored:
        log.info(
            "Ignoring %d file(s) not of a format this tool reads (%s): %s",
            len(ignored),
            " ".join(SUFFIXES),
            ", ".join(ignored[:5]),
        )
    return CorpusReadResult(tuple(articles), tuple(skipped), tuple(ignored), tuple(unread), stats, frozenset(linked))


def _files_under(folder: Path) -> list[tuple[str, os.DirEntry]]:
    """(relative path with "/", its directory entry) for the files under
    ``folder``, in name order, leaving out hidden files and folders (uploads in
    progress, editors' files). Linked files are read; linked folders are not entered."""
    found: list[tuple[str, os.DirEntry]] = []
    folders = [(str(folder), "")]
    while folders:
        path, prefix = folders.pop()
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    if not is_dir:
                        found.append((prefix + entry.name, entry))
                    elif not entry.is_symlink():  # a linked folder is not entered, as os.walk does not
                        folders.append((entry.path, prefix + entry.name + "/"))
        except OSError as err:
            log.warning("Cannot list %s: %s", path, err.strerror or err)
    found.sort(key=lambda item: item[0])
    return found


def read_article(path: Path, source: str, max_file_bytes: int = 5_000_000, layers: TextLayers | None = None) -> Article:
    data = path.read_bytes()
    return parse_article(data, source, max_file_bytes, layers)


def parse_article(
    data: bytes, source: str, max_file_bytes: int = 5_000_000, layers: TextLayers | None = None
) -> Article:
    """Turn a file's bytes into an :class:`Article`, or raise :class:`ArticleError`.

    The format is chosen by the name's suffix and checked against the content
    (qa/corpus/formats); paragraphs and their offsets refer to the text layer
    it gives, which for ``.txt`` is the decoded file itself."""
    if len(data) > max_file_bytes:
        raise ArticleError(f"file is {len(data):,} bytes, over the {max_file_bytes:,}-byte limit")
    digest = hashlib.sha256(data).hexdigest()
    layer = layers.get(data, source, digest) if layers else extract(data, source)
    paragraphs = tuple(split_paragraphs(layer.text, source))
    if not paragraphs:
        raise ArticleError("has no article text")
    meta = layer.meta
    return Article(
        source=source,
        title=meta.title or _title(_DATELINE.sub("", paragraphs[0].text)),
        outlet=meta.outlet or outlet(paragraphs),
        sha256=digest,
        text=layer.text,
        paragraphs=paragraphs,
        author=meta.author,
        published=meta.published,
        url=meta.url,
        pages=layer.pages,
        format=layer.format,
    )


def split_paragraphs(text: str, source: str) -> Iterator[Paragraph]:
    """Yield the article paragraphs of ``text``, numbered from 1."""
    number = 0
    in_link_list = False
    for start, end in _paragraph_spans(text):
        chunk = text[start:end]
        if _LINK_LIST_HEADER.match(chunk):
            in_link_list = True
            continue
        if in_link_list and _is_headline(chunk):
            continue  # a linked story's headline under "Read more:"
        in_link_list = False
        if is_boilerplate(chunk):
            continue
        number += 1
        yield Paragraph(source=source, paragraph=number, start=start, end=end, text=chunk)


def is_boilerplate(paragraph: str) -> bool:
    """True for page furniture: share prompts, link teasers, comment stubs."""
    if _BOILERPLATE.match(paragraph):
        return True
    # "Story title … " teasers of other articles end in an ellipsis.
    return bool(_TRUNCATED_TEASER.search(paragraph)) and len(paragraph.split()) < 40


def _paragraph_spans(text: str) -> Iterator[tuple[int, int]]:
    """Offsets of non-empty paragraphs, whitespace trimmed."""
    for block in re.finditer(r"\S(?:.|\n(?![ \t\r\f\v]*(?:\n|$)))*", text):
        lines = [m for m in re.finditer(r"[^\n]+", block.group())]
        lines = [m for m in lines if m.group().strip()]
        wrapped = len(lines) > 1 and all(
            len(m.group()) in WRAP_WIDTH and not _LIST_ITEM.match(m.group()) for m in lines[:-1]
        )
        pieces = [(0, len(block.group()))] if wrapped else [m.span() for m in lines]
        for a, b in pieces:
            a, b = block.start() + a, block.start() + b
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if a < b:
                yield a, b


def _is_headline(paragraph: str) -> bool:
    return "\n" not in paragraph and len(paragraph.split()) <= 20 and not _SENTENCE_END.search(paragraph)


def outlet(paragraphs: tuple[Paragraph, ...]) -> str:
    """The outlet a wire dateline names in the headline or lead ("" if none does)."""
    for p in paragraphs[:2]:
        if m := _DATELINE.match(p.text):
            return m.group(1).strip()
    return ""


def _title(first_paragraph: str) -> str:
    """The headline if the file starts with one, else the lead's first words."""
    line = first_paragraph.split("\n", 1)[0].strip()
    words = line.split()
    if len(words) <= TITLE_MAX_WORDS:
        return line
    return " ".join(words[:12]) + " …"


def paragraph_id(source: str, paragraph: int) -> int:
    """A paragraph's stable id: the same in every build and process (not a row number)."""
    digest = hashlib.blake2b(f"{source}#{paragraph}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1  # fits an int64


def paragraph_ids(paragraphs: Iterable[Paragraph]) -> np.ndarray:
    """The stable ids of ``paragraphs``, in order."""
    return np.array([paragraph_id(p.source, p.paragraph) for p in paragraphs], np.int64)
