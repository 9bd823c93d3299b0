"""The RAG chat's prompt: numbered passages with file names, rules in the question's language, citations
mapped back to the sources (the answer's own [n], or the passages an uncited answer was taken from)."""
import pytest

from ragjet.chat.prompt import RagPrompter, format_passages, instruction, numbered_context
from ragjet.flow.sources import collect_sources
from ragjet.text.citations import cited_numbers, overlap_numbers
from ragjet.rag.doc_node import DocNode


def node(uid: str, text: str, path: str) -> DocNode:
    return DocNode(uid=uid, text=text, global_metadata={"file_path": path})


NODES = [node("a", "The map store keeps every node\nin memory.", "/docs/01-stores.md"),
         node("b", "Milvus brings HNSW indexes.", "/docs/03-indexes.md"),
         node("a", "The map store keeps every node\nin memory.", "/docs/01-stores.md")]


def test_passages_are_numbered_with_their_file_names_one_line_each():
    context = numbered_context(NODES, "Which store is in memory?")
    assert context["query"] == "Which store is in memory?"
    assert context["context_str"] == ("[1] (01-stores.md)\nThe map store keeps every node in memory.\n\n"
                                      "[2] (03-indexes.md)\nMilvus brings HNSW indexes.")  # duplicate dropped
    assert format_passages([DocNode(text="made by hand")]) == "[1] (document)\nmade by hand"


def test_the_rules_are_written_in_the_questions_language():
    prompter = RagPrompter()
    context = format_passages(NODES[:2])
    en = prompter.render({"query": "Which store is in memory?", "context_str": context})
    assert [m["role"] for m in en] == ["system", "user"]
    assert "in English" in en[0]["content"] and "only the passages" in en[0]["content"]
    assert "do not contain the answer" in en[0]["content"]
    assert en[1]["content"] == f"Passages:\n{context}\n\nQuestion: Which store is in memory?"
    zh = prompter.render({"query": "哪种存储把节点放在内存中？", "context_str": context})
    assert "用中文" in zh[0]["content"] and "没有答案" in zh[0]["content"]
    assert zh[1]["content"].startswith("段落：\n[1] (01-stores.md)") and zh[1]["content"].endswith("问题：哪种存储把节点放在内存中？")
    mixed = prompter.render({"query": "Milvus 的索引是什么？", "context_str": context})  # Chinese with a Latin name
    assert "用中文" in mixed[0]["content"]


def test_short_style_asks_for_the_phrase_and_unknown_styles_are_refused():
    en, zh = instruction("en", "short"), instruction("zh", "short")
    assert en["user"].startswith("Passages:\n{context_str}\n\n") and en["user"].endswith("\n\nQuestion: {query}")
    assert "shortest phrase" in en["user"] and "do not contain" not in en["user"] + en["system"]
    assert "最短" in zh["user"] and zh["user"].endswith("问题：{query}")
    with pytest.raises(ValueError, match="styles: brief, short"):
        RagPrompter("long")


def test_two_questions_over_the_same_passages_share_the_prompt_prefix():
    prompter, context = RagPrompter(), format_passages(NODES[:2])
    a = prompter.render({"query": "Which store is in memory?", "context_str": context})
    b = prompter.render({"query": "What does Milvus bring?", "context_str": context})
    assert a[0] == b[0] and a[1]["content"].split("Question:")[0] == b[1]["content"].split("Question:")[0]


def test_citations_in_the_answer_map_to_the_numbered_sources():
    with collect_sources() as sources:
        numbered_context(NODES, "q")
    assert [n.uid for n in sources.nodes] == ["a", "b"] and sources.numbered
    assert sources.citations("It is the map store [1], not Milvus [2][9].") == ([1, 2], "answer")
    assert cited_numbers("see [1, 2], [1-3] and 【2】", 3) == [1, 2, 3]
    # an answer without [n]: the passages holding most of its words
    assert sources.citations("The map store keeps every node in memory.") == ([1], "overlap")
    assert sources.citations("The documents do not contain the answer.") == ([], "overlap")


def test_without_a_numbering_step_there_are_no_citations():
    with collect_sources() as sources:
        pass
    assert sources.citations("anything [1]") == (None, None)


def test_overlap_attribution_reads_chinese_by_character_pairs():
    passages = ["第二次启动时文件没有变化，所以什么都不应该重做。", "Milvus 自带 HNSW 索引。"]
    assert overlap_numbers("第二次启动时什么都不用重做。", passages) == [1]
    assert overlap_numbers("Milvus 自带 HNSW 索引", passages) == [2]
    assert overlap_numbers("", passages) == []


def test_an_opening_about_the_passages_does_not_hide_where_the_answer_came_from():
    passages = ["The map store keeps every node in memory.", "Enterprise deployments usually pick Milvus."]
    answer = "Based on the information provided in the passages, enterprise deployments typically pick Milvus."
    assert overlap_numbers(answer, passages) == [2]
    assert overlap_numbers("根据提供的文档，企业部署通常选择 Milvus。", ["企业部署通常选择 Milvus。"]) == [1]
    assert overlap_numbers("Based on the weather, nothing here.", passages) == []
