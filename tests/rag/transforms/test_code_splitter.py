"""GeneralCodeSplitter and CodeSplitter: code cut at definitions, dispatch by file type."""
from __future__ import annotations

import re

import pytest

from ragjet.rag.doc_node import DocNode
from ragjet.rag.transforms import (TRANSFORMS, CodeSplitter, GeneralCodeSplitter, JSONSplitter, NodeTransform,
                                   SentenceSplitter, approx_token_counts)

PYTHON = "import os\n\ndef f():\n    return 1\n\nclass A:\n    def g(self):\n        pass\n"

LONGER = '''import os
import sys

# helper used below
@cache
def f():
    return 1

class A:
    def g(self):
        pass

    def h(self):
        if x:
            pass
        else:
            pass
x = 1
if x:
    y()
else:
    z()
'''


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_python_units_match_lazyllm():
    # verified by running LazyLLM 1.4: CodeSplitter(filetype='python', chunk_size=300, overlap=0).split_text(PYTHON, 0)
    chunks = CodeSplitter(filetype="python", chunk_size=300, overlap=0).split_text(PYTHON)
    assert [(c.text, c.metadata["code_type"]) for c in chunks] == [
        ("import os", "code_block"), ("def f():\n    return 1", "code_structure"),
        ("class A:\n    def g(self):\n        pass", "code_structure")]
    assert all(c.metadata["filetype"] == "python" for c in chunks)


def test_decorators_comments_branches_and_statements_after_a_definition():
    """LazyLLM puts `x = 1` (top-level code after a class) inside the class's chunk; ragjet ends the class
    where its indentation does, and keeps a comment and decorator with the definition below them."""
    chunks = GeneralCodeSplitter(chunk_size=300, overlap=0).split_text(LONGER)
    assert [c.text for c in chunks] == [
        "import os\nimport sys",
        "# helper used below\n@cache\ndef f():\n    return 1",
        LONGER[LONGER.index("class A"):LONGER.index("x = 1")].strip(),
        "x = 1",
        "if x:\n    y()\nelse:\n    z()"]


def test_an_oversized_definition_is_cut_at_its_inner_definitions():
    chunks = GeneralCodeSplitter(chunk_size=12, overlap=0).split_text(LONGER)
    texts = [c.text for c in chunks]
    assert "class A:\n    def g(self):\n        pass" in texts
    assert any(t.startswith("def h(self):\n        if x:") for t in texts)  # the signature stays with its body
    assert max(approx_token_counts(texts)) <= 12
    assert _flat("".join(texts)) == _flat(LONGER)


def test_braced_code():
    js = "function a() {\n  return 1;\n}\n\nfunction b() {\n  if (x) {\n    y();\n  } else {\n    z();\n  }\n}\n"
    chunks = CodeSplitter(filetype="js", chunk_size=300, overlap=0).split_text(js)
    assert [c.text for c in chunks] == ["function a() {\n  return 1;\n}", js[js.index("function b"):].strip()]


def test_dispatch_by_filetype_and_by_file_extension():
    assert CodeSplitter.get_supported_filetypes() == ["xml", "json", "jsonl", "yaml", "yml", "html", "htm"]
    assert isinstance(CodeSplitter(filetype="JSON").from_language("json"), JSONSplitter)
    assert isinstance(CodeSplitter().from_language("rs"), GeneralCodeSplitter)
    splitter = CodeSplitter(chunk_size=300, overlap=0)
    nodes = [DocNode(uid="a", text='{"a": 1}', global_metadata={"file_path": "/d/x.json"}),
             DocNode(uid="b", text=PYTHON, global_metadata={"file_path": "/d/x.py"})]
    first, second = splitter.batch_forward(nodes)
    assert first[0].metadata["filetype"] == "json" and first[0].metadata["path"] == "root"
    assert [c.metadata["filetype"] for c in second] == ["py"] * 3
    assert splitter.split_text(PYTHON)[0].metadata["filetype"] == "code"  # no type, no file: code


def test_options_reach_the_type_splitter_and_the_token_counter_is_shared():
    splitter = CodeSplitter(filetype="json", chunk_size=300, overlap=0, compact_output=False)
    assert splitter.split_text('{"a": 1}')[0].text == '{\n  "a": 1\n}'
    assert "compact_output" in splitter.identity() and "filetype='json'" in splitter.identity()
    with pytest.raises(TypeError, match="does not take the options"):
        CodeSplitter(filetype="python", compact_output=False)
    with pytest.raises(TypeError, match="no splitter takes the options"):
        CodeSplitter(colour="red")
    splitter.set_token_counter(lambda texts: [len(t) for t in texts], "chars")
    assert splitter.from_language("json").token_counter_name == "chars"
    splitter.fit_window(5)
    assert splitter.from_language("json").size == 5


def test_register_splitter(monkeypatch):
    monkeypatch.setattr(CodeSplitter, "_SPLITTER_REGISTRY", dict(CodeSplitter._SPLITTER_REGISTRY))

    class Upper(SentenceSplitter):
        def split_text(self, text, metadata_size=0):
            return [text.upper()]

    CodeSplitter.register_splitter("shout", Upper)
    assert "shout" in CodeSplitter.get_supported_filetypes()
    assert [c.text for c in CodeSplitter(filetype="shout").split_text("hi")] == ["HI"]
    with pytest.raises(ValueError, match="already registered"):
        CodeSplitter.register_splitter("JSON", Upper)
    with pytest.raises(TypeError, match="must be a class"):
        CodeSplitter.register_splitter("x", Upper())
    with pytest.raises(TypeError, match="NodeTransform subclass"):
        CodeSplitter.register_splitter("x", dict)
    assert issubclass(Upper, NodeTransform)


def test_registered_names_and_bad_arguments():
    assert TRANSFORMS.get("CodeSplitter") is CodeSplitter
    assert TRANSFORMS.get("GeneralCodeSplitter") is GeneralCodeSplitter
    with pytest.raises(ValueError, match="chunk_overlap must satisfy"):
        GeneralCodeSplitter(chunk_size=10, overlap=10)
    assert GeneralCodeSplitter().split_text("  \n") == []
