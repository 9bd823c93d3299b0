"""Every LazyLLM module path in ragjet's alias table imports, and each of its names is the real object."""
from __future__ import annotations

import importlib

import pytest

import ragjet as lazyllm
from ragjet.lazyllm_paths import ALIASES, _target


@pytest.mark.parametrize("path", sorted(ALIASES))
def test_every_alias_path_imports_and_its_names_are_the_real_objects(path):
    module = importlib.import_module(path)
    for name in ALIASES[path]:
        real_module, attr = _target(path, name)
        assert getattr(module, name) is getattr(importlib.import_module(real_module), attr), f"{path}.{name}"
    exec(f"from {path} import {', '.join(ALIASES[path])}", {})


def test_the_paths_lazyllm_users_write():
    from ragjet.common import bind, override, package  # noqa: F401
    from ragjet.launcher import cleanup
    from ragjet.tools import Document, Reranker, Retriever, SentenceSplitter, WebModule  # noqa: F401
    from ragjet.tools.rag import register_reranker  # noqa: F401
    from ragjet.tools.rag.transform import SentenceSplitter as TransformSplitter

    assert TransformSplitter is lazyllm.SentenceSplitter and lazyllm.tools.rag.Reranker is lazyllm.Reranker
    assert lazyllm.launcher.cleanup is cleanup and lazyllm.common.bind is lazyllm.bind
    assert lazyllm.tools.rag.doc_node.MetadataMode is lazyllm.MetadataMode


def test_an_unknown_name_lists_what_the_path_offers():
    with pytest.raises(AttributeError, match="offers .*SentenceSplitter"):
        lazyllm.tools.rag.transform.TokenTextSplitterThatIsNotThere
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        lazyllm.nothing_here
