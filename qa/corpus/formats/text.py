"""Plain text (``.txt``): the text layer is the file decoded as UTF-8, with no
newline translation, so offsets slice the file's own text."""

from __future__ import annotations

from qa.corpus.formats.base import ArticleError, Extracted


class TextReader:
    name = "txt"
    suffixes = (".txt",)

    def looks_like(self, data: bytes) -> bool:
        return b"\x00" not in data

    def extract(self, data: bytes) -> Extracted:
        return Extracted(decode_utf8(data), format=self.name)


def decode_utf8(data: bytes) -> str:
    """The bytes as text, or :class:`ArticleError` saying what is wrong."""
    if b"\x00" in data:
        raise ArticleError("looks like a binary file (it contains NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ArticleError(f"is not valid UTF-8 (bad byte at position {err.start}); save it as UTF-8") from None
