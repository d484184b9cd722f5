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


def test_the_manifests_file_list_keeps_a_delta_and_a_base(tmp_path: Path):
    from qa.index.file_entries import FileEntries

    base = {f"{i}.txt": {"sha256": str(i)} for i in range(100)}
    entries = FileEntries(base)
    files = dict(base) | {"new.txt": {"sha256": "n"}, "3.txt": {"sha256": "changed"}}
    del files["7.txt"]
    after = entries.updated(files, ["new.txt", "3.txt"], ["7.txt"])
    assert after.name == entries.name and after.base is base  # the base stays, to be linked
    assert after.delta == {"new.txt": {"sha256": "n"}, "3.txt": {"sha256": "changed"}}
    assert after.removed == {"7.txt"} and after.files() == files
    files2 = files | {"7.txt": {"sha256": "back"}}
    del files2["new.txt"]
    again = after.updated(files2, ["7.txt"], ["new.txt"])
    assert again.files() == files2 and again.removed == frozenset() and "new.txt" not in again.delta

    (tmp_path / "build").mkdir()
    again.save(tmp_path / "build", None)
    header = again.in_manifest({"model": "m", "files": files2})
    assert "files" not in header and FileEntries.load(tmp_path / "build", header).files() == files2

    many = {f"more-{i}.txt": {"sha256": "x"} for i in range(10)}
    folded = again.updated(files2 | many, list(many), [])
    assert folded.name != again.name and folded.base == files2 | many and not folded.delta
