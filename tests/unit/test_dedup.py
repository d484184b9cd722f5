"""Syndicated-copy grouping, incrementally and all at once: pure logic on the sample corpus, no model."""

from __future__ import annotations

import random

import numpy as np
import pytest
from helpers import CORPUS, SHARED_SQUAD

from qa import layers
from qa.corpus import copies
from qa.corpus.articles import paragraph_id, read_corpus
from qa.corpus.bulk_copies import bulk_groups, duplicate_groups
from qa.corpus.copies import group_labels, update_groups
from qa.corpus.shingles import ShingleIndex, ShingleLayers, shingles
from qa.types import Paragraph

THRESHOLD = 0.75
PARAGRAPHS = [p for a in read_corpus(CORPUS).articles for p in a.paragraphs]


def _partition(paragraphs, labels) -> list[list[tuple[str, int]]]:
    groups: dict[int, list] = {}
    for p, label in zip(paragraphs, labels, strict=True):
        groups.setdefault(label, []).append((p.source, p.paragraph))
    return sorted(g for g in groups.values() if len(g) > 1)


def _sorted(paragraphs):
    return sorted(paragraphs, key=lambda p: (p.source, p.paragraph))


def _step(old, labels, index, removed_sources=(), added=()):
    removed = {(p.source, p.paragraph) for p in old if p.source in removed_sources}
    now = _sorted([*(p for p in old if (p.source, p.paragraph) not in removed), *added])
    groups, index = update_groups(old, labels, removed, list(added), index, THRESHOLD)
    return now, group_labels(now, groups), index


def test_the_syndicated_copy_of_002_in_000_forms_nine_groups():
    groups = _partition(PARAGRAPHS, duplicate_groups(PARAGRAPHS, THRESHOLD))
    assert len(groups) == 9
    assert all({s[:3] for s, _ in g} == {"000", "002"} for g in groups)


@pytest.fixture(params=["one index", "layers"])
def empty_index(request, monkeypatch):
    """A shingle index of one sorted array, or in base and delta layers (as the
    index store keeps it), with a fold share that keeps most updates in the delta."""
    if request.param == "one index":
        return ShingleIndex.empty()
    monkeypatch.setattr(layers, "DELTA_SHARE", 0.6)
    monkeypatch.setattr(layers, "HIDDEN_SHARE", 0.6)
    return ShingleLayers.empty()


def _indexed(index) -> set[int]:
    if isinstance(index, ShingleIndex):
        return set(index.ids.tolist())
    return (set(index.base.ids.tolist()) - set(index.gone.tolist())) | set(index.delta.ids.tolist())


def test_adding_and_removing_articles_gives_the_groups_of_a_full_comparison(empty_index):
    without = [p for p in PARAGRAPHS if not p.source.startswith("000")]
    copy = [p for p in PARAGRAPHS if p.source.startswith("000")]
    now, labels, index = _step([], [], empty_index, added=without)
    assert _partition(now, labels) == []
    now, labels, index = _step(now, labels, index, added=copy)  # the syndicated copy arrives
    assert _partition(now, labels) == _partition(PARAGRAPHS, duplicate_groups(PARAGRAPHS, THRESHOLD))
    now, labels, index = _step(now, labels, index, removed_sources={"002_fab38d7c02004fe4.txt"})
    assert _partition(now, labels) == []  # the original leaves: no copies left
    assert _indexed(index) == {paragraph_id(p.source, p.paragraph) for p in now if len(shingles(p.text)) >= 6}


def test_removing_the_paragraph_that_joined_two_others_splits_their_group():
    words = "the foreign ministers agreed to meet again in geneva next month to discuss arms control".split()
    a = Paragraph("a.txt", 1, 0, 0, " ".join(words[:12]))
    bridge = Paragraph("b.txt", 1, 0, 0, " ".join(words))
    c = Paragraph("c.txt", 1, 0, 0, " ".join(words[5:]))
    now, labels, index = _step([], [], ShingleIndex.empty(), added=[a, bridge, c])
    assert _partition(now, labels) == [[("a.txt", 1), ("b.txt", 1), ("c.txt", 1)]]
    now, labels, index = _step(now, labels, index, removed_sources={"b.txt"})
    assert _partition(now, labels) == []


def test_paragraph_ids_are_stable_and_distinct():
    ids = {paragraph_id(p.source, p.paragraph) for p in PARAGRAPHS}
    assert len(ids) == len(PARAGRAPHS) and all(0 <= i < 2**63 for i in ids)
    assert paragraph_id("a.txt", 1) == paragraph_id("a.txt", 1) != paragraph_id("a.txt", 2)


