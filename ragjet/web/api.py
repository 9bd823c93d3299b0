"""The HTTP side of `WebModule`: the chat page, an OpenAI-compatible chat endpoint, models, health, uploads.

Each request runs its flow in a worker thread (a blocking flow or a llama.cpp token iterator never holds up
the event loop, so one slow answer never delays another). Tokens travel from that thread to the response
through an asyncio queue with a small window: the worker waits when the client reads slowly, so nothing holds
the whole answer, and it stops (closing the token iterator, which frees the model) when the client goes away.

The sources of an answer (file, score, snippet) are the nodes the flow's Retriever / Reranker recorded
(`ragjet.flow.sources`); they ride in an extra ``sources`` field of the response or of the last stream chunk.
When the flow numbered them for the model (the RAG chat's prompt), ``cited`` lists the numbers the answer
cites and each source says whether it was cited; ``notices`` says what a step had to change (a prompt cut to
fit the context window). While a request waits for the in-process model, stream chunks with no choices and a
``queue`` field (``{"position": n}``: n requests ahead) tell the client; a client that disconnects leaves the
queue (`ragjet.models.turns`).

A guard in front of the app checks the optional API key (``Authorization: Bearer KEY``) on every endpoint
except the page itself and its static files, which carry no data, then the request size (413 when too big).
"""
from __future__ import annotations

import asyncio
import hmac
import json
import os
import re
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, closing
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Iterator, Optional

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.staticfiles import StaticFiles

from ..flow.sources import collect_sources
from ..log import LOG
from ..models.turns import TurnCancelled, waiting_as
from ..rag.readers import READERS

if TYPE_CHECKING:
    from .web_module import WebModule

STATIC_DIR = Path(__file__).with_name("static")
PUBLIC_PATHS = ("/", "/favicon.ico")
UPLOAD_PATH = "/v1/documents"
MAX_SOURCES = 10
SNIPPET_CHARS = 280
TOKEN_WINDOW = 64  # tokens a worker may run ahead of a slow client
CANCEL_POLL_S = 0.2  # how often a worker waiting on a slow client checks that the client is still there
MAX_WORKERS = 64  # flows running at once; more requests wait for a free worker
MAX_NAME_BYTES = 200
_UNSAFE_CHARS = re.compile(r"[^\w\-. ()\[\]]")

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


