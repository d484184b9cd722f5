"""Where a question's time goes: named stages, timed only while a caller records.

    with timing.recording() as times:
        bot.ask("...")
    times  # {"query encoding": 4.1, "dense search": 0.2, ...} in milliseconds

Outside ``recording`` a stage costs one context-variable lookup.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_times: ContextVar[dict[str, float] | None] = ContextVar("stage_times", default=None)


@contextmanager
def stage(name: str) -> Iterator[None]:
    times = _times.get()
    if times is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        times[name] = times.get(name, 0.0) + (time.perf_counter() - start) * 1000


@contextmanager
def recording() -> Iterator[dict[str, float]]:
    """Milliseconds per stage of everything run inside, in the order stages first ran."""
    times: dict[str, float] = {}
    token = _times.set(times)
    try:
        yield times
    finally:
        _times.reset(token)