def _pairwise_groups(paragraphs, threshold: float) -> list[list[tuple[str, int]]]:
    """The rule applied to every pair that shares a shingle, as the grouping did
    before it was incremental: the reference the incremental one must equal."""
    sets = [set(shingles(p.text).tolist()) for p in paragraphs]
    parent = list(range(len(paragraphs)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    postings: dict[int, list[int]] = {}
    for i, s in enumerate(sets):
        if len(s) >= 6:
            for h in s:
                postings.setdefault(h, []).append(i)
    for i, s in enumerate(sets):
        if len(s) < 6:
            continue
        shared: dict[int, int] = {}
        for h in s:
            for j in postings[h]:
                if j > i:
                    shared[j] = shared.get(j, 0) + 1
        for j, count in shared.items():
            if paragraphs[j].source != paragraphs[i].source and count / min(len(s), len(sets[j])) >= threshold:
                parent[find(j)] = find(i)
    return _partition(paragraphs, [find(i) for i in range(len(paragraphs))])


def _one_by_one(paragraphs, threshold=THRESHOLD, common=1000):
    """The groups as rows, and the shingle index, of adding ``paragraphs`` one by one to an empty index."""
    found, index = update_groups([], [], set(), paragraphs, ShingleIndex.empty(), threshold, None, common)
    row = {(p.source, p.paragraph): i for i, p in enumerate(paragraphs)}
    return sorted(sorted(row[p.source, p.paragraph] for p in group) for group in found), index


def _same_index(a: ShingleIndex, b: ShingleIndex) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.arrays().values(), b.arrays().values(), strict=True))


def test_incremental_groups_equal_the_pairwise_rule_on_the_sample_corpus(monkeypatch):
    expected = _pairwise_groups(PARAGRAPHS, THRESHOLD)
    assert _partition(PARAGRAPHS, duplicate_groups(PARAGRAPHS, THRESHOLD)) == expected
    monkeypatch.setattr(copies, "FRESH_BATCH", 7)  # new shingles moved into the arrays as a build goes
    rows, index = _one_by_one(PARAGRAPHS)
    assert sorted(sorted((PARAGRAPHS[r].source, PARAGRAPHS[r].paragraph) for r in g) for g in rows) == expected
    assert _same_index(index, bulk_groups(PARAGRAPHS, THRESHOLD)[1])


def test_a_first_build_groups_as_adding_one_by_one_does_on_a_corpus_full_of_near_copies():
    """Few words, many shared shingles, trimmed and edited copies, and caps on
    common shingles from 1 to 1,000: the join and the incremental grouping agree."""
    rng = random.Random(1)
    words = [f"w{i}" for i in range(40)]
    originals = [[rng.choice(words) for _ in range(rng.randint(5, 40))] for _ in range(60)]
    paragraphs = []
    for i in range(600):
        text = [w if rng.random() > 0.1 else rng.choice(words) for w in rng.choice(originals)][rng.randint(0, 3) :]
        paragraphs.append(Paragraph(f"s{rng.randint(0, 150):03d}.txt", i, 0, 0, " ".join(text)))
    paragraphs = _sorted(paragraphs)
    for threshold in (0.5, 0.75, 1.0):
        for common in (1, 3, 50, 1000):
            rows, index = _one_by_one(paragraphs, threshold, common)
            bulk_rows, bulk_index = bulk_groups(paragraphs, threshold, common)
            assert bulk_rows == rows, (threshold, common)
            assert _same_index(bulk_index, index)
    assert rows  # the corpus has copies to find


SQUAD_DEV = SHARED_SQUAD / "dev-v1.1.json"


@pytest.mark.skipif(not SQUAD_DEV.exists(), reason=f"SQuAD dev is not at {SQUAD_DEV} (../shared/squad)")
def test_incremental_groups_equal_the_pairwise_rule_on_squad_dev(tmp_path, empty_index):
    from qa.evaluation.evaluate import squad_as_corpus

    squad_as_corpus(SQUAD_DEV, tmp_path)
    paragraphs = _sorted(p for a in read_corpus(tmp_path).articles for p in a.paragraphs)
    expected = _pairwise_groups(paragraphs, THRESHOLD)
    assert expected  # SQuAD repeats some paragraphs across articles
    assert _partition(paragraphs, duplicate_groups(paragraphs, THRESHOLD)) == expected
    # Built in three steps, with a tenth of the articles removed on the way, then put back.
    sources = sorted({p.source for p in paragraphs})
    now, labels, index = [], [], empty_index
    for part in (sources[0::3], sources[1::3], sources[2::3]):
        now, labels, index = _step(now, labels, index, added=[p for p in paragraphs if p.source in set(part)])
    gone = set(sources[::10])
    now, labels, index = _step(now, labels, index, removed_sources=gone)
    remaining = [p for p in paragraphs if p.source not in gone]
    assert _partition(now, labels) == _pairwise_groups(remaining, THRESHOLD)
    now, labels, index = _step(now, labels, index, added=[p for p in paragraphs if p.source in gone])
    assert _partition(now, labels) == expected


