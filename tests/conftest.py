"""Shared fixtures: the sample corpus, a built index and a ready pipeline.

Everything is real: the packaged model, FAISS, bm25s. Nothing is fetched.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

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


@pytest.fixture(scope="session")
def eager_bot(sample_settings: Settings) -> QAPipeline:
    """The pipeline over the same index, answering with its best answer
    however unsure: for tests of which answer is chosen, not of abstention."""
    return QAPipeline(sample_settings.replace(min_confidence=0.0))


@pytest.fixture(scope="session")
def milvus_bot(tmp_path_factory: pytest.TempPathFactory) -> QAPipeline:
    """The pipeline over a copy of the sample corpus, searched in Milvus Lite."""
    root = tmp_path_factory.mktemp("milvus")
    shutil.copytree(CORPUS, root / "corpus")
    return QAPipeline(Settings.from_env(corpus_dir=root / "corpus", index_dir=root / "index", backend="milvus"))


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample corpus."""
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder


def file_text(source: str, corpus: Path = CORPUS) -> str:
    """An article as the provenance rule reads it: the file decoded as UTF-8."""
    return (corpus / source).read_bytes().decode("utf-8")


NEW_ARTICLE = (
    "Lavrov visits Pyongyang\n\n"
    "Russian Foreign Minister Sergei Lavrov arrived in Pyongyang on Wednesday for talks on the nuclear issue.\n\n"
    "He was greeted at the airport by a delegation of North Korean officials.\n"
)


XSS_ARTICLE = (
    'Hackers target <img src=x onerror="window.__xss = 3"> newsroom\n\n'
    'Investigators said the page contained the text <script>window.__xss = 1; alert("xss")</script> and an image tag '
    '<img src=x onerror="window.__xss = 2; alert(1)"> hidden in a comment field, according to the newsroom.\n'
)


@dataclass
class AppServer:
    url: str
    corpus: Path
    index: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The real app, started as a user starts it, on a free port, over a copy of
    the sample corpus plus an article full of HTML that must never run."""
    root = tmp_path_factory.mktemp("app")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "005_xss.txt").write_text(XSS_ARTICLE, "utf-8")
    port = _free_port()
    with open(root / "app.log", "w") as log:
        yield from _serve(root, corpus, port, log)


def _serve(root: Path, corpus: Path, port: int, log, env: dict[str, str] | None = None) -> Iterator[AppServer]:
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--corpus", str(corpus), "--index", str(root / "index")],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited: {(root / 'app.log').read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/gradio_api/info", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("the app did not start within 180 s")
    yield AppServer(url, corpus, root / "index")
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="session")
def client(app_server: AppServer):
    from gradio_client import Client

    return Client(app_server.url, verbose=False)
