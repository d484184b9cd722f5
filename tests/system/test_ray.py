"""Building the index with Ray (a real local Ray, started for the test): the
same vectors and the same answers as the plain build."""

from __future__ import annotations

import numpy as np

from qa import QAPipeline, Settings
from qa.index.ray_build import ray_embedder
from qa.index.store import IndexStore


def test_a_ray_build_is_the_plain_build(tmp_path, sample_settings: Settings, bot: QAPipeline, seed_dev):
    settings = sample_settings.replace(index_dir=tmp_path / "index")
    with ray_embedder(settings.model, batch_size=16) as embed:
        index, report = IndexStore(settings, embed).update()
    assert report.embedded_paragraphs == len(bot.index.paragraphs) == len(index.paragraphs)
    assert [(p.source, p.paragraph) for p in index.paragraphs] == [
        (p.source, p.paragraph) for p in bot.index.paragraphs
    ]
    assert np.abs(index.embeddings - bot.index.embeddings).max() < 1e-5
    assert index.groups == bot.index.groups
    ray_bot = QAPipeline(settings)
    assert ray_bot.last_update.up_to_date
    for row in seed_dev[:8]:
        assert ray_bot.ask(row["question"], row["history"]).answer == bot.ask(row["question"], row["history"]).answer