def create_app(web: "WebModule") -> "Guard":
    """The ASGI app serving ``web.flow`` (read per request, so the flow may be swapped while serving): the
    FastAPI routes behind the `Guard`."""
    pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="ragjet-web")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title=web.title, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    page = _page(web)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/favicon.ico")
    async def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": web.title, "object": "model", "created": int(web.started_at),
                                            "owned_by": "ragjet"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        try:
            body = await request.json()
            query = last_user_message(body)
        except ValueError as exc:
            return error_response(400, str(exc), "invalid_request_error")
        answer = Answer(web.flow, query, pool)
        if body.get("stream"):
            return StreamingResponse(sse_events(answer, web.title), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return await whole_answer(answer, web.title)

    @app.post(UPLOAD_PATH, status_code=201)
    async def upload(request: Request) -> Response:
        if web.docs_dir is None:
            return error_response(404, "uploads are off: this server was started without a document folder",
                                  "not_found")
        loop = asyncio.get_running_loop()
        try:
            name, data = await _read_upload(request)
            path = await loop.run_in_executor(pool, store_upload, web.docs_dir, name, data)
        except ValueError as exc:
            return error_response(400, str(exc), "invalid_request_error")
        if web.on_upload is not None:
            try:
                await loop.run_in_executor(pool, web.on_upload, path)
            except Exception as exc:  # the file is stored; say that ingesting it failed
                LOG.error("on_upload(%s) failed", path, exc_info=exc)
                return error_response(500, f"stored {path.name} but ingesting it failed: {exc}", "upload_error")
        return JSONResponse({"file": path.name, "bytes": len(data)}, status_code=201)

    return Guard(app, web.api_key, web.max_request_bytes, web.max_upload_bytes)


# -- answers ------------------------------------------------------------------------------------------------
class Answer:
    """One flow call running in a worker thread, read as events ``("queue", position)`` while it waits for
    the model, ``("token", str)``, then ``("end", {"sources", "cited", "notices"})`` or ``("error", exception)``.
    Closing the event stream early stops the worker at its next token, or takes it out of the model's queue."""

    def __init__(self, flow: Callable[[str], Any], query: str, pool: ThreadPoolExecutor) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._room = threading.Semaphore(TOKEN_WINDOW)
        self._cancelled = threading.Event()
        pool.submit(self._work, flow, query)

    def _work(self, flow: Callable[[str], Any], query: str) -> None:
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
            cited, cited_by = sources.citations("".join(text))
            self._emit("end", {"sources": source_dicts(sources.nodes, cited), "cited": cited, "cited_by": cited_by,
                               "notices": sources.notices})
        except TurnCancelled:  # the client left while the request waited for the model
            return
        except Exception as exc:
            LOG.error("pipeline failed on %r", query[:80], exc_info=exc)
            self._emit("error", exc)

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


async def sse_events(answer: Answer, model: str) -> AsyncIterator[str]:
    """The answer as OpenAI ``chat.completion.chunk`` events; the last chunk carries ``sources`` (and
    ``cited``, ``notices``); a chunk without choices carries the ``queue`` position while the request waits."""
    rid, created = _completion_id(), int(time.time())

    def chunk(delta: Optional[dict[str, str]], finish: Optional[str] = None, **extra: Any) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        data = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": choices, **extra}
        return f"data: {_json(data)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    async for kind, value in answer.events():
        if kind == "token":
            yield chunk({"content": value})
        elif kind == "queue":
            yield chunk(None, queue={"position": value})
        elif kind == "end":
            yield chunk({}, "stop", **value)
        else:
            yield f"data: {_json(_error_body(_message(value), 'pipeline_error'))}\n\n"
    yield "data: [DONE]\n\n"


async def whole_answer(answer: Answer, model: str) -> Response:
    """The answer as one OpenAI ``chat.completion`` (500 with an error body when the flow fails)."""
    pieces: list[str] = []
    extra: dict[str, Any] = {}
    async for kind, value in answer.events():
        if kind == "token":
            pieces.append(value)
        elif kind == "error":
            return error_response(500, _message(value), "pipeline_error")
        elif kind == "end":
            extra = value
    return JSONResponse({
        "id": _completion_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(pieces)},
                     "finish_reason": "stop"}],
        **extra})


