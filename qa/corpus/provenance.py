"""Checks that a citation still quotes its file: the file's text layer (a
``.txt`` file decoded as UTF-8, the text extracted from other formats by
qa/corpus/formats), sliced ``[start:end]``, equals the quoted text.

The index is a snapshot: an article edited or deleted on disk after it was
indexed would otherwise be cited with offsets that no longer hold. Files are
read once and re-read only when their size or modification time changes, so
the check costs a ``stat`` per cited file.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

from qa.corpus.formats import ArticleError
from qa.corpus.text_layers import TextLayers
from qa.types import Citation, Passage


class SourceFiles:
    """The current text of the corpus folder's files, for checking quotes."""

    def __init__(self, corpus_dir: Path, max_files: int = 2048, layers: TextLayers | None = None):
        self.corpus_dir = Path(corpus_dir)
        self.layers = layers or TextLayers(None)
        self.max_files = max_files
        self._texts: OrderedDict[str, tuple[tuple[int, int], str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def text(self, source: str) -> str | None:
        """The file's text layer now, or None if it is gone or can no longer be read."""
        path = self.corpus_dir / source
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._texts.get(source)
            if cached and cached[0] == key:
                self._texts.move_to_end(source)
                return cached[1]
        try:
            data = path.read_bytes()
            text: str | None = self.layers.get(data, source, hashlib.sha256(data).hexdigest()).text
        except (OSError, ArticleError):
            text = None
        with self._lock:
            self._texts[source] = (key, text)
            self._texts.move_to_end(source)
            while len(self._texts) > self.max_files:
                self._texts.popitem(last=False)
        return text

    def quotes(self, quote: Citation | Passage) -> bool:
        """Whether the file still holds the quoted text at the quoted offsets."""
        text = self.text(quote.source)
        return text is not None and text[quote.start : quote.end] == quote.text
