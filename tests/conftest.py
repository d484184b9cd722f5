"""Shared fixtures: the sample corpus, a built index and a ready pipeline.

Everything is real: the packaged model, FAISS, bm25s. Nothing is fetched.
The tests are in tiers, each marked by its folder: unit/ (no model, no
server: seconds), integration/ (the real model and index) and system/ (the
app served, Chromium, Milvus, Ray). Shared helpers are in helpers.py;
the app's fixtures in system/conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from helpers import CORPUS, SEED_DEV

from qa import QAPipeline, Settings

TIERS = ("unit", "integration", "system")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier (its folder), so `-m "not system"` works from anywhere."""
    tests = Path(__file__).resolve().parent
    for item in items:
        parts = item.path.resolve().relative_to(tests).parts
        if parts and parts[0] in TIERS:
            item.add_marker(getattr(pytest.mark, parts[0]))


@pytest.fixture(scope="session")
def seed_dev() -> list[dict]:
    return [json.loads(line) for line in SEED_DEV.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for the sample corpus with an index in a temporary folder."""
    return Settings.from_env(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="session")
def bot(sample_settings: Settings) -> QAPipeline:
    return QAPipeline(sample_settings)


@pytest.fixture(scope="session")
def eager_bot(sample_settings: Settings) -> QAPipeline:
    """The pipeline over the same index, answering with its best answer
    however unsure: for tests of which answer is chosen, not of abstention."""
    return QAPipeline(sample_settings.replace(min_confidence=0.0))


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample corpus."""
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder
