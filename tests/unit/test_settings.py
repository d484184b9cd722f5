"""Settings parsing: the checks and derived values of qa.settings, no model."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import Settings


def test_the_backend_setting_is_checked():
    with pytest.raises(ValueError, match="backend must be faiss or milvus"):
        Settings.from_env(backend="elastic")
    assert Settings.from_env(index_dir=Path("x")).milvus_location == "x/milvus.db"


def test_environment_variables_are_parsed_by_the_fields_type():
    env = {
        "QA_TOP_K": "8",
        "QA_READ_ONLY": "yes",
        "QA_GROUP_DUPLICATES": "off",
        "QA_MIN_CONFIDENCE": "0.25",
        "QA_CORPUS_DIR": "/data/news",
        "QA_RETRIEVAL": "bm25",
        "QA_PORT": "",  # empty: the default stands
    }
    s = Settings.from_env(env)
    assert (s.top_k, s.read_only, s.group_duplicates, s.min_confidence) == (8, True, False, 0.25)
    assert s.corpus_dir == Path("/data/news") and s.retrieval == "bm25" and s.port == 7860


def test_overrides_win_over_the_environment_and_none_falls_through():
    env = {"QA_TOP_K": "8", "QA_HOST": "0.0.0.0"}
    s = Settings.from_env(env, top_k=3, host=None, index_dir="elsewhere")
    assert s.top_k == 3 and s.host == "0.0.0.0"
    assert s.index_dir == Path("elsewhere")  # a string becomes a path
    assert s.replace(top_k=4).top_k == 4 and s.top_k == 3  # replace gives a new object


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"QA_TOP_K": "many"}, "QA_TOP_K='many' is not a valid int"),
        ({"QA_READ_ONLY": "perhaps"}, "QA_READ_ONLY='perhaps' is not a valid bool"),
        ({"QA_DUPLICATE_THRESHOLD": "high"}, "QA_DUPLICATE_THRESHOLD='high' is not a valid float"),
        ({"QA_RETRIEVAL": "keyword"}, "retrieval must be hybrid, dense or bm25"),
        ({"QA_INDEX_TYPE": "ivf"}, "index_type must be auto, flat, hnsw or ivfpq"),
        ({"QA_READER": "gpt"}, "reader must be sentence, neural or auto"),
        ({"QA_ENGINE": "tensorrt"}, "engine must be one of"),
        ({"QA_TOP_K": "0"}, "must be at least 1"),
        ({"QA_DUPLICATE_THRESHOLD": "0"}, r"duplicate_threshold must be in \(0, 1\]"),
        ({"QA_DUPLICATE_THRESHOLD": "1.5"}, r"duplicate_threshold must be in \(0, 1\]"),
    ],
)
def test_bad_values_are_refused_with_a_message_naming_them(env: dict, message: str):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)


def test_a_milvus_server_address_is_used_as_given():
    assert Settings(milvus_uri="http://milvus:19530").milvus_location == "http://milvus:19530"
