"""The guard in front of the app, in the order a request meets it: the Host name and the browser Origin
(`origins`), a CORS preflight for listed origins, the optional API key (``Authorization: Bearer KEY``) on every
endpoint except the page and its static files, which carry no data, then the request size (413 when too big).
Every response leaves with the browser-hardening headers (a content security policy, no framing, no MIME
sniffing) and, for a listed origin, its CORS headers."""
from __future__ import annotations

import hmac
from typing import Awaitable, Callable, Optional

from .errors import error_response, server_error
from .origins import OriginPolicy, host_name
from .uploads import UPLOAD_PATH

PUBLIC_PATHS = ("/", "/favicon.ico")
# The page loads its own script, style and API only; the config block is JSON data, not a script.
SECURITY_HEADERS = (
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                                 b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
CORS_METHODS = b"GET, POST, OPTIONS"
CORS_HEADERS = b"authorization, content-type, x-filename"

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
ASGIApp = Callable[[dict, Receive, Send], Awaitable[None]]


class Guard:
    """ASGI middleware: 403 for a foreign Host or Origin, 401 without the API key (when one is set), 413 for a
    body over the size limit.

    A declared Content-Length is checked before anything is read; a chunked body is read up to the limit."""

    def __init__(self, app: ASGIApp, api_key: Optional[str], max_request_bytes: int, max_upload_bytes: int,
                 policy: Optional[OriginPolicy] = None) -> None:
        self.app = app
        self.api_key = api_key
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_upload_bytes
        self.policy = policy or OriginPolicy()

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        host = _text(headers.get(b"host"))
        origin = _text(headers.get(b"origin"))
        send = _hardened(send, self.policy.cors_origin(origin))
        preflight = scope["method"] == "OPTIONS" and origin is not None and b"access-control-request-method" in headers
        refusal = self._refusal(scope["path"], headers, host, origin, preflight)
        if refusal is not None:
            return await refusal(scope, receive, send)
        if preflight:
            return await _preflight(send)
        limit = self.max_upload_bytes if scope["path"] == UPLOAD_PATH else self.max_request_bytes
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return await error_response(400, "bad Content-Length", "invalid_request_error")(scope, receive, send)
            if int(declared) > limit:
                return await _too_big(limit)(scope, receive, send)
        elif b"chunked" in headers.get(b"transfer-encoding", b""):
            body = await _read_at_most(receive, limit)
            if body is None:
                return await _too_big(limit)(scope, receive, send)
            receive = _replay(body, receive)
        await _answered(self.app, scope, receive, send)

    def _refusal(self, path: str, headers: dict, host: Optional[str], origin: Optional[str],
                 preflight: bool) -> Optional[ASGIApp]:
        """The error response a request gets before reaching the app, or None (a preflight needs no key)."""
        if not self.policy.host_allowed(host):
            return error_response(403, f"Host {host!r} is not served here (a DNS-rebinding guard): use "
                                       f"http://127.0.0.1 or http://localhost, or start the server with "
                                       f"--allowed-hosts {host_name(host or '') or 'NAME'}", "forbidden")
        if not self.policy.origin_allowed(origin, host):
            return error_response(403, f"cross-origin request from {origin!r} refused (a page of another site "
                                       f"may not use this server): start it with --allowed-origins {origin} "
                                       f"to allow that site", "forbidden")
        if (self.api_key and not preflight and not _is_public(path)
                and not self._authorized(headers.get(b"authorization", b""))):
            return error_response(401, "missing or wrong API key: send 'Authorization: Bearer KEY'",
                                  "authentication_error", headers={"WWW-Authenticate": "Bearer"})
        return None

    def _authorized(self, header: bytes) -> bool:
        scheme, _, key = header.decode("latin-1").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(key.strip().encode(), self.api_key.encode())


async def _answered(app: ASGIApp, scope: dict, receive: Receive, send: Send) -> None:
    """``app``'s answer. An exception the app has already answered (FastAPI's handler sent `server_error`)
    ends here, so uvicorn does not close the keep-alive connection; one before any response gets
    `server_error` here."""
    state = {"started": False, "done": False}

    async def tracked(message: dict) -> None:
        state["started"] = state["started"] or message["type"] == "http.response.start"
        state["done"] = message["type"] == "http.response.body" and not message.get("more_body", False)
        await send(message)
    try:
        await app(scope, receive, tracked)
    except Exception as exc:
        if not state["started"]:
            return await server_error(scope["method"], scope["path"], exc)(scope, receive, send)
        if not state["done"]:
            raise


def _text(value: Optional[bytes]) -> Optional[str]:
    return None if value is None else value.decode("latin-1")


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith("/static/")


def _too_big(limit: int) -> ASGIApp:
    return error_response(413, f"request body over the {limit:,}-byte limit", "request_too_large")


def _hardened(send: Send, cors_origin: Optional[str]) -> Send:
    """``send`` adding the security headers, and CORS headers for an allowed origin, to the response start."""
    extra = list(SECURITY_HEADERS)
    if cors_origin is not None:
        extra += [(b"access-control-allow-origin", cors_origin.encode("latin-1")), (b"vary", b"Origin")]

    async def hardened(message: dict) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            message = {**message, "headers": [*message.get("headers", []),
                                              *(h for h in extra if h[0] not in present)]}
        await send(message)
    return hardened


async def _preflight(send: Send) -> None:
    """The answer to a CORS preflight from a listed origin (its Allow-Origin is added by `_hardened`)."""
    await send({"type": "http.response.start", "status": 204,
                "headers": [(b"access-control-allow-methods", CORS_METHODS),
                            (b"access-control-allow-headers", CORS_HEADERS),
                            (b"access-control-max-age", b"600")]})
    await send({"type": "http.response.body", "body": b""})


async def _read_at_most(receive: Receive, limit: int) -> Optional[bytes]:
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


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return replay
