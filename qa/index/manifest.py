"""What a build's manifest records, and which corpus files it lets an update skip."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from qa.index.view import IndexView
from qa.search import embeddings
from qa.search.faiss import resolve_index_type
from qa.settings import Settings

# Bump when paragraph splitting changes: older builds are then rebuilt from
# scratch instead of being reused.
FORMAT_VERSION = 2
# The layout of the search backends' files in a build, and of the paragraphs,
# vectors and shingles: a build in another layout is rebuilt.
BACKENDS_VERSION = 2
LAYOUT_VERSION = 3


def manifest_for(settings: Settings, index: IndexView, files: dict[str, dict], dim: int, built_at: str) -> dict:
    """A new build's manifest, less its files' checksums (the writer adds those).
    ``files``: each corpus file's entry, with the date it was added."""
    return {
        "format": FORMAT_VERSION,
        "layout": LAYOUT_VERSION,
        "model": settings.model,
        "model_path": embeddings.model_path(settings.model),
        "dimension": dim,
        "index_type": resolve_index_type(settings.index_type, len(index.paragraphs)),
        "duplicate_threshold": settings.duplicate_threshold,
        "versions": library_versions(),
        "corpus": str(Path(settings.corpus_dir).resolve()),
        "built_at": built_at,
        "paragraphs": len(index.paragraphs),
        "files": files,
        "backends": BACKENDS_VERSION,
        "backend": settings.backend,
    }


def outdated(manifest: dict) -> str | None:
    """Why a build's layout is not the one this version reads, or None."""
    for key, version in (("layout", LAYOUT_VERSION), ("backends", BACKENDS_VERSION)):
        if manifest.get(key) != version:
            return f"its {key} version is {manifest.get(key)}, this version reads {version}"
    return None


def known_files(manifest: dict) -> Callable[[str, int, int], bool]:
    """Whether a file is the one the manifest lists, judged by its size and
    modification time (see ``trusted_mtime``)."""
    files = manifest["files"]

    def known(source: str, size: int, mtime_ns: int) -> bool:
        f = files.get(source)
        return f is not None and f.get("mtime_ns") is not None and (f.get("size"), f["mtime_ns"]) == (size, mtime_ns)

    return known


def trusted_mtime(mtime_ns: int, read_at_ns: int) -> int | None:
    """The modification time to record for a file read at ``read_at_ns``:
    none if it was modified in the two seconds before, since a file system
    with coarse timestamps could give a later edit the same time."""
    return mtime_ns if mtime_ns < read_at_ns - 2_000_000_000 else None


def library_versions() -> dict[str, str]:
    return dict(_library_versions())


@functools.cache
def _library_versions() -> dict[str, str]:
    # Read once a process: parsing the packages' metadata costs more than the rest of a small update.
    versions = {}
    for name in ("sentence-transformers", "transformers", "torch", "faiss-cpu", "bm25s", "numpy"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions
