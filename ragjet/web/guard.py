"""The guard in front of the app: the optional API key (``Authorization: Bearer KEY``) on every endpoint except
the page itself and its static files, which carry no data, then the request size (413 when too big)."""
from __future__ import annotations

import hmac
from typing import Awaitable, Callable, Optional

from .errors import error_response
from .uploads import UPLOAD_PATH

PUBLIC_PATHS = ("/", "/favicon.ico")

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


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
