"""Folding a build's layers in the background, while answers keep coming from it.

A fold makes each two-layer structure (qa/layers.py) one base again: minutes
at a million paragraphs, since every base is written anew. In a long-lived
process (the app) updates run with folds deferred, and
:meth:`qa.index.store.IndexStore.fold_in_background` runs the fold in a thread:

1. outside the writer's lock, the build the store last wrote is folded as it
   is (:func:`folded`: the same rows in the same order, each structure in one
   base) and written beside it, not current, checksums and all;
2. under the lock, briefly: if no update came meanwhile, the folded build
   becomes current; otherwise the updates since are replayed on it
   (:func:`changes_since`: the files that changed between the two manifests,
   with the vectors the newer build holds, so nothing is embedded again), and
   that build becomes current.

``ask()`` reads a snapshot of the pipeline's parts and never waits on either
step; ``refresh()`` waits only on the second.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.corpus.shingles import ShingleLayers
from qa.index.changes import Changes, UpdateReport
from qa.index.file_entries import FileEntries
from qa.index.memory import no_garbage_collection, return_freed_memory
from qa.index.view import IndexView
from qa.index.writer import current_build, held_files, make_current, publish, write_unpublished
from qa.layers import folds_deferred
from qa.search.base import Rows

log = logging.getLogger(__name__)

# Maps an index builds when first asked: the folded index has the same rows, so it keeps them.
_ROW_MAPS = ("_grouped", "families", "articles", "_by_id", "_counted_frequency")


def wants_fold(index: IndexView) -> bool:
    """Whether the index's delta, or what its base hides, passed its share."""
    files = index.file_entries
    return index.stored.wants_fold() or (files is not None and files.wants_fold())


def folded(index: IndexView, build: Path) -> IndexView:
    """``index`` (kept in ``build``) with every structure folded into one base."""
    stored = index.stored.folded()
    texts = [p.text for p in index.paragraphs]
    dense = index.dense.folded(lambda: Rows(index.ids, texts, stored.base_vectors))
    lexical = index.lexical.folded()
    shingles = (index.shingles or ShingleLayers.load(build)).folded()
    files = (index.file_entries or FileEntries(index.manifest["files"])).folded()
    manifest = {key: value for key, value in index.manifest.items() if key != "artifacts"}
    result = IndexView(manifest, index.paragraphs, index.groups, stored, dense, lexical, index.ids, shingles, files)
    result.__dict__.update({name: index.__dict__[name] for name in _ROW_MAPS if name in index.__dict__})
    return result


def changes_since(before: IndexView, after: IndexView) -> tuple[Changes, np.ndarray]:
    """What updates did from ``before`` to ``after``, by file, with the vectors
    ``after`` holds for the paragraphs of the files added or changed."""
    old, new = before.manifest["files"], after.manifest["files"]
    touched = [s for s, entry in new.items() if old.get(s) is not entry and old.get(s) != entry]
    report = UpdateReport(
        added=sorted(s for s in touched if s not in old),
        changed=sorted(s for s in touched if s in old and old[s]["sha256"] != new[s]["sha256"]),
        removed=sorted(old.keys() - new.keys()),
    )
    rows = after.rows_of([*report.added, *report.changed])
    paragraphs = [after.paragraphs[r] for r in rows.tolist()]
    return Changes(report, new, paragraphs, touched), after.stored.vectors_at(rows)


class FoldsInBackground:
    """The background fold of :class:`qa.index.store.IndexStore` (see the
    module's note): it runs in a thread, takes the writer's lock only to hold
    what it reads of the build and to make its build current, and replays the
    updates that came meanwhile through the store's own update path."""

    folder: Path
    on_fold: Callable[[IndexView], None] | None
    _written: tuple[str, IndexView] | None
    _own_build: str | None
    _folding: threading.Thread | None

    def _exclusive(self) -> contextlib.AbstractContextManager[None]: ...

    def _last_written(self) -> IndexView: ...

    def _apply(self, old, changes, vectors, same_layout, stamp, progress=None, previous=None) -> IndexView: ...

    def fold_in_background(self) -> threading.Thread | None:
        """Fold the build this store wrote last, in a thread (see qa/index/fold.py);
        None when one is folding already or there is nothing to fold."""
        if (self._folding is not None and self._folding.is_alive()) or self._written is None:
            return None
        self._folding = threading.Thread(target=self._fold, args=self._written, name="index-fold", daemon=True)
        self._folding.start()
        return self._folding

    def wait_for_fold(self, timeout: float | None = None) -> None:
        """Until the background fold, if one runs, is done."""
        if self._folding is not None:
            self._folding.join(timeout)

    def _fold(self, name: str, index: IndexView) -> None:
        unpublished = held = None
        folded_name, result = None, None
        try:
            with self._exclusive():  # the build's shingles, if not in memory, held before an update removes the build
                if current_build(self.folder).name != name:
                    return  # a newer build: the update that wrote it starts a fold if one is due
                held = None if index.shingles else held_files(self.folder, self.folder / name, "shingles-*.npz")
            with no_garbage_collection():
                folding = folded(index, held or self.folder / name)
                stamp = dt.datetime.now(dt.UTC)
                folding.manifest["built_at"] = stamp.isoformat(timespec="seconds")
                known = index.manifest.get("artifacts", {})
                unpublished = write_unpublished(self.folder, folding, folding.manifest, self.folder / name, known)
            with self._exclusive():
                folded_name = publish(self.folder, unpublished, stamp)
                result = self._commit_fold(name, index, folded_name, folding)
        except Exception:  # the build it folded stays current: nothing is lost, the next update asks again
            log.exception("Folding the index in the background failed; it stays as it was")
        finally:
            leftover = self.folder / folded_name if folded_name else unpublished
            for path in (held, leftover if result is None else None):
                if path is not None:  # written, and not made current; or the shingles held
                    shutil.rmtree(path, ignore_errors=True)
        return_freed_memory()
        if result is not None and self.on_fold is not None:
            self.on_fold(result)

    def _commit_fold(self, name: str, index: IndexView, folded_name: str, result: IndexView) -> IndexView | None:
        """Under the writer's lock: the folded build made current, with the
        updates since it was taken replayed on it; None if a rebuild or an
        inline fold made it moot."""
        latest_name = current_build(self.folder).name
        if latest_name == name:
            make_current(self.folder, folded_name, name)
            self._written = (folded_name, result)
            if self._own_build == name:
                self._own_build = folded_name
            return result
        latest = self._last_written()
        if latest.stored.name != index.stored.name or latest.manifest["index_type"] != index.manifest["index_type"]:
            return None
        changes, vectors = changes_since(index, latest)
        own = self._own_build == latest_name
        with folds_deferred():  # under the lock: brief, as any update
            replayed = self._apply(
                result, changes, vectors, True, dt.datetime.now(dt.UTC), previous=self.folder / folded_name
            )
        self._own_build = self._own_build if own else None  # another process's build stays another's
        return replayed
