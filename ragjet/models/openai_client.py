"""The one HTTP seam to OpenAI-protocol servers: JSON POSTs with retries, and server-sent-event streams.

Every online module (chat, embedding, rerank) goes through `OpenAIClient`, so retrying and errors behave the
same everywhere: 429, 5xx and connection failures are retried with exponential backoff (honouring a short
``Retry-After``), other 4xx fail at once, and the final error names the URL and the last failure. A stream is
retried only until its response starts; after the first byte a failure is raised, never replayed.
"""
from __future__ import annotations

import itertools
import json
import time
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional

from .. import http_client

if TYPE_CHECKING:  # httpx is imported on first use: it would add ~0.15 s to `import ragjet`
    import httpx


class OnlineModelError(RuntimeError):
    """An online model call failed; ``url`` is the endpoint and ``status`` the last HTTP status, if any."""

    def __init__(self, url: str, message: str, status: Optional[int] = None) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url
        self.status = status


class OpenAIClient:
    """POST JSON to ``base_url`` + path. ``max_retries`` is how many times a failed request is sent again;
    the n-th retry waits ``backoff * 2**(n-1)`` seconds (at most ``max_backoff``)."""

    def __init__(self, base_url: str, api_key: Optional[str] = None, timeout: float = 60, max_retries: int = 3,
                 backoff: float = 0.5, max_backoff: float = 8.0) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = http_client.client(self.base_url + "/", headers=headers, timeout=timeout)

    def url(self, path: str) -> str:
        """``base_url`` + ``path``; an empty path is ``base_url`` itself (a service's full endpoint)."""
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        """The decoded JSON answer to ``payload``."""
        response = self._send(path, payload, stream=False)
        try:
            return response.json()
        except ValueError:
            raise OnlineModelError(self.url(path), f"answer is not JSON: {response.text[:200]!r}",
                                   response.status_code) from None

    def stream(self, path: str, payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The server-sent events of a ``"stream": true`` request, decoded; ends at ``[DONE]``."""
        import httpx

        response = self._send(path, payload, stream=True)
        try:
            yield from iter_sse(response.iter_lines(), self.url(path))
        except httpx.HTTPError as exc:
            raise OnlineModelError(self.url(path), f"stream broke: {type(exc).__name__}: {exc}") from exc
        finally:
            response.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, path: str, payload: dict[str, Any], stream: bool) -> httpx.Response:
        import httpx

        # Failures where the request did not reach the model (or the server dropped it): safe to send again.
        retry_errors = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                target = path.lstrip("/") if path else self.base_url  # httpx would add a "/" to the bare base
                response = self._http.send(self._http.build_request("POST", target, json=payload), stream=stream)
            except retry_errors as exc:
                last = f"{type(exc).__name__}: {exc}"
                retry_after = None
            except httpx.HTTPError as exc:
                raise OnlineModelError(self.url(path), f"{type(exc).__name__}: {exc}") from exc
            else:
                status = response.status_code
                if status < 400:
                    return response
                body = response.read().decode("utf-8", "replace")[:300]
                response.close()
                last = f"HTTP {status}: {body}"
                if status != 429 and status < 500:
                    raise OnlineModelError(self.url(path), last, status)
                retry_after = response.headers.get("retry-after")
            if attempt < self.max_retries:
                time.sleep(self._delay(attempt, retry_after))
        raise OnlineModelError(self.url(path), f"failed after {self.max_retries + 1} attempts; last error: {last}")

    def _delay(self, attempt: int, retry_after: Optional[str]) -> float:
        delay = self.backoff * 2 ** attempt
        if retry_after is not None:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass
        return min(delay, self.max_backoff)


def iter_sse(lines: Iterable[str], url: str = "") -> Iterator[dict[str, Any]]:
    """Decode an SSE stream's ``data:`` events as JSON objects; stop at ``[DONE]``; raise on an error event."""
    data: list[str] = []
    for line in itertools.chain(lines, [""]):
        if line.startswith("data:"):
            data.append(line[5:].lstrip())
            continue
        if line or not data:
            continue
        text, data = "\n".join(data), []
        if text == "[DONE]":
            return
        event = json.loads(text)
        if isinstance(event, dict) and event.get("error"):
            raise OnlineModelError(url, f"error event in stream: {event['error']}")
        yield event
