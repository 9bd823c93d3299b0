import pytest

from ragjet import Document, Retriever


@pytest.fixture
def doc(corpus, counting_embed):
    d = Document(corpus, embed=counting_embed)
    d.create_node_group("sentence", parent="MediumChunk", transform=lambda x: x.split(". "))
    d.create_node_group("words", parent="sentence", transform=lambda x: x.split())
    return d


def test_topk_and_scores(doc):
    res = Retriever(doc, "sentence", topk=2)("Mars is called the red planet")
    assert len(res) == 2 and res[0].text.startswith("Mars")
    assert res[0].similarity_score >= res[1].similarity_score


def test_target_up_returns_parents_deduplicated_in_rank_order(doc):
    sentences = Retriever(doc, "sentence", topk=4)("planet Moon Earth Jupiter")
    res = Retriever(doc, "sentence", target="MediumChunk", topk=4)("planet Moon Earth Jupiter")
    expected = []
    for s in sentences:
        if s.parent.uid not in expected:
            expected.append(s.parent.uid)
    assert [n.uid for n in res] == expected and len(res) < len(sentences)
    assert all(n.group == "MediumChunk" for n in res)
    assert res[0].docpath.endswith("space.md") and res[0].similarity_score == sentences[0].similarity_score


def test_target_up_two_levels(doc):
    res = Retriever(doc, "words", target="MediumChunk", similarity="bm25", topk=3)("cheese")
    assert len(res) == 1 and res[0].docpath.endswith("food.txt")


def test_target_down_returns_children(doc):
    res = Retriever(doc, "MediumChunk", target="sentence", topk=1)("bread cheese rice flour")
    assert [n.group for n in res] == ["sentence"] * 3
    assert res[0].text.startswith("Bread")


def test_target_sideways_through_common_ancestor(doc):
    doc.create_node_group("upper", parent="MediumChunk", transform=lambda x: [x.upper()])
    res = Retriever(doc, "sentence", target="upper", similarity="bm25", topk=1)("Dogs bark")
    assert len(res) == 1 and res[0].text.startswith("CATS PURR")


def test_output_formats(doc):
    content = Retriever(doc, "sentence", topk=2, output_format="content")("Dogs bark at strangers")
    assert all(isinstance(c, str) for c in content)
    joined = Retriever(doc, "sentence", topk=2, output_format="content", join="\n--\n")("Dogs bark")
    assert "\n--\n" in joined
    dicts = Retriever(doc, "sentence", topk=1, output_format="dict")("Dogs bark")
    assert dicts[0]["content"].startswith("Dogs") and dicts[0]["file"].endswith("animals.txt")
    with pytest.raises(ValueError, match="output_format"):
        Retriever(doc, "sentence", output_format="xml")


def test_start_then_call_is_equivalent_and_groups_built_once(doc, counting_embed):
    r = Retriever(doc, "sentence", topk=1).start()
    batches = len(counting_embed.batches)
    r("cats")
    Retriever(doc, "sentence", topk=3)("dogs")
    assert len(counting_embed.batches) == batches + 2


def test_query_keyword_and_filters(doc):
    r = Retriever(doc, "sentence", topk=5)
    res = r(query="planet", filters={"file_name": "space.md"})
    assert res and all(n.docpath.endswith("space.md") for n in res)


def test_parallel_retrievers_from_threads(doc):
    from concurrent.futures import ThreadPoolExecutor
    r1 = Retriever(doc, "sentence", topk=2)
    r2 = Retriever(doc, "MediumChunk", similarity="bm25", topk=2)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda args: args[0](args[1]), [(r1, "cats"), (r2, "milk"), (r1, "moon")] * 4))
    assert all(results)


def test_root_group_cannot_be_searched_by_vectors(doc):
    with pytest.raises(ValueError, match="never embedded"):
        Retriever(doc, "lazyllm_root", similarity="cosine")
    assert Retriever(doc, "lazyllm_root", similarity="bm25", topk=1)("cheese")[0].docpath.endswith("food.txt")


def test_parallel_routes_embed_the_question_once(doc, counting_embed):
    import ragjet
    routes = ragjet.parallel(Retriever(doc, "sentence", topk=2), Retriever(doc, "MediumChunk", topk=2)).sum
    routes("warm up the groups")
    before = len(counting_embed.batches)
    assert routes("which planet is red")
    assert [b for b in counting_embed.batches[before:]] == [["which planet is red"]]


def test_a_lazyllm_batch_similarity_returning_node_score_pairs(corpus):
    """LazyLLM's form of a batch text similarity: ``(node, score)`` pairs of the nodes it keeps."""
    from ragjet import register_similarity

    @register_similarity(mode="text", batch=True)
    def shared_words(query, nodes, **kwargs):
        words = set(query.lower().split())
        scored = [(node, float(len(words & set(node.text.lower().split())))) for node in nodes]
        return [(node, score) for node, score in scored if score > 0]

    doc = Document(corpus)
    got = Retriever(doc, "MediumChunk", similarity="shared_words", topk=5)("cheese is made from milk")
    assert got and "Cheese" in got[0].text and all(n.similarity_score > 0 for n in got)


def test_a_lazyllm_transform_calling_super_init_with_num_workers(corpus):
    from ragjet.tools.rag import NodeTransform

    class Halves(NodeTransform):
        def __init__(self):
            super().__init__(num_workers=0)

        def transform(self, node, **kwargs):
            text = node.get_text()
            return [text[: len(text) // 2], text[len(text) // 2:]]

    doc = Document(corpus)
    doc.create_node_group("halves", transform=Halves)
    assert "milk" in Retriever(doc, "halves", similarity="bm25", topk=2)("milk")[0].text
    assert doc.store.count("halves") == 2 * doc.store.count("lazyllm_root")


@pytest.mark.parametrize("similarity", ["cosine", "bm25", ["cosine", "bm25"]])
def test_a_query_reaches_the_store_once_per_route(doc, similarity):
    retriever = Retriever(doc, "sentence", similarity=similarity, topk=3)
    retriever("warm up")
    calls = []
    backend = doc.store._get_nodes
    doc.store._get_nodes = lambda *a, **k: (calls.append(a), backend(*a, **k))[1]
    assert retriever("Mars is called the red planet")
    routes = 1 if isinstance(similarity, str) else len(similarity)
    assert len(calls) == routes
