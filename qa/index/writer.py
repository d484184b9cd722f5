"""Builds in the index folder: which one is current, and writing the next one whole or not at all.

A build is written into a temporary folder and only becomes current when
``CURRENT`` is replaced, so a crash mid-build leaves the previous build in
use. Files a build shares with the one before it (a base not folded since)
are hard links, and keep their checksums.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from qa.corpus.copies import grouped_by_key
from qa.index.errors import IndexCorrupt, IndexMissing
from qa.index.files import atomic_write_text, build_file_digest, fsync_tree
from qa.index.view import IndexView


def current_build(folder: Path) -> Path:
    """The build folder ``CURRENT`` names; IndexMissing or IndexCorrupt if none can be used."""
    pointer = folder / "CURRENT"
    if not pointer.exists():
        raise IndexMissing(f"No index in {folder}/ yet.")
    try:
        name = pointer.read_text("utf-8").strip()
        build = folder / name
        ok = name.startswith("build-") and "/" not in name and build.is_dir()
    except (OSError, UnicodeDecodeError, ValueError) as err:  # a folder, binary bytes, a name too long
        raise IndexCorrupt(f"{pointer} is unreadable ({type(err).__name__})") from err
    if not ok:
        raise IndexCorrupt(f"{pointer} does not name a build folder of this index")
    return build


def write_build(
    folder: Path,
    index: IndexView,
    manifest: dict,
    previous: Path | None,
    known: dict[str, str],
    stamp: dt.datetime,
) -> str:
    """Write ``index`` as a new build with ``manifest`` (its checksums added);
    returns the build's name (:func:`make_current` makes it current).
    ``previous`` is a build whose files the new one may link; ``known`` its checksums."""
    return publish(folder, write_unpublished(folder, index, manifest, previous, known), stamp)


def publish(folder: Path, tmp: Path, stamp: dt.datetime) -> str:
    """A build written by :func:`write_unpublished` as ``build-<stamp>``; returns its name."""
    build = folder / f"build-{stamp:%Y%m%dT%H%M%S%f}"
    try:
        os.rename(tmp, build)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return build.name


def write_unpublished(folder: Path, index: IndexView, manifest: dict, previous: Path | None, known: dict) -> Path:
    """``index`` written whole into a hidden folder of ``folder``, named with
    this process's id so that no other writer removes it while it is written
    (:func:`remove_old_builds`); :func:`publish` names it as a build."""
    tmp = Path(tempfile.mkdtemp(prefix=_writer_prefix(), dir=folder))
    try:
        index.stored.save(tmp, previous)
        index.dense.save(tmp, previous)
        index.lexical.save(tmp, previous)
        index.shingles.save(tmp, previous)
        index.file_entries.save(tmp, previous)
        with open(tmp / "groups.npz", "wb") as f:
            np.savez(f, **grouped_by_key(index.ids, index.groups))
        manifest["artifacts"] = {
            f.relative_to(tmp).as_posix(): build_file_digest(f, previous, known)
            for f in sorted(tmp.rglob("*"))
            if f.is_file()
        }
        (tmp / "manifest.json").write_text(
            json.dumps(index.file_entries.in_manifest(manifest), ensure_ascii=False), "utf-8"
        )
        fsync_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def make_current(folder: Path, name: str, replaced: str | None) -> None:
    """Point ``CURRENT`` at build ``name``, atomically. The build it replaces
    stays one generation, for readers still opening it; older ones go."""
    atomic_write_text(folder / "CURRENT", name + "\n")
    remove_old_builds(folder, keep={name, replaced or ""})


_UNPUBLISHED = ".tmp-build-"


def held_files(folder: Path, build: Path, pattern: str) -> Path:
    """Hard links to ``build``'s files matching ``pattern``, in an unpublished
    folder of ``folder`` (see :func:`write_unpublished`): readable after the
    build itself is removed. The caller removes the folder."""
    held = Path(tempfile.mkdtemp(prefix=_writer_prefix(), dir=folder))
    for path in build.glob(pattern):
        os.link(path, held / path.name)
    return held


def remove_old_builds(folder: Path, keep: set[str]) -> None:
    """Every build but those in ``keep``, and every unpublished one whose writer is gone."""
    for entry in folder.iterdir():
        if not entry.is_dir() or entry.name in keep:
            continue
        if entry.name.startswith("build-") or (entry.name.startswith(_UNPUBLISHED) and not _writer_alive(entry.name)):
            shutil.rmtree(entry, ignore_errors=True)


def _writer_prefix() -> str:
    """``.tmp-build-<pid>-<its start time>-``: a process id alone is reused (an
    app restarted as a container's process 1 has the same one)."""
    return f"{_UNPUBLISHED}{os.getpid()}-{_started(os.getpid())}-"


def _started(pid: int) -> str:
    """When process ``pid`` started, in clock ticks since boot; "" if it does not run or cannot be told."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _writer_alive(name: str) -> bool:
    """Whether the process that named an unpublished build so still runs (a
    background fold writes one outside the writer's lock)."""
    pid, _, rest = name.removeprefix(_UNPUBLISHED).partition("-")
    started = rest.partition("-")[0]
    return pid.isdigit() and bool(started) and _started(int(pid)) == started
