"""Extracted text layers kept beside the index (``<index>/texts/``), one JSON
file per file content (its sha256), so a web page, PDF or Word file is
extracted once: not again when the app restarts and checks a quote, serves
``GET /api/articles/{source}/text`` or re-reads a touched file. The layer a
citation's offsets were computed on is the one kept, even if a newer version
of an extraction library would read the file a little differently. A ``.txt``
file's text layer is the file itself, so none is kept for it."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from qa.corpus.formats import Extracted, Metadata, extract

# Bump when a format reader's output changes: older kept layers are then extracted again.
LAYER_VERSION = 1


class TextLayers:
    """The kept text layers in ``folder`` (None: keep none, extract every time)."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder is not None else None

    def get(self, data: bytes, source: str, digest: str) -> Extracted:
        """The text layer of ``data`` (a file named ``source`` whose sha256 is
        ``digest``): kept, or extracted and kept."""
        if self.folder is None or source.lower().endswith(".txt"):
            return extract(data, source)
        path = self.folder / f"{digest}-v{LAYER_VERSION}.json"
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            kept = json.loads(path.read_text("utf-8"))
            return Extracted(kept["text"], Metadata(**kept["meta"]), tuple(kept["pages"]), kept["format"])
        layer = extract(data, source)
        self._keep(path, layer)
        return layer

    def _keep(self, path: Path, layer: Extracted) -> None:
        kept = {"text": layer.text, "meta": vars(layer.meta), "pages": list(layer.pages), "format": layer.format}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(kept, ensure_ascii=False), "utf-8")
            os.replace(tmp, path)  # whole or absent: a reader never sees half a layer
        except OSError:  # a read-only index folder: the layer is extracted again next time
            tmp.unlink(missing_ok=True)

    def keep_only(self, digests: set[str]) -> None:
        """Drop the layers of file contents no longer in the corpus."""
        if self.folder is None or not self.folder.is_dir():
            return
        for path in self.folder.glob("*.json"):
            if path.name.split("-v", 1)[0] not in digests:
                path.unlink(missing_ok=True)
