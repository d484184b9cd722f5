"""The provenance rule's file check alone: a quote holds only while its file,
as it is now, still says it (no model)."""

from __future__ import annotations

from pathlib import Path

from helpers import touch_later

from qa.corpus.provenance import SourceFiles
from qa.types import Passage


def test_source_files_notice_edits_and_deletions(tmp_path: Path):
    article = tmp_path / "a.txt"
    article.write_text("Title\n\nPompeo met Putin in Sochi.\n", "utf-8")
    quote = Passage("a.txt", 1, 7, 33, "Pompeo met Putin in Sochi.", 1.0)
    files = SourceFiles(tmp_path)
    assert files.quotes(quote)
    article.write_text("Title\n\nUpdated: Pompeo met Putin in Sochi.\n", "utf-8")
    touch_later(article)
    assert not files.quotes(quote)
    article.unlink()
    assert not files.quotes(quote) and files.text("a.txt") is None


def test_the_manifest_encoder_writes_what_json_would_after_any_change():
    import json

    from qa.index.writer import ManifestEncoder

    encoder = ManifestEncoder()
    manifest = {"format": 3, "files": {"a.txt": {"sha256": "x", "pages": [0, 9], "title": "“Q”"}}, "backend": "faiss"}
    assert json.loads(encoder.encode(manifest)) == manifest
    manifest["files"]["b/c.txt"] = {"size": 3}
    manifest["files"]["a.txt"]["pages"].append(20)  # changed in place: must not be served from the cache
    assert json.loads(encoder.encode(manifest)) == manifest
    del manifest["files"]["b/c.txt"]
    assert json.loads(encoder.encode(manifest)) == manifest
    assert json.loads(ManifestEncoder().encode({"files": {}})) == {"files": {}}
