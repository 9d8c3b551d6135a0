"""The client's own rate limit per API key. Harness allows 1,000 requests per key per minute
and its 429s carry no Retry-After, so a queue draining after an outage must pace itself."""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["RateLimit"]


class RateLimit:
    """At most `per_window` requests in any `window` seconds: a sliding log of the last
    requests' times, exact where a token bucket lets twice the budget through one window."""

    def __init__(self, per_window: int, window: float = 60.0) -> None:
        self.per_window = per_window
        self.window = window
        self._sent: deque[float] = deque(maxlen=max(per_window, 1))
        self._lock = threading.Lock()

    def wait(self, now: float) -> float:
        """Seconds until one more request fits (0: it fits now)."""
        if self.per_window <= 0:
            return 0.0
        with self._lock:
            if len(self._sent) < self.per_window:
                return 0.0
            return max(self._sent[0] + self.window - now, 0.0)

    def record(self, now: float) -> None:
        """Count a request as of its answer: SEI received it before then, so a window
        counted from answers on our side never holds more at SEI's."""
        if self.per_window > 0:
            with self._lock:
                self._sent.append(now)
