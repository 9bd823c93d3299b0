"""LazyLLM's module paths on ragjet: ``from lazyllm.tools.rag.transform import SentenceSplitter`` and the like
work with ``import ragjet as lazyllm`` and ``from ragjet.tools... import ...``.

`ALIASES` is the one table: each LazyLLM-style module path → the public names it offers → where ragjet
defines them (``"module"`` for the same name, ``"module:attr"`` for another). `install` adds an import hook
that builds those modules on first import; their names are looked up in the real modules when first read,
so an alias is the real object (``ragjet.tools.Document is ragjet.rag.Document``), never a copy, and importing
``ragjet.tools`` loads nothing it does not name.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any, Optional, Sequence

_RAG = "ragjet.rag"
_RAG_NAMES = ("Document", "Retriever", "Reranker", "register_reranker", "SentenceSplitter", "NodeTransform",
              "register_similarity", "DocNode", "SimpleDirectoryReader", "IndexBase", "StoreBase", "MetadataMode",
              "override")

_PROMPTER_NAMES = ("ChatPrompter", "AlpacaPrompter", "Prompter")
_CODE_SPLITTERS = ("CodeSplitter", "GeneralCodeSplitter", "JSONSplitter", "JSONLSplitter", "YAMLSplitter",
                   "HTMLSplitter", "XMLSplitter")
_TRANSFORM_NAMES = ("SentenceSplitter", "NodeTransform", "CharacterSplitter", "RecursiveSplitter", "TransformArgs",
                    "MarkdownSplitter", *_CODE_SPLITTERS)

ALIASES: dict[str, dict[str, str]] = {
    "ragjet.tools": {**dict.fromkeys(("Document", "Retriever", "Reranker", "SentenceSplitter"), _RAG),
                     "WebModule": "ragjet.web"},
    "ragjet.tools.rag": {**dict.fromkeys(_RAG_NAMES, _RAG), "LazyLLMStoreBase": "ragjet.rag:StoreBase",
                         "JsonDocNode": "ragjet.rag.doc_node",
                         **dict.fromkeys(_TRANSFORM_NAMES, "ragjet.rag.transforms")},
    "ragjet.tools.rag.transform": dict.fromkeys(_TRANSFORM_NAMES, "ragjet.rag.transforms"),
    "ragjet.tools.rag.transform.markdown": {"MarkdownSplitter": "ragjet.rag.transforms"},
    "ragjet.tools.rag.transform.code": dict.fromkeys(_CODE_SPLITTERS, "ragjet.rag.transforms"),
    "ragjet.tools.rag.doc_node": dict.fromkeys(("DocNode", "MetadataMode", "JsonDocNode"), "ragjet.rag.doc_node"),
    "ragjet.tools.rag.store": dict.fromkeys(("StoreBase", "MapStore", "ChromaStore", "MilvusStore"),
                                            "ragjet.rag.store"),
    "ragjet.tools.rag.index_base": {"IndexBase": "ragjet.rag.index.base"},
    "ragjet.tools.rag.default_index": {"DefaultIndex": "ragjet.rag.index.default"},
    "ragjet.tools.rag.smart_embedding_index": {"SmartEmbeddingIndex": "ragjet.rag.index.smart_embedding"},
    "ragjet.tools.rag.rerank": dict.fromkeys(("Reranker", "register_reranker"), "ragjet.rag.reranker"),
    "ragjet.tools.rag.retriever": {"Retriever": "ragjet.rag.retriever"},
    "ragjet.tools.rag.document": {"Document": "ragjet.rag.document"},
    "ragjet.tools.rag.similarity": {"register_similarity": "ragjet.rag.similarity"},
    "ragjet.tools.rag.utils": {"override": "ragjet.rag.index.base",
                               "parallel_do_embedding": "ragjet.rag.embedding"},
    "ragjet.common": {**dict.fromkeys(("bind", "package", "kwargs"), "ragjet.flow"),
                      "override": "ragjet.rag.index.base"},
    "ragjet.module": {**dict.fromkeys(("ModuleBase", "ActionModule"), "ragjet.flow.module"),
                      **dict.fromkeys(("ServerModule", "WebModule"), "ragjet.web"),
                      **dict.fromkeys(("TrainableModule", "OnlineChatModule", "OnlineEmbeddingModule"), "ragjet.models"),
                      "OnlineEmbeddingModuleBase": "ragjet.models.online"},
    "ragjet.components": {**dict.fromkeys(_PROMPTER_NAMES, "ragjet.models"), "LLMType": "ragjet.models.registry"},
    "ragjet.components.prompter": dict.fromkeys(_PROMPTER_NAMES, "ragjet.models"),
    "ragjet.module.module": {**dict.fromkeys(("ModuleBase", "ActionModule", "ModuleExecutionError"),
                                             "ragjet.flow.module")},
    "ragjet.configs": dict.fromkeys(("config", "Config"), "ragjet.settings"),
    "ragjet.launcher": {"cleanup": "ragjet.procs:stop_all",
                        **dict.fromkeys(("empty", "slurm", "sco", "remote"), "ragjet.deploy.launchers")},
}


def _target(path: str, name: str) -> tuple[str, str]:
    module, _, attr = ALIASES[path][name].partition(":")
    return module, attr or name


def resolve(path: str, name: str) -> Any:
    """The object ``path.name`` stands for."""
    module, attr = _target(path, name)
    return getattr(importlib.import_module(module), attr)


class _AliasLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[types.ModuleType]:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        path = module.__name__
        children = sorted(p.rsplit(".", 1)[1] for p in ALIASES if p.rsplit(".", 1)[0] == path)

        def __getattr__(name: str) -> Any:
            if name in ALIASES[path]:
                value = resolve(path, name)
            elif name in children:
                value = importlib.import_module(f"{path}.{name}")
            else:
                raise AttributeError(f"module {path!r} has no attribute {name!r}; it offers "
                                     f"{', '.join(sorted(ALIASES[path]) + children)}")
            setattr(module, name, value)
            return value

        module.__getattr__ = __getattr__  # type: ignore[attr-defined]
        module.__all__ = sorted(ALIASES[path])  # type: ignore[attr-defined]
        module.__doc__ = f"LazyLLM's ``{path.replace('ragjet', 'lazyllm', 1)}`` on ragjet (ragjet.lazyllm_paths)."


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of `ALIASES` (after the real ones: a module file always wins)."""

    _loader = _AliasLoader()

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                  target: Optional[types.ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname not in ALIASES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self._loader, is_package=True)


