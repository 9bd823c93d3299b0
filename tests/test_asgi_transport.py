"""The in-process transport answers as uvicorn does over a socket: each check runs a plain ASGI app both ways
(the app served by `ServerThread`, and the app in this process) and expects the same from each, so a test
written against the in-process transport holds for the server."""
from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Optional

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from ragjet.http_client import client  # noqa: E402
from ragjet.web.server_thread import ServerThread  # noqa: E402

WAIT_S = 30


@contextmanager
def asked(app: Any, transport: str, timeout: float = WAIT_S) -> Iterator[httpx.Client]:
    if transport == "in_process":
        with client("http://127.0.0.1", app=app, timeout=timeout) as http:
            yield http
        return
    serving = ServerThread("127.0.0.1", None, "test-asgi")
    serving.start(lambda: app)
    try:
        with client(serving.url, timeout=timeout) as http:
            yield http
    finally:
        serving.stop()


@pytest.fixture(params=["socket", "in_process"])
def transport(request) -> str:
    return request.param


async def start(send: Any, status: int = 200, kind: bytes = b"text/plain") -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]})


def served(handler: Any, steps: Optional[list] = None) -> Any:
    """``handler``, an HTTP-only ASGI callable, as an app that also completes each lifespan step (and records
    it in ``steps``), as a framework's app does."""
    async def app(scope, receive, send):
        if scope["type"] != "lifespan":
            return await handler(scope, receive, send)
        while True:
            message = await receive()
            if steps is not None:
                steps.append(message["type"])
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    return app


def echo(seen: list) -> Any:
    """Answers with what it was asked: method, path, query, a header and the body."""
    @served
    async def app(scope, receive, send):
        message = await receive()
        seen.append(scope)
        headers = dict(scope["headers"])
        await start(send)
        text = f"{scope['method']} {scope['path']} ?{scope['query_string'].decode()} {headers[b'x-thing'].decode()} "
        await send({"type": "http.response.body", "body": text.encode() + message["body"]})
    return app


def test_the_app_sees_the_request_as_a_server_hands_it_over(transport):
    seen: list = []
    with asked(echo(seen), transport) as http:
        r = http.post("/a%20b/c", params={"q": "一"}, headers={"X-Thing": "yes"}, content=b"body")
    assert r.status_code == 200 and r.text == "POST /a b/c ?q=%E4%B8%80 yes body"
    scope = seen[0]
    assert scope["raw_path"] == b"/a%20b/c" and scope["http_version"] == "1.1" and scope["scheme"] == "http"
    assert scope["client"][0] == "127.0.0.1" and scope["server"][0] == "127.0.0.1"


def test_the_body_arrives_piece_by_piece_while_the_app_still_sends(transport):
    """The app sends its second piece only once the test has read the first: a transport that held the body
    until the app's end would wait forever (here: fail on its read timeout)."""
    read_first = threading.Event()

    @served
    async def app(scope, receive, send):
        await start(send)
        await send({"type": "http.response.body", "body": b"first ", "more_body": True})
        while not read_first.is_set():
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"second"})

    with asked(app, transport, timeout=5) as http, http.stream("GET", "/") as r:
        pieces = []
        for piece in r.iter_raw():
            pieces.append(piece)
            read_first.set()
    assert pieces == [b"first ", b"second"]


def test_a_response_closed_early_tells_the_app_its_client_left(transport):
    left = threading.Event()

    @served
    async def app(scope, receive, send):
        await receive()
        await start(send)
        await send({"type": "http.response.body", "body": b"endless ", "more_body": True})
        if (await receive())["type"] == "http.disconnect":
            left.set()

    with asked(app, transport) as http:
        with http.stream("GET", "/") as r:
            next(r.iter_raw())
        assert left.wait(WAIT_S)


@pytest.mark.parametrize("failure", ["raises", "returns"])
def test_an_app_that_fails_before_answering_gives_a_500(transport, failure, caplog):
    @served
    async def app(scope, receive, send):
        if failure == "raises":
            raise RuntimeError("broken app")

    with caplog.at_level(logging.ERROR), asked(app, transport) as http:
        r = http.get("/")
    assert r.status_code == 500 and r.text == "Internal Server Error"
    if failure == "raises" and transport == "in_process":  # uvicorn logs to its own handler, not propagated
        assert any(rec.exc_info and "broken app" in str(rec.exc_info[1]) for rec in caplog.records)


@pytest.mark.parametrize("failure", ["raises", "returns"])
def test_an_app_that_fails_while_streaming_cuts_the_body_short(transport, failure):
    @served
    async def app(scope, receive, send):
        await start(send)
        await send({"type": "http.response.body", "body": b"half", "more_body": True})
        if failure == "raises":
            raise RuntimeError("broken mid-stream")

    with asked(app, transport) as http, pytest.raises(httpx.RemoteProtocolError):
        http.get("/")


def test_the_lifespan_starts_before_the_first_request_and_ends_with_the_client():
    steps: list = []

    async def handler(scope, receive, send):
        await start(send)
        await send({"type": "http.response.body", "body": ",".join(steps).encode()})

    with asked(served(handler, steps), "in_process") as http:
        assert http.get("/").text == "lifespan.startup"
    assert steps == ["lifespan.startup", "lifespan.shutdown"]


def test_an_app_without_a_lifespan_is_served_and_a_failed_startup_raises():
    async def plain(scope, receive, send):
        assert scope["type"] == "http", "no lifespan here"
        await start(send)
        await send({"type": "http.response.body", "body": b"ok"})

    with asked(plain, "in_process") as http:
        assert http.get("/").text == "ok"

    async def failing(scope, receive, send):
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    with pytest.raises(RuntimeError, match="lifespan startup failed: no database"):
        client("http://127.0.0.1", app=failing)


def test_an_app_that_never_answers_fails_on_the_read_timeout():
    @served
    async def silent(scope, receive, send):
        await asyncio.sleep(3600)

    with asked(silent, "in_process", timeout=0.2) as http, pytest.raises(httpx.ReadTimeout):
        http.get("/")


def test_closing_the_client_cuts_a_stream_it_still_reads():
    @served
    async def endless(scope, receive, send):
        await start(send)
        while True:
            await send({"type": "http.response.body", "body": b"more ", "more_body": True})
            await asyncio.sleep(0.01)

    http = client("http://127.0.0.1", app=endless, timeout=WAIT_S)
    response = http.send(http.build_request("GET", "/"), stream=True)
    pieces = response.iter_raw()
    assert next(pieces) == b"more "
    http.close()
    with pytest.raises(httpx.RemoteProtocolError):
        list(pieces)
