"""The searchable index of a corpus and its persistence in the index folder.

Layout of the index folder::

    index/
      CURRENT                   name of the build folder in use (replaced atomically)
      build-<stamp>/            one complete build
        manifest.json           model, dimension, versions, corpus files (sha256, size and
                                modification time, headline, outlet, date added), checksums
        groups.json             syndicated copies: the paragraph ids of each group
        paragraphs-*, embeddings-*, rows-delta.npz
                                paragraphs and their unit vectors (qa/index/rows.py)
        shingles-*.npz          word shingles, for grouping syndicated copies (qa/corpus/copies.py)
        dense-*                 FAISS index by paragraph id (qa/search/base.py)
        bm25-*.npz              each paragraph's BM25 tokens (qa/search/base.py)

A build is written into a temporary folder and only becomes current when
``CURRENT`` is replaced, so a crash mid-build leaves the previous build in use.
An update costs what changed, not the size of the archive: files of
unchanged size and modification time are not read; unchanged paragraphs keep
their vectors, shingles and tokens; and everything is kept in two layers, a
large base shared by consecutive builds through hard links and a small
delta of what changed since, folded into a new base now and then
(qa/search/base.py says when).
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import fcntl
import functools
import gc
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
import numpy as np
from qa.index.manifest import BACKENDS_VERSION
from qa.search.bm25 import Bm25Backend
from qa.corpus.articles import CorpusError
from qa.index.view import IndexView
from qa.corpus.articles import CorpusReadResult
from qa.index.manifest import FORMAT_VERSION
from qa.search.faiss import FaissBackend
from qa.index.manifest import LAYOUT_VERSION
from qa.types import Paragraph
from qa.search.base import Rows
from qa.corpus.shingles import ShingleLayers
from qa.corpus.articles import SkippedFile
from qa.index.rows import ParagraphRows
from qa.index.files import atomic_write_text
from qa.index.files import build_file_digest
from qa.index.files import fsync_tree
from qa.index.manifest import known_files
from qa.index.manifest import library_versions
from qa.index.memory import no_garbage_collection
from qa.index.memory import return_freed_memory
from qa.index.files import sha256_file
from qa.index.manifest import trusted_mtime
from qa.search import embeddings
from qa.corpus.copies import labels_of
from qa.corpus.articles import paragraph_ids
from qa.corpus.articles import read_corpus
from qa.search.faiss import resolve_index_type
from qa.corpus.copies import update_groups


log = logging.getLogger(__name__)


# progress(stage, done, total)
Progress = Callable[[str, int, int], None]


# embed(texts, on_batch) -> one unit vector per text, in order; on_batch(n) after each n texts
Embedder = Callable[[Sequence[str], Callable[[int], None] | None], np.ndarray]


class IndexUnavailable(RuntimeError):
    """The index cannot be loaded; the message says why."""


class IndexMissing(IndexUnavailable):
    pass


class IndexCorrupt(IndexUnavailable):
    pass


@dataclass
class UpdateReport:
    """What an index update did, for messages and tests."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    embedded_paragraphs: int = 0
    rebuilt_because: str | None = None  # set when the old index could not be reused
    read_only: bool = False  # the index folder could not be written: served as it was

    @property
    def up_to_date(self) -> bool:
        return not (self.added or self.changed or self.removed or self.rebuilt_because)


class IndexStore:
    """Loads, checks and updates the index of ``settings.corpus_dir`` kept in
    ``settings.index_dir``."""

    def __init__(self, settings: Settings, embed: Embedder | None = None):
        self.settings = settings
        self.folder = Path(settings.index_dir)
        # How paragraphs are embedded: in this process, or handed to Ray (qa/index/ray_build.py).
        self.embed: Embedder = embed or (
            lambda texts, on_batch=None: embeddings.encode(settings.model, texts, settings.embed_batch_size, on_batch)
        )
        self._written: tuple[str, IndexView] | None = None  # (build name, index) of this store's last build

    # -- reading -----------------------------------------------------------

    def load(self) -> IndexView:
        """Load the current build, checking every file against its checksum."""
        build = self._current_build()
        try:
            manifest = json.loads((build / "manifest.json").read_text("utf-8"))
            for name, digest in manifest["artifacts"].items():
                if sha256_file(build / name) != digest:
                    raise IndexCorrupt(f"{build.name}/{name} does not match its checksum (truncated or edited?)")
            if manifest.get("layout") == LAYOUT_VERSION:
                stored = ParagraphRows.load(build)
                paragraphs, ids = stored.paragraphs(), stored.ids()
                grouped = json.loads((build / "groups.json").read_text("utf-8"))
                groups = labels_of(ids, grouped)
            else:  # a build from before the two layers: one base, written as such at the next update
                rows = json.loads((build / "paragraphs.json").read_text("utf-8"))
                paragraphs = [Paragraph(*row[:5]) for row in rows]
                groups = [int(row[5]) for row in rows]
                stored = ParagraphRows.of(paragraphs, np.load(build / "embeddings.npy", allow_pickle=False))
                ids = stored.ids()
            index = IndexView(manifest, paragraphs, groups, stored, None, None, ids)
            if manifest.get("backend") == "milvus":
                from qa.search.milvus import MilvusBackend

                collection = MilvusBackend.load(
                    build, self.settings.milvus_uri, ids, [p.text for p in paragraphs], stored.vectors()
                )
                index.dense, index.lexical = collection.view("dense"), collection.view("bm25")
            elif manifest.get("backends") == BACKENDS_VERSION:
                index.dense = FaissBackend.load(build, manifest["index_type"])
                index.lexical = Bm25Backend.load(build)
            else:  # a build from before the backends' current layout: rebuilt from its vectors
                index.dense = FaissBackend.build(ids, stored.vectors(), manifest.get("index_type", "flat"))
                index.lexical = Bm25Backend.build(ids, [p.text for p in paragraphs])
        except IndexCorrupt:
            raise
        except Exception as err:  # any unreadable piece means the same thing to the user
            raise IndexCorrupt(f"{build} is unreadable ({type(err).__name__}: {err})") from err
        rows_agree = len(stored.base_vectors) == len(stored.base) and len(stored.delta_vectors) == len(stored.delta)
        rows_agree = rows_agree and (
            not len(stored.removed) or 0 <= stored.removed.min() <= stored.removed.max() < len(stored.base)
        )
        if not (rows_agree and len(paragraphs) == len(groups) == len(index.dense) == len(index.lexical)):
            raise IndexCorrupt(f"{build}: paragraph, vector and search-index counts disagree")
        return index

    def _last_written(self) -> IndexView:
        """The current build: the one this store wrote last, still in memory, if
        nothing replaced it since (an app adding articles one by one skips
        reading its whole index back); otherwise loaded and checked."""
        build = self._current_build()
        if self._written is not None and self._written[0] == build.name:
            return self._written[1]
        return self.load()

    def _current_build(self) -> Path:
        pointer = self.folder / "CURRENT"
        if not pointer.exists():
            raise IndexMissing(f"No index in {self.folder}/ yet.")
        try:
            name = pointer.read_text("utf-8").strip()
            build = self.folder / name
            ok = name.startswith("build-") and "/" not in name and build.is_dir()
        except (OSError, UnicodeDecodeError, ValueError) as err:  # a folder, binary bytes, a name too long
            raise IndexCorrupt(f"{pointer} is unreadable ({type(err).__name__})") from err
        if not ok:
            raise IndexCorrupt(f"{pointer} does not name a build folder of this index")
        return build

    # -- updating ----------------------------------------------------------

    def open(self, progress: Progress | None = None) -> tuple[IndexView, UpdateReport]:
        """The index, brought up to date with the corpus first if needed."""
        return self.update(progress)

    def update(self, progress: Progress | None = None, force: bool = False) -> tuple[IndexView, UpdateReport]:
        """Bring the index up to date with the corpus: embed only added or
        changed files, drop removed ones; rebuild everything when the old
        index is missing, corrupt or made with another model. An index folder
        that cannot be written is served as it is, if it can be read."""
        if self.folder.exists() and not self.folder.is_dir():
            raise IndexUnavailable(
                f"The index path {self.folder} is a file, not a folder: move it away or choose another "
                "index folder (--index or QA_INDEX_DIR)."
            )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = open(self.folder / ".lock", "w")  # noqa: SIM115 -- closed below; opening it is the write test
        except OSError as err:
            return self._read_only(err)
        # One writer at a time (the app's uploads and the CLI may race).
        with lock, no_garbage_collection():
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                index, report = self._update(progress, force)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        if not report.up_to_date:
            return_freed_memory()
        return index, report

    def _read_only(self, why: OSError) -> tuple[IndexView, UpdateReport]:
        """The index as it is, when its folder cannot be written: up to date,
        or with a warning naming what it lacks; an error if it cannot be read."""
        try:
            index = self.load()
        except IndexUnavailable as err:
            raise IndexUnavailable(
                f"The index folder {self.folder} cannot be written ({why.strerror or why}) and holds no usable "
                f"index ({err}). Choose a writable index folder (--index or QA_INDEX_DIR)."
            ) from err
        corpus = read_corpus(self.settings.corpus_dir, self.settings.max_file_bytes)
        files = index.manifest["files"]
        report = UpdateReport(skipped=list(corpus.skipped), read_only=True)
        for article in corpus.articles:
            known = files.get(article.source)
            if not known:
                report.added.append(article.source)
            elif known["sha256"] != article.sha256:
                report.changed.append(article.source)
            else:
                report.unchanged.append(article.source)
        report.removed = sorted(set(files) - {a.source for a in corpus.articles})
        if not report.up_to_date:
            log.warning(
                "The index folder %s cannot be written (%s): serving the index as built on %s, without the "
                "corpus changes since (%d added, %d changed, %d removed).",
                self.folder,
                why.strerror or why,
                index.manifest.get("built_at"),
                len(report.added),
                len(report.changed),
                len(report.removed),
            )
        return index, report

    def _update(self, progress: Progress | None, force: bool) -> tuple[IndexView, UpdateReport]:
        old, reason = self._reusable_index(force)
        old_files = old.manifest["files"] if old else {}
        read_at_ns = time.time_ns()
        corpus = read_corpus(
            self.settings.corpus_dir, self.settings.max_file_bytes, known_files(old.manifest) if old else None
        )
        if not corpus.articles and not corpus.unread:
            raise CorpusError(_empty_corpus_message(self.settings.corpus_dir, corpus))
        report = UpdateReport(skipped=list(corpus.skipped), rebuilt_because=reason)
        files: dict[str, dict] = {}  # the manifest's entry per article
        to_embed: list[Paragraph] = []
        read = {a.source: a for a in corpus.articles}
        for source in sorted([*read, *corpus.unread]):
            previous, article = old_files.get(source), read.get(source)
            size, mtime_ns = corpus.stats[source]
            if previous and (article is None or previous["sha256"] == article.sha256):
                report.unchanged.append(source)
                files[source] = previous | {"size": size, "mtime_ns": trusted_mtime(mtime_ns, read_at_ns)}
                if article is not None:  # read again: its listing is refreshed (an older index's too)
                    files[source] |= {"title": article.title, "outlet": article.outlet}
                files[source].setdefault("added", old.manifest["built_at"])
            else:
                (report.changed if previous else report.added).append(source)
                files[source] = {
                    "sha256": article.sha256,
                    "title": article.title,
                    "outlet": article.outlet,
                    "paragraphs": len(article.paragraphs),
                    "size": size,
                    "mtime_ns": trusted_mtime(mtime_ns, read_at_ns),
                }
                to_embed.extend(article.paragraphs)
        report.removed = sorted(s for s in old_files if s not in files)

        same_layout = bool(
            old
            and old.manifest.get("duplicate_threshold") == self.settings.duplicate_threshold
            and old.manifest.get("index_type") == resolve_index_type(self.settings.index_type, len(old.paragraphs))
            # Builds from before outlets, file times, stable ids and layers were recorded: rewritten once (vectors kept).
            and all("outlet" in f and "mtime_ns" in f for f in old_files.values())
            and old.manifest.get("backends") == BACKENDS_VERSION
            and old.manifest.get("layout") == LAYOUT_VERSION
            and old.manifest.get("backend", "faiss") == self.settings.backend
        )
        if old and report.up_to_date and same_layout:
            return old, report

        dim = embeddings.embedding_dimension(self.settings.model)
        fresh = np.zeros((0, dim), np.float32)
        if to_embed:
            total = len(to_embed)
            done = 0

            def on_batch(n: int) -> None:
                nonlocal done
                done += n
                if progress:
                    progress("Embedding paragraphs", done, total)

            if progress:
                progress("Embedding paragraphs", 0, total)
            fresh = np.asarray(self.embed([p.text for p in to_embed], on_batch), np.float32)
            report.embedded_paragraphs = total

        gone_sources = {*report.changed, *report.removed}
        gone_rows = (
            [r for r, p in enumerate(old.paragraphs) if p.source in gone_sources] if old and gone_sources else []
        )
        removed_ids = old.ids[gone_rows] if old else np.zeros(0, np.int64)
        if same_layout:
            stored = old.stored.updated(removed_ids, to_embed, fresh)
        else:  # one new base, in corpus order so builds are reproducible; kept rows keep their vectors
            kept = np.ones(len(old.paragraphs), bool) if old else np.zeros(0, bool)
            kept[gone_rows] = False
            paragraphs = [p for p, k in zip(old.paragraphs, kept.tolist(), strict=True) if k] if old else []
            paragraphs += to_embed
            matrix = np.vstack([old.embeddings[kept], fresh]) if old else fresh
            order = sorted(range(len(paragraphs)), key=lambda i: (paragraphs[i].source, paragraphs[i].paragraph))
            if order != list(range(len(order))):  # a first build is in this order already: its vectors stay uncopied
                paragraphs, matrix = [paragraphs[i] for i in order], matrix[order]
            stored = ParagraphRows.of(paragraphs, np.ascontiguousarray(matrix))
        index = IndexView({}, stored.paragraphs(), [], stored, None, None, stored.ids())

        if progress:
            progress("Grouping syndicated copies", 0, 1)
        if same_layout:
            removed = {(old.paragraphs[r].source, old.paragraphs[r].paragraph) for r in gone_rows}
            shingles = old.shingles or ShingleLayers.load(self._current_build())
            grouped, index.shingles = update_groups(
                old.paragraphs, old.groups, removed, to_embed, shingles, self.settings.duplicate_threshold, old.ids
            )
        else:
            grouped, index.shingles = update_groups(
                [], [], set(), index.paragraphs, ShingleLayers.empty(), self.settings.duplicate_threshold
            )
        group_ids = [paragraph_ids(group).tolist() for group in grouped]
        index.groups = labels_of(index.ids, group_ids)

        if progress:
            progress("Writing index", 0, 1)
        added = Rows(paragraph_ids(to_embed), [p.text for p in to_embed], fresh)
        self._update_backends(index, old, added, removed_ids)
        self._write(index, files, group_ids, dim, old)
        if progress:
            progress("Writing index", 1, 1)
        return index, report

    def _reusable_index(self, force: bool) -> tuple[IndexView | None, str | None]:
        """The current index if its vectors can be reused, else why not."""
        if force:
            return None, "a full rebuild was asked for"
        try:
            old = self._last_written()
        except IndexMissing:
            return None, "there was no index yet"
        except IndexCorrupt as err:
            log.warning("Index is unusable, rebuilding it: %s", err)
            return None, f"the index was unreadable: {err}"
        m = old.manifest
        if m.get("format") != FORMAT_VERSION:
            return None, f"the index format changed ({m.get('format')} → {FORMAT_VERSION})"
        if m.get("model") != self.settings.model:
            return None, f"the embedding model changed ({m.get('model')} → {self.settings.model})"
        dim = embeddings.embedding_dimension(self.settings.model)
        if m.get("dimension") != dim:
            return None, f"the embedding dimension changed ({m.get('dimension')} → {dim})"
        return old, None

    def _update_backends(self, index: IndexView, old: IndexView | None, added: Rows, removed: np.ndarray) -> None:
        """``index``'s search backends: ``old``'s with what changed (they hold
        ``old``'s rows whatever its layout), or built anew."""
        index_type = resolve_index_type(self.settings.index_type, len(index.paragraphs))

        def everything() -> Rows:
            return Rows(index.ids, [p.text for p in index.paragraphs], index.stored.vectors())

        if self.settings.backend == "milvus":
            from qa.search.milvus import MilvusBackend

            s = self.settings
            if old and isinstance(old.dense, MilvusBackend) and old.dense.collection == s.milvus_collection:
                collection = old.dense.updated(added, removed, everything)
            else:  # a first build, or one moving to Milvus: the collection is filled from scratch
                rows = everything()
                collection = MilvusBackend.filled(s.milvus_location, s.milvus_collection, *rows)
            index.dense, index.lexical = collection.view("dense"), collection.view("bm25")
        elif old and old.manifest.get("index_type") == index_type and isinstance(old.dense, FaissBackend):
            index.dense = old.dense.updated(added, removed, everything)
            index.lexical = old.lexical.updated(added, removed, everything)
        else:
            rows = everything()
            index.dense = FaissBackend.build(rows.ids, rows.vectors, index_type)
            index.lexical = Bm25Backend.build(rows.ids, rows.texts)

    def _write(self, index: IndexView, files: dict[str, dict], group_ids: list[list[int]], dim: int, old) -> None:
        """Write ``index`` as a new build and make it current. Files a build
        shares with the one before it (a base not folded since) are linked,
        and keep their checksums."""
        stamp = dt.datetime.now(dt.UTC)
        built_at = stamp.isoformat(timespec="seconds")
        pointer = self.folder / "CURRENT"
        try:
            previous: Path | None = self._current_build()
        except IndexUnavailable:
            previous = None
            if pointer.is_dir():  # damaged: CURRENT must be a file to be replaced atomically
                shutil.rmtree(pointer)
        known = old.manifest.get("artifacts", {}) if old is not None and previous is not None else {}
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-build-", dir=self.folder))
        try:
            index.stored.save(tmp, previous)
            index.dense.save(tmp, previous)
            index.lexical.save(tmp, previous)
            index.shingles.save(tmp, previous)
            (tmp / "groups.json").write_text(json.dumps(group_ids), "utf-8")
            manifest = {
                "format": FORMAT_VERSION,
                "layout": LAYOUT_VERSION,
                "model": self.settings.model,
                "model_path": embeddings.model_path(self.settings.model),
                "dimension": dim,
                "index_type": resolve_index_type(self.settings.index_type, len(index.paragraphs)),
                "duplicate_threshold": self.settings.duplicate_threshold,
                "versions": library_versions(),
                "corpus": str(Path(self.settings.corpus_dir).resolve()),
                "built_at": built_at,
                "paragraphs": len(index.paragraphs),
                "files": {source: entry | {"added": entry.get("added", built_at)} for source, entry in files.items()},
                "backends": BACKENDS_VERSION,
                "backend": self.settings.backend,
                "artifacts": {
                    f.relative_to(tmp).as_posix(): build_file_digest(f, previous, known)
                    for f in sorted(tmp.rglob("*"))
                    if f.is_file()
                },
            }
            # No indent: an indented dump takes json's pure-Python path (0.3 s at 21k articles).
            (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
            fsync_tree(tmp)
            build = self.folder / f"build-{stamp:%Y%m%dT%H%M%S%f}"
            os.rename(tmp, build)
            atomic_write_text(self.folder / "CURRENT", build.name + "\n")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # The build it replaces stays one generation, for readers still opening it.
        self._remove_old_builds(keep={build.name, previous.name if previous else ""})
        index.manifest = manifest
        self._written = (build.name, index)

    def _remove_old_builds(self, keep: set[str]) -> None:
        for entry in self.folder.iterdir():
            if entry.is_dir() and entry.name not in keep and entry.name.startswith(("build-", ".tmp-build-")):
                shutil.rmtree(entry, ignore_errors=True)


def _empty_corpus_message(folder: Path, corpus: CorpusReadResult) -> str:
    msg = f"No readable articles in {folder}/: add UTF-8 .txt files there."
    if corpus.skipped:
        msg += " Skipped: " + "; ".join(f"{s.source} ({s.reason})" for s in corpus.skipped)
    if corpus.ignored:
        msg += f" Ignored {len(corpus.ignored)} file(s) that are not .txt."
    return msg
