"""The searchable index of a corpus and its persistence in the index folder.

Layout of the index folder::

    index/
      CURRENT              name of the build folder in use (replaced atomically)
      build-<stamp>/       one complete build
        manifest.json      model, dimension, versions, corpus files and checksums
        paragraphs.json    paragraph metadata and text, row i = vector i
        embeddings.npy     unit-length float32 vectors (kept for incremental updates)
        dense.faiss        FAISS inner-product index over the vectors
        bm25/              bm25s lexical index

A build is written into a temporary folder and only becomes current when
``CURRENT`` is replaced, so a crash mid-build leaves the previous build in use.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from qa import embeddings
from qa.aggregate import syndication_families
from qa.articles import CorpusError, CorpusReadResult, SkippedFile, read_corpus
from qa.dedup import ShingleIndex, group_labels, update_groups
from qa.settings import Settings
from qa.types import Paragraph, SourceInfo

log = logging.getLogger(__name__)

# Bump when paragraph splitting or the stored layout changes: older builds are
# then rebuilt from scratch instead of being reused.
FORMAT_VERSION = 2
_ARTIFACTS = ("paragraphs.json", "embeddings.npy", "dense.faiss", "shingles.npz")

# Words that carry no content of their own in a question (stemmed where
# the stemmer changes them).
QUESTION_WORDS = frozenset(
    "who whom whose what when where which why how mani many much long is are was were be been did does do doe has have had "
    "the a an of in on at to for with and or s he she him her his it its they them their this that these those there "
    "then i you we our your me my can could would should will shall may might".split()
)


# progress(stage, done, total)
Progress = Callable[[str, int, int], None]


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
    dense: object  # faiss.Index
    bm25: object  # bm25s.BM25

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
        """How many paragraphs each BM25 token occurs in (for term weights),
        read off the lexical index: each token's posting list has one entry
        per paragraph that holds it."""
        if self.bm25 is None:
            return {}
        postings = np.diff(self.bm25.scores["indptr"])
        return {token: int(postings[i]) for token, i in self.bm25.vocab_dict.items() if token}

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

    def dense_search(self, query_vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        if not self.paragraphs:
            return []
        scores, ids = self.dense.search(query_vector.reshape(1, -1).astype(np.float32), min(n, len(self.paragraphs)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def lexical_search(self, query: str, n: int) -> list[tuple[int, float]]:
        tokens = bm25_tokenize([query])
        if not self.paragraphs or not tokens[0]:
            return []
        ids, scores = self.bm25.retrieve(tokens, k=min(n, len(self.paragraphs)), show_progress=False)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]


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


def bm25_tokenize(texts: list[str]) -> list[list[str]]:
    bm25s = _bm25s()
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False)


@functools.lru_cache(maxsize=1)
def _bm25s():
    """bm25s, imported without the DEBUG level it sets on its own logger (it
    would print "DEBUG: Building index from tokens" in every command)."""
    logger = logging.getLogger("bm25s")
    level = logger.level
    import bm25s

    logger.setLevel(level)
    return bm25s


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


class IndexStore:
    """Loads, checks and updates the index of ``settings.corpus_dir`` kept in
    ``settings.index_dir``."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.folder = Path(settings.index_dir)

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
            bm25s = _bm25s()
            import faiss

            dense = faiss.read_index(str(build / "dense.faiss"))
            bm25 = bm25s.BM25.load(str(build / "bm25")) if paragraphs else None
        except IndexCorrupt:
            raise
        except Exception as err:  # any unreadable piece means the same thing to the user
            raise IndexCorrupt(f"{build} is unreadable ({type(err).__name__}: {err})") from err
        if not (len(paragraphs) == len(groups) == vectors.shape[0] == dense.ntotal):
            raise IndexCorrupt(f"{build}: paragraph, vector and FAISS counts disagree")
        return CorpusIndex(manifest, paragraphs, groups, vectors, dense, bm25)

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
        with lock:
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
        paragraphs: list[Paragraph] = []
        vectors: list[np.ndarray] = []
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
                rows = rows_by_source.get(source, [])
                paragraphs.extend(old.paragraphs[i] for i in rows)
                vectors.append(old.embeddings[rows])
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
            # Articles listed before outlets and file times were recorded: rewritten once (vectors kept).
            and all("outlet" in f and "mtime_ns" in f for f in old_files.values())
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
            vectors.append(
                embeddings.encode(
                    self.settings.model, [p.text for p in to_embed], self.settings.embed_batch_size, on_batch
                )
            )
            paragraphs.extend(to_embed)
            report.embedded_paragraphs = total

        dim = embeddings.embedding_dimension(self.settings.model)
        matrix = np.vstack(vectors) if vectors else np.zeros((0, dim), np.float32)
        # Keep rows in corpus order so builds are reproducible.
        order = sorted(range(len(paragraphs)), key=lambda i: (paragraphs[i].source, paragraphs[i].paragraph))
        paragraphs = [paragraphs[i] for i in order]
        matrix = np.ascontiguousarray(matrix[order], dtype=np.float32)
        if progress:
            progress("Grouping syndicated copies", 0, 1)
        groups, shingle_index = self._regroup(old, paragraphs, to_embed, report)
        if progress:
            progress("Writing index", 0, 1)
        index = self._write(files, paragraphs, matrix, dim, groups, shingle_index)
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
                old.paragraphs, old.groups, removed, added, ShingleIndex.load(shingle_file), threshold
            )
        else:
            groups, shingle_index = update_groups([], [], set(), paragraphs, ShingleIndex.empty(), threshold)
        return group_labels(paragraphs, groups), shingle_index

    def _reusable_index(self, force: bool) -> tuple[CorpusIndex | None, str | None]:
        """The current index if its vectors can be reused, else why not."""
        if force:
            return None, "a full rebuild was asked for"
        try:
            old = self.load()
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
    ) -> CorpusIndex:
        bm25s = _bm25s()
        import faiss

        index_type = resolve_index_type(self.settings.index_type, len(matrix))
        dense = build_dense_index(matrix, index_type)
        bm25 = bm25s.BM25()
        bm25.index(bm25_tokenize([p.text for p in paragraphs]), show_progress=False)

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
            faiss.write_index(dense, str(tmp / "dense.faiss"))
            bm25.save(str(tmp / "bm25"))
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
                "artifacts": {
                    **{name: _sha256_path(tmp / name) for name in _ARTIFACTS},
                    **{f"bm25/{f.name}": _sha256_path(f) for f in sorted((tmp / "bm25").iterdir())},
                },
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), "utf-8")
            _fsync_tree(tmp)
            build = self.folder / f"build-{stamp:%Y%m%dT%H%M%S%f}"
            os.rename(tmp, build)
            _atomic_write_text(self.folder / "CURRENT", build.name + "\n")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # The build it replaces stays one generation, for readers still opening it.
        self._remove_old_builds(keep={build.name, previous})
        return CorpusIndex(manifest, paragraphs, groups, matrix, dense, bm25)

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


def build_dense_index(matrix: np.ndarray, index_type: str):
    """A FAISS inner-product index over unit vectors: exact ("flat"), graph
    ("hnsw", M=32) or compressed ("ivfpq", 8-bit product codes)."""
    import faiss

    dim = matrix.shape[1]
    if index_type == "flat" or len(matrix) == 0:
        index = faiss.IndexFlatIP(dim)
    elif index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
    elif index_type == "ivfpq":
        lists = max(1, min(int(4 * np.sqrt(len(matrix))), len(matrix) // 39))
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, lists, 48, 8, faiss.METRIC_INNER_PRODUCT)
        index.train(matrix)
        index.nprobe = min(16, lists)
    else:
        raise ValueError(f"unknown index type {index_type!r}: use auto, flat, hnsw or ivfpq")
    if len(matrix):
        index.add(matrix)
    return index


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
