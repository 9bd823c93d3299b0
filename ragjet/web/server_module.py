"""`ServerModule`: a module or flow served over HTTP, and called through it, as LazyLLM's ``ServerModule(m)``.

``ServerModule(m).start()`` serves ``m`` on 127.0.0.1 (``url``); calling the ServerModule posts the input there
and returns what ``m`` returned, so a step of a flow runs as a service that other processes can call too
(``ServerModule(url=...)`` is a client of one started elsewhere). ``pre`` and ``post`` run on the server around
``m``. The protocol is JSON: ``POST /generate`` with ``{"args": [...], "kwargs": {...}}`` answers
``{"output": ...}``; with ``"stream": true`` an output that is an iterator of text arrives as NDJSON lines
``{"delta": "..."}``. The server is behind the same Host/Origin guard as the chat server (a web page cannot
call it), and a failure of ``m`` answers 500 with its type and message, which the caller raises.
"""
from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

from .. import http_client
from ..flow.module import ModuleBase, ModuleExecutionError
from ..log import LOG
from .origins import OriginPolicy
from .server_thread import ServerThread

if TYPE_CHECKING:
    import httpx

GENERATE_PATH = "/generate"
JSON_HEADERS = {"content-type": "application/json"}
MAX_REQUEST_BYTES = 16 << 20
DEFAULT_TIMEOUT_S = 600.0
WORKERS = 8


class ServerModuleError(ModuleExecutionError):
    """The served module failed (its type and message, as the server reported them), or the server refused."""


class ServerModule(ModuleBase):
    """``m`` (a callable: function, flow or module) served over HTTP; see the module's docstring."""

    def __init__(self, m: Optional[Callable[..., Any]] = None, pre: Optional[Callable[..., Any]] = None,
                 post: Optional[Callable[..., Any]] = None, stream: bool = False, return_trace: bool = False,
                 port: Optional[int] = None, host: str = "127.0.0.1", url: Optional[str] = None,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(return_trace=return_trace)
        if m is None and url is None:
            raise TypeError("ServerModule needs a module to serve, or the url of one served elsewhere")
        if m is not None and url is not None:
            raise TypeError("give ServerModule a module to serve or a url to call, not both")
        if m is not None and not callable(m):
            raise TypeError(f"ServerModule serves a callable, got {type(m).__name__}")
        self.m, self.pre, self.post, self.stream, self.timeout = m, pre, post, stream, timeout
        self._url = url.rstrip("/") if url else None
        self._serving = ServerThread(host, port, "ragjet-server-module") if m is not None else None

    @property
    def url(self) -> Optional[str]:
        """Where the module is served (once started)."""
        return self._url

    def _start(self) -> None:
        if self._serving is None or self._serving.running:
            return
        self._serving.start(lambda: _app(self))
        self._url = self._serving.url
        LOG.info("serving %r at %s%s", self.m, self._url, GENERATE_PATH)

    def _stop(self) -> None:
        if self._serving is not None:
            self._serving.stop()

    def forward(self, *args: Any, **kw: Any) -> Any:
        if self._url is None or (self._serving is not None and not self._serving.running):
            self.start()
        body = {"args": list(args), "kwargs": kw, "stream": self.stream}
        try:
            payload = json.dumps(body)
        except TypeError as exc:
            raise TypeError(f"a ServerModule sends its input as JSON: {exc}") from None
        if self.stream:
            return self._streamed(payload)
        with self._client() as http:
            response = http.post(GENERATE_PATH, content=payload, headers=JSON_HEADERS)
        return _output(response, self._url)["output"]

    def _streamed(self, payload: str) -> Iterator[Any]:
        with self._client() as http, http.stream("POST", GENERATE_PATH, content=payload,
                                                 headers=JSON_HEADERS) as response:
            if response.status_code != 200:
                response.read()
                _output(response, self._url)
            for line in response.iter_lines():
                if line:
                    item = json.loads(line)
                    if "error" in item:
                        raise ServerModuleError(_described(item["error"], self._url))
                    yield item["delta"] if "delta" in item else item["output"]

    def _client(self) -> "httpx.Client":
        """A client for one call to the server (`ragjet.http_client`: direct to a loopback server)."""
        return http_client.client(self._url, timeout=self.timeout)

    def __repr__(self) -> str:
        return f"<ServerModule {self.m!r} at {self._url or '(not started)'}>"


def _output(response: "httpx.Response", url: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise ServerModuleError(f"ServerModule at {url} answered {response.status_code}: {response.text[:300]}")
    if response.status_code != 200:
        raise ServerModuleError(_described(body.get("error", body), url))
    return body


def _described(error: Any, url: str) -> str:
    if isinstance(error, dict):
        return f"ServerModule at {url}: {error.get('type', 'error')}: {error.get('message', '')}"
    return f"ServerModule at {url}: {error}"


def _run(module: ServerModule, args: list[Any], kw: dict[str, Any]) -> Any:
    """``post(m(pre(input)))``, each where given."""
    if module.pre is not None:
        args, kw = [module.pre(*args, **kw)], {}
    result = module.m(*args, **kw)
    return module.post(result) if module.post is not None else result


def _app(module: ServerModule) -> Any:
    """The FastAPI app serving ``module.m`` on ``/generate``, behind the Host/Origin guard."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, StreamingResponse

    from .errors import error_response
    from .guard import Guard

    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ragjet-server-module")
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    async def generate(request: Any) -> Any:  # a plain Starlette route: the Request, no FastAPI parameters
        if "json" not in request.headers.get("content-type", ""):
            return error_response(415, "send the input as JSON, with 'Content-Type: application/json'",
                                  "invalid_request_error")
        try:
            body = json.loads(await request.body())
            args, kw = list(body.get("args", [])), dict(body.get("kwargs", {}))
        except (ValueError, TypeError, AttributeError) as exc:
            return error_response(400, f'the body must be {{"args": [...], "kwargs": {{...}}}}: {exc}',
                                  "invalid_request_error")
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(pool, _run, module, args, kw)
        except Exception as exc:
            LOG.warning("ServerModule %r failed", module.m, exc_info=exc)
            return error_response(500, str(exc)[:2000], type(exc).__name__)
        if hasattr(result, "__next__"):
            if body.get("stream"):
                return StreamingResponse(_lines(result, loop, pool), media_type="application/x-ndjson")
            result = await loop.run_in_executor(pool, lambda: "".join(map(str, result)))
        try:
            return JSONResponse({"output": result})
        except (TypeError, ValueError) as exc:
            return error_response(500, f"the module returned a {type(result).__name__}, which is not JSON: {exc}",
                                  "TypeError")

    app.router.add_route(GENERATE_PATH, generate, methods=["POST"])
    return Guard(app, None, MAX_REQUEST_BYTES, MAX_REQUEST_BYTES, OriginPolicy(module._serving.host, (), ()))


async def _lines(result: Iterator[Any], loop: asyncio.AbstractEventLoop, pool: ThreadPoolExecutor) -> Any:
    """An iterator's items as NDJSON lines, each read off the event loop; a failure is the last line."""
    done = object()
    while True:
        try:
            piece = await loop.run_in_executor(pool, next, result, done)
        except Exception as exc:
            yield json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)[:2000]}}) + "\n"
            return
        if piece is done:
            return
        yield json.dumps({"delta": piece if isinstance(piece, str) else str(piece)}) + "\n"
