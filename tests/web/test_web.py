"""WebModule over HTTP: streaming and whole answers with sources, API key, size limits, uploads, concurrency.

The served flow is a real pipeline (Document + bm25 Retriever on a tiny corpus, so sources are real) whose
last step streams a few tokens slowly; no model is needed."""
from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import ragjet  # noqa: E402
from ragjet.cli import build_parser  # noqa: E402
from ragjet.flow.sources import collect_sources, record_sources  # noqa: E402
from ragjet.web import WebModule  # noqa: E402
from ragjet.flow.source_view import snippet  # noqa: E402
from ragjet.web.uploads import safe_filename  # noqa: E402
from ragjet.chat import RagChat, numbered_context  # noqa: E402
from ragjet.models.turns import TurnQueue  # noqa: E402

from served_flow import CHAT, TRANSPORTS, WAIT_S, SlowAnswers, answering_flow, ask, asked, sse  # noqa: E402


@pytest.fixture
def answers() -> SlowAnswers:
    return SlowAnswers()


@pytest.fixture
def flow(corpus: Path, answers: SlowAnswers) -> ragjet.pipeline:
    return answering_flow(corpus, answers)


@pytest.fixture
def server(flow) -> Iterator[WebModule]:
    with WebModule(flow, title="test chat") as web:
        yield web


@pytest.fixture(params=TRANSPORTS)
def transport(request) -> str:
    return request.param


@pytest.fixture
def http(flow, transport) -> Iterator[httpx.Client]:
    with asked(WebModule(flow, title="test chat"), transport) as client:
        yield client


def test_streaming_answer_arrives_in_pieces_with_sources(http):
    with http.stream("POST", CHAT, json=ask("cheese milk", stream=True), timeout=WAIT_S) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse(r)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "test chat" for c in chunks)
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks]
    assert len([p for p in pieces if p]) >= 3
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    sources = chunks[-1]["sources"]
    assert "".join(p for p in pieces if p) == f"Found {len(sources)} passages about: cheese milk "
    assert sources[0]["file"] == "food.txt" and sources[0]["score"] > 0
    assert "Cheese is made from milk" in sources[0]["snippet"]
    assert all("sources" not in c for c in chunks[:-1])


def test_whole_answer_is_one_openai_completion(http):
    r = http.post(CHAT, json=ask("Which planet is red?"), timeout=WAIT_S)
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {
        "role": "assistant", "content": f"Found {len(body['sources'])} passages about: Which planet is red? "}
    assert body["sources"][0]["file"] == "space.md"
    assert set(body["sources"][0]) == {"file", "score", "snippet"}


def test_models_health_and_page(http):
    assert http.get("/health").json() == {"status": "ok"}
    assert [m["id"] for m in http.get("/v1/models").json()["data"]] == ["test chat"]
    page = http.get("/")
    assert page.status_code == 200 and "<title>test chat</title>" in page.text
    for asset in ("app.js", "style.css"):
        assert http.get(f"/static/{asset}").status_code == 200
    assert "//cdn" not in page.text and "https://" not in page.text


def test_page_title_is_escaped(flow, transport):
    with asked(WebModule(flow, title='<script>alert("x")</script>'), transport) as http:
        page = http.get("/").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page and "\\u003cscript>alert" in page


def test_bad_requests_get_a_json_error(http):
    for body in ({}, {"messages": "hi"}, {"messages": [{"role": "user", "content": "  "}]}):
        r = http.post(CHAT, json=body)
        assert r.status_code == 400 and r.json()["error"]["message"]
    json_type = {"Content-Type": "application/json"}
    assert http.post(CHAT, content=b"{not json", headers=json_type).status_code == 400
    assert http.post(CHAT, content=b"{not json").status_code == 415


def test_pipeline_error_is_reported_without_internals(http, caplog):
    r = http.post(CHAT, json=ask("fail"), timeout=WAIT_S)
    assert r.status_code == 500
    error = r.json()["error"]
    assert error["type"] == "server_error" and "the model crashed" not in error["message"]
    error_id = error["message"].split("error ")[1].split(";")[0]
    assert any(error_id in rec.getMessage() and rec.exc_info for rec in caplog.records)
    with http.stream("POST", CHAT, json=ask("fail", stream=True), timeout=WAIT_S) as r:
        events = sse(r)
    assert events[-2]["error"]["type"] == "server_error" and events[-1] == "[DONE]"
    assert "the model crashed" not in str(events)


