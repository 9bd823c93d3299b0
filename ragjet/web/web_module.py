"""`WebModule`: serve a flow as a chat page and an OpenAI-compatible API, as LazyLLM's lecture ends with
``lazyllm.WebModule(ppl, port=23492, stream=True).start().wait()``.

FastAPI and uvicorn (``ragjet[web]``) are imported by `start` only, so ``import ragjet`` stays fast and works
without them; the socket is bound in `start` itself (`ServerThread`).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..flow.lifecycle import Startable
from ..http_client import is_loopback_host
from ..log import LOG
from ..settings import environ
from .admission import DEFAULT_MAX_QUEUE, admission_for
from .origins import OriginPolicy
from .server_thread import ServerThread, import_web

API_KEY_ENV = "RAGJET_API_KEY"
READY_LINE = "ragjet serve: ready at"  # what `ragjet serve` prints once it answers (the serve bench waits for it)
DEFAULT_MAX_REQUEST_BYTES = 1 << 20
DEFAULT_MAX_UPLOAD_BYTES = 20 << 20


class WebModule(Startable):
    """``WebModule(flow).start()`` serves ``flow`` (called with the user's question; it returns a str or an
    iterator of str tokens) on ``host:port`` (a free port when ``port`` is None).

    ``api_key`` (default: the ``RAGJET_API_KEY`` environment variable) is then required on every API endpoint;
    a ``host`` beyond loopback needs one, or ``no_auth=True``. Only the loopback names, ``host`` and
    ``allowed_hosts`` are served (a DNS-rebinding guard), and browser pages of other origins than the server's
    own and ``allowed_origins`` are refused (`ragjet.web.origins`). The flow's model answers ``slots``
    requests at once (None: the flow has no model, nothing waits) and at most ``max_queue`` more wait; more
    get 503 with ``Retry-After``.
    ``docs_dir`` turns on ``POST /v1/documents``: uploads are stored there, then ``on_upload(path)`` runs
    (for instance to ingest the new file). ``stream`` is what the chat page asks for by default.
    ``flow`` may be replaced while serving; each request uses the flow set when it arrives."""

    def __init__(self, flow: Callable[[str], Any], port: Optional[int] = None, stream: bool = True,
                 title: str = "ragjet", host: str = "127.0.0.1", api_key: Optional[str] = None,
                 max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
                 max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, docs_dir: Optional[str | os.PathLike[str]] = None,
                 on_upload: Optional[Callable[[Path], Any]] = None, allowed_hosts: Sequence[str] = (),
                 allowed_origins: Sequence[str] = (), no_auth: bool = False,
                 max_queue: int = DEFAULT_MAX_QUEUE, slots: Optional[int] = 1) -> None:
        if not callable(flow):
            raise TypeError(f"WebModule serves a callable flow, got {type(flow).__name__}")
        if max_request_bytes <= 0 or max_upload_bytes <= 0:
            raise ValueError("size limits must be positive")
        self.flow = flow
        self.port = port
        self.stream = stream
        self.title = title
        self.host = host
        self.api_key = api_key_of(api_key, host, no_auth)
        self.origins = OriginPolicy(host, allowed_hosts, allowed_origins)
        self.admission = admission_for(max_queue, slots)
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_upload_bytes
        self.docs_dir = Path(docs_dir).expanduser() if docs_dir is not None else None
        self.on_upload = on_upload
        self.started_at = time.time()
        self._serving = ServerThread(host, port, "ragjet-web")

    @property
    def url(self) -> str:
        """``http://host:port`` (the real port once started)."""
        return self._serving.url

    def start(self) -> "WebModule":
        """Serve in a background thread and return at once; the socket already listens when this returns."""
        self.port = self._serving.start(self.asgi_app)
        LOG.info("%s: chat page and API at %s", self.title, self.url)
        return self

    def asgi_app(self) -> Any:
        """The ASGI app `start` serves, to serve another way: ``ragjet.http_client.client("http://127.0.0.1",
        app=web.asgi_app())`` asks it in this process, with no port (a test of your served flow)."""
        def create() -> Any:
            from .api import create_app  # FastAPI is imported when the app is made, not with ragjet

            return create_app(self)

        return import_web(create)

    def wait(self) -> None:
        """Block until the server stops; Ctrl+C stops it."""
        try:
            while self._serving.running:
                self._serving.join(0.5)
        except KeyboardInterrupt:
            self.stop()

    def stop(self) -> None:
        """Stop serving (streams still open get a few seconds to finish) and free the port."""
        self._serving.stop()

    def __enter__(self) -> "WebModule":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "serving" if self._serving.running else "stopped"
        return f"WebModule({self.title!r}, {self.url}, {state})"


def api_key_of(api_key: Optional[str], host: str, no_auth: bool = False) -> Optional[str]:
    """The key the API requires: ``api_key``, else ``$RAGJET_API_KEY``, else none. An empty key is an error
    (an unset shell variable must not turn authentication off), and so is serving a non-loopback ``host``
    without a key, unless ``no_auth`` says that is intended (a trusted network, a proxy that checks)."""
    if api_key is not None and not api_key.strip():
        raise ValueError("the API key is empty (was the variable it came from unset?): give a key, or leave "
                         "--api-key out to serve without one on 127.0.0.1")
    env = environ(API_KEY_ENV)
    if api_key is None and env is not None and not env.strip():
        raise ValueError(f"${API_KEY_ENV} is set but empty: give it a key, or unset it to serve without one")
    key = api_key or env
    if key and no_auth:
        raise ValueError("an API key and --no-auth (no_auth=True) contradict each other: give one of them")
    if key is None and not no_auth and not is_loopback_host(host):
        raise ValueError(f"serving on {host}, beyond this machine, needs an API key: give --api-key KEY (or set "
                         f"${API_KEY_ENV}), or --no-auth (no_auth=True) to serve everyone on the network")
    return key

