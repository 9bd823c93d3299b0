"""`TrainableModule(name)`: a locally run model, resolved by name through the model registry.

As in LazyLLM, one constructor serves every kind of local model; the name decides what is built
(``TrainableModule('all-MiniLM-L6-v2')`` is an embedder) and ``type=`` picks another role of the same weights.
A path to a sentence-transformers folder (an embedder) or to a ``.gguf`` file (a llama.cpp chat model) works too.
The models a name can mean are registered in `catalogue`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..flow.lifecycle import Startable
from ..log import LOG
from ..settings import config
from .catalogue import BUNDLED_BY_ROLE, COURSE_MODELS, USE_MODEL_ID
from .embed.local_embedding import LocalEmbedding
from .llama_cpp.local_chat import LocalChat
from .registry import MODELS, LLMType, ModelSpec

_LLM_TYPES = {member.value.casefold() for member in LLMType}


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


class UnresolvedModel(Startable):
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
