"""The index's paragraphs and vectors as a build folder keeps them, in two layers.

As the search backends do (qa/search/base.py), the rows are a *base*, written
once and then shared by the builds that follow through hard links, the base
rows removed since, and a *delta* of the rows added since. An update writes
only the delta (at most 5% of the index, usually far less), not the
gigabytes of a million-paragraph base. The index's rows are the live base
rows, in base order, then the delta's.

Files in a build folder::

    paragraphs-base-<name>.json   [source, paragraph, start, end, text] per base row,
                                  a JSON array with a row a line
    embeddings-base-<name>.npy    the base rows' unit vectors
    paragraphs-delta.json         the same for the rows added since
    rows-delta.npz                the delta's vectors, and the base rows removed
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.corpus.articles import paragraph_ids
from qa.layers import layer_change, link_or_write, new_base_name, should_fold, wants_fold
from qa.types import Paragraph

# Rows encoded or decoded at a time. The whole file as one string would cost
# gigabytes at a million paragraphs: four bytes a character once a single
# character needs them, as some texts' do.
ROWS_PER_CHUNK = 10_000


def write_rows(path: Path, paragraphs: list[Paragraph]) -> None:
    """``paragraphs`` as a JSON array of [source, paragraph, start, end, text], a row a line."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("[")
        for i in range(0, len(paragraphs), ROWS_PER_CHUNK):
            chunk = paragraphs[i : i + ROWS_PER_CHUNK]
            rows = (json.dumps([p.source, p.paragraph, p.start, p.end, p.text], ensure_ascii=False) for p in chunk)
            f.write(("," if i else "") + "\n" + ",\n".join(rows))
        f.write("\n]")


def read_rows(path: Path) -> list[Paragraph]:
    """The paragraphs :func:`write_rows` wrote, a chunk of lines at a time (JSON
    escapes line breaks inside strings)."""
    with open(path, encoding="utf-8", newline="\n") as f:
        if f.readline().rstrip("\n") != "[":
            raise ValueError(f"{path.name}: not a file of paragraph rows")
        paragraphs: list[Paragraph] = []
        lines: list[str] = []

        def decode() -> None:
            paragraphs.extend(Paragraph(*row) for row in json.loads("[" + "".join(lines).rstrip(",") + "]"))
            lines.clear()

        for line in f:
            line = line.rstrip("\n")
            if line == "]":
                decode()
                if f.read():
                    raise ValueError(f"{path.name}: text after the closing bracket")
                return paragraphs
            if len(lines) == ROWS_PER_CHUNK:
                decode()
            lines.append(line)
    raise ValueError(f"{path.name}: the file ends before its closing bracket")


@dataclass(frozen=True)
class ParagraphRows:
    base: list[Paragraph]
    base_vectors: np.ndarray
    removed: np.ndarray  # sorted positions of base rows no longer in the index
    delta: list[Paragraph]
    delta_vectors: np.ndarray
    name: str = field(default_factory=new_base_name)
    base_ids: np.ndarray | None = None
    delta_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.base_ids is None:
            object.__setattr__(self, "base_ids", paragraph_ids(self.base))
        if self.delta_ids is None:
            object.__setattr__(self, "delta_ids", paragraph_ids(self.delta))

    @classmethod
    def of(cls, paragraphs: list[Paragraph], vectors: np.ndarray, ids: np.ndarray | None = None) -> ParagraphRows:
        """All rows as one new base."""
        dim = vectors.shape[1]
        return cls(list(paragraphs), vectors, np.zeros(0, np.int64), [], np.zeros((0, dim), np.float32), base_ids=ids)

    def _live(self) -> np.ndarray:
        live = np.ones(len(self.base), bool)
        live[self.removed] = False
        return live

    def paragraphs(self) -> list[Paragraph]:
        if not len(self.removed):
            return self.base + self.delta
        return [p for p, live in zip(self.base, self._live().tolist(), strict=True) if live] + self.delta

    def ids(self) -> np.ndarray:
        return np.concatenate([self.base_ids[self._live()], self.delta_ids])

    def vectors(self) -> np.ndarray:
        """Every row's vector, in row order (a copy: for rebuilds and checks, not for each update)."""
        return np.vstack([self.base_vectors[self._live()], self.delta_vectors])

    def updated(self, removed_ids: np.ndarray, added: list[Paragraph], vectors: np.ndarray) -> ParagraphRows:
        """Without the rows of ``removed_ids``, with ``added`` appended (an added
        paragraph whose id is present replaces it). Folded into one base when
        the delta or the removed rows pass their share."""
        added_ids = paragraph_ids(added)
        removed, _, keep = layer_change(self.base_ids, self.removed, self.delta_ids, removed_ids, added_ids)
        delta = [p for p, k in zip(self.delta, keep.tolist(), strict=True) if k] + list(added)
        rows = ParagraphRows(
            self.base,
            self.base_vectors,
            removed,
            delta,
            np.vstack([self.delta_vectors[keep], np.asarray(vectors, np.float32)]),
            self.name,
            self.base_ids,
            np.concatenate([self.delta_ids[keep], added_ids]),
        )
        return rows.folded() if should_fold(len(self.base), len(delta), len(removed)) else rows

    def folded(self) -> ParagraphRows:
        """The same rows, in the same order, as one new base."""
        return ParagraphRows.of(self.paragraphs(), self.vectors(), self.ids())

    def wants_fold(self) -> bool:
        return wants_fold(len(self.base), len(self.delta), len(self.removed))

    def vectors_at(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of the given rows (of :meth:`paragraphs`)."""
        live = np.flatnonzero(self._live())
        rows = np.asarray(rows, np.int64)
        in_base = rows < len(live)
        out = np.empty((len(rows), self.base_vectors.shape[1]), np.float32)
        out[in_base] = self.base_vectors[live[rows[in_base]]]
        out[~in_base] = self.delta_vectors[rows[~in_base] - len(live)]
        return out

    def save(self, folder: Path, previous: Path | None) -> None:
        link_or_write(folder / f"paragraphs-base-{self.name}.json", previous, lambda path: write_rows(path, self.base))
        link_or_write(
            folder / f"embeddings-base-{self.name}.npy",
            previous,
            lambda path: np.save(path, self.base_vectors, allow_pickle=False),
        )
        write_rows(folder / "paragraphs-delta.json", self.delta)
        with open(folder / "rows-delta.npz", "wb") as f:
            np.savez(f, removed=self.removed, vectors=self.delta_vectors)

    @classmethod
    def load(cls, folder: Path) -> ParagraphRows:
        (base_file,) = folder.glob("paragraphs-base-*.json")
        name = base_file.stem.removeprefix("paragraphs-base-")
        base = read_rows(base_file)
        base_vectors = np.load(folder / f"embeddings-base-{name}.npy", allow_pickle=False)
        delta = read_rows(folder / "paragraphs-delta.json")
        with np.load(folder / "rows-delta.npz", allow_pickle=False) as z:
            removed, delta_vectors = z["removed"], z["vectors"]
        return cls(base, base_vectors, removed, delta, delta_vectors, name)
