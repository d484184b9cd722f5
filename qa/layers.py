"""Base-and-delta layers: how every stored structure of a build updates in O(change).

A structure (paragraph rows, shingles, the FAISS and BM25 indexes) keeps a
large *base*, written once and then shared by the builds that follow (hard
links, not copies), and a small *delta* of what was added since, with the
base's removed rows hidden, as Lucene keeps segments. The delta is folded into
a new base once it, or what the base hides, passes a share of the base
(:func:`should_fold`).

A long-lived process folds in the background instead (qa/index/fold.py):
its updates run with :func:`folds_deferred`, under which a structure folds
inline only once its delta passes several times the share, should the
background folds fall that far behind.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

# The delta is folded into the base once it holds this share of the live
# paragraphs (below it, scanning the delta exactly beside the base costs a few
# milliseconds a query at 1M paragraphs), or once the base hides this share of
# its own rows (an HNSW graph is then rebuilt without them).
DELTA_SHARE = 0.05

HIDDEN_SHARE = 0.1


# Under folds_deferred, how many times its share a delta may grow before it is folded inline all the same.
DEFERRED_LIMIT = 4

_DEFERRED = contextvars.ContextVar("folds_deferred", default=False)


def should_fold(base: int, delta: int, hidden: int) -> bool:
    """Whether a two-layer structure should become one base again in this update."""
    return wants_fold(base, delta, hidden, DEFERRED_LIMIT if _DEFERRED.get() else 1)


def wants_fold(base: int, delta: int, hidden: int, times: float = 1) -> bool:
    """Whether a two-layer structure's delta, or what its base hides, passes ``times`` its share."""
    live = base - hidden + delta
    return delta > times * DELTA_SHARE * max(live, 1) or hidden > times * HIDDEN_SHARE * max(base, 1)


@contextlib.contextmanager
def folds_deferred() -> Iterator[None]:
    """Updates in this block leave folding to a background fold (see the module's note)."""
    token = _DEFERRED.set(True)
    try:
        yield
    finally:
        _DEFERRED.reset(token)


def new_base_name() -> str:
    """A name for a newly written base: builds that share a base share its files."""
    return uuid.uuid4().hex[:12]


def link_or_write(target: Path, previous: Path | None, write: Callable[[Path], None]) -> None:
    """``target`` as a hard link to the same file of the previous build when it
    has one (a base is never changed once written), else written anew."""
    old = previous / target.name if previous else None
    if old is not None and old.is_file():
        try:
            os.link(old, target)
            return
        except OSError:  # a file system without hard links: copy by writing
            pass
    write(target)


def save_layers(
    folder: Path,
    previous: Path | None,
    prefix: str,
    name: str,
    base: Callable[[], dict[str, np.ndarray]],
    delta: dict[str, np.ndarray],
) -> None:
    """``<prefix>-base-<name>.npz`` (linked from the previous build when it has
    it; ``base()`` is called only to write it) and ``<prefix>-delta.npz``."""

    def write_base(path: Path) -> None:
        with open(path, "wb") as f:
            np.savez(f, **base())

    link_or_write(folder / f"{prefix}-base-{name}.npz", previous, write_base)
    with open(folder / f"{prefix}-delta.npz", "wb") as f:
        np.savez(f, **delta)


def load_layers(folder: Path, prefix: str) -> tuple[str, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The base's name and arrays, and the delta's arrays, as ``save_layers`` wrote them."""
    (base_file,) = folder.glob(f"{prefix}-base-*.npz")
    with np.load(base_file, allow_pickle=False) as z:
        base = dict(z)
    with np.load(folder / f"{prefix}-delta.npz", allow_pickle=False) as z:
        delta = dict(z)
    return base_file.stem.removeprefix(f"{prefix}-base-"), base, delta


class LayerChange(NamedTuple):
    """What an update does to a base-and-delta structure (see the module's note)."""

    hidden: np.ndarray  # sorted base positions hidden after it
    newly_hidden: np.ndarray  # those of them it hides
    delta_kept: np.ndarray  # mask of the delta's rows that stay (the added rows follow them)


def layer_change(
    base_ids: np.ndarray, hidden: np.ndarray, delta_ids: np.ndarray, removed: np.ndarray, added_ids: np.ndarray
) -> LayerChange:
    """Removed ids leave either layer; an added id that is present already is
    replaced: hidden in the base, dropped from the delta, added again."""
    gone = np.union1d(np.asarray(removed, np.int64), np.asarray(added_ids, np.int64))
    newly = np.setdiff1d(np.flatnonzero(among(base_ids, gone)), hidden)
    kept = ~among(delta_ids, gone)
    return LayerChange(np.union1d(hidden, newly).astype(np.int64), newly.astype(np.int64), kept)


def among(values: np.ndarray, few: np.ndarray, sorted_already: bool = False) -> np.ndarray:
    """``np.isin(values, few)`` by binary search in ``few`` sorted: an update
    names a few ids among millions, which isin would sort together."""
    few = np.asarray(few, np.int64) if sorted_already else np.sort(np.asarray(few, np.int64))
    if not len(few) or not len(values):
        return np.zeros(len(values), bool)
    at = np.minimum(np.searchsorted(few, values), len(few) - 1)
    return few[at] == values
