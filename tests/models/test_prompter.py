"""ChatPrompter: the lecture's instruction with {context_str}, plain-string input, history, missing keys."""
import pytest

import ragjet as lazyllm
from ragjet.models.chat_module import ChatModule

LECTURE_PROMPT = ("You are a friendly AI assistant; answer from the given context and question. "
                  "Answer using this material: {context_str} \n")


def test_lecture_prompter_fills_context_and_query():
    prompter = lazyllm.ChatPrompter(instruction=LECTURE_PROMPT, extro_keys=["context_str"])
    messages = prompter.messages({"query": "What is a trie?", "context_str": "A trie is a prefix tree."})
    assert messages == [
        {"role": "system", "content": LECTURE_PROMPT.replace("{context_str}", "A trie is a prefix tree.")},
        {"role": "user", "content": "What is a trie?"},
    ]


def test_plain_string_input_leaves_extra_keys_empty():
    prompter = lazyllm.ChatPrompter("Context: [{context_str}]", extra_keys=["context_str"])
    assert prompter.messages("hi") == [{"role": "system", "content": "Context: []"},
                                       {"role": "user", "content": "hi"}]


def test_missing_keys_are_named():
    prompter = lazyllm.ChatPrompter("{context_str}{sources}", extra_keys=["context_str", "sources"])
    with pytest.raises(KeyError, match=r"\['query', 'sources'\]"):
        prompter.messages({"context_str": "x"})


def test_history_pairs_and_messages_keep_order():
    prompter = lazyllm.ChatPrompter("sys", history=[["hello", "hi there"]])
    messages = prompter.messages("and now?", history=[{"role": "user", "content": "q1"},
                                                      {"role": "assistant", "content": "a1"}])
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert [m["content"] for m in messages][1:] == ["hello", "hi there", "q1", "a1", "and now?"]


def test_only_known_placeholders_are_replaced():
    prompter = lazyllm.ChatPrompter('Reply as JSON {"answer": ...}. Context: {context_str}',
                                    extra_keys=["context_str"])
    system = prompter.messages({"query": "q", "context_str": "says {query}"})[0]["content"]
    assert system == 'Reply as JSON {"answer": ...}. Context: says {query}'


def test_dict_instruction_and_unnamed_extra_key_appended():
    prompter = lazyllm.ChatPrompter({"system": "Be brief.", "user": "Question: {query}"}, extra_keys=["context_str"])
    system, user = prompter.messages({"query": "why?", "context_str": "because"})
    assert system["content"] == "Be brief.\n\nHere are some extra messages you can referred to:\n\n### context_str:\nbecause"
    assert user["content"] == "Question: why?"


def test_no_instruction_gives_only_the_user_message():
    assert lazyllm.ChatPrompter().messages("hello") == [{"role": "user", "content": "hello"}]
    with pytest.raises(TypeError, match="not both"):
        lazyllm.ChatPrompter("x", extra_keys=["a"], extro_keys=["a"])


class Echo(ChatModule):
    """A chat model answering with its prompt, word by word: checks prompt(), call and stream wiring."""

    def _chat(self, input, history, stream, **kw):
        words = " ".join(m["content"] for m in self.prompter.messages(input, history)).split()
        return iter([w + " " for w in words])


def test_chat_module_prompt_call_and_stream():
    llm = Echo()
    assert llm.prompt(lazyllm.ChatPrompter("ctx: {context_str}", extra_keys=["context_str"])) is llm
    assert llm({"query": "q?", "context_str": "c"}) == "ctx: c q? "
    assert list(Echo(stream=True)("one two")) == ["one ", "two "]


def test_lazyllm_s_documented_chat_prompter_example():
    """LazyLLM's docs: `{instruction}` is filled from the input dict and the key left over is the user's input
    (before, `{instruction}` stayed literal and the call needed a 'query' key); `generate_prompt` exists."""
    prompter = lazyllm.ChatPrompter("hello world {instruction}", extra_keys=["knowledge"])
    given = dict(instruction="this is instruction", input="this is my input", knowledge="LazyLLM-Knowledge")
    prompt = prompter.generate_prompt(given, return_dict=True)
    assert prompt == {"messages": [
        {"role": "system", "content": "hello world this is instruction\n\nHere are some extra messages you can "
                                      "referred to:\n\n### knowledge:\nLazyLLM-Knowledge"},
        {"role": "user", "content": "this is my input"}]}
    text = prompter.generate_prompt(given, history=[["hi", "hello"]])
    assert text.index("hello world this is instruction") < text.index("user:\nhi") < text.index("this is my input")
    assert text.endswith("assistant:\n")
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert lazyllm.ChatPrompter("x").generate_prompt("q", tools=tools, return_dict=True)["tools"] == tools


def test_a_model_that_cannot_run_here_still_renders_its_prompt():
    """LazyLLM programs render with ``llm._prompt.generate_prompt(...)``, a GPU-only or unknown model too."""
    import ragjet as lazyllm

    for name in ("internlm2-chat-20b", "no-such-model-anywhere"):
        llm = lazyllm.TrainableModule(name).prompt(lazyllm.ChatPrompter("Answer briefly.", extra_keys=["context_str"]))
        text = llm._prompt.generate_prompt({"query": "where is it?", "context_str": "Chinatown"})
        assert "Answer briefly." in text and "Chinatown" in text and "where is it?" in text
    assert lazyllm.TrainableModule("no-such-model-anywhere")._prompt.generate_prompt("hi").strip()