def test_common_phrasing_finds_no_candidates_but_still_counts_for_a_copy():
    phrase = "follow us on twitter and facebook for the latest news from the region"
    notices = [Paragraph(f"n{i}.txt", 1, 0, 0, phrase) for i in range(5)]
    story = "the ministers agreed in geneva to resume the arms talks next month " + phrase
    original, copy = Paragraph("a.txt", 2, 0, 0, story), Paragraph("b.txt", 2, 0, 0, story.upper())

    def groups(common: int):
        found, _ = update_groups(
            [], [], set(), [*notices, original, copy], ShingleIndex.empty(), THRESHOLD, None, common
        )
        return sorted(sorted(p.source for p in g) for g in found)

    # With a cap of 2, the notice's shingles stop finding candidates once three paragraphs hold
    # them: later notices, and the story quoting it, are not compared with the first ones.
    assert groups(common=2) == [["a.txt", "b.txt"], ["n0.txt", "n1.txt", "n2.txt"]]
    # Without the cap the same notice in five files is grouped as copies, with the story that quotes it.
    assert groups(common=1000) == [["a.txt", "b.txt", "n0.txt", "n1.txt", "n2.txt", "n3.txt", "n4.txt"]]
    # A first build, all at once, applies the same cap.
    everything = [*notices, original, copy]
    for common in (2, 1000):
        found = bulk_groups(everything, THRESHOLD, common)[0]
        assert sorted(sorted(everything[r].source for r in g) for g in found) == groups(common)


def test_shingles_and_bm25_tokens_over_several_processes_equal_those_made_in_one(monkeypatch):
    from qa import processes
    from qa.corpus.shingles import shingle_sets
    from qa.search.bm25 import Bm25Backend

    texts = [p.text for p in PARAGRAPHS] * 3
    ids = np.arange(len(texts), dtype=np.int64)
    alone, bm25_alone = shingle_sets(texts), Bm25Backend.build(ids, texts).base
    monkeypatch.setattr(processes, "MIN_PARALLEL", 0)
    spread, bm25_spread = shingle_sets(texts), Bm25Backend.build(ids, texts).base
    assert all(np.array_equal(a, b) for a, b in zip(alone, spread, strict=True))
    assert bm25_spread.vocab == bm25_alone.vocab
    assert all(
        np.array_equal(a, b) for a, b in zip(bm25_alone.arrays().values(), bm25_spread.arrays().values(), strict=True)
    )


def test_a_first_build_of_paragraphs_sharing_no_shingle_has_no_groups():
    paragraphs = [Paragraph("a.txt", 1, 0, 0, "one two three four five six seven eight nine")]
    paragraphs.append(Paragraph("b.txt", 1, 0, 0, "ten eleven twelve thirteen fourteen fifteen sixteen seventeen"))
    assert bulk_groups(paragraphs, THRESHOLD)[0] == []
    assert duplicate_groups([], THRESHOLD) == []


def test_regrouping_labels_the_rows_in_index_order_as_the_pairwise_rule_groups_them():
    """The index's own path: rows kept in order, added ones after them; groups
    that lose a member, untouched groups an added copy joins, and groups no
    change touches all end as a full comparison groups them."""
    from qa.corpus.copies import labels_of, regroup

    rng = random.Random(7)
    words = [f"w{i}" for i in range(60)]
    originals = [[rng.choice(words) for _ in range(rng.randint(8, 30))] for _ in range(40)]
    pool = [
        Paragraph(f"s{i // 3:03d}.txt", i % 3 + 1, 0, 0, " ".join(w if rng.random() > 0.08 else "x" for w in text))
        for i, text in enumerate(rng.choice(originals) for _ in range(450))
    ]
    by_source: dict[str, list[Paragraph]] = {}
    for p in pool:
        by_source.setdefault(p.source, []).append(p)
    sources = sorted(by_source)
    rows: list[Paragraph] = []
    labels = np.zeros(0, np.int64)
    index = ShingleLayers.empty()
    steps = [
        (set(), sources[:60]),
        (set(sources[::7]), sources[60:100]),
        (set(sources[3::5]), sources[100:] + sources[:100:7]),
    ]
    for removed, added_sources in steps:
        added = [p for s in added_sources if s not in {q.source for q in rows} - removed for p in by_source[s]]
        ids = np.array([paragraph_id(p.source, p.paragraph) for p in rows], np.int64)
        gone = np.array([p.source in removed for p in rows], bool)
        row_of = {int(i): r for r, i in enumerate(ids.tolist())}.__getitem__
        labels, index = regroup(rows, ids, labels, gone, added, index, row_of, THRESHOLD)
        rows = [p for p, g in zip(rows, gone.tolist(), strict=True) if not g] + added
        expected = _pairwise_groups(rows, THRESHOLD)
        now_ids = np.array([paragraph_id(p.source, p.paragraph) for p in rows], np.int64)
        assert labels.tolist() == labels_of(now_ids, [[paragraph_id(*key) for key in g] for g in expected])
        assert expected  # copies to find at every step
