"""Per-client rate limits: a token bucket for each user (or client address) and kind of request.

A bucket holds a minute's allowance and refills steadily, so a burst up to
the allowance goes through and a steady rate above it is refused, each refusal
with the seconds until one more request fits (HTTP ``Retry-After``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """At most ``per_minute`` requests a minute per key (0: no limit)."""

    # Past this many keys, buckets that have refilled are dropped: a flood of
    # addresses cannot grow memory without end.
    MAX_KEYS = 10_000

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def wait(self, key: str) -> int:
        """Take one request for ``key``: 0 if it may go ahead, else the whole seconds to wait."""
        if self.per_minute <= 0:
            return 0
        rate = self.per_minute / 60.0
        now = self.clock()
        with self._lock:
            tokens, when = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - when) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > self.MAX_KEYS:
                self._forget_full(now, rate)
            return max(1, math.ceil((1.0 - tokens) / rate))

    def _forget_full(self, now: float, rate: float) -> None:
        full = [k for k, (t, w) in self._buckets.items() if t + (now - w) * rate >= self.per_minute]
        for key in full:
            del self._buckets[key]