def install() -> None:
    """Add the import hook (once)."""
    if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        sys.meta_path.append(_AliasFinder())


class _LazyLLMNameFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``lazyllm`` and ``lazyllm.X`` as the modules ``ragjet`` and ``ragjet.X`` themselves (not copies): what
    `alias_lazyllm` installs for a program written for ``import lazyllm``."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                  target: Optional[types.ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != "lazyllm" and not fullname.startswith("lazyllm."):
            return None
        real = "ragjet" + fullname[len("lazyllm"):]
        try:
            importlib.import_module(real)
        except ModuleNotFoundError as exc:
            if exc.name != real:
                raise
            raise ModuleNotFoundError(f"No module named {fullname!r}: ragjet offers no {real!r} (LazyLLM's paths "
                                      f"ragjet has are listed in docs/lazyllm-compat.md)", name=fullname) from None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return sys.modules["ragjet" + spec.name[len("lazyllm"):]]

    def exec_module(self, module: types.ModuleType) -> None:
        """The ragjet module is already executed."""


def alias_lazyllm() -> None:
    """Make ``import lazyllm`` (and ``from lazyllm.tools.rag import ...``) import ragjet in this process, so a
    program written for LazyLLM runs unedited (``ragjet run program.py``). Refused when LazyLLM itself is
    already imported: two libraries under one name would mix."""
    if "lazyllm" in sys.modules and not sys.modules["lazyllm"].__name__.startswith("ragjet"):
        raise RuntimeError("LazyLLM itself is already imported in this process; ragjet cannot stand in for it")
    if not any(isinstance(finder, _LazyLLMNameFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LazyLLMNameFinder())
