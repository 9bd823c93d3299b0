"""How many chat requests the server takes at once: past the bound, 503 with ``Retry-After``.

A chat model answers as many requests at once as it has slots and the others wait their turn; an unbounded
wait list makes the last user wait minutes for a first token while the server holds every connection.
Bounding what waits (the model's slots plus ``max_queue`` waiting) lets a client (or a load balancer) retry
elsewhere or later, told roughly when: ``Retry-After`` is the recent mean time between two answers finishing
(when the next place frees), within [1 s, 120 s]. A flow without a model (the passages answer) has nothing
to wait for, so nothing bounds it: a bound there turned away load the server served (50 streaming clients
against ``ragjet serve --llm none``: 22,465 answers of 503 beside 3,200 served).
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Optional

DEFAULT_MAX_QUEUE = 16
RECENT_ANSWERS = 20
FIRST_GUESS_S = 10.0  # before any answer has been timed
MAX_RETRY_AFTER_S = 120


def admission_for(max_queue: int, slots: Optional[int]) -> "Admission":
    """The admission of a server whose model answers ``slots`` requests at once (None: no model) and lets
    ``max_queue`` more wait."""
    if max_queue < 1:
        raise ValueError(f"the chat queue bound must be at least 1, got {max_queue}")
    return Admission(None if slots is None else max_queue + slots)


class Admission:
    """``Admission(limit)``: `enter` takes a place (False when all ``limit`` are taken; None: no limit),
    `leave` gives it back."""

    def __init__(self, limit: Optional[int] = DEFAULT_MAX_QUEUE) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"the chat queue bound must be at least 1, got {limit}")
        self.limit = limit
        self.active = 0
        self._finished: deque[float] = deque(maxlen=RECENT_ANSWERS)
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.limit is not None and self.active >= self.limit:
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
