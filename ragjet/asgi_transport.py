"""`InProcessTransport`: an httpx transport that answers from an ASGI app in this process, so a test (ragjet's
own, or a user's of their served flow) asks the app with no port and no server thread, and still sees what a
socket would show it, as uvicorn serves it:

- the body piece by piece, as the app sends it. httpx's own ``ASGITransport`` holds the whole body until the
  app returns, which hides whether an answer streams and never returns from an endless stream;
- ``http.disconnect`` told to the app when the response is closed before its end, as when a client leaves;
- the app's lifespan started with the transport and ended by `close`;
- a failure as a server shows it: 500 when the app fails before it answers, a body cut short
  (`httpx.RemoteProtocolError`) when it fails while streaming, the error logged either way;
- httpx's read timeout, so an app that never answers fails the request instead of hanging the test.

The app runs on an event loop in a thread of its own, as under uvicorn; the caller's thread reads what the
app sends through a queue. Sync clients only (`ragjet.http_client.client` with ``app=``).
"""
from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any, Iterator, Optional
from urllib.parse import unquote

import httpx

from .log import LOG

ASGI = {"version": "3.0", "spec_version": "2.3"}  # what uvicorn declares
PEER = ("127.0.0.1", 50000)  # the client address the app sees
_INTERNAL_ERROR = b"Internal Server Error"
_CUT_SHORT = "the response ended before its body: the app failed, returned or was stopped while it streamed"


class InProcessTransport(httpx.BaseTransport):
    """``httpx.Client(transport=InProcessTransport(app))``: every request answered by ``app`` in this process."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ragjet-in-process", daemon=True)
        self._thread.start()
        self._lifespan = _Lifespan(app)
        try:
            self._on_loop(self._lifespan.startup())
        except BaseException:
            self._stop_loop()
            raise

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._loop.is_closed():
            raise RuntimeError("this in-process transport is closed")
        exchange = _Exchange(self._loop, request.read(), _read_timeout(request))
        scope = _scope(request, self._lifespan.state)
        asyncio.run_coroutine_threadsafe(exchange.run(self.app, scope, request), self._loop)
        status, headers = exchange.head()
        return httpx.Response(status, headers=headers, stream=_Body(exchange), request=request,
                              extensions={"http_version": b"HTTP/1.1"})

    def close(self) -> None:
        """End the app's lifespan, cancel what it still runs, stop the loop."""
        if self._loop.is_closed():
            return
        try:
            self._on_loop(self._lifespan.shutdown())
        finally:
            self._stop_loop()

    def _on_loop(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def _stop_loop(self) -> None:
        self._on_loop(_cancel_the_rest())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class _Exchange:
    """One request's trip: the app's messages, from the loop's thread to the caller's through a queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop, body: bytes, timeout: Optional[float]) -> None:
        self.loop, self.body, self.timeout = loop, body, timeout
        self.messages: queue.Queue[Any] = queue.Queue()
        self.gone = asyncio.Event()  # the response is complete or its reader closed it
        self._body_sent = False

    async def run(self, app: Any, scope: dict[str, Any], request: httpx.Request) -> None:
        try:
            await app(scope, self.receive, self.send)
        except asyncio.CancelledError as exc:  # the transport closed under it: a server going away
            self.messages.put(exc)
            raise
        except Exception as exc:
            LOG.error("the in-process app failed on %s %s", request.method, request.url, exc_info=exc)
            self.messages.put(exc)
        else:
            self.messages.put(None)  # the app returned; a response it left unfinished is cut short

    async def receive(self) -> dict[str, Any]:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if self.gone.is_set():
            return  # the reader left: what the app still sends goes nowhere, as under uvicorn
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.gone.set()
        self.messages.put(message)

    def head(self) -> tuple[int, list[tuple[bytes, bytes]]]:
        """The status and headers, once the app sends them; 500 when it fails or returns first."""
        message = self.next()
        if isinstance(message, dict) and message["type"] == "http.response.start":
            return message["status"], list(message.get("headers", []))
        if isinstance(message, asyncio.CancelledError):
            raise httpx.RemoteProtocolError("the transport closed before the app answered")
        self.messages.put({"type": "http.response.body", "body": _INTERNAL_ERROR})
        return 500, [(b"content-type", b"text/plain; charset=utf-8"),
                     (b"content-length", str(len(_INTERNAL_ERROR)).encode())]

    def next(self) -> Any:
        try:
            return self.messages.get(timeout=self.timeout)
        except queue.Empty:
            self.leave()
            raise httpx.ReadTimeout(f"the in-process app sent nothing for {self.timeout} s") from None

    def leave(self) -> None:
        if not self.loop.is_closed():  # a response closed after its transport has nothing left to tell
            self.loop.call_soon_threadsafe(self.gone.set)


class _Body(httpx.SyncByteStream):
    """The response body as the app sends it; closing it early tells the app the client left."""

    def __init__(self, exchange: _Exchange) -> None:
        self.exchange = exchange

    def __iter__(self) -> Iterator[bytes]:
        while True:
            message = self.exchange.next()
            if not isinstance(message, dict):
                raise httpx.RemoteProtocolError(_CUT_SHORT) from message
            if message.get("body"):
                yield message["body"]
            if not message.get("more_body", False):
                return

    def close(self) -> None:
        self.exchange.leave()


class _Lifespan:
    """The app's lifespan protocol: started before the first request, ended by the transport's `close`. An
    app that does not speak it (it fails on the lifespan scope) is served without it, as uvicorn does."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._task: Optional[asyncio.Task[None]] = None
        self._inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()  # a queue binds to the loop that first uses it
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": ASGI, "state": self.state}
        self._task = asyncio.create_task(self._serve(scope))
        await self._step("startup")

    async def shutdown(self) -> None:
        if self._task is not None and not self._task.done():
            await self._step("shutdown")

    async def _serve(self, scope: dict[str, Any]) -> None:
        try:
            await self.app(scope, self._inbox.get, self._outbox.put)
        except Exception as exc:
            LOG.debug("the in-process app has no lifespan (%r): served without it", exc)

    async def _step(self, step: str) -> None:
        """Send ``lifespan.<step>`` and wait for its answer; a failed step raises."""
        assert self._task is not None
        await self._inbox.put({"type": f"lifespan.{step}"})
        answer = asyncio.ensure_future(self._outbox.get())
        await asyncio.wait({answer, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not answer.done():
            answer.cancel()  # the app returned without answering: it has no lifespan
            return
        message = answer.result()
        if message["type"] == f"lifespan.{step}.failed":
            raise RuntimeError(f"the app's lifespan {step} failed: {message.get('message', '')}")


async def _cancel_the_rest() -> None:
    """Cancel what the loop still runs (a stream nobody reads) and let it unwind."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _scope(request: httpx.Request, state: dict[str, Any]) -> dict[str, Any]:
    """The ASGI scope uvicorn would build for ``request``."""
    url = request.url
    raw_path = url.raw_path.split(b"?", 1)[0]
    return {"type": "http", "asgi": ASGI, "http_version": "1.1", "method": request.method,
            "scheme": url.scheme, "path": unquote(raw_path.decode("ascii")), "raw_path": raw_path,
            "query_string": url.query, "root_path": "", "client": PEER,
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "headers": [(name.lower(), value) for name, value in request.headers.raw], "state": dict(state)}


def _read_timeout(request: httpx.Request) -> Optional[float]:
    return (request.extensions.get("timeout") or {}).get("read")