@pytest.mark.parametrize("stream", [False, True])
def test_a_blocked_answer_does_not_hold_up_another(http, answers, stream):
    """The first question blocks until the second one has been answered: both succeed only if they run at once."""
    def first() -> str:
        with http.stream("POST", CHAT, json=ask("wait", stream), timeout=WAIT_S * 2) as r:
            if not stream:
                r.read()
                return r.json()["choices"][0]["message"]["content"]
            return "".join(e["choices"][0]["delta"].get("content", "") for e in sse(r)[:-1])

    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(first)
        assert answers.blocked.wait(WAIT_S)
        second = http.post(CHAT, json=ask("go"), timeout=WAIT_S)
        assert second.json()["choices"][0]["message"]["content"] == "went"
        assert pending.result() == "released"


def test_client_going_away_stops_the_token_stream(http, answers):
    with http.stream("POST", CHAT, json=ask("endless", stream=True), timeout=WAIT_S) as r:
        for line in r.iter_lines():
            if '"content":"more' in line:
                break
    assert answers.closed.wait(WAIT_S)


def test_api_key_is_required_on_every_endpoint(flow, transport, monkeypatch):
    monkeypatch.setenv("RAGJET_API_KEY", "s3cret")
    with asked(WebModule(flow), transport) as http:
        for method, path in (("GET", "/health"), ("GET", "/v1/models"), ("POST", CHAT), ("POST", "/v1/documents")):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
                r = http.request(method, path, headers=headers, json=ask("cheese"))
                assert r.status_code == 401, (path, headers)
                assert r.headers["www-authenticate"] == "Bearer"
        good = {"Authorization": "Bearer s3cret"}
        assert http.get("/health", headers=good).status_code == 200
        assert http.post(CHAT, headers=good, json=ask("cheese")).status_code == 200
        assert http.get("/").status_code == 200  # the page holds no data; it asks for the key
    with asked(WebModule(flow, api_key="explicit"), transport) as http:
        assert http.get("/health", headers={"Authorization": "Bearer explicit"}).status_code == 200


def test_request_size_limit(flow, transport):
    with asked(WebModule(flow, max_request_bytes=2048), transport) as http:
        big = ask("x" * 4000)
        assert http.post(CHAT, json=big).status_code == 413

        def chunked(body: dict) -> Iterator[bytes]:
            data = json.dumps(body).encode()
            yield from (data[i:i + 500] for i in range(0, len(data), 500))

        assert http.post(CHAT, content=chunked(big)).status_code == 413
        small = http.post(CHAT, content=chunked(ask("cheese")), timeout=WAIT_S,
                           headers={"Content-Type": "application/json"})
        assert small.status_code == 200 and small.json()["sources"]


@pytest.fixture
def uploads(flow, transport, tmp_path: Path) -> Iterator[tuple[httpx.Client, Path, list[Path]]]:
    docs, seen = tmp_path / "uploads" / "docs", []
    with asked(WebModule(flow, docs_dir=docs, on_upload=seen.append, max_upload_bytes=10_000), transport) as http:
        yield http, docs, seen


@pytest.mark.parametrize("name, stored", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\x.md", "x.md"),
    ("/abs/path/notes.md", "notes.md"),
    ("C:\\Users\\me\\report.pdf", "report.pdf"),
    ("..hidden.txt", "hidden.txt"),
    ("两个 文件.md", "两个 文件.md"),
])
def test_upload_names_cannot_leave_the_document_folder(uploads, tmp_path, name, stored):
    http, docs, seen = uploads
    multipart = http.post("/v1/documents", files={"file": (name, b"hello")})
    assert multipart.status_code == 201, multipart.text
    assert multipart.json() == {"file": stored, "bytes": 5}
    raw = http.post("/v1/documents", params={"filename": name}, content=b"hello again")
    assert raw.status_code == 201 and raw.json()["file"] == stored
    assert [p.name for p in docs.iterdir()] == [stored]
    assert (docs / stored).read_bytes() == b"hello again"
    assert seen == [docs / stored] * 2
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["docs"]


@pytest.mark.parametrize("name", ["evil.sh", "noext", "..", "../", "a\x00.txt", "", ".md"])
def test_upload_rejects_unsupported_or_unusable_names(uploads, name):
    http, docs, seen = uploads
    r = http.post("/v1/documents", params={"filename": name} if name else {}, content=b"x")
    assert r.status_code == 400 and r.json()["error"]["message"]
    assert not docs.exists() or not list(docs.iterdir())
    assert seen == []


def test_upload_limits_and_switch(uploads, flow, transport):
    http, docs, seen = uploads
    r = http.post("/v1/documents", files={"file": ("big.txt", b"x" * 20_000)})
    assert r.status_code == 413 and not seen
    assert http.post("/v1/documents", files={"other": ("a.txt", b"x")}).status_code == 400
    with asked(WebModule(flow), transport) as off:
        r = off.post("/v1/documents", files={"file": ("a.txt", b"x")})
        assert r.status_code == 404 and "without a document folder" in r.json()["error"]["message"]


