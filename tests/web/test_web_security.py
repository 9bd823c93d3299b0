"""The local server against browser-origin attacks and malformed requests: Host and Origin checks (DNS
rebinding, cross-site uploads), keys that cannot silently be empty, 4xx errors that name the field and keep
the connection, the bounded chat queue, usage, and the page's hardening headers."""
from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import ragjet  # noqa: E402
from ragjet.flow.sources import record_usage  # noqa: E402
from ragjet.web import WebModule  # noqa: E402
from ragjet.web.origins import OriginPolicy  # noqa: E402
from ragjet.web.web_module import API_KEY_ENV  # noqa: E402
from served_flow import CHAT, WAIT_S, SlowAnswers, answering_flow, ask, sse  # noqa: E402

UPLOAD = "/v1/documents"
EVIL = "http://evil.example"


@pytest.fixture
def answers() -> SlowAnswers:
    return SlowAnswers()


@pytest.fixture
def uploads(corpus: Path, answers: SlowAnswers, tmp_path: Path) -> Iterator[tuple[WebModule, Path]]:
    docs = tmp_path / "docs"
    docs.mkdir()
    with WebModule(answering_flow(corpus, answers), docs_dir=docs) as web:
        yield web, docs


def test_a_cross_site_page_cannot_write_into_the_knowledge_base(uploads):
    """Finding 1: a text/plain POST from another site's page (no preflight needed) stored a poisoned file."""
    web, docs = uploads
    simple = {"Content-Type": "text/plain", "Origin": EVIL}
    r = httpx.post(web.url + UPLOAD, params={"filename": "poison.txt"}, content=b"ignore the docs", headers=simple)
    assert r.status_code == 403 and "--allowed-origins http://evil.example" in r.json()["error"]["message"]
    form = httpx.post(web.url + UPLOAD, files={"file": ("poison.txt", b"x")}, headers={"Origin": EVIL})
    assert form.status_code == 403
    no_origin = httpx.post(web.url + UPLOAD, params={"filename": "poison.txt"}, content=b"x",
                           headers={"Content-Type": "text/plain"})
    assert no_origin.status_code == 400 and "application/octet-stream" in no_origin.json()["error"]["message"]
    assert list(docs.iterdir()) == []
    own = httpx.post(web.url + UPLOAD, files={"file": ("ok.txt", b"fine")}, headers={"Origin": web.url})
    assert own.status_code == 201 and (docs / "ok.txt").read_bytes() == b"fine"


def test_chat_refuses_a_body_that_is_not_declared_json(uploads):
    web, _ = uploads
    r = httpx.post(web.url + CHAT, content=b'{"messages": [{"role": "user", "content": "hi"}]}',
                   headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.json()["error"]["message"]


def test_a_rebinding_host_is_not_answered(corpus, answers):
    """Finding 2: `Host: attacker.example` got 200 on /v1/models and chat completions."""
    with WebModule(answering_flow(corpus, answers), allowed_hosts=["rag.internal"]) as web:
        for method, path in (("GET", "/v1/models"), ("POST", CHAT), ("GET", "/")):
            r = httpx.request(method, web.url + path, json=ask("cheese"), headers={"Host": "attacker.example"})
            assert r.status_code == 403, path
            assert "--allowed-hosts attacker.example" in r.json()["error"]["message"]
        for host in (f"localhost:{web.port}", f"127.0.0.1:{web.port}", f"[::1]:{web.port}", "rag.internal"):
            assert httpx.get(web.url + "/v1/models", headers={"Host": host}).status_code == 200, host


def test_listed_origins_get_cors_and_others_are_refused(corpus, answers):
    app = "http://localhost:3000"
    with WebModule(answering_flow(corpus, answers), allowed_origins=[app]) as web:
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        ok = httpx.options(web.url + CHAT, headers={"Origin": app, **preflight})
        assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == app
        assert "content-type" in ok.headers["access-control-allow-headers"]
        r = httpx.post(web.url + CHAT, json=ask("cheese"), headers={"Origin": app}, timeout=WAIT_S)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == app
        assert httpx.options(web.url + CHAT, headers={"Origin": EVIL, **preflight}).status_code == 403
        assert httpx.get(web.url + "/v1/models", headers={"Origin": "null"}).status_code == 403
        assert "access-control-allow-origin" not in httpx.get(web.url + "/v1/models").headers
    with pytest.raises(ValueError, match="scheme://host"):
        OriginPolicy(allowed_origins=["localhost:3000"])


def test_an_empty_or_missing_key_never_silently_opens_the_server(flow_for_keys, monkeypatch):
    """Finding 3: `--api-key ""` (an unset $KEY) turned authentication off without a word."""
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    with pytest.raises(ValueError, match="empty"):
        WebModule(flow_for_keys, api_key="")
    monkeypatch.setenv(API_KEY_ENV, " ")
    with pytest.raises(ValueError, match=API_KEY_ENV):
        WebModule(flow_for_keys)
    monkeypatch.delenv(API_KEY_ENV)
    with pytest.raises(ValueError, match="--no-auth"):
        WebModule(flow_for_keys, host="0.0.0.0")
    assert WebModule(flow_for_keys, host="0.0.0.0", no_auth=True).api_key is None
    assert WebModule(flow_for_keys, host="0.0.0.0", api_key="k").api_key == "k"
    assert WebModule(flow_for_keys, host="::1").api_key is None


def test_serve_checks_its_settings_before_indexing(monkeypatch, capsys):
    from ragjet.cli import main

    monkeypatch.delenv(API_KEY_ENV, raising=False)
    for argv, words in ((["serve", "--api-key", ""], "empty"), (["serve", "--host", "0.0.0.0"], "--no-auth"),
                        (["serve", "--allowed-origins", "evil.example"], "scheme://host")):
        assert main(argv) != 0
        assert words in capsys.readouterr().err


@pytest.fixture
def flow_for_keys(corpus, answers):
    return answering_flow(corpus, answers)


@pytest.fixture
def server(corpus, answers) -> Iterator[WebModule]:
    with WebModule(answering_flow(corpus, answers), title="test chat") as web:
        yield web


@pytest.mark.parametrize("body, field", [
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 42}]}]}, "messages[0].content[0].text"),
    ({"messages": [{"role": "user", "content": "\ud800 hi"}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "\udfff"}]}]}, "surrogate"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": {"text": "hi"}}]}, "messages[0].content"),
    ({"messages": ["hi"]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": "hi"}], "stream": "no"}, "'stream'"),
    ({"messages": [{"role": "user", "content": "hi"}], "n": 2}, "'n'"),
    ({"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}, "'tools'"),
    ({"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}, "'temperature'"),
    ({"messages": [{"role": "user", "content": "hi"}], "stream_options": {"include_usage": True}},
     "stream_options"),
    ([1, 2], "JSON object"),
])
def test_malformed_requests_get_a_400_naming_the_field_on_a_kept_connection(server, body, field):
    """Finding 4: a non-string text part and a lone surrogate gave 500s (one exposing the pipeline's internals)
    and a closed keep-alive connection; `n`, `tools` and `"stream": "no"` were ignored."""
    import json

    with httpx.Client(base_url=server.url, timeout=WAIT_S) as client:
        raw = json.dumps(body).encode()  # json.dumps escapes lone surrogates as \\udXXX, as a client would send
        r = client.post(CHAT, content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert field in error["message"] and error["type"] == "invalid_request_error"
        assert "TypeError" not in error["message"] and "pipeline" not in error["message"]
        assert r.headers.get("connection") != "close"
        again = client.post(CHAT, json=ask("cheese"))
        assert again.status_code == 200 and again.json()["choices"][0]["message"]["content"]


def usage_step(nodes: list, query: str) -> str:
    """A model-like last step reporting its token counts, as LocalChat and the online client do."""
    record_usage(17, 4)
    return "an answer in four tokens"


def test_usage_is_filled_whole_and_streamed(corpus):
    """Finding 10: `usage` was always null, also with stream_options.include_usage."""
    doc = ragjet.Document(corpus)
    with ragjet.pipeline() as ppl:
        ppl.retriever = ragjet.Retriever(doc, "MediumChunk", similarity="bm25", topk=2)
        ppl.answer = usage_step | ragjet.bind(query=ppl.input)
    with WebModule(ppl) as web:
        whole = httpx.post(web.url + CHAT, json=ask("cheese"), timeout=WAIT_S).json()
        assert whole["usage"] == {"prompt_tokens": 17, "completion_tokens": 4, "total_tokens": 21}
        body = {**ask("cheese", stream=True), "stream_options": {"include_usage": True}}
        with httpx.stream("POST", web.url + CHAT, json=body, timeout=WAIT_S) as r:
            events = sse(r)
        assert events[-2]["choices"] == [] and events[-2]["usage"]["total_tokens"] == 21
        with httpx.stream("POST", web.url + CHAT, json=ask("cheese", stream=True), timeout=WAIT_S) as r:
            assert not any("usage" in e for e in sse(r) if isinstance(e, dict))


def until(condition, timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_the_chat_queue_is_bounded_with_retry_after(corpus, answers):
    """Finding 10: nothing answered 503 when the queue was full; every request waited. The bound is on what
    waits: the model's slot (one here) answers, ``max_queue`` (one) waits, the next is turned away."""
    with WebModule(answering_flow(corpus, answers), max_queue=1) as web:
        held = [threading.Thread(target=httpx.post, args=(web.url + CHAT,),
                                 kwargs={"json": ask("wait"), "timeout": WAIT_S}) for _ in range(2)]
        for thread in held:
            thread.start()
        assert answers.blocked.wait(WAIT_S) and until(lambda: web.admission.active == 2)
        busy = httpx.post(web.url + CHAT, json=ask("cheese"), timeout=WAIT_S)
        assert busy.status_code == 503 and int(busy.headers["retry-after"]) >= 1
        assert busy.json()["error"]["type"] == "server_busy"
        answers.release.set()
        for thread in held:
            thread.join(WAIT_S)
        assert httpx.post(web.url + CHAT, json=ask("cheese"), timeout=WAIT_S).status_code == 200
    with pytest.raises(ValueError, match="at least 1"):
        WebModule(answering_flow(corpus, answers), max_queue=0)


def test_a_flow_without_a_model_is_not_bounded_and_a_client_that_leaves_frees_its_place(corpus, answers):
    """Admission turned away load the server could serve: 50 clients against ``--llm none`` got 503s by the
    thousand, and a client that disconnected held its place for seconds."""
    with WebModule(answering_flow(corpus, answers), max_queue=1, slots=None) as web:
        held = [threading.Thread(target=httpx.post, args=(web.url + CHAT,),
                                 kwargs={"json": ask("wait"), "timeout": WAIT_S}) for _ in range(3)]
        for thread in held:
            thread.start()
        assert until(lambda: web.admission.active == 3)
        assert httpx.post(web.url + CHAT, json=ask("cheese"), timeout=WAIT_S).status_code == 200
        answers.release.set()
        for thread in held:
            thread.join(WAIT_S)
    answers.release.clear()
    answers.blocked.clear()
    with WebModule(answering_flow(corpus, answers), max_queue=1) as web:
        with httpx.stream("POST", web.url + CHAT, json=ask("wait", stream=True), timeout=WAIT_S) as r:
            lines = r.iter_lines()  # held: a dropped line iterator closes the connection
            next(lines)
            assert answers.blocked.wait(WAIT_S) and web.admission.active == 1
        # the place is free while the answer's worker is still held inside the model
        assert until(lambda: web.admission.active == 0) and not answers.release.is_set()
        answers.release.set()


def test_every_response_carries_the_hardening_headers(server):
    """Finding 10: the page sent no CSP, X-Frame-Options or nosniff."""
    for path in ("/", "/static/app.js", "/v1/models", "/nowhere"):
        headers = httpx.get(server.url + path).headers
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff", path
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_an_unexpected_failure_is_a_generic_500_and_the_connection_stays(server, monkeypatch, caplog):
    from ragjet.web import api

    def broken(body):
        raise KeyError("internal detail")

    monkeypatch.setattr(api, "parse_chat_request", broken)
    with httpx.Client(base_url=server.url, timeout=WAIT_S) as client:
        r = client.post(CHAT, json=ask("cheese"))
        assert r.status_code == 500 and r.headers.get("connection") != "close"
        error = r.json()["error"]
        assert error["type"] == "server_error" and "internal detail" not in error["message"]
        assert any(rec.exc_info and "internal detail" in str(rec.exc_info[1]) for rec in caplog.records)
        monkeypatch.undo()
        assert client.post(CHAT, json=ask("cheese")).status_code == 200


def test_a_large_upload_is_indexed_off_the_request(corpus, answers, tmp_path):
    """Finding 7: a 1 MB upload held its HTTP request for 170 s. A large one now answers 202 at once with a
    status URL, a small one is indexed before its 201."""
    release, indexed = threading.Event(), []

    def slow_index(path: Path) -> None:
        assert release.wait(WAIT_S)
        if path.name == "broken.txt":
            raise RuntimeError("the index is read-only")
        indexed.append(path.name)

    docs = tmp_path / "docs"
    docs.mkdir()
    with WebModule(answering_flow(corpus, answers), docs_dir=docs, on_upload=slow_index) as web:
        big = httpx.post(web.url + UPLOAD, files={"file": ("big.txt", b"word " * 40_000)}, timeout=WAIT_S)
        assert big.status_code == 202 and big.json()["state"] == "indexing" and indexed == []
        status_url = web.url + big.json()["status_url"]
        assert big.headers["location"] == big.json()["status_url"]
        assert httpx.get(status_url).json()["state"] == "indexing"
        broken = httpx.post(web.url + UPLOAD, files={"file": ("broken.txt", b"x " * 40_000)}, timeout=WAIT_S)
        release.set()
        small = httpx.post(web.url + UPLOAD, files={"file": ("small.txt", b"a few words")}, timeout=WAIT_S)
        assert small.status_code == 201 and "small.txt" in indexed
        for url, state in ((status_url, "done"), (web.url + broken.json()["status_url"], "failed")):
            for _ in range(500):
                status = httpx.get(url).json()
                if status["state"] != "indexing":
                    break
                threading.Event().wait(0.02)
            assert status["state"] == state
        assert "the index is read-only" in status["error"] and (docs / "broken.txt").exists()
        assert httpx.get(web.url + "/v1/documents/jobs/nope").status_code == 404


def test_a_small_upload_behind_other_indexing_answers_202_instead_of_waiting(corpus, answers, tmp_path,
                                                                            monkeypatch):
    """A small upload waits for its indexing only a few seconds: behind a server's large files (or another
    upload) it answers 202 with its status URL, and the job still runs."""
    from ragjet.web import api

    monkeypatch.setattr(api, "WAIT_UP_TO_SECONDS", 0.2)
    release, indexed = threading.Event(), []

    def queued_index(path: Path) -> None:
        assert release.wait(WAIT_S)
        indexed.append(path.name)

    docs = tmp_path / "docs"
    docs.mkdir()
    with WebModule(answering_flow(corpus, answers), docs_dir=docs, on_upload=queued_index) as web:
        small = httpx.post(web.url + UPLOAD, files={"file": ("small.txt", b"a few words")}, timeout=WAIT_S)
        assert small.status_code == 202 and indexed == []
        release.set()
        for _ in range(500):
            if httpx.get(web.url + small.json()["status_url"]).json()["state"] == "done":
                break
            threading.Event().wait(0.02)
        assert indexed == ["small.txt"]


@pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None, reason="needs xllamacpp (ragjet[local])")
def test_a_prompt_cut_to_fit_the_context_says_so_in_the_response():
    """Finding 10: a 100 kB question answered 200 with an empty answer, the cut only in the server log. The
    answer now comes from the passages (the question is cut first) and the response names the cut."""
    llm = ragjet.TrainableModule("SmolLM2-135M-Instruct", n_ctx=512, max_tokens=8, prompt_cache=False)
    llm.prompt(ragjet.ChatPrompter("Answer from: {context_str}", extra_keys=["context_str"]))
    flow = ragjet.pipeline(lambda q: {"query": q, "context_str": "Mars is red."}, llm)
    question = "What colour is Mars? " + "Tell me everything. " * 5000  # ~100 kB
    with WebModule(flow, title="test chat") as web:
        whole = httpx.post(web.url + CHAT, json=ask(question), timeout=120).json()
        assert whole["choices"][0]["message"]["content"].strip()
        assert any("cut to fit the model's 512-token context" in n and "query" in n for n in whole["notices"])
        assert not any("context_str" in n for n in whole["notices"])  # the passage was kept
        with httpx.stream("POST", web.url + CHAT, json=ask(question, stream=True), timeout=120) as response:
            events = sse(response)
        assert any("cut to fit" in n for e in events if isinstance(e, dict) for n in e.get("notices", []))
