"""Reranker: order, scores, copies, de-duplication, output formats, the lecture's `| bind(query=ppl.input)`."""
import pytest

import ragjet as lazyllm
from conftest import needs_local_model
from ragjet.rag.doc_node import DocNode

TEXTS = ["Cats purr when they are content.", "The Moon orbits the Earth.", "Bread is baked from flour.",
         "Mars is called the red planet."]


class WordOverlap:
    """A rerank model scoring documents by the query words they contain (what a rerank module answers)."""

    def __init__(self):
        self.calls = []

    def __call__(self, text, documents, top_n=None):
        self.calls.append((text, list(documents), top_n))
        words = set(text.lower().split())
        scores = [len(words & set(d.lower().rstrip(".").split())) / len(words) for d in documents]
        order = sorted(range(len(documents)), key=lambda i: -scores[i])
        return [(i, scores[i]) for i in order][:top_n]


def nodes(texts=TEXTS):
    out = []
    for i, t in enumerate(texts):
        node = DocNode(text=t, group="g").with_score(1.0 - i / 10)
        out.append(node)
    return out


def test_module_reranker_orders_and_scores_copies():
    model = WordOverlap()
    candidates = nodes()
    top = lazyllm.Reranker("ModuleReranker", model=model, topk=2)(candidates, query="red moon")
    assert [n.text for n in top] == ["The Moon orbits the Earth.", "Mars is called the red planet."]
    assert [n.relevance_score for n in top] == [0.5, 0.5]
    top = lazyllm.Reranker("ModuleReranker", model=model, topk=2)(candidates, query="red planet")
    assert [n.text for n in top] == ["Mars is called the red planet.", "Cats purr when they are content."]
    assert [n.relevance_score for n in top] == [1.0, 0.0]
    assert top[0].similarity_score == pytest.approx(0.7)
    assert all(n.relevance_score is None for n in candidates)
    assert model.calls[0][2] == 2 and model.calls[0][0] == "red moon"


def test_duplicates_are_ranked_once_and_empty_input():
    model = WordOverlap()
    reranker = lazyllm.Reranker(model=model, topk=3)
    candidates = nodes()
    top = reranker(candidates + candidates[:2], "the moon")
    assert len(model.calls[0][1]) == len(TEXTS)
    assert len({n.uid for n in top}) == len(top) == 3
    assert reranker([], query="x") == []


def test_output_format_content_joined():
    reranker = lazyllm.Reranker(model=WordOverlap(), topk=2, output_format="content", join="\n")
    assert reranker(nodes(), query="red planet mars").startswith("Mars is called the red planet.\n")


def test_keyword_filter_and_unknown_name():
    kept = lazyllm.Reranker("KeywordFilter", topk=5, required_keys=["the "], exclude_keys=["moon"])(nodes(), "q")
    assert [n.text for n in kept] == ["Mars is called the red planet."]
    with pytest.raises(KeyError, match="ModuleReranker"):
        lazyllm.Reranker("NoSuch")
    with pytest.raises(ValueError, match="needs model"):
        lazyllm.Reranker("ModuleReranker")


def test_reranker_bound_to_pipeline_input():
    with lazyllm.pipeline() as ppl:
        ppl.retrieve = lambda query: nodes()
        ppl.reranker = lazyllm.Reranker(name="ModuleReranker", model=WordOverlap(), topk=1) | lazyllm.bind(
            query=ppl.input)
    assert [n.text for n in ppl("bread from flour")] == ["Bread is baked from flour."]


@needs_local_model
def test_minilm_rerank_module_and_reranker():
    model = lazyllm.TrainableModule("all-MiniLM-L6-v2", type="rerank")
    ranked = model(text="Which planet is called red?", documents=TEXTS, top_n=3)
    assert [i for i, _ in ranked][0] == 3
    scores = [s for _, s in ranked]
    assert len(ranked) == 3 and scores == sorted(scores, reverse=True) and -1 <= scores[-1] <= scores[0] <= 1
    top = lazyllm.Reranker("ModuleReranker", model=model, topk=2)(nodes(), query="What do cats do when happy?")
    assert top[0].text == TEXTS[0] and top[0].relevance_score == pytest.approx(dict(
        model(text="What do cats do when happy?", documents=TEXTS))[0], abs=1e-5)


@needs_local_model
def test_minilm_rerank_shares_the_document_embedder():
    embed = lazyllm.TrainableModule("all-MiniLM-L6-v2")
    rerank = lazyllm.TrainableModule("all-MiniLM-L6-v2", type="rerank", embed=embed)
    assert rerank.embed is embed
    assert rerank(text="moon", documents=["The Moon orbits the Earth.", "bread"], top_n=1)[0][0] == 0


def test_reranked_nodes_are_the_recorded_sources():
    from ragjet.flow.sources import collect_sources, record_sources
    candidates = nodes()
    with collect_sources() as sources:
        record_sources(candidates)
        top = lazyllm.Reranker(model=WordOverlap(), topk=1)(candidates, query="bread")
    assert [n.uid for n in sources.nodes] == [top[0].uid] and sources.nodes[0].relevance_score is not None


def test_embedding_rerank_embeds_each_document_once():
    from conftest import CountingEmbedder
    from ragjet.models.embed.rerank import EmbeddingRerank

    embed = CountingEmbedder()
    rerank = EmbeddingRerank(embed, memory=3)
    first = rerank(text="red planet", documents=TEXTS, top_n=2)
    assert first[0][0] == 3 and embed.batches[-1] == ["red planet", *TEXTS]
    assert rerank(text="red planet", documents=TEXTS[::-1], top_n=2)[0] == (0, first[0][1])
    assert embed.batches[-1] == ["red planet", TEXTS[0]]  # only what the memory of 3 had let go
    assert len(rerank._vectors) == 3


def test_register_reranker_in_lazyllm_s_forms(corpus):
    """`@register_reranker` on a per-node function registered nothing before; `Reranker.forward` was missing."""
    import ragjet
    from ragjet.rag.reranker import RERANKERS, register_reranker

    @register_reranker
    def mentions_milk(node, query="", **kwargs):
        return node if "milk" in node.get_content().lower() else None

    @register_reranker(batch=True)
    def longest_first(nodes, query="", **kwargs):
        return sorted(nodes, key=lambda n: -len(n.get_content()))

    assert "mentions_milk" in RERANKERS and "longest_first" in RERANKERS
    doc = ragjet.Document(corpus)
    nodes = ragjet.Retriever(doc, "MediumChunk", similarity="bm25", topk=3)("cheese milk planet red")
    kept = ragjet.Reranker("mentions_milk", topk=3).forward(nodes, query="cheese")
    assert kept and all("milk" in n.get_content().lower() for n in kept)
    ordered = ragjet.Reranker("longest_first", topk=2)(nodes, query="x")
    assert [len(n.get_content()) for n in ordered] == sorted((len(n.get_content()) for n in nodes), reverse=True)[:2]
