"""Format readers: one module per file format, each giving a text layer and
metadata (:mod:`qa.corpus.formats.base`). A file's reader is chosen by its
suffix and checked against its content; adding a format is one module here
and one line in :data:`READERS`."""

from __future__ import annotations

from pathlib import PurePath

from qa.corpus.formats.base import ArticleError, Extracted, FormatReader, Metadata, page_at
from qa.corpus.formats.docx import DocxReader
from qa.corpus.formats.html import HtmlReader
from qa.corpus.formats.markdown import MarkdownReader
from qa.corpus.formats.pdf import PdfReader
from qa.corpus.formats.text import TextReader

READERS: tuple[FormatReader, ...] = (TextReader(), HtmlReader(), PdfReader(), DocxReader(), MarkdownReader())

_BY_SUFFIX = {suffix: reader for reader in READERS for suffix in reader.suffixes}

SUFFIXES = tuple(_BY_SUFFIX)

__all__ = ["READERS", "SUFFIXES", "ArticleError", "Extracted", "Metadata", "extract", "is_supported", "page_at"]


def is_supported(name: str) -> bool:
    # String slicing, not PurePath: a folder scan asks this of every file, and a Path costs more than the stat.
    # A leading dot starts a hidden name, not a suffix (".txt" has none, as PurePath says).
    dot = name.rfind(".")
    return dot > name.rfind("/") + 1 and name[dot:].lower() in _BY_SUFFIX


def reader_for(name: str) -> FormatReader:
    suffix = PurePath(name).suffix.lower()
    if suffix not in _BY_SUFFIX:
        raise ArticleError(f"is not a format this tool reads (it reads {', '.join(SUFFIXES)})")
    return _BY_SUFFIX[suffix]


def extract(data: bytes, name: str) -> Extracted:
    """The text layer and metadata of a file named ``name`` holding ``data``,
    or :class:`ArticleError` saying why it cannot be read."""
    reader = reader_for(name)
    if not reader.looks_like(data):
        found = next((r for r in READERS if r.name not in ("txt", "md") and r.looks_like(data)), None)
        if found is not None:
            raise ArticleError(
                f"is named as a {reader.name.upper()} file but is a {found.name.upper()} file; "
                f"rename it to end in {found.suffixes[0]}"
            )
        if reader.name not in ("txt", "md"):  # text formats say themselves what is wrong with the bytes
            raise ArticleError(f"is named as a {reader.name.upper()} file but is not one (damaged, or another format)")
    return reader.extract(data)
