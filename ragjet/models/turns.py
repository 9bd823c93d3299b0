"""`TurnQueue`: callers take turns on a model's slots, first come first served, and may see their place.

An in-process llama.cpp engine decodes as many sequences at once as it has slots, so further requests wait. A
lock would make them wait blind; this queue tells each waiting caller its position whenever it changes and lets a caller
that went away (a closed browser tab) leave the queue instead of being served to nobody.

The caller is told through `waiting_as`, a context set around the call (the web server sets it per request);
code that sets nothing waits as it would on a lock.
"""
from __future__ import annotations

import threading
from collections import deque
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

CANCEL_POLL_S = 0.2  # how often a waiter checks that its caller is still there


class TurnCancelled(Exception):
    """The caller went away while it waited for its turn; nothing was generated."""


@dataclass(frozen=True)
class Waiter:
    """How to reach a waiting caller: ``on_position(n)`` (n callers must finish before it runs: with one slot,
    the running one included) and ``cancelled()`` (true once it no longer wants the answer)."""

    on_position: Callable[[int], None]
    cancelled: Callable[[], bool]


_WAITER: ContextVar[Optional[Waiter]] = ContextVar("ragjet_waiter", default=None)


@contextmanager
def waiting_as(on_position: Callable[[int], None], cancelled: Callable[[], bool]) -> Iterator[None]:
    """Inside the block, a call that waits for a model's turn reports its position and can be cancelled."""
    token = _WAITER.set(Waiter(on_position, cancelled))
    try:
        yield
    finally:
        _WAITER.reset(token)


class TurnQueue:
    """``with queue.turn() as slot: ...`` runs the block in one of ``width`` slots (``slot``: its number) as
    soon as fewer than ``width`` earlier callers are still in theirs."""

    def __init__(self, width: int = 1) -> None:
        if width < 1:
            raise ValueError(f"a turn queue needs at least one slot, not {width}")
        self.width = width
        self._cond = threading.Condition()
        self._line: deque[object] = deque()  # the running tickets first, then the waiting ones in order
        self._free = list(range(width))

    @property
    def waiting(self) -> int:
        """Callers waiting now (not counting those running)."""
        with self._cond:
            return max(len(self._line) - self.width, 0)

    @contextmanager
    def turn(self) -> Iterator[int]:
        waiter = _WAITER.get()
        ticket = object()
        with self._cond:
            self._line.append(ticket)
            try:
                self._wait(ticket, waiter)
            except BaseException:
                self._line.remove(ticket)
                self._cond.notify_all()
                raise
            slot = self._free.pop()  # the slot freed last: a lone client keeps the slot that holds its prompt
        try:
            yield slot
        finally:
            with self._cond:
                self._line.remove(ticket)
                self._free.append(slot)
                self._cond.notify_all()

    def _wait(self, ticket: object, waiter: Optional[Waiter]) -> None:
        """Block (holding the condition) until ``ticket`` is among the first ``width`` in line."""
        told = None
        while (ahead := self._line.index(ticket) - self.width + 1) > 0:
            if waiter is not None:
                if waiter.cancelled():
                    raise TurnCancelled("the caller left the queue")
                if ahead != told:
                    waiter.on_position(ahead)
                    told = ahead
            self._cond.wait(CANCEL_POLL_S if waiter is not None else None)
