"""LazyLLM's prompters on ragjet: `Prompter` and `AlpacaPrompter` with the examples of LazyLLM 1.4's docstrings
(their outputs, less LazyLLM's "You are an AI-Agent developed by LazyLLM." preamble and the Alpaca wording
LazyLLM reworded: ragjet uses Stanford Alpaca's), and `ChatPrompter`'s lone slot filled by a plain input."""
import json

import pytest

import ragjet as lazyllm
from ragjet.models.alpaca_prompter import ALPACA_PREAMBLE

BLOCK = ALPACA_PREAMBLE + "\n\n### Instruction:\n"


def test_prompter_fills_its_one_key_from_a_string_or_a_dict():
    p = lazyllm.Prompter(prompt="Answer the following: {question}")
    assert p.generate_prompt("What is AI?") == "Answer the following: What is AI?"
    assert p.generate_prompt({"question": "Define machine learning"}) == "Answer the following: Define machine learning"


def test_prompter_puts_history_in_its_chat_prompt():
    p = lazyllm.Prompter(prompt="Instruction: {instruction}",
                         chat_prompt="Instruction: {instruction}\nHistory:\n{llm_chat_history}",
                         history_symbol="llm_chat_history", eoa="</s>", eoh="|")
    text = p.generate_prompt(input={"instruction": "Translate this."},
                             history=[["hello", "你好"], ["how are you", "你好吗"]])
    assert text == "Instruction: Translate this.\nHistory:\nhello|你好</s>how are you|你好吗"
    assert p.generate_prompt({"instruction": "Translate this."}) == "Instruction: Translate this."


def test_prompter_from_dict_file_and_template_and_its_response(tmp_path):
    conf = {"prompt": "Task: {task}", "response_split": "---"}
    p = lazyllm.Prompter.from_dict(conf)
    assert p.generate_prompt("Summarize this article.") == "Task: Summarize this article."
    assert p.get_response("Task: Summarize this article.---This is the summary.") == "This is the summary."
    (tmp_path / "prompt.json").write_text(json.dumps(conf))
    assert lazyllm.Prompter.from_file(tmp_path / "prompt.json").generate_prompt("x") == "Task: x"
    alpaca = lazyllm.Prompter.from_template("alpaca").generate_prompt(dict(instruction="Add", input="2 and 2"))
    assert "### Instruction:\nAdd\n\n### Input:\n2 and 2\n\n### Response:\n" in alpaca
    assert lazyllm.Prompter.empty().generate_prompt("as it is") == "as it is"


def test_prompter_bad_input_names_the_keys():
    with pytest.raises(KeyError, match=r"\['b'\]"):
        lazyllm.Prompter("{a} and {b}").generate_prompt({"a": 1})
    with pytest.raises(ValueError, match=r"has the keys \['a', 'b'\]: give a dict"):
        lazyllm.Prompter("{a} and {b}").generate_prompt("one string")
    with pytest.raises(ValueError, match="unknown prompt template 'vicuna'; known: alpaca"):
        lazyllm.Prompter.from_template("vicuna")
    with pytest.raises(ValueError, match="chat_prompt must name"):
        lazyllm.Prompter("{a}", chat_prompt="{a} {b}")


def test_a_chat_model_receives_the_filled_template_as_its_user_message():
    p = lazyllm.Prompter("Q: {question}\nA:")
    assert p.messages("Why?") == [{"role": "user", "content": "Q: Why?\nA:"}]


def test_alpaca_prompter_examples():
    p = lazyllm.AlpacaPrompter("hello world {instruction}")
    assert p.generate_prompt("this is my input") == BLOCK + "hello world this is my input\n\n### Response:\n"
    assert p.generate_prompt("this is my input", return_dict=True) == {"messages": [
        {"role": "system", "content": BLOCK + "hello world this is my input"}, {"role": "user", "content": ""}]}
    p = lazyllm.AlpacaPrompter("hello world {instruction}, {input}", extra_keys=["knowledge"])
    text = p.generate_prompt(dict(instruction="hello world", input="my input", knowledge="lazyllm"))
    assert text == (BLOCK + "hello world hello world, my input\n\nHere are some extra messages you can referred "
                    "to:\n\n### knowledge:\nlazyllm\n\n### Response:\n")
    p = lazyllm.AlpacaPrompter(dict(system="hello world", user="this is user instruction {input}"))
    assert p.generate_prompt(dict(input="my input"), return_dict=True) == {"messages": [
        {"role": "system", "content": BLOCK + "hello world"},
        {"role": "user", "content": "this is user instruction my input"}]}


def test_alpaca_prompter_refuses_history():
    with pytest.raises(ValueError, match="no conversation history"):
        lazyllm.AlpacaPrompter("Sum up.").generate_prompt("text", history=[["q", "a"]])


def test_chat_prompter_fills_its_one_slot_from_a_plain_input():
    p = lazyllm.ChatPrompter("hello world {instruction}")
    assert p.generate_prompt("this is my input", return_dict=True) == {"messages": [
        {"role": "system", "content": "hello world this is my input"}, {"role": "user", "content": ""}]}
    p = lazyllm.ChatPrompter(dict(system="hello world", user="this is user instruction {input}"))
    assert p.messages(dict(input="my input"))[1] == {"role": "user", "content": "this is user instruction my input"}


def test_the_prompter_paths_lazyllm_users_import():
    from ragjet.components import AlpacaPrompter, ChatPrompter, Prompter
    from ragjet.components.prompter import Prompter as P2

    assert (AlpacaPrompter, ChatPrompter, Prompter, P2) == (lazyllm.AlpacaPrompter, lazyllm.ChatPrompter,
                                                           lazyllm.Prompter, lazyllm.Prompter)
