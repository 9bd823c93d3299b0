"""The store contract's Document half: a `Document` on the store starts, restarts without parsing, takes
edits and deletions of a file longer than any database column, and refuses another embedding dimension
without losing what is stored. `StoreContract` includes it; it needs the ``make_store`` fixture."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ..rag.doc_node import LAZY_ROOT_NAME, DocNode
from ..rag.document import Document
from ..rag.retriever import Retriever
from ..rag.store import StoreConf
from .embedders import CountingEmbedder
from .store_samples import CORPUS, StoreMaker, long_text


class StoreDocumentContract:
    """A Document's start, restart and changes on the store ``make_store`` opens."""

    def test_document_end_to_end_and_restart(self, make_store: StoreMaker, tmp_path: Path) -> None:
        folder = tmp_path / "docs"
        folder.mkdir()
        for name, text in CORPUS.items():
            (folder / name).write_text(text, encoding="utf-8")

        def retrieve(conf: dict[str, Any], cache: bool = True) -> tuple[Document, list[DocNode]]:
            doc = Document(folder, embed=CountingEmbedder(), store_conf=conf, cache=cache)
            doc.create_node_group("sentence", transform=lambda t: t.split("."), parent="MediumChunk")
            nodes = Retriever(doc, "sentence", similarity="cosine", topk=3)("which planet is red")
            return doc, nodes

        reference, want = retrieve({"type": "map"}, cache=False)
        scores = [n.similarity_score for n in reference.store.get_index("default").query(
            "which planet is red", group_name="sentence", topk=4)]
        assert scores[0] > scores[1] > scores[2] > scores[3], "the reference ranking must have no ties"

        doc, got = retrieve(make_store.conf)
        assert [n.uid for n in got] == [n.uid for n in want]
        assert np.allclose([n.similarity_score for n in got], scores[:3], atol=1e-4)
        assert doc.stats.files_parsed == 3
        counts = {g: doc.store.count(g) for g in doc.store.groups()}
        assert counts == {g: reference.store.count(g) for g in reference.store.groups()}
        kept = doc.store.persistent  # the in-memory map too: it takes a restart snapshot
        doc.store.close()
        again, got = retrieve(make_store.conf)
        assert (again.stats.files_parsed, again.stats.chunks_embedded) == ((0, 0) if kept else (3, 0))
        assert [n.uid for n in got] == [n.uid for n in want]
        assert {g: again.store.count(g) for g in again.store.groups()} == counts
        again.store.close()

    def test_document_with_a_long_file_restarts_changes_and_deletes(self, make_store: StoreMaker,
                                                                     tmp_path: Path) -> None:
        """A folder holding a file longer than any database column (the lecture's ``part_30.txt`` is 85,709
        bytes in one line) starts, restarts without parsing, takes an edit of that file and its deletion."""
        folder = tmp_path / "docs"
        folder.mkdir()
        (folder / "space.txt").write_text(CORPUS["space.txt"], encoding="utf-8")
        long_file = folder / "part_30.txt"
        long_file.write_text(long_text(85_709, "old") + "。Mars is red。", encoding="utf-8")

        def start() -> tuple[Document, list[DocNode]]:
            doc = Document(folder, embed=CountingEmbedder(), store_conf=make_store.conf)
            doc.create_node_group("sentence", transform=lambda t: t.split("。"), parent="MediumChunk")
            return doc, Retriever(doc, "sentence", similarity="cosine", topk=2)("Mars is red")

        doc, got = start()
        assert doc.stats.files_parsed == 2 and "Mars is red" in [n.text for n in got]
        roots = {Path(n.docpath).name: n.text for n in doc.store.get_nodes(LAZY_ROOT_NAME)}
        assert roots["part_30.txt"] == long_file.read_text(encoding="utf-8")
        kept = doc.store.persistent
        doc.store.close()
        doc, got = start()
        assert doc.stats.files_parsed == (0 if kept else 2) and "Mars is red" in [n.text for n in got]
        doc.store.close()
        long_file.write_text(long_text(90_000, "new") + "。Venus is hot。", encoding="utf-8")
        doc, got = start()
        assert doc.stats.files_parsed == (1 if kept else 2)
        texts = [n.text for n in doc.store.get_nodes("sentence")]
        assert "Venus is hot" in texts and "Mars is red" not in texts
        roots = {Path(n.docpath).name: n.text for n in doc.store.get_nodes(LAZY_ROOT_NAME)}
        assert roots["part_30.txt"] == long_file.read_text(encoding="utf-8")
        doc.store.close()
        long_file.unlink()
        doc, got = start()
        assert [Path(n.docpath).name for n in doc.store.get_nodes(LAZY_ROOT_NAME)] == ["space.txt"]
        assert all("Venus" not in n.text for n in doc.store.get_nodes("sentence"))
        doc.store.close()

    def test_document_refuses_another_dimension_and_keeps_the_store(self, make_store: StoreMaker,
                                                                     tmp_path: Path) -> None:
        folder = tmp_path / "docs"
        folder.mkdir()
        for name, text in CORPUS.items():
            (folder / name).write_text(text, encoding="utf-8")

        def start(embed: Any) -> Document:
            doc = Document(folder, embed=embed, store_conf=make_store.conf)
            doc.create_node_group("sentence", transform=lambda t: t.split("."), parent="MediumChunk")
            Retriever(doc, "sentence", similarity="cosine", topk=3).start()
            return doc

        first = start(CountingEmbedder())
        counts = {g: first.store.count(g) for g in first.store.groups()}
        kept = first.store.persistent
        first.store.close()
        if not kept:
            pytest.skip(f"{type(first.store).__name__} keeps nothing across starts: no stored dimension to check")
        conf = StoreConf.parse(make_store.conf)
        if conf.store_class.snapshot_kwargs(dict(conf.kwargs), tmp_path / "probe") is not None:
            # Its persistence is ragjet's restart snapshot, named by the embedders: another model starts afresh.
            other = start(lambda text: [float(len(text))] * 8)
            assert other.stats.chunks_embedded > 0
            other.store.close()
        else:
            with pytest.raises(ValueError, match="64-dim.*8-dim"):  # checked before anything is written
                start(lambda text: [float(len(text))] * 8)
        again = start(CountingEmbedder())
        assert (again.stats.files_parsed, again.stats.chunks_embedded) == (0, 0)
        assert {g: again.store.count(g) for g in again.store.groups()} == counts
        again.store.close()
