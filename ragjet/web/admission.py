"""How many chat requests the server takes at once: past the bound, 503 with ``Retry-After``.

The in-process model answers one request at a time and the others wait their turn; an unbounded wait list
makes the last user wait minutes for a first token while the server holds every connection. Bounding it lets
a client (or a load balancer) retry elsewhere or later, told roughly when: ``Retry-After`` is the recent
mean time between two answers finishing (when the next place frees), within [1 s, 120 s].
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque

DEFAULT_MAX_QUEUE = 16
RECENT_ANSWERS = 20
FIRST_GUESS_S = 10.0  # before any answer has been timed
MAX_RETRY_AFTER_S = 120


class Admission:
    """``Admission(limit)``: `enter` takes a place (False when all ``limit`` are taken), `leave` gives it
    back."""

    def __init__(self, limit: int = DEFAULT_MAX_QUEUE) -> None:
        if limit < 1:
            raise ValueError(f"the chat queue bound must be at least 1, got {limit}")
        self.limit = limit
        self.active = 0
        self._finished: deque[float] = deque(maxlen=RECENT_ANSWERS)
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.active >= self.limit:
                return False
            self.active += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.active -= 1
            self._finished.append(time.monotonic())

    def retry_after(self) -> int:
        """Seconds until a place is likely free."""
        with self._lock:
            done = list(self._finished)
        interval = (done[-1] - done[0]) / (len(done) - 1) if len(done) > 1 else FIRST_GUESS_S
        return max(1, min(MAX_RETRY_AFTER_S, math.ceil(interval)))
