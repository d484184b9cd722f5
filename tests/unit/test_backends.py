"""The search backends behind one interface: an update (add, replace, remove)
gives what a fresh build over the same paragraphs gives, in both layers (base
and delta) and after saving and loading. Real FAISS and bm25s' tokenizer, no
model (random unit vectors)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import CORPUS

from qa import layers
from qa.corpus.articles import paragraph_id, read_corpus
from qa.index import rows as stored_rows
from qa.layers import DELTA_SHARE
from qa.search import bm25
from qa.search.base import Rows
from qa.search.bm25 import Bm25Backend
from qa.search.faiss import FaissBackend
from qa.types import Paragraph

PARAGRAPHS = [p for a in read_corpus(CORPUS).articles for p in a.paragraphs]
IDS = np.array([paragraph_id(p.source, p.paragraph) for p in PARAGRAPHS], np.int64)
TEXTS = [p.text for p in PARAGRAPHS]
VECTORS = np.random.default_rng(0).normal(size=(len(PARAGRAPHS), 32)).astype(np.float32)
VECTORS /= np.linalg.norm(VECTORS, axis=1, keepdims=True)


def _everything(ids, texts, vectors):
    return lambda: Rows(np.asarray(ids, np.int64), list(texts), np.asarray(vectors, np.float32))


def _changes(backend):
    """From IDS[5:]: add IDS[:5], then drop the first 20 paragraphs and replace the
    next 5 (new vectors and texts, same ids). Returns the backend after both
    updates, and what a fresh build over the result is given."""
    grown = backend.updated(
        Rows(IDS[:5], TEXTS[:5], VECTORS[:5]), np.zeros(0, np.int64), _everything(IDS, TEXTS, VECTORS)
    )
    ids, texts, vectors = IDS[20:], list(TEXTS[20:]), VECTORS[20:].copy()
    vectors[:5] = -vectors[:5]
    texts[0] = "Lavrov flew to Pyongyang for talks on the nuclear issue."
    after = grown.updated(Rows(ids[:5], texts[:5], vectors[:5]), IDS[:20], _everything(ids, texts, vectors))
    return after, ids, texts, vectors


@pytest.fixture(params=["layers", "folded"])
def fold_share(request, monkeypatch):
    """Updates kept in the delta (a share no update reaches) or folded at once."""
    share = 0.9 if request.param == "layers" else 0.0
    monkeypatch.setattr(layers, "DELTA_SHARE", share)
    monkeypatch.setattr(layers, "HIDDEN_SHARE", share)
    return request.param


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_faiss_update_matches_a_fresh_build(kind: str, tmp_path, fold_share):
    before = FaissBackend.build(IDS[5:], VECTORS[5:], kind)
    after, ids, _, vectors = _changes(before)
    assert bool(len(after.delta_ids)) == (fold_share == "layers")
    fresh = FaissBackend.build(ids, vectors, kind)
    assert len(after) == len(fresh) == len(ids)
    after.save(tmp_path, None)
    loaded = FaissBackend.load(tmp_path, kind)
    for q in vectors[:10]:
        expected = [i for i, _ in fresh.search("", q, 5)]
        assert [i for i, _ in after.search("", q, 5)] == expected
        assert [i for i, _ in loaded.search("", q, 5)] == expected
    assert after.search("", vectors[0], 1)[0][0] == ids[0]  # the replaced vector, not the old one
    assert len(before) == len(IDS) - 5  # the backend answering meanwhile is untouched


def test_a_small_change_goes_to_the_delta_and_the_base_is_linked_not_written(tmp_path):
    backend = FaissBackend.build(IDS[1:], VECTORS[1:], "flat")
    (tmp_path / "one").mkdir(), (tmp_path / "two").mkdir()
    backend.save(tmp_path / "one", None)
    grown = backend.updated(Rows(IDS[:1], TEXTS[:1], VECTORS[:1]), IDS[1:2], _everything(IDS, TEXTS, VECTORS))
    assert grown.index is backend.index and list(grown.delta_ids) == [IDS[0]] and list(grown.hidden) == [0]
    grown.save(tmp_path / "two", tmp_path / "one")
    (base,) = (tmp_path / "two").glob("dense-base-*.faiss")
    assert base.stat().st_ino == (tmp_path / "one" / base.name).stat().st_ino
    assert grown.search("", VECTORS[0], 1)[0][0] == IDS[0]
    assert all(i != IDS[1] for i, _ in grown.search("", VECTORS[1], len(IDS)))


def test_the_delta_is_folded_into_the_base_once_it_passes_its_share():
    backend = FaissBackend.build(IDS[10:], VECTORS[10:], "flat")
    grown = backend.updated(
        Rows(IDS[:10], TEXTS[:10], VECTORS[:10]), np.zeros(0, np.int64), _everything(IDS, TEXTS, VECTORS)
    )
    assert len(IDS) * DELTA_SHARE < 10  # so this is past the share
    assert not len(grown.delta_ids) and grown.index.ntotal == len(IDS) and grown.name != backend.name


def test_hnsw_hides_removed_vectors_and_rebuilds_when_they_pile_up(tmp_path):
    backend = FaissBackend.build(IDS, VECTORS, "hnsw")
    fewer = backend.updated(Rows(IDS[:0], [], VECTORS[:0]), IDS[:3], _everything(IDS[3:], TEXTS[3:], VECTORS[3:]))
    assert len(fewer.hidden) == 3 and fewer.index.ntotal == len(IDS)
    assert all(i not in IDS[:3] for i, _ in fewer.search("", VECTORS[0], len(IDS)))
    rebuilt = fewer.updated(Rows(IDS[:0], [], VECTORS[:0]), IDS[:30], _everything(IDS[30:], TEXTS[30:], VECTORS[30:]))
    assert len(rebuilt.hidden) == 0 and rebuilt.index.ntotal == len(IDS) - 30


def test_an_hnsw_graph_takes_its_delta_in_and_keeps_hiding_what_was_removed(monkeypatch, tmp_path):
    monkeypatch.setattr(layers, "DELTA_SHARE", 0.0)  # every delta is folded ...
    monkeypatch.setattr(layers, "HIDDEN_SHARE", 0.5)  # ... into the same graph, hidden rows and all
    before = FaissBackend.build(IDS[5:], VECTORS[5:], "hnsw")
    after, ids, _, vectors = _changes(before)
    assert not len(after.delta_ids) and len(after.hidden) == 25  # 20 removed, 5 replaced: their old vectors
    assert after.index.ntotal == len(IDS) + 5  # the replaced ids are in the graph twice, once hidden
    after.save(tmp_path, None)
    fresh = FaissBackend.build(ids, vectors, "hnsw")
    for backend in (after, FaissBackend.load(tmp_path, "hnsw")):
        assert len(backend) == len(ids)
        for q in vectors[:10]:
            got = [i for i, _ in backend.search("", q, 5)]
            assert got == [i for i, _ in fresh.search("", q, 5)] and len(set(got)) == 5
        assert not set(IDS[:15].tolist()) & {i for i, _ in backend.search("", vectors[0], len(IDS))}


def test_bm25_update_gives_the_scores_of_a_fresh_build(tmp_path, fold_share):
    before = Bm25Backend.build(IDS[5:], TEXTS[5:])
    after, ids, texts, _ = _changes(before)
    assert bool(len(after.delta) and len(after.hidden)) == (fold_share == "layers")
    after.save(tmp_path, None)
    loaded = Bm25Backend.load(tmp_path)
    fresh = Bm25Backend.build(ids, texts)
    for query in ["Pyongyang nuclear talks", "Sochi Putin Pompeo", "Paul Whelan espionage", "zzz"]:
        for backend in (after, loaded):
            got, expected = backend.search(query, None, 5), fresh.search(query, None, 5)
            assert [i for i, _ in got] == [i for i, _ in expected]
            assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-5)
    assert fresh.search("Pyongyang", None, 1)[0][0] == ids[0]
    assert loaded.document_frequency() == fresh.document_frequency()
    assert loaded.frequency("pyongyang") == 1


def test_our_bm25_scores_as_bm25s_itself():
    from qa.search.tokenization import bm25_tokenize, import_bm25s

    ours = Bm25Backend.build(IDS, TEXTS)
    theirs = import_bm25s().BM25()
    theirs.index(bm25_tokenize(TEXTS), show_progress=False)
    for query in ["Pyongyang nuclear talks", "Sochi Putin Pompeo", "Paul Whelan espionage", "Mueller report"]:
        tokens = bm25_tokenize([query])
        _, scores = theirs.retrieve(tokens, k=8, show_progress=False)
        every = theirs.get_scores(tokens[0])
        got = ours.search(query, None, 8)
        # The same scores in the same order; paragraphs that tie may come in either order.
        assert [s for _, s in got] == pytest.approx([float(s) for s in scores[0] if s > 0], rel=1e-6)
        row = {int(i): r for r, i in enumerate(IDS)}
        assert [float(every[row[i]]) for i, _ in got] == pytest.approx([s for _, s in got], rel=1e-6)


def test_document_frequencies_do_not_depend_on_the_backend():
    from qa.search.tokenization import bm25_tokenize

    counted: dict[str, int] = {}
    for tokens in bm25_tokenize(TEXTS):
        for token in set(tokens):
            counted[token] = counted.get(token, 0) + 1
    assert Bm25Backend.build(IDS, TEXTS).document_frequency() == counted


def test_bm25_built_a_batch_at_a_time_scores_as_built_at_once(monkeypatch):
    at_once = Bm25Backend.build(IDS, TEXTS)
    monkeypatch.setattr(bm25, "TOKENIZE_BATCH", 7)
    in_batches = Bm25Backend.build(IDS, TEXTS)
    for query in ["Pyongyang nuclear talks", "Sochi Putin Pompeo", "Paul Whelan espionage"]:
        assert in_batches.search(query, None, 8) == at_once.search(query, None, 8)


ODD_TEXTS = [
    "plain",
    'quotes " and \\ backslashes, a line\nbreak, a tab\t and a lone ]',
    "]",
    "astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and 🦊, line separator \u2028 and next line \u0085",
    "",
    "café, curly ‘quotes’ and an ellipsis …",
]


@pytest.mark.parametrize("rows_per_chunk", [2, 10_000])
def test_paragraph_rows_round_trip_a_chunk_at_a_time(monkeypatch, tmp_path, rows_per_chunk):
    monkeypatch.setattr(stored_rows, "ROWS_PER_CHUNK", rows_per_chunk)
    paragraphs = [Paragraph(f"{i:03d}.txt", i + 1, 10 * i, 10 * i + len(t), t) for i, t in enumerate(ODD_TEXTS)]
    for rows in (paragraphs, paragraphs[:1], []):
        path = tmp_path / "rows.json"
        stored_rows.write_rows(path, rows)
        assert stored_rows.read_rows(path) == rows
        # Still one JSON array, a row a line, whatever the chunking.
        assert [Paragraph(*row) for row in json.loads(path.read_text("utf-8"))] == rows
        assert path.read_text("utf-8").count("\n") == len(rows) + 1


def test_a_file_that_is_not_paragraph_rows_is_an_error(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([["a.txt", 1, 0, 5, "hello"]]), "utf-8")  # one line: not the row format
    with pytest.raises(ValueError, match="not a file of paragraph rows"):
        stored_rows.read_rows(path)
    stored_rows.write_rows(path, [])
    assert stored_rows.read_rows(path) == []


def test_a_truncated_rows_file_is_an_error_not_fewer_paragraphs(tmp_path):
    paragraphs = [Paragraph("a.txt", n, 0, 1, "x") for n in range(1, 4)]
    path = tmp_path / "rows.json"
    stored_rows.write_rows(path, paragraphs)
    whole = path.read_text("utf-8")
    for cut in (whole.rindex("]"), whole.rindex("\n"), len(whole) // 2):
        path.write_text(whole[:cut], "utf-8")
        with pytest.raises(ValueError):
            stored_rows.read_rows(path)
