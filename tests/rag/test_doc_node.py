import json

import pytest

from ragjet.rag.doc_node import DocNode, MetadataMode, make_uid
from ragjet.tools.rag.doc_node import MetadataMode as LectureMetadataMode


def test_lecture_import_path_is_the_same_enum():
    assert LectureMetadataMode is MetadataMode


def test_make_uid_is_deterministic_and_sensitive_to_every_part():
    assert make_uid("g", "p", 0, "text") == make_uid("g", "p", 0, "text")
    assert len({make_uid("g", "p", 0, "t"), make_uid("g", "p", 1, "t"), make_uid("h", "p", 0, "t"),
                make_uid("g", "q", 0, "t"), make_uid("g", "p", 0, "u")}) == 5


def test_lecture_attributes():
    node = DocNode(uid="u1", text="hello", group="words")
    assert (node._uid, node._group, node.text, node.uid, node.group) == ("u1", "words", "hello", "u1", "words")


def test_get_text_modes_respect_exclusions_and_hide_file_keys():
    node = DocNode(text="body", metadata={"author": "ann", "secret": "x"},
                   global_metadata={"file_path": "/a/b.txt", "topic": "t"},
                   excluded_embed_metadata_keys=["secret"], excluded_llm_metadata_keys=["author"])
    assert node.get_text() == "body" and node.get_text(MetadataMode.NONE) == "body"
    embed = node.get_text(MetadataMode.EMBED)
    assert "author: ann" in embed and "secret" not in embed and "file_path" not in embed and "topic: t" in embed
    llm = node.get_content()
    assert "author" not in llm and "secret: x" in llm and llm.endswith("body")
    assert "file_path: /a/b.txt" in node.get_text(MetadataMode.ALL)


def test_parent_children_and_shared_global_metadata():
    root = DocNode(uid="r", text="A. B.", group="root", global_metadata={"file_path": "/f.txt"})
    child = DocNode(uid="c", text="A.", group="s", parent=root)
    root.children["s"] = [child]
    assert child.parent is root and child.parent_uid == "r" and child.root() is root
    assert child.global_metadata is root.global_metadata and child.docpath == "/f.txt"


def test_with_score_copies_without_touching_the_stored_node():
    node = DocNode(uid="u", text="t", group="g", embedding={"default": [1.0]})
    scored = node.with_score(0.5)
    assert scored.similarity_score == 0.5 and node.similarity_score is None
    assert scored.uid == node.uid and scored.embedding is node.embedding


def test_nodes_are_light():
    import sys
    node = DocNode(uid="u" * 32, text="word", group="words")
    assert not hasattr(node, "__dict__")
    assert sys.getsizeof(node) < 200


def test_root_node_and_get_nodes_with_lazyllm_1_4_keywords(corpus):
    import ragjet

    doc = ragjet.Document(corpus)
    doc.create_node_group("sentence", parent="MediumChunk", transform=lambda t: t.split(". "))
    ragjet.Retriever(doc, "sentence", similarity="bm25", topk=1).start()
    nodes = doc.store.get_nodes(group="sentence")
    assert nodes and [n.uid for n in nodes] == [n.uid for n in doc.store.get_nodes("sentence")]
    node = nodes[0]
    assert node.root_node.group == "lazyllm_root" and node.root_node is node.parent.parent
    import pytest

    with pytest.raises(TypeError, match="get_nodes needs the group"):
        doc.store.get_nodes()


def test_a_json_node_is_its_json_and_the_embedder_reads_what_the_formatter_picks():
    from ragjet.rag.doc_node import JsonDocNode, MetadataMode

    value = {"key": "value", "nested": {"a": 1, "b": [1, 2]}, "名": "牛车水"}
    node = JsonDocNode(content=value, group="g", formatter_str="[key,nested]")
    assert node.text == json.dumps(value, ensure_ascii=False) and node.json_object is value
    assert node.get_content() == '["value", {"a": 1, "b": [1, 2]}]'
    assert node.get_content(MetadataMode.LLM) == node.text
    assert JsonDocNode(content=value, formatter_str="{key}").get_content() == '{"key": "value"}'
    assert JsonDocNode(content=value, formatter_str="[nested][b][0:1]").get_content() == "[1]"
    assert JsonDocNode(content=[{"id": 1}, {"id": 2}]).get_content() == '[{"id": 1}, {"id": 2}]'
    with pytest.raises(ValueError, match="must be JSON"):
        JsonDocNode(content={"x": object()})


def test_lazyllm_model_types_name_ragjet_roles():
    from ragjet.models.registry import LLMType
    from ragjet.models.trainable import build, resolve

    assert LLMType("embed") is LLMType.EMBED and LLMType.CHAT.role == "llm"
    spec = resolve("all-MiniLM-L6-v2")
    assert type(build(spec, LLMType.RERANK, {})).__name__ == "EmbeddingRerank"
    assert type(build(spec, "Embed", {})).__name__ == "LocalEmbedding"
