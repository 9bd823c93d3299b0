"""A seeded fuzz of the chat and upload endpoints: random JSON shapes, types, encodings and sizes on one
keep-alive connection. No response may be a 500, none may close the connection, and the server still answers
a plain question afterwards."""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from ragjet.web import WebModule  # noqa: E402
from served_flow import CHAT, SlowAnswers, answering_flow, ask  # noqa: E402

SEED = 20261202
REQUESTS = 600
BUDGET_S = 60  # the fuzz stops early rather than run longer
FIELDS = ["messages", "role", "content", "text", "type", "stream", "n", "tools", "stream_options", "include_usage",
          "temperature", "max_tokens", "model", "image_url", "user"]
ROLES = ["user"] * 6 + ["assistant", "system", "tool", "", "USER", None]
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", "", "application/x-www-form-urlencoded",
                 "multipart/form-data; boundary=x", "application/octet-stream", "application/vnd.api+json"]


def random_text(rnd: random.Random) -> str:
    pools = ["hello", "第二次启动为什么快？", "\ud800", "\udfff", "\x00", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "'; DROP TABLE x;--",
             "<script>alert(1)</script>", "\u202e", " " * rnd.randint(0, 5)]
    return "".join(rnd.choice(pools) for _ in range(rnd.randint(0, 4))) * rnd.choice([1, 1, 1, 50, 2000])


def random_value(rnd: random.Random, depth: int = 0) -> object:
    kind = rnd.randint(0, 8 if depth < 3 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rnd.choice([True, False])
    if kind == 2:
        return rnd.choice([0, 1, 2, -1, 10**30, 3.5, float("1e308")])
    if kind in (3, 4):
        return random_text(rnd)
    if kind in (5, 6):
        return {rnd.choice(FIELDS): random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}
    return [random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]


def chat_body(rnd: random.Random) -> bytes:
    """A request near the valid shape (so deep fields are reached), mutated at random; sometimes not JSON."""
    message = {"role": rnd.choice(ROLES), "content": rnd.choice([random_text(rnd), random_text(rnd), random_value(rnd),
                                                                 [{"type": "text", "text": random_value(rnd)}]])}
    body: object = {"messages": rnd.choice([[message], [message, random_value(rnd)], random_value(rnd)])}
    for _ in range(rnd.choice([0, 0, 1, 2, 3])):
        body[rnd.choice(FIELDS)] = random_value(rnd)
    if rnd.random() < 0.1:
        body = random_value(rnd)
    raw = json.dumps(body).encode()  # ensure_ascii: lone surrogates travel as \udXXX escapes, as JSON allows
    if rnd.random() < 0.1:
        cut = rnd.randint(0, len(raw))
        raw = raw[:cut] + bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 8))) + raw[cut:]
    return raw


def test_fuzzed_requests_never_get_a_500_nor_a_closed_connection(corpus: Path, tmp_path: Path):
    rnd = random.Random(SEED)
    docs = tmp_path / "docs"
    docs.mkdir()
    statuses: dict[int, int] = {}
    with WebModule(answering_flow(corpus, SlowAnswers(delay=0)), docs_dir=docs, max_upload_bytes=64_000,
                   max_request_bytes=64_000) as web, \
            httpx.Client(base_url=web.url, timeout=30) as client:
        deadline = time.monotonic() + BUDGET_S
        for i in range(REQUESTS):
            if time.monotonic() > deadline:
                break
            headers = {"Content-Type": rnd.choice(CONTENT_TYPES) if rnd.random() < 0.4 else "application/json"}
            if rnd.random() < 0.5:
                r = client.post(CHAT, content=chat_body(rnd), headers=headers)
            else:
                name = rnd.choice(["a.txt", "../../etc/x.md", "b.exe", "", "\x00.txt", "c" * 300 + ".md", "d.html"])
                data = rnd.choice([random_text(rnd).encode("utf-8", "surrogatepass"), bytes(rnd.randrange(256)
                                   for _ in range(rnd.randint(0, 2000))), b"x" * rnd.choice([1, 70_000])])
                if rnd.random() < 0.5:
                    r = client.post("/v1/documents", params={"filename": name}, content=data, headers=headers)
                else:
                    r = client.post("/v1/documents", files={rnd.choice(["file", "other"]): (name, data)})
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            assert r.status_code != 500 and r.status_code < 500, (i, r.status_code, r.text[:300])
            assert r.headers.get("connection") != "close", (i, r.status_code)
            assert r.headers["content-type"].startswith(("application/json", "text/event-stream")), r.headers
        answer = client.post(CHAT, json=ask("Which food is made from milk?"))
        assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"]
    assert sum(statuses.values()) >= 100 and len(statuses) >= 3, statuses
    assert all(p.resolve().parent == docs.resolve() for p in docs.rglob("*"))
