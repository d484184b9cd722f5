"""The searchable index of a corpus and its persistence in the index folder.

Layout of the index folder::

    index/
      CURRENT              name of the build folder in use (replaced atomically)
      build-<stamp>/       one complete build
        manifest.json      model, dimension, versions, corpus files (sha256, size and
                           modification time, headline, outlet, date added), checksums
        paragraphs.json    paragraph metadata and text, row i = vector i
        embeddings.npy     unit-length float32 vectors (kept for incremental updates)
        shingles.npz       every paragraph's word shingles, for grouping syndicated copies
        dense.faiss        FAISS inner-product index over the vectors, by paragraph id
        dense-hidden.npy   positions of vectors removed from an HNSW graph but still in it
        bm25/              bm25s lexical index
        bm25-tokens.npz    each paragraph's tokens, so an update tokenizes only new ones

A build is written into a temporary folder and only becomes current when
``CURRENT`` is replaced, so a crash mid-build leaves the previous build in use.
An update reuses what did not change: files of unchanged size and modification
time are not read; unchanged paragraphs keep their vectors, shingles and
tokens; the search backends (qa/backends.py) add and drop only the paragraphs
that changed.
"""

from __future__ import annotations

import contextlib
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

from qa import embeddings
from qa.aggregate import syndication_families
from qa.articles import CorpusError, CorpusReadResult, SkippedFile, read_corpus
from qa.backends import Bm25Backend, FaissBackend, SearchBackend, bm25_tokenize
from qa.dedup import ShingleIndex, group_labels, paragraph_id, update_groups
from qa.settings import Settings
from qa.types import Paragraph, SourceInfo

log = logging.getLogger(__name__)

# Bump when paragraph splitting or the stored layout changes: older builds are
# then rebuilt from scratch instead of being reused.
FORMAT_VERSION = 2
# The layout of the search backends' files in a build (qa/backends.py).
BACKENDS_VERSION = 1

