"""Request rate limits per caller address, in this process: a token bucket each, refilled
steadily, so a burst is allowed and a flood is refused with 429 and Retry-After."""

import math
import threading
import time

MAX_TRACKED = 100_000  # beyond this many callers, the fullest buckets are forgotten first


class RateLimiter:
    def __init__(self, per_minute: int, burst: int):
        self.rate, self.burst = per_minute / 60.0, float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int | None:
        """Takes one token for the key: None when allowed, else seconds until one is due."""
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return max(1, math.ceil((1 - tokens) / self.rate))
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > MAX_TRACKED:
                self._forget_full(now)
        return None

    def _forget_full(self, now: float) -> None:
        full = [
            k
            for k, (t, then) in self._buckets.items()
            if t + (now - then) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
