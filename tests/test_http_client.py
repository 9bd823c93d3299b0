"""ragjet's HTTP clients reach this machine's servers directly: a proxy the environment names (usual on company
networks) cannot reach 127.0.0.1, and with HTTP_PROXY set a ServerModule and an engine deployed in its own
process failed with the proxy's "connection refused". Other hosts keep the environment's proxies."""
import socket

import pytest

import ragjet
from ragjet.http_client import client, http_ok, is_loopback

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def dead_proxy(monkeypatch):
    """Every proxy variable pointing at a port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    return port


@pytest.mark.parametrize("url, loopback", [
    ("http://127.0.0.1:8000/v1", True), ("http://127.3.4.5", True), ("http://[::1]:9/x", True),
    ("http://localhost:23492", True), ("127.0.0.1:19530", True), ("http://api.example.com/v1", False),
    ("https://10.0.0.5:443", False), ("http://localhost.example.com", False), ("", False),
])
def test_loopback_urls_are_told_apart(url, loopback):
    assert is_loopback(url) is loopback


def test_a_loopback_client_ignores_proxies_and_another_host_keeps_them(dead_proxy):
    with client("http://127.0.0.1:1") as local, client("http://api.example.com") as remote:
        assert local.trust_env is False and remote.trust_env is True


def test_a_server_module_answers_with_a_proxy_in_the_environment(dead_proxy):
    for module, expected in ((ragjet.ServerModule(lambda text: text + "!"), "hi!"),
                             (ragjet.ServerModule(lambda text: iter([text, "?"]), stream=True), ["hi", "?"])):
        module.start()
        try:
            answer = module("hi")
            assert (answer if isinstance(answer, str) else list(answer)) == expected
        finally:
            module.stop()


def test_the_readiness_probe_reads_the_status(dead_proxy):
    with ragjet.WebModule(lambda question: question) as web:
        host, port = web.url.removeprefix("http://").rstrip("/").split(":")
        assert http_ok(host, int(port), "/health") is True
        assert http_ok(host, int(port), "/no-such-page") is False
    assert http_ok("127.0.0.1", 1, "/health", timeout=0.5) is False


def test_direct_to_adds_a_loopback_host_to_no_proxy_once_and_only_under_a_proxy(monkeypatch):
    import os

    from ragjet.http_client import direct_to

    for name in PROXY_VARIABLES + ("grpc_proxy",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "example.com")
    monkeypatch.delenv("no_proxy", raising=False)
    direct_to("http://127.0.0.1:19530")
    assert os.environ["NO_PROXY"] == "example.com" and "no_proxy" not in os.environ  # no proxy: nothing to do
    monkeypatch.setenv("https_proxy", "http://proxy.example.com:3128")
    direct_to("http://127.0.0.1:19530")
    direct_to("http://127.0.0.1:8000")
    direct_to("http://db.example.com:19530")  # another host keeps the proxy
    assert os.environ["NO_PROXY"] == "example.com,127.0.0.1" and os.environ["no_proxy"] == "127.0.0.1"
