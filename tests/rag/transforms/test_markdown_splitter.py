"""MarkdownSplitter: LazyLLM 1.4's heading sections, kept blocks and metadata, sized like SentenceSplitter."""
from __future__ import annotations

import re

import pytest

from ragjet.rag.doc_node import DocNode, MetadataMode
from ragjet.rag.transforms import TRANSFORMS, MarkdownSplitter, Section, approx_token_counts
from ragjet.rag.transforms.markdown_splitter import heading_of

# From LazyLLM's tests/basic_tests/RAG/test_transform.py (TestMarkdownSplitter.test_split_markdown_by_semantics)
HEADINGS = "\n\n# 标题1\n内容A\n\n## 标题2\n内容B\n\n### 标题3\n内容C\n\n# 标题4\n内容D\n内容E"

MIXED = ("# Title\nSome text here.\n\n## Sub\nMore text.\n\n```python\nprint(1)\n# not heading\n```\n\n"
         "| a | b |\n|---|---|\n| 1 | 2 |\n")


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_heading_paths_and_contents_as_lazyllm_tests_expect():
    chunks = MarkdownSplitter(chunk_size=30, overlap=10, keep_trace=True, keep_headers=True).split_text(HEADINGS)
    assert [c.text for c in chunks] == ["内容A", "内容B", "内容C", "内容D\n内容E"]
    assert [c.metadata["path"] for c in chunks] == [["标题1"], ["标题1", "标题2"], ["标题1", "标题2", "标题3"],
                                                    ["标题4"]]
    assert [c.metadata["header"] for c in chunks] == ["标题1", "标题2", "标题3", "标题4"]
    assert [c.metadata["level"] for c in chunks] == [1, 2, 3, 1]
    assert all(c.metadata["type"] == "content" for c in chunks)


def test_heading_levels_as_lazyllm_tests_expect():
    # LazyLLM's test_get_heading_level cases
    assert heading_of("# 标题1") == (1, "标题1")
    assert heading_of("## 标题2") == (2, "标题2")
    assert heading_of("普通文本") is None
    assert heading_of("####### 非法标题") is None
    assert heading_of("## ### 这其实是标题文字") == (2, "### 这其实是标题文字")
    assert heading_of("## Setup ##") == (2, "Setup")


def test_kept_code_blocks_and_tables_match_lazyllm():
    # verified by running LazyLLM 1.4 (MarkdownSplitter(chunk_size=300, overlap=0, keep_headers=True,
    # keep_trace=True, keep_code_blocks=True, keep_tables=True)) on MIXED in /tmp/lazyvenv
    chunks = MarkdownSplitter(chunk_size=300, overlap=0, keep_headers=True, keep_trace=True,
                              keep_code_blocks=True, keep_tables=True).split_text(MIXED)
    assert [(c.text, c.metadata["type"], c.metadata["path"]) for c in chunks] == [
        ("Some text here.", "content", ["Title"]),
        ("More text.", "content", ["Title", "Sub"]),
        ("print(1)\n# not heading", "python", ["Title", "Sub"]),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "table", ["Title", "Sub"]),
    ]
    assert all(c.metadata["token_size"] == approx_token_counts([c.text])[0] for c in chunks)


def test_a_heading_no_metadata_records_stays_in_the_text():
    """LazyLLM drops the heading line from every chunk even when no metadata keeps it; ragjet keeps it."""
    chunks = MarkdownSplitter(chunk_size=300, overlap=0).split_text(MIXED)
    assert chunks[0].text == "# Title\nSome text here."
    assert chunks[1].text.startswith("## Sub\nMore text.")
    assert "path" not in chunks[0].metadata and "header" not in chunks[0].metadata
    assert _flat("".join(c.text for c in chunks)) == _flat(MIXED)


def test_bookkeeping_metadata_is_hidden_from_the_embedder():
    chunk = MarkdownSplitter(chunk_size=300, overlap=0, keep_trace=True).split_text(MIXED)[0]
    shown = chunk.get_metadata_str(MetadataMode.EMBED)
    assert "path" in shown and "token_size" not in shown and "level" not in shown


