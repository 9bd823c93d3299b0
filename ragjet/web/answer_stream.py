"""One answer carried from the worker thread that runs the flow to the asyncio response that streams it.

Each request runs its flow in a worker thread (a blocking flow or a llama.cpp token iterator never holds up
the event loop, so one slow answer never delays another). Tokens travel from that thread to the response
through an asyncio queue with a small window: the worker waits when the client reads slowly, so nothing holds
the whole answer, and it stops (closing the token iterator, which frees the model) when the client goes away.
While the request waits for the in-process model, its queue position travels the same way
(`ragjet.models.turns`); a client that disconnects leaves the queue.
"""
from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any, AsyncIterator, Callable, Iterator

from ..flow.source_view import describe_sources
from ..flow.sources import collect_sources
from ..log import LOG
from ..models.turns import TurnCancelled, waiting_as

TOKEN_WINDOW = 64  # tokens a worker may run ahead of a slow client
CANCEL_POLL_S = 0.2  # how often a worker waiting on a slow client checks that the client is still there


class Answer:
    """One flow call running in a worker thread, read as events ``("queue", position)`` while it waits for
    the model, ``("token", str)``, then ``("end", {"sources", "cited", "ungrounded", "unsupported", "evidence",
    "notices", "usage"})`` or ``("error", message)``. Closing the event stream early stops the worker at its
    next token, or takes it out of the model's queue. ``on_done`` runs once, as soon as the call is over or the
    client is gone (its place in the server's admission frees at once; the worker stops within a token)."""

    def __init__(self, flow: Callable[[str], Any], query: str, pool: ThreadPoolExecutor,
                 on_done: Callable[[], None] = lambda: None) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_done = on_done
        self._done_once = threading.Lock()
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._room = threading.Semaphore(TOKEN_WINDOW)
        self._cancelled = threading.Event()
        pool.submit(self._work, flow, query)

    def _work(self, flow: Callable[[str], Any], query: str) -> None:
        try:
            self._answer(flow, query)
        finally:
            self._done()

    def _done(self) -> None:
        if self._done_once.acquire(blocking=False):
            self._on_done()

    def _answer(self, flow: Callable[[str], Any], query: str) -> None:
        if self._cancelled.is_set():  # the client left while this waited for a free worker
            return
        text: list[str] = []
        try:
            with collect_sources() as sources, waiting_as(lambda n: self._emit("queue", n), self._cancelled.is_set), \
                    closing(_pieces(flow(query))) as pieces:
                for piece in pieces:
                    if not self._wait_for_room():
                        return
                    text.append(piece)
                    self._emit("token", piece)
            answer = "".join(text)
            cited, cited_by = sources.citations(answer)
            grounding = sources.check_grounding(answer)
            evidence = grounding.evidence._asdict() if grounding.evidence else None
            self._emit("end", {"sources": describe_sources(sources.nodes, cited), "cited": cited, "cited_by": cited_by,
                               "ungrounded": grounding.ungrounded, "unsupported": grounding.unsupported,
                               "evidence": evidence, "notices": sources.notices,
                               "usage": sources.usage or _no_model_usage()})
        except TurnCancelled:  # the client left while the request waited for the model
            return
        except Exception as exc:  # the client learns that it failed, the log learns how
            error_id = uuid.uuid4().hex[:12]
            LOG.error("pipeline failed on %r (error %s)", query[:80], error_id, exc_info=exc)
            self._emit("error", f"the server failed to answer (error {error_id}; its log has the details)")

    def _wait_for_room(self) -> bool:
        while not self._room.acquire(timeout=CANCEL_POLL_S):
            if self._cancelled.is_set():
                return False
        return not self._cancelled.is_set()

    def _emit(self, kind: str, value: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, value))
        except RuntimeError:  # the server stopped and closed its loop: nobody is listening any more
            self._cancelled.set()

    async def events(self) -> AsyncIterator[tuple[str, Any]]:
        try:
            while True:
                kind, value = await self._queue.get()
                if kind == "token":
                    self._room.release()
                yield kind, value
                if kind not in ("token", "queue"):
                    return
        finally:
            self._cancelled.set()
            self._done()


def _no_model_usage() -> dict[str, int]:
    """``usage`` of an answer no model reported on (a flow without an LLM, such as the passages answer)."""
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def _pieces(result: Any) -> Iterator[str]:
    """A flow's output as text pieces: an iterator's items as they come (closed when we stop early), else one."""
    if isinstance(result, Iterator):
        try:
            for piece in result:
                yield piece if isinstance(piece, str) else str(piece)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    else:
        yield result if isinstance(result, str) else str(result)
