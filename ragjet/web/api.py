"""The HTTP side of `WebModule`: the chat page, an OpenAI-compatible chat endpoint, models, health, uploads.

The routes only: an answer's trip from its worker thread to the response is `answer_stream`'s, its OpenAI
shape `openai_shape`'s, uploads `uploads`' and the API key and size checks `guard`'s.
"""
from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from html import escape
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Optional, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.staticfiles import StaticFiles

from ..rag.readers import READERS
from .admission import Admission
from .answer_stream import Answer
from .chat_request import RequestError, parse_chat_request
from .errors import error_response, server_error
from .guard import Guard
from .indexing import JOBS_PATH, WAIT_UP_TO_BYTES, WAIT_UP_TO_SECONDS, IndexingJobs
from .openai_shape import compact_json, sse_events, whole_answer
from .origins import OriginPolicy
from .uploads import UPLOAD_PATH, read_upload, store_upload

STATIC_DIR = Path(__file__).with_name("static")
MAX_WORKERS = 64  # flows running at once; more requests wait for a free worker


class Served(Protocol):
    """What the app serves and how (a `WebModule` is one): the routes read these, so the HTTP side does not
    import the module that starts it."""

    flow: Callable[[str], Any]
    stream: bool
    title: str
    api_key: Optional[str]
    origins: OriginPolicy
    admission: Admission
    max_request_bytes: int
    max_upload_bytes: int
    docs_dir: Optional[Path]
    on_upload: Optional[Callable[[Path], Any]]
    started_at: float


def create_app(web: Served) -> Guard:
    """The ASGI app serving ``web.flow`` (read per request, so the flow may be swapped while serving): the
    FastAPI routes behind the `Guard`."""
    pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="ragjet-web")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.shutdown(wait=False, cancel_futures=True)

    jobs = IndexingJobs(web.on_upload, pool) if web.docs_dir is not None and web.on_upload is not None else None
    app = FastAPI(title=web.title, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(Exception, lambda request, exc: server_error(request.method, request.url.path, exc))
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
        if not _is_json(request.headers.get("content-type", "")):
            return error_response(415, "send the chat request as JSON, with 'Content-Type: application/json'",
                                  "invalid_request_error")
        try:
            asked = parse_chat_request(json.loads(await request.body()))
        except (ValueError, RecursionError) as exc:  # JSON errors and RequestError are ValueErrors
            message = str(exc) if isinstance(exc, RequestError) else f"the body is not valid JSON: {exc}"
            return error_response(400, message[:500], "invalid_request_error")
        if not web.admission.enter():
            return error_response(503, f"the server is answering or holding {web.admission.limit} questions "
                                       f"already: retry later", "server_busy",
                                  headers={"Retry-After": str(web.admission.retry_after())})
        answer = Answer(web.flow, asked.query, pool, on_done=web.admission.leave)
        if asked.stream:
            return StreamingResponse(sse_events(answer, web.title, asked.include_usage),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return await whole_answer(answer, web.title)

    @app.post(UPLOAD_PATH, status_code=201)
    async def upload(request: Request) -> Response:
        if web.docs_dir is None:
            return error_response(404, "uploads are off: this server was started without a document folder",
                                  "not_found")
        loop = asyncio.get_running_loop()
        try:
            name, data = await read_upload(request)
            path = await loop.run_in_executor(pool, store_upload, web.docs_dir, name, data)
        except ValueError as exc:
            return error_response(400, str(exc), "invalid_request_error")
        stored = {"file": path.name, "bytes": len(data)}
        if jobs is None:
            return JSONResponse(stored, status_code=201)
        job_id, done = jobs.start(path)
        if len(data) <= WAIT_UP_TO_BYTES:
            try:  # shielded: the job goes on when the request stops waiting for it
                await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(done)), WAIT_UP_TO_SECONDS)
            except asyncio.TimeoutError:
                pass
        if len(data) > WAIT_UP_TO_BYTES or not done.done():  # indexed behind; the client asks the status URL
            return JSONResponse({**stored, "state": "indexing", "status_url": f"{JOBS_PATH}/{job_id}"},
                                status_code=202, headers={"Location": f"{JOBS_PATH}/{job_id}"})
        status = jobs.status(job_id)
        if status is not None and status["state"] == "failed":
            return error_response(500, status["error"], "upload_error")
        return JSONResponse(stored, status_code=201)

    @app.get(JOBS_PATH + "/{job_id}")
    async def upload_status(job_id: str) -> Response:
        status = jobs.status(job_id) if jobs is not None else None
        if status is None:
            return error_response(404, f"no upload job {job_id!r} (finished jobs are kept for a while)", "not_found")
        return JSONResponse(status)

    return Guard(app, web.api_key, web.max_request_bytes, web.max_upload_bytes, web.origins)


def _is_json(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type: a browser page cannot send one to another site without a
    preflight, which the Origin check refuses."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def _page(web: Served) -> str:
    """index.html with the title and the page's settings filled in."""
    config = {"title": web.title, "stream": web.stream, "upload": web.docs_dir is not None,
              "auth": bool(web.api_key), "extensions": READERS.names()}
    # "<" escaped so no value can close the <script> element it sits in
    script_safe = compact_json(config).replace("<", "\\u003c")
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return html.replace("__RAGJET_TITLE__", escape(web.title)).replace("__RAGJET_CONFIG__", script_safe)