def test_an_oversized_code_block_is_cut_by_lines_and_no_chunk_exceeds_chunk_size():
    code = "".join(f"value_{i} = compute_something(argument_{i}, other_{i})\n" for i in range(60))
    text = f"# Code\nIntro sentence. Another one.\n\n```python\n{code}```\nAfter the code.\n"
    chunks = MarkdownSplitter(chunk_size=40, overlap=0, keep_code_blocks=True).split_text(text)
    code_chunks = [c for c in chunks if c.metadata["type"] == "python"]
    assert len(code_chunks) > 1
    assert all(line.startswith("value_") for c in code_chunks for line in c.text.split("\n"))
    assert max(approx_token_counts([c.text for c in chunks])) <= 40
    assert _flat("".join(c.text for c in chunks)) == _flat(text.replace("```python", "").replace("```", ""))


def test_hashes_inside_code_are_not_headings():
    chunks = MarkdownSplitter(chunk_size=200, overlap=0, keep_trace=True).split_text(
        "# Real\ntext\n```sh\n# a shell comment\n```\n")
    assert [c.metadata["path"] for c in chunks] == [["Real"]]


def test_links_and_images_are_never_cut_inside():
    text = "See [the Mt. Jade docs](https://x.y/a) and ![Mt. Jade](jade.png). More words here."
    kept = MarkdownSplitter(keep_links=True, keep_images=True)._cut(Section(text))
    assert kept == ["See [the Mt. Jade docs](https://x.y/a) and ![Mt. Jade](jade.png). ", "More words here."]
    cut = MarkdownSplitter()._cut(Section(text))  # "Mt. Jade" reads as a sentence end
    assert cut[0] == "See [the Mt. "
    chunks = MarkdownSplitter(chunk_size=60, overlap=0, keep_links=True, keep_images=True).split_text(text)
    assert [c.text for c in chunks] == [text]


def test_lists_kept_as_chunks_of_their_own():
    text = "Intro.\n\n- one\n- two\n  continued\n- three\n\nOutro."
    chunks = MarkdownSplitter(chunk_size=200, overlap=0, keep_lists=True).split_text(text)
    assert [(c.text, c.metadata["type"]) for c in chunks] == [
        ("Intro.", "content"), ("- one\n- two\n  continued\n- three", "list"), ("Outro.", "content")]


def test_metadata_size_and_transform():
    splitter = MarkdownSplitter(chunk_size=60, overlap=0, keep_headers=True)
    assert TRANSFORMS.get("MarkdownSplitter") is MarkdownSplitter
    long = "# H\n" + "A sentence of several words. " * 30
    assert max(approx_token_counts([c.text for c in splitter.split_text(long, metadata_size=20)])) <= 40
    node = DocNode(uid="p", text=HEADINGS)
    kids = splitter(node)
    assert [k.metadata["header"] for k in kids] == ["标题1", "标题2", "标题3", "标题4"]
    assert all(k.parent is node for k in kids)
    assert splitter.split_text("") == []


def test_bad_arguments():
    with pytest.raises(ValueError, match="chunk_overlap must satisfy"):
        MarkdownSplitter(chunk_size=100, overlap=100)
    with pytest.raises(TypeError, match="not both"):
        MarkdownSplitter(chunk_overlap=10, overlap=20)
    with pytest.raises(ValueError, match="leaves no room"):
        MarkdownSplitter(chunk_size=100, overlap=0).split_text("x", metadata_size=100)
    assert "keep_trace=True" in MarkdownSplitter(keep_trace=True).identity()


def test_node_groups_by_name_dict_and_transform_args(tmp_path):
    import ragjet
    from ragjet.rag.transforms import TransformArgs

    (tmp_path / "a.md").write_text("# Install\nRun pip install.\n\n# Usage\nCall the tool.\n")
    doc = ragjet.Document(tmp_path)
    doc.create_node_group("md", transform="MarkdownSplitter", chunk_size=64, chunk_overlap=0, keep_trace=True)
    doc.create_node_group("md_dict", transform=dict(f="MarkdownSplitter", kwargs=dict(chunk_size=64, overlap=0)))
    doc.create_node_group("md_args", transform=TransformArgs(f=MarkdownSplitter, kwargs={"chunk_size": 64,
                                                                                        "overlap": 0}))
    nodes = ragjet.Retriever(doc, "md", similarity="bm25", topk=1)("usage tool")
    for group in ("md_dict", "md_args"):  # a group is built when a retriever first reads it
        ragjet.Retriever(doc, group, similarity="bm25", topk=1)("usage")
    assert nodes[0].text == "Call the tool." and nodes[0].metadata["path"] == ["Usage"]
    assert sorted(n.text for n in doc.store.get_nodes("md_dict")) == ["# Install\nRun pip install.",
                                                                      "# Usage\nCall the tool."]
    assert len(doc.store.get_nodes("md_args")) == 2
