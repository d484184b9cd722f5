"""CPU-bound work over many items, spread over this machine's cores.

Shingling and BM25 tokenization of a first build are pure Python, a few
tens of microseconds a paragraph: at a million paragraphs, minutes on one
core. Large inputs are cut into chunks for a pool of forked processes; small ones
stay in this process, where a pool's start-up would cost more. Forked, not
spawned: a spawned worker runs the caller's main script again, which a
script without a ``__main__`` guard does not survive. The workers only hash
and tokenize (no threads, models or locks of the parent's are used there).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items a pool costs more than it saves.
MIN_PARALLEL = 20_000


def map_chunks(fn: Callable[[Sequence[T]], R], items: Sequence[T], chunk: int, workers: int | None = None) -> list[R]:
    """``fn`` of successive chunks of ``items``, in order: chunks of at most
    ``chunk`` items, fewer where that keeps every core busy. ``fn`` must be a
    module-level function."""
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(items) >= MIN_PARALLEL:
        chunk = min(chunk, -(-len(items) // workers))
    chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    workers = min(workers, len(chunks))
    if workers <= 1 or len(items) < MIN_PARALLEL:
        return [fn(c) for c in chunks]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(fn, chunks))
