"""Milvus as the search backend, against a real Milvus Lite (a local file):
the same answers as the default FAISS + BM25 index, updates by id, repair
after a half-done update."""

from __future__ import annotations

from helpers import NEW_ARTICLE, check_quality_bar

from qa import QAPipeline
from qa.index.store import IndexStore
from qa.search import embeddings


def test_seed_dev_questions_meet_the_quality_bar_on_milvus(milvus_bot: QAPipeline, seed_dev: list[dict]):
    """The bar the FAISS index meets (tests/integration/test_answers.py), on Milvus."""
    check_quality_bar(milvus_bot, seed_dev)


def test_dense_rankings_are_faisss_and_answers_the_same(milvus_bot: QAPipeline, bot: QAPipeline, seed_dev):
    assert milvus_bot.index.manifest["backend"] == "milvus"
    assert (milvus_bot.settings.index_dir / "milvus.db").exists()
    s = bot.settings
    for row in seed_dev[:15]:
        vector = embeddings.encode_query(bot.index.model, row["question"], s.engine, s.cache_dir)
        faiss_hits = [bot.index.paragraphs[r] for r, _ in bot.index.dense_search(vector, 10)]
        milvus_hits = [milvus_bot.index.paragraphs[r] for r, _ in milvus_bot.index.dense_search(vector, 10)]
        # By text: a syndicated copy has its original's vector, and ties may come in either order.
        assert [p.text for p in milvus_hits] == [p.text for p in faiss_hits]
    single = [row["question"] for row in seed_dev if not row["history"]]
    same = sum(milvus_bot.ask(q).answer == bot.ask(q).answer for q in single)
    assert same >= 0.9 * len(single)


def test_bm25_rankings_agree_with_bm25s(milvus_bot: QAPipeline, bot: QAPipeline, seed_dev):
    overlaps = []
    for row in seed_dev[:20]:
        ours = {
            (bot.index.paragraphs[r].source, bot.index.paragraphs[r].paragraph)
            for r, _ in bot.index.lexical_search(row["question"], 5)
        }
        theirs = {
            (milvus_bot.index.paragraphs[r].source, milvus_bot.index.paragraphs[r].paragraph)
            for r, _ in milvus_bot.index.lexical_search(row["question"], 5)
        }
        overlaps.append(len(ours & theirs) / max(len(ours), 1))
    # Milvus tokenizes with its own analyzer (no stemming): the lists agree on most passages, not all.
    assert sum(overlaps) / len(overlaps) >= 0.6


def test_articles_are_added_and_removed_by_id(milvus_bot: QAPipeline):
    corpus = milvus_bot.settings.corpus_dir
    (corpus / "006_new.txt").write_text(NEW_ARTICLE, "utf-8")
    report = milvus_bot.refresh()
    assert report.added == ["006_new.txt"] and report.embedded_paragraphs == 3
    collection = milvus_bot.index.dense
    assert collection.count() == len(milvus_bot.index.paragraphs)
    answer = milvus_bot.ask("Where did Lavrov arrive on Wednesday for talks on the nuclear issue?")
    assert answer.answer == "Pyongyang" and answer.citations[0].source == "006_new.txt"
    hits = milvus_bot.index.lexical_search("Pyongyang", 3)
    assert milvus_bot.index.paragraphs[hits[0][0]].source == "006_new.txt"

    (corpus / "006_new.txt").unlink()
    report = milvus_bot.refresh()
    assert report.removed == ["006_new.txt"]
    assert milvus_bot.index.dense.count() == len(milvus_bot.index.paragraphs)
    assert all(
        milvus_bot.index.paragraphs[r].source != "006_new.txt"
        for r, _ in milvus_bot.index.lexical_search("Pyongyang", 5)
    )


def test_a_collection_left_half_updated_is_written_again_on_load(milvus_bot: QAPipeline):
    index = milvus_bot.index
    index.dense.client.delete(index.dense.collection, ids=index.ids[:10].tolist())  # as if an update died
    index.dense.client.flush(index.dense.collection)
    reloaded = IndexStore(milvus_bot.settings).load()
    assert reloaded.dense.count() == len(reloaded.paragraphs)
    assert reloaded.lexical_search("Whelan espionage", 3)
