"""The one home of ragjet's HTTP clients: the OpenAI-protocol client (`models.openai_client`), the llama.cpp
engine's own endpoints (`models.llama_cpp.engine`), a `ServerModule`'s calls to its server (`web.server_module`),
the serving benchmark's load (`bench.serve_bench`), the readiness probe of the engines and database servers
ragjet starts (`http_ok`), and a test's client to an app answering in this process (`client`'s ``app``).

One rule lives here: **a server on this machine is reached directly.** A proxy that the environment names
(``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``: usual on company networks) cannot reach this machine's
127.0.0.1, yet httpx sends every host through it unless ``NO_PROXY`` lists it: with ``HTTP_PROXY`` set, a
``ServerModule`` and a model deployed with ``--deploy llamacpp`` failed with the proxy's "connection refused".
A loopback URL (127.0.0.0/8, ::1, ``localhost``) therefore ignores the environment's proxies; any other host
(an online model's API) honours them, ``NO_PROXY`` included, as httpx does. The database clients build their
connections themselves from the environment (chromadb's httpx client, pymilvus' gRPC channel), so before one
connects to a loopback server `direct_to` adds that host to ``NO_PROXY`` (with a proxy set, the Chroma and
Milvus servers ragjet starts were unreachable: "Could not connect to a Chroma server", "Fail connecting to
server").

httpx is imported on first use: it would add ~0.15 s to ``import ragjet``; the probe uses the standard library.
"""
from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, Mapping, Optional
from urllib.parse import urlsplit

from .settings import environ, environment_list_add

if TYPE_CHECKING:
    import httpx

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "grpc_proxy")


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 bracketed or not) only reaches this machine: 127.0.0.0/8,
    ::1, ``localhost`` and its subdomains. The web server's Host guard asks it too."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback(url: str) -> bool:
    """Whether ``url``'s host (`is_loopback_host`) is this machine's loopback."""
    return is_loopback_host(_host(url))


def _host(url: str) -> str:
    """The host of ``url``, which may lack its scheme (``127.0.0.1:19530``)."""
    return urlsplit(url if "://" in url else f"http://{url}").hostname or ""


def direct_to(url: str) -> None:
    """Make a library that reads proxies from the environment reach ``url`` directly when it is a loopback
    server: its host joins ``NO_PROXY`` / ``no_proxy`` (only while a proxy variable is set)."""
    if not is_loopback(url) or environ(*PROXY_VARIABLES) is None:
        return
    for name in ("NO_PROXY", "no_proxy"):
        environment_list_add(name, _host(url))


def client(base_url: str, headers: Optional[Mapping[str, str]] = None, timeout: Any = None,
           app: Any = None) -> "httpx.Client":
    """An httpx client for ``base_url``: direct to a loopback server, through the environment's proxies else.
    With ``app`` (an ASGI app, such as `WebModule.asgi_app`'s), the app answers in this process, with no
    server nor socket (`asgi_transport`): what a test of a served flow needs."""
    import httpx

    transport = None
    if app is not None:
        from .asgi_transport import InProcessTransport

        transport = InProcessTransport(app)
    return httpx.Client(base_url=base_url, headers=dict(headers or {}), timeout=timeout,
                        trust_env=not is_loopback(base_url), transport=transport)


def async_client(base_url: str, headers: Optional[Mapping[str, str]] = None, timeout: Any = None,
                 **options: Any) -> "httpx.AsyncClient":
    """`client`'s asyncio twin (``options``: httpx's, such as ``limits``)."""
    import httpx

    return httpx.AsyncClient(base_url=base_url, headers=dict(headers or {}), timeout=timeout,
                             trust_env=not is_loopback(base_url), **options)


def http_ok(host: str, port: int, path: str, timeout: float = 2.0) -> bool:
    """Whether ``GET path`` answers 200: a server's health or models endpoint says it can serve. The standard
    library's client, which never goes through a proxy (the probe runs while ragjet starts a server)."""
    import http.client  # here, not at import: it pulls in the email package (~40 ms of `import ragjet`)

    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
