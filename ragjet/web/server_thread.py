"""`ServerThread`: an ASGI app served by uvicorn in a background thread, as `WebModule` and `ServerModule` serve.

The socket is bound in `start` itself, so the URL accepts connections as soon as it returns and a port
already in use fails there, not later in the thread. FastAPI and uvicorn (``ragjet[web]``) are imported on
`start` only, so importing a module that serves stays light.
"""
from __future__ import annotations

import socket
import threading
from typing import Any, Callable, Optional

from ..registry import missing_extra

SHUTDOWN_GRACE_S = 3
_WEB_PACKAGES = ("fastapi", "starlette", "uvicorn", "pydantic", "multipart", "python_multipart")


def import_web(load: Callable[[], Any]) -> Any:
    """``load()``, with a missing web package reported as the extra to install."""
    try:
        return load()
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] in _WEB_PACKAGES:
            raise missing_extra("fastapi and uvicorn", "web") from exc
        raise


class ServerThread:
    """``ServerThread(host, port, name).start(app)`` → the port it listens on; `stop` frees it."""

    def __init__(self, host: str, port: Optional[int], name: str) -> None:
        self.host, self.port, self.name = host, port, name
        self._server: Any = None
        self._thread: Optional[threading.Thread] = None
        self._socket: Optional[socket.socket] = None

    @property
    def url(self) -> str:
        """``http://host:port`` (the real port once started; an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, make_app: Callable[[], Any]) -> int:
        """Bind the socket, then serve ``make_app()`` in a daemon thread; the port."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} is already started")
        uvicorn = import_web(lambda: __import__("uvicorn"))
        app = import_web(make_app)
        self._socket = _listen(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False,
                                timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name=self.name, daemon=True)
        self._thread.start()
        return self.port

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self) -> None:
        """Stop serving (streams still open get a few seconds to finish) and free the port."""
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(SHUTDOWN_GRACE_S + 5)
        self._socket.close()
        self._thread = self._server = self._socket = None


def _listen(host: str, port: Optional[int]) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 or None: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port or 0))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock
