"""Word files (``.docx``): the document's paragraphs, headings as paragraphs of
their own, read with python-docx; title, author and date from its core
properties. The archive is checked before it is opened: a file that is not a
zip, or one that would expand far beyond its size (a zip bomb), is refused."""

from __future__ import annotations

import io
import zipfile

from qa.corpus.formats.base import ArticleError, Extracted, Metadata, clean_line, join_paragraphs

# The most a .docx may expand to, in all and as a multiple of its own size.
MAX_EXPANDED_BYTES = 200_000_000
MAX_EXPANSION = 200


class DocxReader:
    name = "docx"
    suffixes = (".docx",)

    def looks_like(self, data: bytes) -> bool:
        return data[:4] == b"PK\x03\x04"

    def extract(self, data: bytes) -> Extracted:
        _check_archive(data)
        import docx
        from docx.opc.exceptions import PackageNotFoundError

        try:
            document = docx.Document(io.BytesIO(data))
        except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as err:
            raise ArticleError(f"cannot be read as a Word document ({type(err).__name__}: {err})") from None
        except Exception as err:  # python-docx raises lxml's errors for a broken document part
            raise ArticleError(f"cannot be read as a Word document ({type(err).__name__})") from None
        paragraphs = [text for text in (clean_line(p.text) for p in document.paragraphs) if text]
        if not paragraphs:
            raise ArticleError("is a Word document with no text")
        props = document.core_properties
        date = props.created or props.modified
        meta = Metadata(
            title=clean_line(props.title or ""),
            author=clean_line(props.author or ""),
            published=date.date().isoformat() if date else "",
        )
        text, _ = join_paragraphs(paragraphs)
        return Extracted(text, meta, format=self.name)


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise ArticleError("is not a Word document (.docx files are zip archives; this one is not)") from None
    if expanded > min(MAX_EXPANDED_BYTES, MAX_EXPANSION * max(len(data), 1)):
        raise ArticleError(f"would expand from {len(data):,} to {expanded:,} bytes (a zip bomb?), so it was not opened")
    if "word/document.xml" not in names:
        raise ArticleError("is a zip archive but not a Word document (it has no word/document.xml)")
