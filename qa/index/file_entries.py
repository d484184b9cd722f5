"""The corpus files a build lists, kept in two layers (see :class:`FileEntries`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qa.layers import link_or_write, new_base_name, should_fold, wants_fold


@dataclass(frozen=True)
class FileEntries:
    """The manifest's corpus files as a build folder keeps them, in two layers
    as every other structure of a build (qa/layers.py): a base of entries,
    written once and linked by the builds that follow, and in ``manifest.json``
    the entries new or changed since, and the base's names no longer listed.
    An update then writes what changed, not an entry per file of the archive."""

    base: dict[str, dict]
    delta: dict[str, dict] = field(default_factory=dict)
    removed: frozenset[str] = frozenset()
    name: str = field(default_factory=new_base_name)

    def files(self) -> dict[str, dict]:
        """Every listed file's entry (a new dict; the entries are shared)."""
        if not self.removed:
            return self.base | self.delta
        listed = {source: entry for source, entry in self.base.items() if source not in self.removed}
        return listed | self.delta

    def updated(self, files: dict[str, dict], touched: Iterable[str], removed: Iterable[str]) -> FileEntries:
        """After an update whose whole list is ``files``: ``touched`` names the
        entries it set, ``removed`` the files gone. A new base once the change
        since the last passes its share (:func:`qa.layers.should_fold`)."""
        delta = {source: entry for source, entry in self.delta.items() if source in files}
        delta.update((source, files[source]) for source in touched)
        gone = (self.removed | {s for s in removed if s in self.base}) - delta.keys()
        if should_fold(len(self.base), len(delta), len(gone)):
            return FileEntries(files)
        return FileEntries(self.base, delta, frozenset(gone), self.name)

    def folded(self) -> FileEntries:
        return FileEntries(self.files())

    def wants_fold(self) -> bool:
        return wants_fold(len(self.base), len(self.delta), len(self.removed))

    def save(self, folder: Path, previous: Path | None) -> None:
        """``files-base-<name>.json``, linked from ``previous`` when it has it."""

        def write_base(path: Path) -> None:
            path.write_text(json.dumps(self.base, ensure_ascii=False), "utf-8")

        link_or_write(folder / f"files-base-{self.name}.json", previous, write_base)

    def in_manifest(self, manifest: dict) -> dict:
        """What ``manifest.json`` holds of ``manifest``: all but its files, and this delta."""
        header = {key: value for key, value in manifest.items() if key != "files"}
        return header | {"files_layers": {"base": self.name, "delta": self.delta, "removed": sorted(self.removed)}}

    @classmethod
    def load(cls, folder: Path, manifest: dict) -> FileEntries:
        """The entries a build's ``manifest.json`` (read as ``manifest``) and its base name."""
        layers = manifest["files_layers"]
        base = json.loads((folder / f"files-base-{layers['base']}.json").read_text("utf-8"))
        return cls(base, layers["delta"], frozenset(layers["removed"]), layers["base"])
