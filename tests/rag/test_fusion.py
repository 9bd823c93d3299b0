"""Hybrid retrieval: RRF and weighted fusion, as a function, a flow step and one Retriever."""
from __future__ import annotations

import pytest

from ragjet import Document, Retriever, bind, parallel, pipeline
from ragjet.rag.doc_node import DocNode
from ragjet.rag.fusion import fuse


def _route(*pairs: tuple[str, float]) -> list[DocNode]:
    return [DocNode(uid=uid, text=uid).with_score(score) for uid, score in pairs]


def _uids(nodes: list[DocNode]) -> list[str]:
    return [n.uid for n in nodes]


DENSE = _route(("a", 0.9), ("b", 0.8), ("c", 0.5), ("d", 0.1))
LEXICAL = _route(("b", 12.0), ("e", 7.0), ("a", 2.0))


def test_rrf_order_on_a_hand_made_example():
    fused = fuse(DENSE, LEXICAL)
    # b: 1/62 + 1/61, a: 1/61 + 1/63, e: 1/62, c: 1/63, d: 1/64
    assert _uids(fused) == ["b", "a", "e", "c", "d"]
    assert fused[0].similarity_score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[2].similarity_score == pytest.approx(1 / 62)
    assert _uids(fuse(DENSE, LEXICAL, k=0, topk=2)) == ["b", "a"]  # 1/2 + 1 > 1 + 1/3
    assert _uids(fuse(DENSE, LEXICAL, weights=[1, 0])) == ["a", "b", "c", "d", "e"]
    assert _uids(fuse(DENSE, LEXICAL, weights=[0, 1]))[:3] == ["b", "e", "a"]
    assert DENSE[1].similarity_score == 0.8  # inputs untouched: results are copies


def test_weighted_fusion_normalises_each_route():
    fused = fuse(DENSE, LEXICAL, method="weighted")
    # dense: a 1, b .875, c .5, d 0; lexical: b 1, e .5, a 0
    assert _uids(fused) == ["b", "a", "c", "e", "d"]
    assert [round(n.similarity_score, 4) for n in fused] == [1.875, 1.0, 0.5, 0.5, 0.0]
    assert _uids(fuse(DENSE, LEXICAL, method="weighted", weights=[0.2, 0.8], topk=2)) == ["b", "e"]
    same = _route(("x", 3.0), ("y", 3.0))
    assert [n.similarity_score for n in fuse(same, method="weighted")] == [1.0, 1.0]


def test_fuse_accepts_every_parallel_output_shape_and_checks_its_input():
    expected = _uids(fuse(DENSE, LEXICAL))
    assert _uids(fuse((DENSE, LEXICAL))) == _uids(fuse([DENSE, LEXICAL])) == expected
    assert _uids(fuse(DENSE)) == _uids(DENSE) and fuse() == [] and fuse(([], [])) == []
    with pytest.raises(ValueError, match="unknown fusion method 'max'"):
        fuse(DENSE, LEXICAL, method="max")
    with pytest.raises(ValueError, match="2 routes"):
        fuse(DENSE, LEXICAL, weights=[1.0])
    with pytest.raises(TypeError, match="output_format=None"):
        fuse(["some text"], DENSE)
    with pytest.raises(ValueError, match="method='rrf'"):
        fuse([DocNode(uid="z", text="z")], method="weighted")


@pytest.fixture
def doc(corpus, counting_embed):
    d = Document(corpus, embed=counting_embed)
    d.create_node_group("sentence", parent="MediumChunk", transform=lambda x: x.split(". "))
    return d


QUERY = "which planet is red, and what do dogs do"


def test_retriever_with_several_similarities(doc):
    dense = Retriever(doc, "sentence", similarity="cosine", topk=50)(QUERY)
    lexical = Retriever(doc, "sentence", similarity="bm25", topk=50)(QUERY)
    hybrid = Retriever(doc, "sentence", similarity=["cosine", "bm25"], topk=3)(QUERY)
    assert _uids(hybrid) == _uids(fuse(dense, lexical, topk=3))
    assert {"Mars is called the red planet", "Dogs bark at strangers"} <= {n.text for n in hybrid}
    weighted = Retriever(doc, "sentence", similarity=["cosine", "bm25"], weights=[0.3, 0.7], fusion="weighted",
                         topk=4, output_format="content")(QUERY)
    assert weighted == [n.text for n in fuse(dense, lexical, method="weighted", weights=[0.3, 0.7], topk=4)]
    with pytest.raises(ValueError, match="unknown fusion"):
        Retriever(doc, "sentence", similarity=["cosine", "bm25"], fusion="sum")
    with pytest.raises(ValueError, match="one weight per route"):
        Retriever(doc, "sentence", similarity=["cosine", "bm25"], weights=[1.0])
    with pytest.raises(ValueError, match="cosin"):
        Retriever(doc, "sentence", similarity=["cosin", "bm25"])


def test_parallel_then_fuse_flow(doc):
    dense = Retriever(doc, "sentence", similarity="cosine", topk=50)
    lexical = Retriever(doc, "sentence", similarity="bm25", topk=50)
    with pipeline() as ppl:
        ppl.routes = parallel(dense, lexical).astuple
        ppl.fuse = fuse | bind(method="rrf", topk=3)
    spread = pipeline(parallel(dense, lexical), fuse | bind(topk=3))  # a parallel's default output is spread
    expected = _uids(Retriever(doc, "sentence", similarity=["cosine", "bm25"], topk=3)(QUERY))
    assert _uids(ppl(QUERY)) == _uids(spread(QUERY)) == expected