def last_user_message(body: Any) -> str:
    """The text of the last ``user`` message of an OpenAI chat request (text parts joined)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        raise ValueError("the request needs 'messages', a list of {role, content}")
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            if isinstance(content, str) and content.strip():
                return content
            break
    raise ValueError("the last user message has no text")


def source_dicts(nodes: list[Any], cited: Optional[list[int]] = None) -> list[dict[str, Any]]:
    """``{file, score, snippet}`` per node: the file's name only (server paths stay private), the reranker's
    score when there is one, else the retriever's; ``cited`` (true or false) when the answer could cite them
    by number (``cited`` holds the 1-based numbers it cited)."""
    out = []
    for rank, node in enumerate(nodes[:MAX_SOURCES], 1):
        score = node.relevance_score if node.relevance_score is not None else node.similarity_score
        source = {"file": Path(node.docpath).name if node.docpath else None,
                  "score": None if score is None else round(float(score), 4),
                  "snippet": snippet(node.text)}
        if cited is not None:
            source["cited"] = rank in cited
        out.append(source)
    return out


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters at a space when one is near (Chinese has none)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 0.8 else cut) + " …"


# -- uploads ------------------------------------------------------------------------------------------------
async def _read_upload(request: Request) -> tuple[str, bytes]:
    """(client's file name, bytes) from a multipart form (field ``file``) or a raw body with ``?filename=``."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form() as form:
            file = form.get("file")
            if file is None or isinstance(file, str):
                raise ValueError("the multipart form needs a 'file' field holding the document")
            return file.filename or "", await file.read()
    name = request.query_params.get("filename") or request.headers.get("x-filename")
    if not name:
        raise ValueError("send multipart/form-data with a 'file' field, or the raw bytes with ?filename=NAME")
    return name, await request.body()


def safe_filename(name: str) -> str:
    """A name safe to create in the document folder: its last path component (either slash), unusual
    characters replaced, no leading dot; only extensions ragjet can read. Raises ValueError otherwise."""
    if "\x00" in name:
        raise ValueError("the file name contains a NUL byte")
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = _UNSAFE_CHARS.sub("_", base).lstrip(".")
    if not base:
        raise ValueError(f"{name!r} is not a usable file name")
    suffix = Path(base).suffix.lower()
    if suffix not in READERS:
        raise ValueError(f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(READERS.names())}")
    stem = base[: len(base) - len(suffix)].encode()[: MAX_NAME_BYTES - len(suffix.encode())]
    return stem.decode("utf-8", "ignore") + base[len(base) - len(suffix):]


def store_upload(docs_dir: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``docs_dir/safe_filename(name)``, atomically (a same-named file is replaced)."""
    target = docs_dir / safe_filename(name)
    docs_dir.mkdir(parents=True, exist_ok=True)
    if target.resolve().parent != docs_dir.resolve():
        raise ValueError(f"{name!r} does not name a file inside the document folder")
    fd, tmp = tempfile.mkstemp(dir=docs_dir, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    LOG.info("stored upload %s (%d bytes)", target, len(data))
    return target


# -- guard: API key and request size --------------------------------------------------------------------------
class Guard:
    """ASGI middleware: 401 without the API key (when one is set), 413 for a body over the size limit.

    A declared Content-Length is checked before anything is read; a chunked body is read up to the limit."""

    def __init__(self, app: ASGIApp, api_key: Optional[str], max_request_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.api_key = api_key
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]],
                       send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        headers = dict(scope["headers"])
        if self.api_key and not _is_public(path) and not self._authorized(headers.get(b"authorization", b"")):
            return await error_response(401, "missing or wrong API key: send 'Authorization: Bearer KEY'",
                                        "authentication_error",
                                        headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
        limit = self.max_upload_bytes if path == UPLOAD_PATH else self.max_request_bytes
        too_big = error_response(413, f"request body over the {limit:,}-byte limit", "request_too_large")
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return await error_response(400, "bad Content-Length", "invalid_request_error")(scope, receive, send)
            if int(declared) > limit:
                return await too_big(scope, receive, send)
            return await self.app(scope, receive, send)
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            return await self.app(scope, receive, send)
        body = await _read_at_most(receive, limit)
        if body is None:
            return await too_big(scope, receive, send)
        return await self.app(scope, _replay(body, receive), send)

    def _authorized(self, header: bytes) -> bool:
        scheme, _, key = header.decode("latin-1").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(key.strip().encode(), self.api_key.encode())


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith("/static/")


async def _read_at_most(receive: Callable[[], Awaitable[dict]], limit: int) -> Optional[bytes]:
    """The whole request body, or None once it passes ``limit`` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Callable[[], Awaitable[dict]]) -> Callable[[], Awaitable[dict]]:
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return replay


# -- small helpers --------------------------------------------------------------------------------------------
def error_response(status: int, message: str, kind: str, headers: Optional[dict[str, str]] = None) -> JSONResponse:
    """An OpenAI-style error: ``{"error": {"message", "type"}}``."""
    return JSONResponse(_error_body(message, kind), status_code=status, headers=headers)


def _error_body(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}


def _message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _page(web: "WebModule") -> str:
    """index.html with the title and the page's settings filled in."""
    config = {"title": web.title, "stream": web.stream, "upload": web.docs_dir is not None,
              "auth": bool(web.api_key), "extensions": READERS.names()}
    # "<" escaped so no value can close the <script> element it sits in
    script_safe = _json(config).replace("<", "\\u003c")
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return html.replace("__RAGJET_TITLE__", escape(web.title)).replace("__RAGJET_CONFIG__", script_safe)
