"""Every built-in splitter through `ragjet.testing.transform_contract`: no chunk over its size, no word lost."""
from __future__ import annotations

import json
import re

from ragjet.rag.doc_node import DocNode
from ragjet.rag.transforms import (CharacterSplitter, CodeSplitter, GeneralCodeSplitter, HTMLSplitter,
                                   JSONLSplitter, JSONSplitter, MarkdownSplitter, RecursiveSplitter,
                                   SentenceSplitter, XMLSplitter, YAMLSplitter)
from ragjet.testing.transform_contract import TransformContract, kept_words

ENGLISH = ("The University of Notre Dame is a Catholic research university in Indiana. It was founded in 1842 by "
           "Edward Sorin, a priest of the Congregation of Holy Cross. " * 6
           + "\n\nIts campus covers 1,261 acres; the Golden Dome of the Main Building is its landmark. "
           "Football has been played there since 1887, and the team has won eleven national titles. " * 5)
CHINESE = ("牛车水是新加坡的唐人街，位于新加坡河西南部。那一时期，新加坡还没有自来水设备，全岛所需要的水都得用牛车"
           "自安祥山和史必灵路的井水载到这个地区，牛车水因此而得名。" * 4
           + "1927年3月12日，由国民党左派带领的游行队伍在牛车水警局前与警方发生冲突，造成六死14伤。" * 3)
MARKDOWN = ("# Stores\n\nragjet keeps nodes in one of three stores. " + "The map store holds every node in memory. " * 8
            + "\n\n## Milvus\n\nMilvus Lite is a file; a server is shared.\n\n- first item of the list\n- second item"
            "\n\n```python\ndef search(query):\n    return store.search(query, topk=3)\n```\n\n"
            "| store | persistent |\n|---|---|\n| map | no |\n| milvus | yes |\n\n"
            "## Chroma\n\n" + "Chroma keeps its collections in a folder on disk. " * 10)
PYTHON = ("import os\n\n\nclass Store:\n    \"\"\"Keeps nodes.\"\"\"\n\n"
          + "".join(f"    def method_{i}(self, value):\n        total = value + {i}\n        return total * 2\n\n"
                    for i in range(12))
          + "\ndef main():\n    store = Store()\n    print(store.method_1(3))\n")
NESTED = json.dumps({"university": {"name": "Notre Dame", "founded": 1842, "founder": "Edward Sorin",
                                    "colleges": [f"college number {i} of arts and letters" for i in range(12)],
                                    "motto": "Vita Dulcedo Spes " * 6}})
JSONL = "\n".join(json.dumps({"line": i, "text": f"record {i} says the store keeps node {i} on disk"})
                  for i in range(15))
YAML = "store:\n  kind: milvus\n  uri: milvus.db\n  groups:\n" + "".join(f"    - group{i}: sentence chunks {i}\n"
                                                                         for i in range(20)) + "---\nsecond: document\n"
HTML = ("<html><head><title>Stores</title></head><body><h1>Stores</h1>"
        + "<p>The map store holds every node in memory and writes a snapshot.</p>" * 6
        + "<h2>Milvus</h2><section><p>Milvus Lite is a <b>single</b> file, and a server is shared.</p>"
        + "<ul><li>first item</li><li>second item</li></ul></section></body></html>")
XML = ("<stores>" + "".join(f"<store name=\"s{i}\"><kind>kind {i}</kind><note>store {i} keeps nodes "
                             f"<em>on disk</em> and answers fast</note></store>" for i in range(10)) + "</stores>")
_TAG = re.compile(r"<[^>]+>")


def _markup_words(text: str) -> list[str]:
    return kept_words(_TAG.sub(" ", text))


class OverlapSplitterContract(TransformContract):
    """The contract for a splitter built as ``splitter(chunk_size=..., overlap=...)`` (LazyLLM's keyword)."""

    splitter: type

    def make(self, chunk_size, chunk_overlap):
        return self.splitter(chunk_size=chunk_size, overlap=chunk_overlap)


class TestSentenceSplitter(TransformContract):
    samples = [ENGLISH, CHINESE]

    def make(self, chunk_size, chunk_overlap):
        return SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)


class TestCharacterSplitter(TransformContract):
    samples = [ENGLISH, CHINESE]

    def make(self, chunk_size, chunk_overlap):
        return CharacterSplitter(chunk_size=chunk_size, overlap=chunk_overlap, separator=" ")


class TestRecursiveSplitter(OverlapSplitterContract):
    splitter = RecursiveSplitter
    samples = [ENGLISH, CHINESE]


class TestMarkdownSplitter(OverlapSplitterContract):
    splitter = MarkdownSplitter
    samples = [MARKDOWN, CHINESE]


class TestCodeSplitter(OverlapSplitterContract):
    splitter = CodeSplitter
    samples = [PYTHON]

    def node(self, text):
        return DocNode(uid="sample", text=text, global_metadata={"file_path": "/src/store.py"})


class TestGeneralCodeSplitter(OverlapSplitterContract):
    splitter = GeneralCodeSplitter
    samples = [PYTHON]


class TestJSONSplitter(OverlapSplitterContract):
    splitter = JSONSplitter
    keeps_order = False
    samples = [NESTED]


class TestJSONLSplitter(OverlapSplitterContract):
    splitter = JSONLSplitter
    keeps_order = False
    samples = [JSONL]


class TestYAMLSplitter(OverlapSplitterContract):
    splitter = YAMLSplitter
    keeps_order = False
    samples = [YAML]


class TestHTMLSplitter(OverlapSplitterContract):
    splitter = HTMLSplitter
    samples = [HTML]

    def words(self, text):
        return [w for w in _markup_words(text) if w not in ("html", "head", "body")]


class TestXMLSplitter(OverlapSplitterContract):
    splitter = XMLSplitter
    keeps_order = False
    samples = [XML]

    def words(self, text):
        return _markup_words(text)