def test_upload_callback_failure_is_reported(flow, transport, tmp_path):
    def broken(path: Path) -> None:
        raise RuntimeError("index is read-only")

    with asked(WebModule(flow, docs_dir=tmp_path, on_upload=broken), transport) as http:
        r = http.post("/v1/documents", files={"file": ("a.txt", b"x")})
    assert r.status_code == 500 and "index is read-only" in r.json()["error"]["message"]
    assert (tmp_path / "a.txt").read_bytes() == b"x"


def test_safe_filename_and_snippet():
    assert safe_filename("a b/c<d>|e.MD") == "c_d__e.MD"
    long = "x" * 300 + ".txt"
    assert safe_filename(long).endswith(".txt") and len(safe_filename(long)) <= 200
    assert snippet("short  text\n here") == "short text here"
    chinese = "向量检索" * 200
    assert snippet(chinese).startswith("向量检索") and len(snippet(chinese)) <= 283


def test_sources_collector_semantics(corpus):
    doc = ragjet.Document(corpus)
    food = ragjet.Retriever(doc, "MediumChunk", similarity="bm25", topk=1)
    space = ragjet.Retriever(doc, "MediumChunk", similarity="bm25", topk=1)
    food("cheese")  # outside a collector: nothing recorded, nothing fails
    with collect_sources() as sources:
        with ragjet.parallel().sum as prl:
            prl.a = food | ragjet.bind("cheese")
            prl.b = space | ragjet.bind("planet")
            prl.c = food | ragjet.bind("milk")
        prl("ignored")
        assert sorted(Path(n.docpath).name for n in sources.nodes) == ["food.txt", "space.md"]
        record_sources(space("Mars"), reranked=True)
        record_sources(food("cheese"))
        assert [Path(n.docpath).name for n in sources.nodes] == ["space.md"]


def test_rag_chat_without_models_answers_with_passages(corpus):
    chat = RagChat(corpus, embed=None, llm=None, topk=1).start()
    with collect_sources() as sources:
        answer = "".join(chat("Which planet is the largest?"))
    assert "Jupiter is the largest planet" in answer
    assert [Path(n.docpath).name for n in sources.nodes] == ["space.md"]
    (corpus / "new.md").write_text("Zebras have black and white stripes.", encoding="utf-8")
    chat.refresh(corpus / "new.md")
    assert "Zebras" in "".join(chat("zebras stripes"))


def test_a_server_answers_before_its_large_files_are_indexed(corpus, monkeypatch):
    """Finding 7 of the sturdiness review: one huge file held back every answer. A server's chat answers from
    the other files at once and from the large one when the background indexing is done."""
    from ragjet.chat import rag_chat as module

    monkeypatch.setattr(module, "LARGE_FILE_BYTES", 2000)
    (corpus / "zebras.txt").write_text("Zebras have black and white stripes. " * 100, encoding="utf-8")
    chat = RagChat(corpus, embed=None, llm=None, topk=1, defer_large=True)
    release = threading.Event()
    refresh = chat.refresh
    monkeypatch.setattr(chat, "refresh", lambda: (release.wait(WAIT_S), refresh()))
    chat.start()
    assert chat.indexing and "Jupiter is the largest planet" in "".join(chat("Which planet is the largest?"))
    assert "Zebras" not in "".join(chat("zebras stripes"))
    release.set()
    assert chat.wait_indexed(WAIT_S) and "Zebras" in "".join(chat("zebras stripes"))


