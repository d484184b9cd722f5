"""Embedding a big corpus with Ray: ``qa index --ray [--ray-address ADDR]``.

Ray Data streams the paragraphs through a pool of actors that each hold the
embedding model (``map_batches`` with a callable class). On a cluster with
GPUs each actor takes one GPU. Without an address, Ray starts on this machine
for the length of the build. With ``--ray-address ray://head:10001`` (or
``auto`` inside a cluster), the build runs on that cluster. Everything after
embedding (grouping copies, the search backends, the atomic swap) is the
normal index build: a Ray build and a plain one give the same index.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from qa.index.build import Embedder
from qa.search import embeddings

log = logging.getLogger(__name__)


@contextlib.contextmanager
def ray_embedder(model: str, address: str | None = None, batch_size: int = 64) -> Iterator[Embedder]:
    """An embedder that runs on Ray; Ray is started (or joined) on entry and
    shut down on exit."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
            # The model is read from this machine's packages: workers share its Python environment.
            runtime_env={"env_vars": {"HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}},
        )
    context = ray.data.DataContext.get_current()  # importing ray.data sets up its logging
    # Our own progress bar counts the paragraphs; Ray Data's bars and logs would interleave with it.
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    try:
        yield lambda texts, on_batch=None: _embed(model, texts, batch_size, on_batch)
    finally:
        if started:
            ray.shutdown()


def _embed(model: str, texts: Sequence[str], batch_size: int, on_batch: Callable[[int], None] | None) -> np.ndarray:
    import ray

    if not texts:
        return np.zeros((0, embeddings.embedding_dimension(model)), np.float32)
    gpus = int(ray.cluster_resources().get("GPU", 0))
    cpus = int(ray.cluster_resources().get("CPU", 1))

    class Encode:
        """One actor: the model loaded once, then batch after batch."""

        def __init__(self) -> None:
            embeddings.load_encoder(model)

        def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            vectors = embeddings.encode(model, [str(t) for t in batch["text"]], batch_size)
            return {"row": batch["row"], "vector": vectors}

    data = ray.data.from_items([{"row": i, "text": t} for i, t in enumerate(texts)])
    encoded = data.map_batches(
        Encode,
        batch_size=batch_size,
        batch_format="numpy",
        # A GPU per actor where the cluster has them; on CPUs, actors of two cores each (Ray gives
        # an actor as many math-library threads as the CPUs it asks for: one, unless told).
        num_gpus=1 if gpus else 0,
        num_cpus=1 if gpus else 2,
        compute=ray.data.ActorPoolStrategy(size=gpus or max(1, cpus // 2)),
    )
    vectors = np.zeros((len(texts), embeddings.embedding_dimension(model)), np.float32)
    for batch in encoded.iter_batches(batch_size=batch_size, batch_format="numpy"):
        vectors[batch["row"]] = batch["vector"]
        if on_batch:
            on_batch(len(batch["row"]))
    return vectors
