"""The system tier's fixtures: the real app served on a free port, a
gradio_client on it, and the pipeline searched in Milvus Lite."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from helpers import CORPUS, XSS_ARTICLE, AppServer, free_port, serve_app

from qa import QAPipeline, Settings


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The real app, started as a user starts it, on a free port, over a copy of
    the sample corpus plus an article full of HTML that must never run."""
    root = tmp_path_factory.mktemp("app")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "005_xss.txt").write_text(XSS_ARTICLE, "utf-8")
    with open(root / "app.log", "w") as log:
        # The whole suite is one client address: no rate limit here (tests/system/test_served_to_a_team.py has one).
        yield from serve_app(root, corpus, free_port(), log, {"QA_ASKS_PER_MINUTE": "0", "QA_UPLOADS_PER_MINUTE": "0"})


@pytest.fixture(scope="session")
def client(app_server: AppServer):
    from gradio_client import Client

    return Client(app_server.url, verbose=False)


@pytest.fixture(scope="session")
def milvus_bot(tmp_path_factory: pytest.TempPathFactory) -> QAPipeline:
    """The pipeline over a copy of the sample corpus, searched in Milvus Lite."""
    root = tmp_path_factory.mktemp("milvus")
    shutil.copytree(CORPUS, root / "corpus")
    return QAPipeline(Settings.from_env(corpus_dir=root / "corpus", index_dir=root / "index", backend="milvus"))