def test_serve_command_help_and_checks(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["serve", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert all(flag in out for flag in ("--docs", "--port", "--host", "--api-key", "--upload"))
    args = build_parser().parse_args(["serve", "--upload", "--docs", str(tmp_path / "missing")])
    with pytest.raises(ValueError, match="--upload"):
        args.func(args)


def test_missing_web_extra_names_it(flow, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(ImportError, match=r"ragjet\[web\]"):
        WebModule(flow).start()


def test_port_in_use_fails_in_start(server, flow):
    with pytest.raises(OSError):
        WebModule(flow, port=server.port).start()


class QueuedModel:
    """The test pipeline's model step: one answer at a time through a real `TurnQueue` (as `LocalChat`)."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.turns = TurnQueue()

    def __call__(self, context: dict) -> Iterator[str]:
        with self.turns.turn():
            for word in self.answer.split(" "):
                yield word + " "


def citing_flow(corpus: Path, model: QueuedModel) -> ragjet.pipeline:
    """bm25 top 2, numbered for the model as the RAG chat numbers them, then ``model``."""
    doc = ragjet.Document(corpus)
    with ragjet.pipeline() as ppl:
        ppl.retriever = ragjet.Retriever(doc, "MediumChunk", similarity="bm25", topk=2)
        ppl.context = numbered_context | ragjet.bind(query=ppl.input)
        ppl.model = model
    return ppl


def whole_and_streamed(web: WebModule, question: str) -> tuple[dict, dict]:
    """The answer to ``question`` as one response, and the last chunk of it streamed (the one with sources)."""
    body = httpx.post(web.url + CHAT, json=ask(question), timeout=WAIT_S).json()
    with httpx.stream("POST", web.url + CHAT, json=ask(question, stream=True), timeout=WAIT_S) as r:
        return body, sse(r)[-2]


def test_the_api_says_which_numbered_sources_the_answer_cited(corpus):
    model = QueuedModel("Mars is red [2] [7].")
    with WebModule(citing_flow(corpus, model)) as web:
        body, last = whole_and_streamed(web, "cheese Mars")
    assert body["cited"] == [2] and body["cited_by"] == "answer" and body["notices"] == []  # [7] was not given
    assert [s["cited"] for s in body["sources"]] == [False, True]
    assert last["cited"] == [2] and [s["cited"] for s in last["sources"]] == [False, True]


def two_answers(corpus: Path, question: str, first: str, then: str) -> tuple[dict, dict, dict]:
    """The model answering ``first`` (whole, and the last chunk of it streamed), then ``then`` (whole)."""
    model = QueuedModel(first)
    with WebModule(citing_flow(corpus, model)) as web:
        body, last = whole_and_streamed(web, question)
        model.answer = then
        return body, last, httpx.post(web.url + CHAT, json=ask(question), timeout=WAIT_S).json()


def test_an_answer_naming_what_no_passage_holds_is_flagged_ungrounded(corpus):
    """A fluent invented answer looked as sure as a grounded one; its invented names are flagged now."""
    body, last, grounded = two_answers(corpus, "cheese", "The cheese was first made by Zorblax Quimby in 1777.",
                                       "Cheese is made from milk.")
    assert body["ungrounded"] == ["Zorblax", "Quimby", "1777"] == last["ungrounded"]
    assert any("Zorblax, Quimby, 1777" in notice and "sources" in notice for notice in body["notices"])
    assert grounded["ungrounded"] == [] and grounded["notices"] == []


def test_the_api_quotes_the_source_sentence_the_answer_rests_on(corpus):
    """A reader checks an answer against the document's own sentence, quoted with its source's number."""
    body, last, refused = two_answers(corpus, "What is Mars called?", "It is called the red planet.",
                                      "The documents do not contain the answer to this question.")
    files = [s["file"] for s in body["sources"]]
    assert body["evidence"] == {"source": files.index("space.md") + 1, "text": "Mars is called the red planet."}
    assert last["evidence"] == body["evidence"]
    assert refused["evidence"] is None


def test_an_uncited_answer_is_attributed_to_the_passage_it_repeats(corpus):
    model = QueuedModel("Cheese is made from milk.")
    with WebModule(citing_flow(corpus, model)) as web:
        body = httpx.post(web.url + CHAT, json=ask("cheese"), timeout=WAIT_S).json()
    assert body["cited_by"] == "overlap" and body["cited"] == [1]
    assert body["sources"][0]["file"] == "food.txt" and body["sources"][0]["cited"]


def streamed_events(url: str, question: str) -> list:
    with httpx.stream("POST", url + CHAT, json=ask(question, stream=True), timeout=WAIT_S) as r:
        return sse(r)


def test_a_queued_request_sees_its_position_and_leaves_when_its_client_does(corpus):
    model = QueuedModel("Bread is baked from flour.")
    hold, release = threading.Event(), threading.Event()

    def occupy():
        with model.turns.turn():
            hold.set()
            release.wait(WAIT_S)

    with WebModule(citing_flow(corpus, model)) as web, ThreadPoolExecutor(2) as pool:
        pool.submit(occupy)
        assert hold.wait(WAIT_S)
        with httpx.stream("POST", web.url + CHAT, json=ask("bread", stream=True), timeout=WAIT_S) as r:
            for line in r.iter_lines():
                if line.startswith("data: ") and '"queue"' in line:
                    chunk = json.loads(line[6:])
                    break
        assert chunk["choices"] == [] and chunk["queue"] == {"position": 1}
        deadline = time.monotonic() + WAIT_S
        while model.turns.waiting and time.monotonic() < deadline:  # the client left: so does its request
            time.sleep(0.05)
        assert model.turns.waiting == 0
        waiting = pool.submit(streamed_events, web.url, "bread")
        while not model.turns.waiting and time.monotonic() < deadline:
            time.sleep(0.05)
        release.set()
        events = waiting.result(WAIT_S)
    assert any(e != "[DONE]" and e.get("queue") for e in events)
    assert "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1] if e["choices"]).startswith("Bread")
