"""The flow the web tests serve, and how they ask it: a real pipeline (Document + bm25 Retriever on a tiny
corpus, so sources are real) whose last step streams a few tokens slowly; no model is needed."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

import ragjet
from ragjet.http_client import client

CHAT = "/v1/chat/completions"
WAIT_S = 30  # upper bound for events that should happen at once; never reached when the code is right
TRANSPORTS = ("socket", "in_process")


class SlowAnswers:
    """The last step of the test pipeline: special questions fail, block or release; others stream tokens."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay  # seconds between two tokens
        self.blocked = threading.Event()  # the "wait" question is being answered
        self.release = threading.Event()  # set by the "go" question
        self.closed = threading.Event()  # a token stream was closed before its end (client went away)

    def __call__(self, nodes: list, query: str) -> str | Iterator[str]:
        if query == "fail":
            raise RuntimeError("the model crashed")
        if query == "wait":
            self.blocked.set()
            return "released" if self.release.wait(WAIT_S) else "never released"
        if query == "go":
            self.release.set()
            return "went"
        if query == "endless":
            return self._endless()
        return self._tokens(f"Found {len(nodes)} passages about: {query}")

    def _tokens(self, text: str) -> Iterator[str]:
        for word in text.split(" "):
            time.sleep(self.delay)
            yield word + " "

    def _endless(self) -> Iterator[str]:
        try:
            while True:
                time.sleep(self.delay)
                yield "more "
        finally:
            self.closed.set()


def answering_flow(corpus: Path, answers: SlowAnswers) -> ragjet.pipeline:
    """A bm25 Retriever over ``corpus`` (it records the sources), then ``answers``."""
    doc = ragjet.Document(corpus)
    with ragjet.pipeline() as ppl:
        ppl.retriever = ragjet.Retriever(doc, "MediumChunk", similarity="bm25", topk=2)
        ppl.answer = answers | ragjet.bind(query=ppl.input)
    return ppl


def ask(question: str, stream: bool = False) -> dict:
    return {"model": "test chat", "stream": stream, "messages": [{"role": "system", "content": "be brief"},
                                                                 {"role": "user", "content": question}]}


def sse(response: httpx.Response) -> list:
    """The data payloads of a streamed response, JSON-decoded except the final "[DONE]"."""
    events = []
    for line in response.iter_lines():
        if line.startswith("data: "):
            data = line[6:]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


@contextmanager
def asked(web: ragjet.WebModule, transport: str) -> Iterator[httpx.Client]:
    """A client to ``web``: over a socket to it started (``"socket"``), or to its app answering in this process
    (``"in_process"``, `ragjet.asgi_transport`). A test run over both holds the in-process transport to what
    the server does."""
    if transport == "in_process":
        with client("http://127.0.0.1", app=web.asgi_app(), timeout=WAIT_S) as http:
            yield http
    else:
        with web, client(web.url, timeout=WAIT_S) as http:
            yield http