# Words that carry no content of their own in a question (stemmed where
# the stemmer changes them).
QUESTION_WORDS = frozenset(
    "who whom whose what when where which why how mani many much long is are was were be been did does do doe has have had "
    "the a an of in on at to for with and or s he she him her his it its they them their this that these those there "
    "then i you we our your me my can could would should will shall may might".split()
)


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
class CorpusIndex:
    """A loaded index: paragraphs, their duplicate groups and both search structures."""

    manifest: dict
    paragraphs: list[Paragraph]
    groups: list[int]  # group id per paragraph; copies share one
    embeddings: np.ndarray
    dense: SearchBackend  # by meaning
    lexical: SearchBackend  # by words

    @property
    def model(self) -> str:
        return self.manifest["model"]

    def paragraph_text(self, source: str, paragraph: int) -> str:
        return self.paragraphs[self._rows[(source, paragraph)]].text

    def neighbours(self, source: str, paragraph: int, around: int = 1) -> list[Paragraph]:
        """The paragraph with up to ``around`` paragraphs either side of it."""
        numbers = range(paragraph - around, paragraph + around + 1)
        return [self.paragraphs[self._rows[(source, n)]] for n in numbers if (source, n) in self._rows]

    @functools.cached_property
    def _rows(self) -> dict[tuple[str, int], int]:
        return {(p.source, p.paragraph): row for row, p in enumerate(self.paragraphs)}

    def copies_of(self, row: int) -> list[int]:
        """Rows of the other paragraphs in ``row``'s duplicate group."""
        return [r for r in self._group_members.get(self.groups[row], ()) if r != row]

    @functools.cached_property
    def _group_members(self) -> dict[int, list[int]]:
        members: dict[int, list[int]] = {}
        for row, group in enumerate(self.groups):
            members.setdefault(group, []).append(row)
        return {group: rows for group, rows in members.items() if len(rows) > 1}

    @functools.cached_property
    def families(self) -> dict[str, str]:
        """Each source's syndication family: articles that share a copied
        paragraph count as one independent article."""
        sources: dict[int, set[str]] = {}
        for p, group in zip(self.paragraphs, self.groups, strict=True):
            sources.setdefault(group, set()).add(p.source)
        return syndication_families([sorted(s) for s in sources.values()])

    def family_of(self, source: str) -> str:
        return self.families.get(source, source)

    @functools.cached_property
    def document_frequency(self) -> dict[str, int]:
        """How many paragraphs each BM25 token occurs in (for term weights):
        read off the BM25 backend's postings where it has them, else counted
        from the paragraphs (a backend that keeps its postings elsewhere)."""
        if isinstance(self.lexical, Bm25Backend):
            return self.lexical.document_frequency()
        counts: dict[str, int] = {}
        for tokens in bm25_tokenize([p.text for p in self.paragraphs]):
            for token in set(tokens):
                counts[token] = counts.get(token, 0) + 1
        return counts

    def term_weights(self, text: str) -> dict[str, float]:
        """Inverse document frequency of each content term of ``text``, in
        the lexical index's vocabulary (stemmed, stop words dropped)."""
        if not text.strip():
            return {}
        n = max(len(self.paragraphs), 1)
        df = self.document_frequency
        terms = set(bm25_tokenize([text])[0]) - QUESTION_WORDS
        return {t: math.log(1 + n / (1 + df.get(t, 0))) for t in terms}

    def sources(self) -> list[SourceInfo]:
        return list(self.articles.values())

    @functools.cached_property
    def articles(self) -> dict[str, SourceInfo]:
        """Each indexed article by file name, in name order."""
        return {
            name: SourceInfo(
                source=name,
                title=f["title"],
                paragraphs=f["paragraphs"],
                sha256=f["sha256"],
                outlet=f.get("outlet", ""),
                # Indexes built before "added" was recorded: the build time is the best known.
                added=f.get("added", self.manifest["built_at"]),
            )
            for name, f in sorted(self.manifest["files"].items())
        }

    @functools.cached_property
    def ids(self) -> np.ndarray:
        """Each row's stable paragraph id (what the backends know paragraphs by)."""
        return np.fromiter(
            (paragraph_id(p.source, p.paragraph) for p in self.paragraphs), np.int64, len(self.paragraphs)
        )

    @functools.cached_property
    def _row_of_id(self) -> dict[int, int]:
        return {i: r for r, i in enumerate(self.ids.tolist())}

    def dense_search(self, query_vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        """(row, cosine similarity) of the ``n`` closest paragraphs."""
        return self._rows_of(self.dense.search("", query_vector, n))

    def lexical_search(self, query: str, n: int) -> list[tuple[int, float]]:
        """(row, BM25 score) of the ``n`` best paragraphs for the words of ``query``."""
        return self._rows_of(self.lexical.search(query, None, n))

    def _rows_of(self, hits: list[tuple[int, float]]) -> list[tuple[int, float]]:
        # An id the paragraphs do not know (an external backend ahead of this build) is skipped.
        return [(self._row_of_id[i], s) for i, s in hits if i in self._row_of_id]


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
        # How paragraphs are embedded: in this process, or handed to Ray (qa/ray_build.py).
        self.embed: Embedder = embed or (
            lambda texts, on_batch=None: embeddings.encode(settings.model, texts, settings.embed_batch_size, on_batch)
        )
        self._written: tuple[str, CorpusIndex] | None = None  # (build name, index) of this store's last build

    # -- reading -----------------------------------------------------------

    def load(self) -> CorpusIndex:
        """Load the current build, checking every file against its checksum."""
        build = self._current_build()
        try:
            manifest = json.loads((build / "manifest.json").read_text("utf-8"))
            for name, digest in manifest["artifacts"].items():
                if _sha256_path(build / name) != digest:
                    raise IndexCorrupt(f"{build.name}/{name} does not match its checksum (truncated or edited?)")
            rows = json.loads((build / "paragraphs.json").read_text("utf-8"))
            paragraphs = [Paragraph(*row[:5]) for row in rows]
            groups = [int(row[5]) for row in rows]
            vectors = np.load(build / "embeddings.npy", allow_pickle=False)
            index = CorpusIndex(manifest, paragraphs, groups, vectors, None, None)
            if manifest.get("backend") == "milvus":
                from qa.milvus_backend import MilvusBackend

                collection = MilvusBackend.load(
                    build, self.settings.milvus_uri, index.ids, [p.text for p in paragraphs], vectors
                )
                index.dense, index.lexical = collection.view("dense"), collection.view("bm25")
            elif manifest.get("backends") == BACKENDS_VERSION:
                index.dense = FaissBackend.load(build, manifest["index_type"])
                index.lexical = Bm25Backend.load(build)
            else:  # a build from before paragraphs had stable ids: its backends are rebuilt from its vectors
                index.dense = FaissBackend.build(index.ids, vectors, manifest.get("index_type", "flat"))
                index.lexical = Bm25Backend.build(index.ids, [p.text for p in paragraphs])
        except IndexCorrupt:
            raise
        except Exception as err:  # any unreadable piece means the same thing to the user
            raise IndexCorrupt(f"{build} is unreadable ({type(err).__name__}: {err})") from err
        if not (len(paragraphs) == len(groups) == vectors.shape[0] == len(index.dense) == len(index.lexical)):
            raise IndexCorrupt(f"{build}: paragraph, vector and search-index counts disagree")
        return index

    def _last_written(self) -> CorpusIndex:
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

    def open(self, progress: Progress | None = None) -> tuple[CorpusIndex, UpdateReport]:
        """The index, brought up to date with the corpus first if needed."""
        return self.update(progress)

    def update(self, progress: Progress | None = None, force: bool = False) -> tuple[CorpusIndex, UpdateReport]:
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
        with lock, _no_garbage_collection():
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return self._update(progress, force)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_only(self, why: OSError) -> tuple[CorpusIndex, UpdateReport]:
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

    def _update(self, progress: Progress | None, force: bool) -> tuple[CorpusIndex, UpdateReport]:
        old, reason = self._reusable_index(force)
        old_files = old.manifest["files"] if old else {}
        read_at_ns = time.time_ns()
        corpus = read_corpus(
            self.settings.corpus_dir, self.settings.max_file_bytes, _known_files(old.manifest) if old else None
        )
        if not corpus.articles and not corpus.unread:
            raise CorpusError(_empty_corpus_message(self.settings.corpus_dir, corpus))
        report = UpdateReport(skipped=list(corpus.skipped), rebuilt_because=reason)
        rows_by_source: dict[str, list[int]] = {}
        if old:
            for i, p in enumerate(old.paragraphs):
                rows_by_source.setdefault(p.source, []).append(i)

        files: dict[str, dict] = {}  # the manifest's entry per article
        kept: list[int] = []  # rows of the old index that stay, with their vectors
        to_embed: list[Paragraph] = []
        read = {a.source: a for a in corpus.articles}
        for source in sorted([*read, *corpus.unread]):
            previous, article = old_files.get(source), read.get(source)
            size, mtime_ns = corpus.stats[source]
            if previous and (article is None or previous["sha256"] == article.sha256):
                report.unchanged.append(source)
                files[source] = previous | {"size": size, "mtime_ns": _trusted_mtime(mtime_ns, read_at_ns)}
                if article is not None:  # read again: its listing is refreshed (an older index's too)
                    files[source] |= {"title": article.title, "outlet": article.outlet}
                files[source].setdefault("added", old.manifest["built_at"])
                kept += rows_by_source.get(source, [])
            else:
                (report.changed if previous else report.added).append(source)
                files[source] = {
                    "sha256": article.sha256,
                    "title": article.title,
                    "outlet": article.outlet,
                    "paragraphs": len(article.paragraphs),
                    "size": size,
                    "mtime_ns": _trusted_mtime(mtime_ns, read_at_ns),
                }
                to_embed.extend(article.paragraphs)
        report.removed = sorted(s for s in old_files if s not in files)

        same_layout = (
            old
            and old.manifest.get("duplicate_threshold") == self.settings.duplicate_threshold
            and old.manifest.get("index_type") == resolve_index_type(self.settings.index_type, len(old.paragraphs))
            # Builds from before outlets, file times and stable ids were recorded: rewritten once (vectors kept).
            and all("outlet" in f and "mtime_ns" in f for f in old_files.values())
            and old.manifest.get("backends") == BACKENDS_VERSION
            and old.manifest.get("backend", "faiss") == self.settings.backend
        )
        if old and report.up_to_date and same_layout:
            return old, report

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
            fresh = self.embed([p.text for p in to_embed], on_batch)
            report.embedded_paragraphs = total

        dim = embeddings.embedding_dimension(self.settings.model)
        # One gather of the kept vectors, not one copy per article.
        paragraphs = [old.paragraphs[i] for i in kept] + to_embed if old else list(to_embed)
        matrix = old.embeddings[kept] if old else np.zeros((0, dim), np.float32)
        if to_embed:
            matrix = np.vstack([matrix, fresh])
        # Keep rows in corpus order so builds are reproducible.
        order = sorted(range(len(paragraphs)), key=lambda i: (paragraphs[i].source, paragraphs[i].paragraph))
        paragraphs = [paragraphs[i] for i in order]
        matrix = np.ascontiguousarray(matrix[order], dtype=np.float32)
        if progress:
            progress("Grouping syndicated copies", 0, 1)
        groups, shingle_index = self._regroup(old, paragraphs, to_embed, report)
        if progress:
            progress("Writing index", 0, 1)
        new = {paragraph_id(p.source, p.paragraph) for p in to_embed}
        index = self._write(files, paragraphs, matrix, dim, groups, shingle_index, old, new)
        if progress:
            progress("Writing index", 1, 1)
        return index, report

    def _regroup(
        self, old: CorpusIndex | None, paragraphs: list[Paragraph], added: list[Paragraph], report: UpdateReport
    ) -> tuple[list[int], ShingleIndex]:
        """Duplicate-group labels for ``paragraphs``: only the added and removed
        paragraphs are compared when the last build's shingle index can be reused."""
        threshold = self.settings.duplicate_threshold
        shingle_file = self._current_build() / "shingles.npz" if old else None
        if old and old.manifest.get("duplicate_threshold") == threshold and shingle_file.is_file():
            gone = {*report.changed, *report.removed}
            removed = {(p.source, p.paragraph) for p in old.paragraphs if p.source in gone}
            groups, shingle_index = update_groups(
                old.paragraphs, old.groups, removed, added, ShingleIndex.load(shingle_file), threshold, old.ids
            )
        else:
            groups, shingle_index = update_groups([], [], set(), paragraphs, ShingleIndex.empty(), threshold)
        return group_labels(paragraphs, groups), shingle_index

    def _reusable_index(self, force: bool) -> tuple[CorpusIndex | None, str | None]:
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

    def _write(
        self,
        files: dict[str, dict],
        paragraphs: list[Paragraph],
        matrix: np.ndarray,
        dim: int,
        groups: list[int],
        shingle_index: ShingleIndex,
        old: CorpusIndex | None,
        new: set[int],
    ) -> CorpusIndex:
        index_type = resolve_index_type(self.settings.index_type, len(matrix))
        index = CorpusIndex({}, paragraphs, groups, matrix, None, None)
        texts = [p.text for p in paragraphs]
        if self.settings.backend == "milvus":
            index.dense, index.lexical = self._milvus(old, index.ids, texts, matrix, new)
        elif old and old.manifest.get("index_type") == index_type and isinstance(old.dense, FaissBackend):
            index.dense = old.dense.updated(index.ids, texts, matrix, new)
            index.lexical = old.lexical.updated(index.ids, texts, matrix, new)
        else:
            index.dense = FaissBackend.build(index.ids, matrix, index_type)
            index.lexical = Bm25Backend.build(index.ids, texts)

        counts: dict[str, int] = {}
        for p in paragraphs:
            counts[p.source] = counts.get(p.source, 0) + 1
        stamp = dt.datetime.now(dt.UTC)
        built_at = stamp.isoformat(timespec="seconds")
        pointer = self.folder / "CURRENT"
        try:
            previous = self._current_build().name
        except IndexUnavailable:
            previous = ""
            if pointer.is_dir():  # damaged: CURRENT must be a file to be replaced atomically
                shutil.rmtree(pointer)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-build-", dir=self.folder))
        try:
            rows = [[p.source, p.paragraph, p.start, p.end, p.text, g] for p, g in zip(paragraphs, groups, strict=True)]
            (tmp / "paragraphs.json").write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
            np.save(tmp / "embeddings.npy", matrix, allow_pickle=False)
            index.dense.save(tmp)
            index.lexical.save(tmp)
            shingle_index.save(tmp / "shingles.npz")
            manifest = {
                "format": FORMAT_VERSION,
                "model": self.settings.model,
                "model_path": embeddings.model_path(self.settings.model),
                "dimension": dim,
                "index_type": index_type,
                "duplicate_threshold": self.settings.duplicate_threshold,
                "versions": _library_versions(),
                "corpus": str(Path(self.settings.corpus_dir).resolve()),
                "built_at": built_at,
                "paragraphs": len(paragraphs),
                "files": {
                    source: entry | {"paragraphs": counts.get(source, 0), "added": entry.get("added", built_at)}
                    for source, entry in files.items()
                },
                "backends": BACKENDS_VERSION,
                "backend": self.settings.backend,
                "artifacts": {
                    f.relative_to(tmp).as_posix(): _sha256_path(f) for f in sorted(tmp.rglob("*")) if f.is_file()
                },
            }
            # No indent: an indented dump takes json's pure-Python path (0.3 s at 21k articles).
            (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
            _fsync_tree(tmp)
            build = self.folder / f"build-{stamp:%Y%m%dT%H%M%S%f}"
            os.rename(tmp, build)
            _atomic_write_text(self.folder / "CURRENT", build.name + "\n")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # The build it replaces stays one generation, for readers still opening it.
        self._remove_old_builds(keep={build.name, previous})
        index.manifest = manifest
        self._written = (build.name, index)
        return index

    def _milvus(
        self, old: CorpusIndex | None, ids: np.ndarray, texts: list[str], matrix: np.ndarray, new: set[int]
    ) -> tuple[SearchBackend, SearchBackend]:
        """The Milvus collection updated with what changed (or filled anew), as its dense and BM25 views."""
        from qa.milvus_backend import MilvusBackend

        s = self.settings
        if old and isinstance(old.dense, MilvusBackend) and old.dense.collection == s.milvus_collection:
            collection = old.dense.updated(ids, texts, matrix, new)
        else:  # a first build, or one moving to Milvus: the collection is filled from scratch
            collection = MilvusBackend.filled(s.milvus_location, s.milvus_collection, ids, texts, matrix)
        return collection.view("dense"), collection.view("bm25")

    def _remove_old_builds(self, keep: set[str]) -> None:
        for entry in self.folder.iterdir():
            if entry.is_dir() and entry.name not in keep and entry.name.startswith(("build-", ".tmp-build-")):
                shutil.rmtree(entry, ignore_errors=True)


# Exact search grows linearly: 1.8 ms a query at 21k vectors, 158 ms at 1M on 2
# cores, so about 16 ms at 200k, still small beside the reader (~60 ms). Above
# that HNSW answers in under 1 ms with recall@10 0.93 at 1M (docs/BENCHMARKS.md).
# IVF-PQ is a setting only: its recall@10 (0.42 to 0.85) costs answers.
HNSW_FROM = 200_000


def resolve_index_type(index_type: str, rows: int) -> str:
    if index_type != "auto":
        return index_type
    return "flat" if rows < HNSW_FROM else "hnsw"


@contextlib.contextmanager
def _no_garbage_collection():
    """An update creates many objects while a large index is in memory: Python's
    cycle collector would scan all of them again and again (a third of an
    update at 21k paragraphs). Nothing an update makes is cyclic garbage worth
    collecting before it ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _known_files(manifest: dict) -> Callable[[str, int, int], bool]:
    """Whether a file is the one the manifest lists, judged by its size and
    modification time (see ``_trusted_mtime``)."""
    files = manifest["files"]

    def known(source: str, size: int, mtime_ns: int) -> bool:
        f = files.get(source)
        return (
            f is not None
            and "outlet" in f  # listed before outlets were recorded: read once more
            and f.get("mtime_ns") is not None
            and (f.get("size"), f["mtime_ns"]) == (size, mtime_ns)
        )

    return known


def _trusted_mtime(mtime_ns: int, read_at_ns: int) -> int | None:
    """The modification time to record for a file read at ``read_at_ns``:
    none if it was modified in the two seconds before, since a file system
    with coarse timestamps could give a later edit the same time."""
    return mtime_ns if mtime_ns < read_at_ns - 2_000_000_000 else None


def _empty_corpus_message(folder: Path, corpus: CorpusReadResult) -> str:
    msg = f"No readable articles in {folder}/: add UTF-8 .txt files there."
    if corpus.skipped:
        msg += " Skipped: " + "; ".join(f"{s.source} ({s.reason})" for s in corpus.skipped)
    if corpus.ignored:
        msg += f" Ignored {len(corpus.ignored)} file(s) that are not .txt."
    return msg


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in ("sentence-transformers", "transformers", "torch", "faiss-cpu", "bm25s", "numpy"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def _sha256_path(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
