"""The search backends behind one interface: an update (add, replace, remove)
gives what a fresh build over the same paragraphs gives. Real FAISS and bm25s,
no model (random unit vectors)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CORPUS

from qa.articles import read_corpus
from qa.backends import Bm25Backend, FaissBackend
from qa.dedup import paragraph_id

PARAGRAPHS = [p for a in read_corpus(CORPUS).articles for p in a.paragraphs]
IDS = np.array([paragraph_id(p.source, p.paragraph) for p in PARAGRAPHS], np.int64)
TEXTS = [p.text for p in PARAGRAPHS]
VECTORS = np.random.default_rng(0).normal(size=(len(PARAGRAPHS), 32)).astype(np.float32)
VECTORS /= np.linalg.norm(VECTORS, axis=1, keepdims=True)


def _changes():
    """Drop the first 20 paragraphs, replace the next 5 (new vectors, same ids), keep the rest."""
    keep = slice(20, None)
    ids, texts, vectors = IDS[keep], TEXTS[keep], VECTORS[keep].copy()
    vectors[:5] = -vectors[:5]
    return ids, texts, vectors, set(ids[:5].tolist())


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_faiss_update_matches_a_fresh_build(kind: str):
    before = FaissBackend.build(IDS[5:], VECTORS[5:], kind)
    ids, texts, vectors, replaced = _changes()
    grown = before.updated(
        np.concatenate([IDS[:5], ids]),
        TEXTS[:5] + texts,
        np.vstack([VECTORS[:5], vectors]),
        replaced | set(IDS[:5].tolist()),
    )
    after = grown.updated(ids, texts, vectors, set())
    fresh = FaissBackend.build(ids, vectors, kind)
    assert len(after) == len(fresh) == len(ids)
    for q in vectors[:10]:
        assert [i for i, _ in after.search("", q, 5)] == [i for i, _ in fresh.search("", q, 5)]
    assert after.search("", vectors[0], 1)[0][0] == ids[0]  # the replaced vector, not the old one
    assert len(before) == len(IDS) - 5  # the backend answering meanwhile is untouched


def test_hnsw_hides_removed_vectors_and_rebuilds_when_they_pile_up(tmp_path):
    backend = FaissBackend.build(IDS, VECTORS, "hnsw")
    fewer = backend.updated(IDS[3:], TEXTS[3:], VECTORS[3:], set())
    assert len(fewer.hidden) == 3 and fewer.index.ntotal == len(IDS)
    assert all(i not in IDS[:3] for i, _ in fewer.search("", VECTORS[0], len(IDS)))
    fewer.save(tmp_path)
    assert FaissBackend.load(tmp_path, "hnsw").search("", VECTORS[5], 3) == fewer.search("", VECTORS[5], 3)
    rebuilt = fewer.updated(IDS[30:], TEXTS[30:], VECTORS[30:], set())
    assert len(rebuilt.hidden) == 0 and rebuilt.index.ntotal == len(IDS) - 30


def test_bm25_update_gives_the_scores_of_a_fresh_build(tmp_path):
    before = Bm25Backend.build(IDS[5:], TEXTS[5:])
    ids, texts, _, _ = _changes()
    texts = list(texts)
    texts[0] = "Lavrov flew to Pyongyang for talks on the nuclear issue."  # a changed paragraph, same id
    after = before.updated(ids, texts, np.zeros((len(ids), 0)), {int(ids[0])})
    after.save(tmp_path)
    loaded = Bm25Backend.load(tmp_path)
    fresh = Bm25Backend.build(ids, texts)
    for query in ["Pyongyang nuclear talks", "Sochi Putin Pompeo", "Paul Whelan espionage", "zzz"]:
        got, expected = loaded.search(query, None, 5), fresh.search(query, None, 5)
        assert [i for i, _ in got] == [i for i, _ in expected]
        assert [s for _, s in got] == pytest.approx([s for _, s in expected])
    assert fresh.search("Pyongyang", None, 1)[0][0] == ids[0]
    assert loaded.document_frequency()["pyongyang"] == 1


def test_our_bm25_matrix_scores_as_bm25s_itself():
    from qa.backends import bm25_tokenize, import_bm25s

    ours = Bm25Backend.build(IDS, TEXTS)
    theirs = import_bm25s().BM25()
    theirs.index(bm25_tokenize(TEXTS), show_progress=False)
    for query in ["Pyongyang nuclear talks", "Sochi Putin Pompeo", "Paul Whelan espionage", "Mueller report"]:
        tokens = bm25_tokenize([query])
        rows, scores = theirs.retrieve(tokens, k=8, show_progress=False)
        expected = [(int(IDS[r]), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]
        got = ours.search(query, None, 8)
        assert [i for i, _ in got] == [i for i, _ in expected]
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-5)


def test_document_frequencies_do_not_depend_on_the_backend():
    from qa.backends import bm25_tokenize

    counted: dict[str, int] = {}
    for tokens in bm25_tokenize(TEXTS):
        for token in set(tokens):
            counted[token] = counted.get(token, 0) + 1
    assert Bm25Backend.build(IDS, TEXTS).document_frequency() == counted
