"""A loaded index: its paragraphs, their copy groups, the search backends and term weights."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from qa.corpus.articles import paragraph_id
from qa.corpus.copies import grouped_rows, syndication_families
from qa.corpus.formats import page_at
from qa.corpus.shingles import ShingleLayers
from qa.index.file_entries import FileEntries
from qa.index.rows import ParagraphRows
from qa.search.base import SearchBackend
from qa.search.bm25 import Bm25Backend
from qa.search.tokenization import QUESTION_WORDS, bm25_tokenize
from qa.types import Filter, NoArticleMatches, Paragraph, SourceInfo


@dataclass
class IndexView:
    """A loaded index: paragraphs, their duplicate groups and both search structures."""

    manifest: dict
    paragraphs: list[Paragraph]
    groups: list[int]  # group id per paragraph; copies share one
    stored: ParagraphRows  # the paragraphs and their vectors as the build folder keeps them
    dense: SearchBackend | None  # by meaning
    lexical: SearchBackend | None  # by words
    ids: np.ndarray  # each row's stable paragraph id (what the backends know paragraphs by)
    shingles: ShingleLayers | None = None  # for the next update; read from the build when it needs them
    file_entries: FileEntries | None = None  # the manifest's files as the build keeps them, for the next update

    def counts_agree(self) -> bool:
        """Whether the rows, vectors and both searches agree on how many paragraphs there are."""
        stored = self.stored
        rows_agree = len(stored.base_vectors) == len(stored.base) and len(stored.delta_vectors) == len(stored.delta)
        rows_agree = rows_agree and (
            not len(stored.removed) or 0 <= stored.removed.min() <= stored.removed.max() < len(stored.base)
        )
        counts = {len(self.paragraphs), len(self.groups), len(self.dense), len(self.lexical)}
        return rows_agree and len(counts) == 1

    @property
    def model(self) -> str:
        return self.manifest["model"]

    @property
    def embeddings(self) -> np.ndarray:
        """Every row's unit vector, in row order (a copy)."""
        return self.stored.vectors()

    def paragraph_text(self, source: str, paragraph: int) -> str:
        row = self._row(source, paragraph)
        if row is None:
            raise KeyError((source, paragraph))
        return self.paragraphs[row].text

    def neighbours(self, source: str, paragraph: int, around: int = 1) -> list[Paragraph]:
        """The paragraph with up to ``around`` paragraphs either side of it."""
        rows = (self._row(source, n) for n in range(paragraph - around, paragraph + around + 1))
        return [self.paragraphs[r] for r in rows if r is not None]

    def _row(self, source: str, paragraph: int) -> int | None:
        """The row of a paragraph, found by its id (no map of every row to build after each update)."""
        if not len(self.ids):
            return None
        pid = paragraph_id(source, paragraph)
        row = self.row_of_id(pid)
        return row if self.ids[row] == pid else None

    def copies_of(self, row: int) -> list[int]:
        """Rows of the other paragraphs in ``row``'s duplicate group."""
        labels, rows = self._grouped
        lo, hi = np.searchsorted(labels, self.groups[row], "left"), np.searchsorted(labels, self.groups[row], "right")
        return [r for r in rows[lo:hi].tolist() if r != row]

    @functools.cached_property
    def _grouped(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows in groups of two or more, by label, and their labels (with numpy, after each update)."""
        labels = np.asarray(self.groups, np.int64)
        rows = grouped_rows(labels)
        rows = rows[np.argsort(labels[rows], kind="stable")]
        return labels[rows], rows

    @functools.cached_property
    def families(self) -> dict[str, str]:
        """Each source's syndication family: articles that share a copied
        paragraph count as one independent article (a source with no copies
        is its own family, and not listed)."""
        labels, rows = self._grouped
        return syndication_families([self.paragraphs[r].source for r in rows.tolist()], labels)

    def family_of(self, source: str) -> str:
        return self.families.get(source, source)

    def frequency(self, token: str) -> int:
        """How many paragraphs a BM25 token occurs in (for term weights): read
        off the BM25 backend's postings where it has them, else counted from
        the paragraphs (a backend that keeps its postings elsewhere)."""
        if isinstance(self.lexical, Bm25Backend):
            return self.lexical.frequency(token)
        return self._counted_frequency.get(token, 0)

    @functools.cached_property
    def _counted_frequency(self) -> dict[str, int]:
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
        terms = set(bm25_tokenize([text])[0]) - QUESTION_WORDS
        return {t: math.log(1 + n / (1 + self.frequency(t))) for t in terms}

    def sources(self) -> list[SourceInfo]:
        return list(self.articles.values())

    def article(self, source: str) -> SourceInfo | None:
        """One indexed article (without building :attr:`articles` for the whole archive)."""
        entry = self.manifest["files"].get(source)
        return None if entry is None else _source_info(source, entry)

    @functools.cached_property
    def articles(self) -> dict[str, SourceInfo]:
        """Each indexed article by file name, in name order."""
        return {name: _source_info(name, f) for name, f in sorted(self.manifest["files"].items())}

    def admitting(self, only: Filter | None) -> Callable[[int], bool] | None:
        """The rows of the articles a filter admits, as a test; None without a
        filter. A filter that admits no article is :class:`NoArticleMatches`,
        whose message names the outlets and dates there are."""
        if not only:
            return None
        if only.published_from and only.published_to and only.published_from > only.published_to:
            raise NoArticleMatches(
                f"No article can be published from {only.published_from} to {only.published_to}: "
                "the first date is after the second."
            )
        allowed = {name for name, info in self.articles.items() if only.admits(info)}
        if not allowed:
            outlets = sorted({i.outlet for i in self.articles.values() if i.outlet})
            dated = sorted(i.published[:10] for i in self.articles.values() if i.published)
            known = f"outlets: {', '.join(outlets) or 'none named'}"
            known += f"; published {dated[0]} to {dated[-1]}" if dated else "; no article has a publication date"
            raise NoArticleMatches(f"No article is {only.describe()} ({known}). Widen or clear the filter.")
        paragraphs = self.paragraphs
        return lambda row: paragraphs[row].source in allowed

    def page_of(self, source: str, offset: int) -> int | None:
        """The page of a paged article (PDF) that holds ``offset`` of its text layer; None for others."""
        return page_at(self.manifest["files"].get(source, {}).get("pages", ()), offset)

    def row_of_id(self, pid: int) -> int:
        """The row of a paragraph id the index holds (for another id, some row whose id is not it)."""
        at = min(int(np.searchsorted(self.ids, pid, sorter=self._by_id)), len(self.ids) - 1)
        return int(self._by_id[at])

    def rows_of(self, sources: Iterable[str]) -> np.ndarray:
        """The rows of the paragraphs of ``sources`` (files the manifest lists), in row order:
        found by their ids, not by a pass over every row."""
        files = self.manifest["files"]
        keys = [(s, n) for s in sources if s in files for n in range(1, files[s]["paragraphs"] + 1)]
        if not keys or not len(self.ids):
            return np.zeros(0, np.int64)
        wanted = np.array([paragraph_id(*key) for key in keys], np.int64)
        at = np.minimum(np.searchsorted(self.ids, wanted, sorter=self._by_id), len(self.ids) - 1)
        rows = self._by_id[at]
        return np.sort(rows[self.ids[rows] == wanted])

    @functools.cached_property
    def _by_id(self) -> np.ndarray:
        """Rows in order of their ids, to find a row by id with a binary search."""
        return np.argsort(self.ids)

    def dense_search(self, query_vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        """(row, cosine similarity) of the ``n`` closest paragraphs."""
        return self._rows_of(self.dense.search("", query_vector, n))

    def lexical_search(self, query: str, n: int) -> list[tuple[int, float]]:
        """(row, BM25 score) of the ``n`` best paragraphs for the words of ``query``."""
        return self._rows_of(self.lexical.search(query, None, n))

    def _rows_of(self, hits: list[tuple[int, float]]) -> list[tuple[int, float]]:
        if not hits or not len(self.ids):
            return []
        wanted = np.array([i for i, _ in hits], np.int64)
        at = np.minimum(np.searchsorted(self.ids, wanted, sorter=self._by_id), len(self.ids) - 1)
        rows = self._by_id[at]
        # An id the paragraphs do not know (an external backend ahead of this build) is skipped.
        return [(int(r), s) for r, i, (_, s) in zip(rows, wanted, hits, strict=True) if self.ids[r] == i]


def _source_info(name: str, f: dict) -> SourceInfo:
    return SourceInfo(
        source=name,
        title=f["title"],
        paragraphs=f["paragraphs"],
        sha256=f["sha256"],
        outlet=f["outlet"],
        added=f["added"],
        author=f.get("author", ""),
        published=f.get("published", ""),
        url=f.get("url", ""),
        format=f.get("format", "txt"),
    )
