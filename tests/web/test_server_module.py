"""`ServerModule`: a module served over HTTP on 127.0.0.1 for real, called through it (JSON in and out,
streamed text as NDJSON, the module's failure raised by the caller), behind the Host/Origin guard."""

import pytest

pytest.importorskip("fastapi", reason="needs ragjet[web]")
import httpx  # noqa: E402

import ragjet as lazyllm  # noqa: E402
from ragjet.web.server_module import ServerModuleError  # noqa: E402


@pytest.fixture
def served():
    modules = []

    def serve(*args, **kw):
        module = lazyllm.ServerModule(*args, **kw).start()
        modules.append(module)
        return module
    yield serve
    for module in modules:
        module.stop()


def words(text):
    for word in text.split():
        yield word + " "


def test_a_served_module_answers_through_http(served):
    module = served(lambda x, y=1: {"x": x, "y": y})
    assert module.url.startswith("http://127.0.0.1:") and module("hi", y=3) == {"x": "hi", "y": 3}
    client = lazyllm.ServerModule(url=module.url)
    assert client("again") == {"x": "again", "y": 1}
    assert served(lambda x: x.upper(), pre=lambda x: x + "!", post=lambda x: [x])("hey") == ["HEY!"]


def test_streamed_text_arrives_piece_by_piece(served):
    assert list(served(words, stream=True)("a b c")) == ["a ", "b ", "c "]
    assert served(words)("a b c") == "a b c "


def test_a_flow_is_served_and_is_a_step_of_another(served):
    with lazyllm.pipeline() as inner:
        inner.strip = str.strip
        inner.title = str.title
    with lazyllm.pipeline() as outer:
        outer.remote = served(inner)
        outer.mark = lambda s: f"<{s}>"
    assert outer("  hello world ") == "<Hello World>"


def test_failures_are_raised_by_the_caller_with_the_modules_error(served):
    with pytest.raises(ServerModuleError, match="ZeroDivisionError: division by zero"):
        served(lambda x: 1 / 0)(1)
    with pytest.raises(ServerModuleError, match="returned a object, which is not JSON"):
        served(lambda x: object())(1)
    with pytest.raises(TypeError, match="sends its input as JSON"):
        served(lambda x: x)(object())
    with pytest.raises(TypeError, match="a module to serve, or the url"):
        lazyllm.ServerModule()


def test_the_server_refuses_what_a_web_page_could_send(served):
    module = served(lambda x: x)
    assert httpx.post(module.url + "/generate", content='{"args": [1]}',
                      headers={"content-type": "text/plain"}).status_code == 415
    assert httpx.post(module.url + "/generate", json={"args": [1]},
                      headers={"host": "attacker.example"}).status_code == 403
    assert httpx.post(module.url + "/generate", json={"args": [1]},
                      headers={"origin": "http://evil.example"}).status_code == 403
    assert httpx.post(module.url + "/generate", content="not json",
                      headers={"content-type": "application/json"}).status_code == 400
    assert httpx.post(module.url + "/generate", json={"args": [1]}).json() == {"output": 1}


def test_missing_web_extra_names_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(ImportError, match=r"ragjet\[web\]"):
        lazyllm.ServerModule(lambda x: x).start()


