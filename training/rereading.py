"""The second reading of the calibrator's SQuAD readings, as the pipeline reads
again (``QAPipeline._read_again``): for each question's leading answers, the
reader scores the answer in the retrieved articles that name it but did not
give it. Kept in its own cache: it depends on the ranker fitted first.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import time
from collections.abc import Sequence
from pathlib import Path

from qa.answers.calibration import rank_answers
from qa.answers.evidence import aggregate, unread_mentions
from qa.reading.neural import NeuralReader
from qa.settings import Settings
from qa.types import Span

log = logging.getLogger("training.calibrator")


def leading_targets(reading, types, rank_weights: Sequence[float], settings: Settings):
    """The locations the pipeline would have the reader score for ``reading``.

    The pipeline picks the leading answers by their probability; the fit, which
    needs this reading before any probability is fitted, picks them by the
    ranking score (the same evidence, prior and retrieval the probability reads most)."""
    family_of = lambda s: reading.families.get(s, s)  # noqa: E731
    answers = aggregate(reading.spans, reading.passages, family_of)
    leading = [e for _, e in rank_answers(reading.question, answers, types, rank_weights)[: settings.reread_answers]]
    return unread_mentions(leading, reading.passages, family_of, settings.reread_articles)


def read_again(
    readings: list, types, rank_weights: Sequence[float], settings: Settings, reader_path: str, cache: Path | None
) -> dict[str, list[Span]]:
    """The second reading's spans of each question, by question id (and half,
    for questions asked twice), from ``cache`` when it was made for the same
    readings, ranker and settings."""
    key = cache_key(readings, rank_weights, settings, reader_path)
    if cache and cache.exists():
        kept = pickle.loads(cache.read_bytes())
        if kept.get("key") == key:
            return kept["spans"]
    reader = NeuralReader(reader_path, engine=settings.engine, cache_dir=settings.cache_dir)
    spans: dict[str, list[Span]] = {}
    started = time.time()
    for i, r in enumerate(readings, 1):
        spans[_key(r)] = reader.score(r.question, leading_targets(r, types, rank_weights, settings))
        if i % 500 == 0:
            log.info("read again %d of %d questions (%.0f s)", i, len(readings), time.time() - started)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps({"key": key, "spans": spans}))
    return spans


def cache_key(readings: list, rank_weights: Sequence[float], settings: Settings, reader_path: str) -> str:
    """What a kept second reading was made for: the readings, the ranker that chose the leading answers, the settings."""
    what = (
        [r.id for r in readings],
        [round(w, 6) for w in rank_weights],
        settings.reread_answers,
        settings.reread_articles,
        reader_path,
        settings.engine,
    )
    return hashlib.sha256(pickle.dumps(what)).hexdigest()


def _key(reading) -> str:
    return f"{reading.id}/{reading.half}/{reading.left_out}"


def with_second_reading(readings: list, spans: dict[str, list[Span]]) -> list:
    """The readings with their second reading's spans added."""
    import dataclasses

    return [dataclasses.replace(r, spans=r.spans + spans.get(_key(r), [])) for r in readings]
