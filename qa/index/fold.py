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

from pathlib import Path

import numpy as np

from qa.corpus.shingles import ShingleLayers
from qa.index.changes import Changes, UpdateReport
from qa.index.file_entries import FileEntries
from qa.index.view import IndexView
from qa.search.base import Rows

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
