"""The chat page in a real browser: Debian's chromium driven by Playwright (``scripts/install-browser.sh``).

A question is typed, its answer is seen growing token by token, then its sources; the stop button ends an
endless answer (and the server stops generating it); a pipeline error is shown on the page; the little
Markdown the page renders cannot inject markup; a queued question shows its place, and the sources an answer
cited are marked; the page's content security policy blocks nothing it does."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: run scripts/install-browser.sh (apt chromium + fonts-wqy-microhei)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing: pip install 'ragjet[dev]'")
pytest.importorskip("fastapi")

from test_web import WAIT_S, QueuedModel, SlowAnswers, answering_flow, citing_flow  # noqa: E402

from ragjet.web import WebModule  # noqa: E402

TIMEOUT_MS = WAIT_S * 1000
QUESTION = "Which food is made from milk? 奶酪是用什么做的？"
ANSWER = ".message.assistant .text"


@pytest.fixture
def answers() -> SlowAnswers:
    return SlowAnswers(delay=0.15)


def browse(flow, title: str) -> Iterator["sync_api.Page"]:
    with WebModule(flow, title=title) as web, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            page.goto(web.url)
            yield page
            # the page works under its own Content-Security-Policy: nothing it does is blocked
            assert not [m for m in console if "Content Security Policy" in m], console
        finally:
            browser.close()


@pytest.fixture
def page(corpus: Path, answers: SlowAnswers) -> Iterator["sync_api.Page"]:
    yield from browse(answering_flow(corpus, answers), "ragjet 问答")


@pytest.fixture
def model() -> QueuedModel:
    return QueuedModel("Mars is called the red planet [1].")


@pytest.fixture
def citing_page(corpus: Path, model: QueuedModel) -> Iterator["sync_api.Page"]:
    yield from browse(citing_flow(corpus, model), "ragjet")


def ask(page: "sync_api.Page", question: str) -> None:
    page.fill("#question", question)
    page.press("#question", "Enter")


def text_longer_than(page: "sync_api.Page", length: int) -> str:
    """Wait until the last answer holds more than ``length`` characters; return its text."""
    page.wait_for_function(f"n => [...document.querySelectorAll('{ANSWER}')].pop().textContent.length > n",
                           arg=length)
    return page.locator(ANSWER).last.text_content()


def test_tokens_stream_in_then_sources_show(page):
    assert page.title() == "ragjet 问答"
    ask(page, QUESTION)
    first = text_longer_than(page, 0)
    assert page.locator(".message.assistant.streaming").count() == 1  # still being written
    assert page.locator("#send").text_content() == "Stop"
    second = text_longer_than(page, len(first))
    assert second.startswith(first)
    page.wait_for_selector(".message.assistant .sources .source")
    final = page.locator(ANSWER).last.text_content()
    assert final == f"Found 1 passages about: {QUESTION} "
    assert len(final) > len(second)
    assert page.locator(".message.assistant.streaming").count() == 0
    source = page.locator(".source").first
    assert source.locator(".file").text_content() == "[1] food.txt"
    assert source.locator(".score").text_content().startswith("score ")
    assert "Cheese is made from milk" in source.locator(".snippet").text_content()
    assert page.locator(".message.user .bubble").last.text_content() == QUESTION


def test_stop_button_error_and_conversation(page, answers):
    ask(page, "endless")
    text_longer_than(page, 10)
    page.click("#send")  # now the stop button
    page.wait_for_selector(".message.assistant .stopped")
    assert answers.closed.wait(WAIT_S)  # the server stopped generating, too
    assert page.locator("#send").text_content() == "Send"

    ask(page, "fail")
    error = page.wait_for_selector(".message.assistant .error")
    assert "the server failed to answer (error " in error.text_content()  # its internals stay in the log

    risky = "Which **planet** is `red`? <img src=x onerror=alert(1)>"
    ask(page, risky)
    page.wait_for_selector(".message.assistant:nth-last-child(1) .sources")
    answer = page.locator(ANSWER).last
    assert answer.locator("strong").text_content() == "planet"
    assert answer.locator("code").text_content() == "red"
    assert answer.locator("img").count() == 0 and "<img src=x" in answer.text_content()
    assert [u.text_content() for u in page.locator(".message.user .bubble").all()] == ["endless", "fail", risky]
    assert page.locator(".message.assistant").count() == 3


def test_a_queued_question_shows_its_place_then_the_cited_source(citing_page, model):
    hold, release = threading.Event(), threading.Event()

    def occupy():
        with model.turns.turn():
            hold.set()
            release.wait(WAIT_S)

    worker = threading.Thread(target=occupy)
    worker.start()
    try:
        assert hold.wait(WAIT_S)
        ask(citing_page, "cheese Mars")
        queued = citing_page.wait_for_selector(".message.assistant .queued")
        assert queued.text_content() == "Waiting for the model: 1 request ahead of yours…"
    finally:
        release.set()
        worker.join(WAIT_S)
    citing_page.wait_for_selector(".message.assistant .sources .source")
    assert citing_page.locator(".queued").count() == 0
    assert citing_page.locator(ANSWER).last.text_content().startswith("Mars is called the red planet [1].")
    assert citing_page.locator(".sources summary").text_content() == "Sources (2, 1 cited)"
    cited = citing_page.locator(".source.cited")
    assert cited.count() == 1 and cited.locator(".file").text_content() == "[1] space.mdcited"


def test_an_answer_no_source_sentence_supports_is_flagged_and_has_no_quote(citing_page, model):
    model.answer = "Zebras dance happily."  # no name or number to call invented, and no sentence shares a word
    ask(citing_page, "cheese Mars")
    citing_page.wait_for_selector(".message.assistant .sources .source")
    bubble = citing_page.locator(".message.assistant .bubble").last
    assert bubble.locator(".ungrounded-flag").text_content() == "⚠ not found in the sources"
    assert bubble.locator(".evidence").count() == 0
    assert "no sentence of the answer's sources" in bubble.locator(".notice").last.text_content()


def test_the_sentence_an_answer_rests_on_is_quoted_under_it(citing_page, model):
    model.answer = "It is called the red planet."
    ask(citing_page, "cheese Mars")
    citing_page.wait_for_selector(".message.assistant .sources .source")
    quote = citing_page.locator(".message.assistant .bubble .evidence").last
    assert quote.text_content() == "From [1]: “Mars is called the red planet.”"


def test_an_answer_naming_what_no_source_holds_is_flagged_on_the_page(citing_page, model):
    model.answer = "Mars was named by Zorblax Quimby in 1777."
    ask(citing_page, "cheese Mars")
    citing_page.wait_for_selector(".message.assistant .sources .source")
    bubble = citing_page.locator(".message.assistant .bubble").last
    assert "ungrounded" in bubble.get_attribute("class")
    assert bubble.locator(".ungrounded-flag").text_content() == "⚠ not found in the sources"
    assert "Quimby, 1777" in bubble.locator(".notice").last.text_content()
