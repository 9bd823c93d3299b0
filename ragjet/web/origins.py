"""Which Host names and browser Origins the local server answers: the defence against DNS rebinding and
cross-site requests.

A page on any web site can make the user's browser send "simple" requests (a POST with ``text/plain`` or a
form) to 127.0.0.1 without a preflight, and a rebinding domain (``attacker.example`` resolving to 127.0.0.1)
can even read the answers. Both carry a name the server does not own: the rebinding page's ``Host`` header is
``attacker.example``, and a cross-site request's ``Origin`` is the other site. So the server answers only
Host names it is reachable by (the loopback names, the ``--host`` it listens on, ``--allowed-hosts``), and
refuses a request whose ``Origin`` is not the server itself (the page it served) or listed in
``--allowed-origins``. Clients that are not browsers (curl, the OpenAI SDK) send no Origin and are unaffected.
"""
from __future__ import annotations

from typing import Iterable, Optional
from urllib.parse import urlsplit

from ..http_client import is_loopback_host

ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})


def host_name(header: str) -> str:
    """The name in a ``Host`` header or an origin's netloc, without the port, lower-cased
    (``[::1]:8000`` → ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header[1:]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def origin_key(origin: str) -> str:
    """An origin as compared: ``HTTP://Example.org/`` and ``http://example.org`` are one."""
    return origin.strip().rstrip("/").lower()


class OriginPolicy:
    """``OriginPolicy(listen_host, allowed_hosts, allowed_origins)``: `host_allowed` for the ``Host`` header,
    `origin_allowed` for a browser's ``Origin``. ``'*'`` in ``allowed_hosts`` serves every name (behind a
    proxy that checks them); ``'*'`` in ``allowed_origins`` lets every site's pages call the API (then an
    API key is what protects it)."""

    def __init__(self, listen_host: str = "127.0.0.1", allowed_hosts: Iterable[str] = (),
                 allowed_origins: Iterable[str] = ()) -> None:
        hosts = {host_name(h) for h in allowed_hosts if h.strip()}
        if listen_host not in ANY_ADDRESS:
            hosts.add(host_name(listen_host))
        self.any_host = "*" in hosts
        self.hosts = frozenset(hosts - {"*"})
        origins = {origin_key(o) for o in allowed_origins if o.strip()}
        for origin in origins - {"*"}:
            if urlsplit(origin).scheme not in ("http", "https") or not urlsplit(origin).netloc:
                raise ValueError(f"allowed origin {origin!r} is not an origin: give scheme://host[:port], "
                                 f"e.g. http://localhost:3000")
        self.any_origin = "*" in origins
        self.origins = frozenset(origins - {"*"})

    def host_allowed(self, header: Optional[str]) -> bool:
        """A request without Host (HTTP/1.0) comes from no browser page: served."""
        if header is None or self.any_host:
            return True
        name = host_name(header)
        return is_loopback_host(name) or name in self.hosts

    def origin_allowed(self, origin: Optional[str], host_header: Optional[str]) -> bool:
        """No Origin (not a browser, or a same-origin GET) → allowed; else the server's own origin (its
        netloc equal to the Host the request was sent to) or a listed one. ``null`` (a sandboxed frame, a
        file:// page) is foreign."""
        if origin is None:
            return True
        if self._listed(origin):
            return True
        parts = urlsplit(origin_key(origin))
        return (parts.scheme in ("http", "https") and host_header is not None
                and parts.netloc == host_header.strip().lower())

    def cors_origin(self, origin: Optional[str]) -> Optional[str]:
        """The value of ``Access-Control-Allow-Origin`` for a listed ``origin`` (None: no CORS headers)."""
        return origin.strip() if origin is not None and self._listed(origin) else None

    def _listed(self, origin: str) -> bool:
        return self.any_origin or origin_key(origin) in self.origins
