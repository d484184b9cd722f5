"""The index of a corpus in its folder: loaded, checked, and kept up to date.

Layout of the index folder::

    index/
      CURRENT                   name of the build folder in use (replaced atomically)
      build-<stamp>/            one complete build
        manifest.json           model, dimension, versions, checksums, and the corpus files
                                (sha256, size and modification time, headline, outlet, date
                                added) changed since files-base-*.json (qa/index/file_entries.py)
        groups.npz              syndicated copies: each grouped paragraph's id, and its group's first
        paragraphs-*, embeddings-*, rows-delta.npz
                                paragraphs and their unit vectors (qa/index/rows.py)
        shingles-*.npz          word shingles, for grouping syndicated copies (qa/corpus/shingles.py)
        dense-*                 FAISS index by paragraph id (qa/search/faiss.py)
        bm25-*.npz              each paragraph's BM25 tokens (qa/search/bm25.py)

An update costs what changed, not the size of the archive: files of
unchanged size and modification time are not read (qa/index/changes.py);
unchanged paragraphs keep their vectors, shingles and tokens
(qa/index/build.py); and everything is kept in two layers, a large base
shared by consecutive builds through hard links and a small delta of what
changed since (qa/layers.py). Builds are written whole or not at all
(qa/index/writer.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from qa.corpus.articles import CorpusError, paragraph_ids, read_corpus
from qa.corpus.copies import labels_by_key
from qa.corpus.text_layers import TextLayers
from qa.index.build import Embedder, Progress, embed_paragraphs, group_copies, next_backends, next_rows
from qa.index.changes import Changes, FolderLook, UpdateReport, compare, compare_served, empty_corpus_message
from qa.index.errors import IndexCorrupt, IndexMissing, IndexOutdated, IndexUnavailable
from qa.index.file_entries import FileEntries
from qa.index.files import sha256_file
from qa.index.fold import FoldsInBackground, wants_fold
from qa.index.manifest import FORMAT_VERSION, known_files, manifest_for, outdated
from qa.index.memory import no_garbage_collection, return_freed_memory, room_for_a_copy
from qa.index.rows import ParagraphRows
from qa.index.view import IndexView
from qa.index.writer import current_build, make_current, write_build
from qa.layers import folds_deferred
from qa.search import embeddings
from qa.search.base import Rows
from qa.search.bm25 import Bm25Backend
from qa.search.faiss import FaissBackend, resolve_index_type
from qa.settings import Settings

log = logging.getLogger(__name__)


class IndexStore(FoldsInBackground):
    """Loads, checks and updates the index of ``settings.corpus_dir`` kept in
    ``settings.index_dir``."""

    def __init__(
        self, settings: Settings, embed: Embedder | None = None, watch: bool = False, fold_in_background: bool = False
    ):
        """For a long-lived store (the app's): ``watch`` keeps a watch on the
        corpus folder, so that an update looks only at the files that changed
        (qa/corpus/watch.py); ``fold_in_background`` leaves folding the layers
        to a thread, so that no update waits on a fold (qa/index/fold.py), and
        ``on_fold`` is then called with each folded index."""
        self.settings = settings
        self.folder = Path(settings.index_dir)
        # How paragraphs are embedded: in this process, or handed to Ray (qa/index/ray_build.py).
        self.embed: Embedder = embed or (
            lambda texts, on_batch=None: embeddings.encode(settings.model, texts, settings.embed_batch_size, on_batch)
        )
        self._written: tuple[str, IndexView] | None = None  # (build name, index) of this store's last build
        self._own_build: str | None = None  # the build that shows this store's last look at the folder
        self.layers = TextLayers(self.folder / "texts")  # what web pages, PDFs and Word files read as
        self._look = FolderLook(settings, self.layers, watch)
        self._background = fold_in_background and settings.backend == "faiss"  # Milvus keeps its own segments
        self._folding: threading.Thread | None = None
        self.on_fold: Callable[[IndexView], None] | None = None

    # -- reading -----------------------------------------------------------

    def load(self) -> IndexView:
        """Load the current build, checking every file against its checksum."""
        build = current_build(self.folder)
        try:
            manifest = json.loads((build / "manifest.json").read_text("utf-8"))
            why = outdated(manifest)
            if why:
                raise IndexOutdated(f"{build.name} was written by another version of this app: {why}")
            for name, digest in manifest["artifacts"].items():
                if sha256_file(build / name) != digest:
                    raise IndexCorrupt(f"{build.name}/{name} does not match its checksum (truncated or edited?)")
            file_entries = FileEntries.load(build, manifest)
            manifest["files"] = file_entries.files()
            del manifest["files_layers"]
            stored = ParagraphRows.load(build)
            paragraphs, ids = stored.paragraphs(), stored.ids()
            with np.load(build / "groups.npz", allow_pickle=False) as z:
                groups = labels_by_key(ids, z["ids"], z["keys"])
            index = IndexView(manifest, paragraphs, groups, stored, None, None, ids, file_entries=file_entries)
            if manifest["backend"] == "milvus":
                from qa.search.milvus import MilvusBackend

                collection = MilvusBackend.load(
                    build, self.settings.milvus_uri, ids, [p.text for p in paragraphs], stored.vectors()
                )
                index.dense, index.lexical = collection.view("dense"), collection.view("bm25")
            else:
                index.dense = FaissBackend.load(build, manifest["index_type"])
                index.lexical = Bm25Backend.load(build)
        except IndexUnavailable:
            raise
        except Exception as err:  # any unreadable piece means the same thing to the user
            raise IndexCorrupt(f"{build} is unreadable ({type(err).__name__}: {err})") from err
        if not index.counts_agree():
            raise IndexCorrupt(f"{build}: paragraph, vector and search-index counts disagree")
        return index

    def _last_written(self) -> IndexView:
        """The current build: the one this store wrote last, still in memory, if
        nothing replaced it since (an app adding articles one by one skips
        reading its whole index back); otherwise loaded and checked."""
        build = current_build(self.folder)
        if self._written is not None and self._written[0] == build.name:
            return self._written[1]
        index = self.load()
        self._written = (build.name, index)  # read once: the next update does not read it again
        return index

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
            open(self.folder / ".lock", "a").close()  # the write test
        except OSError as err:
            return self._read_only(err)
        with self._exclusive(), no_garbage_collection():
            index, report = self._update(progress, force)
        if not report.up_to_date:
            return_freed_memory()
            if self._background and wants_fold(index):
                if room_for_a_copy():
                    self.fold_in_background()
                else:
                    log.warning(
                        "Not folding the index in the background: it needs as much memory again as this app holds"
                    )
        return index, report

    @property
    def latest(self) -> IndexView | None:
        """The index of the build this store wrote or read last."""
        return self._written[1] if self._written else None

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The writer's lock: one writer at a time, across processes (the app's uploads and the CLI may race)."""
        with open(self.folder / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

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
        report = compare_served(corpus, index.manifest["files"])
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
        try:
            return self._updated(progress, force)
        except BaseException:
            self._look.forget()  # the changes it saw are in no build: look at everything next time
            raise

    def _updated(self, progress: Progress | None, force: bool) -> tuple[IndexView, UpdateReport]:
        s = self.settings
        old, reason = self._reusable_index(force)
        read_at_ns, stamp = time.time_ns(), dt.datetime.now(dt.UTC)
        known = known_files(old.manifest) if old else None
        # The folder watch tells what changed since this store's own last look, which the build it wrote or checked shows.
        own = old is not None and self._written is not None and old is self._written[1]
        own = own and self._written[0] == self._own_build
        corpus, looked_at = self._look.look(own, known, progress)
        added_at = stamp.isoformat(timespec="seconds")
        changes = compare(corpus, old.manifest["files"] if old else {}, read_at_ns, reason, added_at, looked_at)
        if not changes.files:
            raise CorpusError(empty_corpus_message(s.corpus_dir, corpus))
        del corpus  # every article's whole text, which a first build no longer needs: the paragraphs hold theirs
        report, added = changes.report, changes.to_embed
        same_layout = bool(
            old
            and old.manifest["duplicate_threshold"] == s.duplicate_threshold
            and old.manifest["index_type"] == resolve_index_type(s.index_type, len(old.paragraphs))
            and old.manifest["backend"] == s.backend
        )
        if old and report.up_to_date and same_layout:
            self._own_build = self._written[0] if self._written else None  # the folder, as this look saw it
            return old, report

        dim = embeddings.embedding_dimension(s.model)
        vectors = embed_paragraphs(self.embed, added, dim, progress)
        report.embedded_paragraphs = len(added)
        with folds_deferred() if self._background else contextlib.nullcontext():
            index = self._apply(old, changes, vectors, same_layout, stamp, progress)
        return index, report

    def _apply(
        self,
        old: IndexView | None,
        changes: Changes,
        vectors: np.ndarray,
        same_layout: bool,
        stamp: dt.datetime,
        progress: Progress | None = None,
        previous: Path | None = None,
    ) -> IndexView:
        """The next build, ``old`` with ``changes`` (the added paragraphs'
        ``vectors`` given), written and made current. ``previous``: the build
        whose files it may link, when not the current one (``old``'s)."""
        s, added, report = self.settings, changes.to_embed, changes.report
        gone = {*report.changed, *report.removed}
        gone_rows = old.rows_of(gone) if old and gone else np.zeros(0, np.int64)
        stored = next_rows(old, gone_rows, added, vectors, same_layout)
        index = IndexView({}, stored.paragraphs(), [], stored, None, None, stored.ids())

        if progress:
            progress("Grouping syndicated copies", 0, 1)
        last_build = lambda: previous or current_build(self.folder)  # noqa: E731
        group_copies(index, old, gone_rows, added, same_layout, last_build, s.duplicate_threshold)

        if progress:
            progress("Writing index", 0, 1)
        removed_ids = old.ids[gone_rows] if old else np.zeros(0, np.int64)
        next_backends(s, index, old, Rows(paragraph_ids(added), [p.text for p in added], vectors), removed_ids)
        self._write(index, changes, vectors.shape[1], old, stamp, previous)
        if progress:
            progress("Writing index", 1, 1)
        return index

    def _reusable_index(self, force: bool) -> tuple[IndexView | None, str | None]:
        """The current index if its vectors can be reused, else why not."""
        if force:
            return None, "a full rebuild was asked for"
        try:
            old = self._last_written()
        except IndexMissing:
            return None, "there was no index yet"
        except IndexOutdated as err:
            return None, str(err)
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

    def _write(
        self,
        index: IndexView,
        changes: Changes,
        dim: int,
        old: IndexView | None,
        stamp: dt.datetime,
        previous: Path | None = None,
    ) -> None:
        """Write ``index`` as a new build and make it current (``previous``: see :meth:`_apply`)."""
        try:
            current: Path | None = current_build(self.folder)
        except IndexUnavailable:
            current = None
            pointer = self.folder / "CURRENT"
            if pointer.is_dir():  # damaged: CURRENT must be a file to be replaced atomically
                shutil.rmtree(pointer)
        previous = previous or current
        linked = old is not None and previous is not None
        known = old.manifest.get("artifacts", {}) if linked else {}
        if linked and old.file_entries is not None:
            index.file_entries = old.file_entries.updated(changes.files, changes.touched, changes.report.removed)
        else:
            index.file_entries = FileEntries(changes.files)
        manifest = manifest_for(self.settings, index, changes.files, dim, stamp.isoformat(timespec="seconds"))
        name = write_build(self.folder, index, manifest, previous, known, stamp)
        make_current(self.folder, name, current.name if current else None)
        index.manifest = manifest
        self._written, self._own_build = (name, index), name
        gone = [*changes.report.changed, *changes.report.removed]
        before = old.manifest["files"] if old is not None else {}
        if old is None or any(before[s].get("format", "txt") != "txt" for s in gone):  # a .txt file has no layer
            self.layers.keep_only({f["sha256"] for f in changes.files.values()})
