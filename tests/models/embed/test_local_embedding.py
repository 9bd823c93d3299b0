"""The bundled all-MiniLM-L6-v2 through onnxruntime: same vectors as sentence-transformers, batching, cache."""
import numpy as np
import pytest

import ragjet
from conftest import needs_local_model

pytestmark = needs_local_model

TEXTS = ["Who is Alan Turing?", "Alan Turing was the first person to conduct substantial research in AI. " * 3,
         "short", "word " * 400]


@pytest.fixture(scope="module")
def model():
    return ragjet.TrainableModule("all-MiniLM-L6-v2").start()


def test_string_and_list_calls(model):
    vec = model("hello world")
    assert isinstance(vec, list) and len(vec) == 384
    vecs = model(["a", "b", "c"])
    assert len(vecs) == 3 and all(len(v) == 384 for v in vecs)
    assert abs(np.linalg.norm(vec) - 1) < 1e-5


def test_same_vectors_as_sentence_transformers(model):
    st = pytest.importorskip("sentence_transformers")
    reference = st.SentenceTransformer(str(model.model_dir), device="cpu").encode(TEXTS, normalize_embeddings=True)
    ours = model.embed_batch(TEXTS)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() > 0.9999, cosines
    assert model.backend == "onnx"


def test_order_is_kept_despite_length_sorting(model):
    texts = ["a much longer sentence about the planets of the solar system", "x", "medium length text"]
    batch = model.embed_batch(texts)
    single = np.stack([model.embed_batch([t])[0] for t in texts])
    assert np.allclose(batch, single, atol=1e-5)


def test_truncation_is_counted(model):
    before = model.truncated_count
    model.embed_batch(["word " * 400, "short"])
    assert model.truncated_count == before + 1


def test_count_tokens_uses_the_model_tokenizer(model):
    assert model.count_tokens(["hello world", "word " * 400]) == [2, 400]


def test_onnx_file_is_cached_with_checksum(model):
    from ragjet.models.embed.onnx_export import cached_onnx
    cache = model._cache_dir()
    path = cached_onnx(model.model_dir, cache)
    meta = (cache / "model.onnx.json").read_text()
    assert path.exists() and '"sha256"' in meta
    assert cached_onnx(model.model_dir, cache).stat().st_mtime == path.stat().st_mtime


def test_int8_option_is_close(model):
    int8 = ragjet.TrainableModule("all-MiniLM-L6-v2", quantize="int8")
    cos = (int8.embed_batch(TEXTS[:3]) * model.embed_batch(TEXTS[:3])).sum(axis=1)
    assert cos.min() > 0.98 and int8.model_id.endswith("@int8")


def test_document_uses_model_tokenizer_for_chunks(tmp_path, model):
    (tmp_path / "long.txt").write_text(" ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(400)))
    doc = ragjet.Document(tmp_path, embed=model)
    ragjet.Retriever(doc, "FineChunk", topk=1).start()
    chunks = [n.text for n in doc.store.get_nodes("FineChunk")]
    assert len(chunks) > 10 and max(model.count_tokens(chunks)) <= 128
    assert "all-MiniLM-L6-v2" in doc._groups["FineChunk"].transform.identity()


def test_unknown_model_resolves_when_used_and_then_lists_known_ones():
    """As in LazyLLM, a pipeline may name a model before it is there: the error comes at first use."""
    later = ragjet.TrainableModule("my-own-model-7b", "/tmp/finetuned").prompt(ragjet.ChatPrompter("Be brief."))
    assert "not resolved yet" in repr(later)
    for use in (later.start, lambda: later("hi"), lambda: later.embed_batch):
        with pytest.raises(ValueError, match="all-MiniLM-L6-v2"):
            use()


def test_end_to_end_semantic_search(tmp_path, model):
    from conftest import CORPUS
    for name, text in CORPUS.items():
        (tmp_path / name).write_text(text)
    doc = ragjet.Document(tmp_path, embed=model)
    doc.create_node_group(name="sentence", parent="MediumChunk", transform=lambda x: x.split(". "))
    res = ragjet.Retriever(doc, group_name="sentence", similarity="cosine", topk=1)("Which planet looks red?")
    assert res[0].text.startswith("Mars")


def test_a_script_that_never_needs_the_model_exits_cleanly(tmp_path):
    """The model loads in the background from the start; a bm25-only script ends while it may still be loading,
    which aborted the process (SIGABRT) while the loading thread was a daemon."""
    import os
    import subprocess
    import sys

    (tmp_path / "a.txt").write_text("Apples grow in orchards. Pistons drive engines. " * 40)
    script = ("import sys, ragjet\n"
              "docs = ragjet.Document(sys.argv[1], embed=ragjet.TrainableModule('all-MiniLM-L6-v2'))\n"
              "print(len(ragjet.Retriever(docs, 'MediumChunk', similarity='bm25', topk=2)('Apples grow')))\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAGJET_HOME": str(tmp_path / "home")}
    for _ in range(2):  # a first start and a restart: the abort depended on timing
        done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert (done.returncode, done.stdout.strip()) == (0, "2"), done.stderr[-1000:]


def test_the_onnx_graph_written_without_torch_gives_sentence_transformers_vectors(model, tmp_path):
    """`bert_onnx` writes BERT's graph from the safetensors weights; pooled as the product pools it, it gives the
    vectors of sentence-transformers (torch)."""
    import json

    import onnxruntime
    from tokenizers import Tokenizer

    from ragjet.models.embed.bert_onnx import bert_onnx

    st = pytest.importorskip("sentence_transformers")
    path = tmp_path / "bert.onnx"
    bert_onnx(model.model_dir, path)
    tokenizer = Tokenizer.from_file(str(model.model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(256)
    tokenizer.enable_padding()
    encoded = tokenizer.encode_batch(TEXTS)
    ids = np.array([e.ids for e in encoded], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
    hidden = onnxruntime.InferenceSession(str(path)).run(
        None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
    pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    reference = st.SentenceTransformer(str(model.model_dir), device="cpu").encode(TEXTS, normalize_embeddings=True)
    assert ((pooled * reference).sum(axis=1)).min() > 0.99999
    other = tmp_path / "gpt"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ValueError, match="graph of a BERT encoder.*'gpt2'"):
        bert_onnx(other, tmp_path / "x.onnx")
