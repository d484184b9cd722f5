"""Shared fixtures: the sample corpus, a built index and a ready pipeline.

Everything is real: the packaged model, FAISS, bm25s. Nothing is fetched.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from qa import QAPipeline, Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED_DEV = ROOT / "tests" / "data" / "seed_dev.jsonl"


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


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample corpus."""
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder


def file_text(source: str, corpus: Path = CORPUS) -> str:
    """An article as the provenance rule reads it: the file decoded as UTF-8."""
    return (corpus / source).read_bytes().decode("utf-8")
