"""The store contract as a reusable test suite: the reads, writes, index hooks, vector search (checked against
numpy), persistence and Document start-and-restart behaviour every `StoreBase` keeps.

A store of your own passes it in a few lines of a test module::

    import pytest
    from ragjet.testing.store_contract import StoreContract, StoreMaker

    class TestMyStore(StoreContract):
        @pytest.fixture
        def make_store(self, tmp_path):
            return StoreMaker({"type": "mine", "kwargs": {"path": str(tmp_path / "mine")}})

``make_store()`` opens the store; each call opens the same one again (what the persistence tests reopen), and
``make_store.conf`` is the ``store_conf`` the Document tests pass. Tests that need persistence are skipped
for a store whose ``persistent`` is False, saying so. Needs pytest; register the module for assert rewriting
(``pytest.register_assert_rewrite("ragjet.testing")`` in your conftest) for detailed failure messages.
"""
from __future__ import annotations

from typing import Any, Iterator, Optional

import numpy as np
import pytest

from ..rag.doc_node import DocNode
from ..rag.embedding import Embedder
from ..rag.index.base import IndexBase
from ..rag.index.default import DefaultIndex
from ..rag.store import StoreBase
from .document_contract import StoreDocumentContract
from .store_samples import CORPUS, DIM, EMBED, SUBJECTS, StoreMaker, assert_same, long_text, make_nodes

__all__ = ["CORPUS", "DIM", "EMBED", "SUBJECTS", "StoreContract", "StoreMaker", "assert_same", "long_text",
           "make_nodes"]


def brute_force(nodes: list[DocNode], query: np.ndarray, topk: int,
                filters: Optional[dict[str, Any]]) -> tuple[list[str], np.ndarray]:
    def keep(n: DocNode) -> bool:
        for key, wanted in (filters or {}).items():
            value = n.metadata.get(key, n.global_metadata.get(key))
            if not (value in wanted if isinstance(wanted, list) else value == wanted):
                return False
        return True

    kept = [n for n in nodes if keep(n)]
    if not kept:
        return [], np.empty(0)
    mat = np.stack([n.embedding["default"] for n in kept])
    scores = (mat / np.linalg.norm(mat, axis=1, keepdims=True)) @ (query / np.linalg.norm(query))
    order = np.argsort(-scores)[:topk]
    return [kept[i].uid for i in order], scores[order]


class RecordingIndex(IndexBase):
    def __init__(self) -> None:
        self.updates: list[tuple[str, list[str]]] = []
        self.removes: list[tuple[list[str], Optional[str]]] = []

    def update(self, nodes: list[DocNode]) -> None:
        self.updates.append((nodes[0].group, sorted(n.uid for n in nodes)))

    def remove(self, uids: list[str], group_name: Optional[str] = None) -> None:
        self.removes.append((sorted(uids), group_name))

    def query(self, *args: Any, **kwargs: Any) -> list[DocNode]:
        return []


FILTERS = [None, {"subject": "bio"}, {"subject": ["bio", "chem"]}, {"subject": "chem", "level": [1, 3]},
           {"file_name": "f2.txt"}, {"doc_id": "/docs/f1.txt", "subject": "chem"}, {"subject": "none"},
           {"subject": []}]

class StoreContract(StoreDocumentContract):
    """The contract every store keeps, as a pytest mixin: subclass it in a test module as ``TestMyStore`` and
    give it a ``make_store`` fixture returning a `StoreMaker`. Persistence is checked where the store says it
    is persistent (``store.persistent``)."""

    @pytest.fixture
    def make_store(self) -> StoreMaker:
        raise NotImplementedError("a StoreContract subclass defines the make_store fixture")

    @pytest.fixture
    def store(self, make_store: StoreMaker) -> Iterator[StoreBase]:
        store = make_store()
        yield store
        store.close()

    def test_get_by_uid_group_and_doc(self, store: StoreBase) -> None:
        roots, chunks = make_nodes()
        store.update_nodes(roots + chunks)
        got = store.get_nodes("chunk", uids=["c05", "nope", "c01", "c17"])
        assert [n.uid for n in got] == ["c05", "c01", "c17"]
        for node in got:
            assert_same(node, chunks[int(node.uid[1:])])
        assert sorted(n.uid for n in store.get_nodes("chunk")) == sorted(n.uid for n in chunks)
        assert sorted(n.uid for n in store.get_nodes("chunk", doc_ids=["/docs/f1.txt", "/docs/none"])) == \
            [n.uid for n in chunks if n.global_metadata["doc_id"] == "/docs/f1.txt"]
        assert sorted(store.doc_uids("chunk", ["/docs/f1.txt", "/docs/none"])) == \
            [n.uid for n in chunks if n.global_metadata["doc_id"] == "/docs/f1.txt"]
        assert_same(store.get_nodes("root", uids=["root2"])[0], roots[2])
        assert store.get_nodes("missing") == [] and store.get_nodes("missing", uids=["c01"]) == []
        assert store.doc_uids("missing", ["/docs/f1.txt"]) == [] and store.doc_uids("chunk", []) == []

    def test_ready_returns_and_the_store_answers(self, make_store: StoreMaker) -> None:
        """What waits for the store (the embedding model's load) is not kept waiting for ever, even once the
        store is closed."""
        store = make_store()
        store.wait_ready()
        assert store.count("chunk") == 0
        store.close()
        store.wait_ready()

    def test_upsert_replaces_same_uid(self, store: StoreBase) -> None:
        roots, chunks = make_nodes()
        store.update_nodes(roots + chunks)
        changed = DocNode(uid="c03", text="rewritten", group="chunk", parent="root0", metadata={"subject": "geo"},
                          global_metadata=roots[0].global_metadata, embedding={"default": EMBED("rewritten")})
        store.update_nodes([changed])
        assert store.count("chunk") == len(chunks)
        assert_same(store.get_nodes("chunk", uids=["c03"])[0], changed)

    def test_remove_count_and_groups(self, store: StoreBase) -> None:
        roots, chunks = make_nodes()
        store.update_nodes(roots + chunks)
        assert sorted(store.groups()) == ["chunk", "root"]
        assert (store.count("root"), store.count("chunk"), store.count("missing")) == (3, 24, 0)
        assert sorted(store.remove_nodes("chunk", ["c01", "c02", "nope"])) == ["c01", "c02"]
        assert store.count("chunk") == 22 and store.get_nodes("chunk", uids=["c01"]) == []
        assert sorted(store.remove_nodes("root")) == ["root0", "root1", "root2"]
        assert store.groups() == ["chunk"] and store.count("root") == 0
        assert store.remove_nodes("root") == [] and store.remove_nodes("missing", ["x"]) == []

    def test_remove_docs(self, store: StoreBase) -> None:
        roots, chunks = make_nodes()
        store.update_nodes(roots + chunks)
        assert store.remove_docs(["/docs/f0.txt", "/docs/none"]) == 1 + 8
        assert store.get_nodes("chunk", doc_ids=["/docs/f0.txt"]) == []
        assert (store.count("root"), store.count("chunk")) == (2, 16)

    def test_get_children(self, store: StoreBase) -> None:
        roots, chunks = make_nodes()
        store.update_nodes(roots + chunks)
        kids = store.get_children("chunk", ["root1", "nope"])
        assert sorted(n.uid for n in kids) == [n.uid for n in chunks if n.parent_uid == "root1"]
        assert all(n.parent_uid == "root1" for n in kids)

    @pytest.mark.parametrize("topk", [5, 100])
    def test_vector_search_matches_numpy(self, store: StoreBase, topk: int) -> None:
        roots, chunks = make_nodes()
        index = DefaultIndex({"default": Embedder("default", EMBED)}, store)
        store.register_index("default", index)
        store.update_nodes(roots + chunks)
        store.update_nodes([DocNode(uid="novec", text="no vector", group="chunk", metadata={"subject": "bio"})])
        for filters in FILTERS:
            want_uids, want_scores = brute_force(chunks, EMBED("the query"), topk, filters)
            res = index.query("the query", group_name="chunk", topk=topk, filters=filters)
            assert [n.uid for n in res] == want_uids, filters
            assert np.allclose([n.similarity_score for n in res], want_scores, atol=1e-4)
            if store.supports_vector_search:
                hits = store.vector_search("chunk", "default", EMBED("the query"), topk, filters)
                assert [n.uid for n, _ in hits] == want_uids, filters
                assert np.allclose([s for _, s in hits], want_scores, atol=1e-4), filters
                assert all(n.text and n.group == "chunk" for n, _ in hits)

    def test_group_gains_an_embed_key(self, store: StoreBase) -> None:
        roots, chunks = make_nodes(6)
        store.update_nodes(roots + chunks)
        upgraded = [DocNode(uid=n.uid, text=n.text, group="chunk", parent=n.parent, metadata=n.metadata,
                            embedding={**n.embedding, "other": EMBED(n.text + " other")[:8]}) for n in chunks[:4]]
        store.update_nodes(upgraded)
        got = {n.uid: n for n in store.get_nodes("chunk")}
        assert len(got) == 6
        for node in upgraded:
            assert_same(got[node.uid], node)
        assert sorted(got["c05"].embedding) == ["default"]
        if store.supports_vector_search:
            hits = store.vector_search("chunk", "other", EMBED("q")[:8], 10)
            assert sorted(n.uid for n, _ in hits) == ["c00", "c01", "c02", "c03"]

    def test_index_hooks_see_every_write(self, store: StoreBase) -> None:
        roots, chunks = make_nodes(6)
        store.update_nodes(roots)
        rec = RecordingIndex()
        store.register_index("rec", rec)
        assert rec.updates == [("root", ["root0", "root1", "root2"])]
        store.update_nodes(chunks + [roots[0]])
        assert rec.updates[1:] == [("chunk", sorted(n.uid for n in chunks)), ("root", ["root0"])]
        store.remove_nodes("chunk", ["c01", "nope"])
        store.remove_docs(["/docs/f2.txt"])
        store.remove_nodes("root")
        assert rec.removes[0] == (["c01"], "chunk")
        assert sorted(rec.removes[1:3]) == [(["c02", "c05"], "chunk"), (["root2"], "root")]
        assert rec.removes[3] == (["root0", "root1"], "root")
        assert store.get_index("rec") is rec

    def test_persists_across_reopen(self, make_store: StoreMaker) -> None:
        roots, chunks = make_nodes()
        store = make_store()
        if not store.persistent:
            store.close()
            pytest.skip(f"{type(store).__name__} is not persistent: it forgets everything on close")
        store.update_nodes(roots + chunks)
        store.remove_nodes("chunk", ["c07"])
        store.close()
        store = make_store()
        try:
            assert store.persistent and store.ledger_path is not None
            assert sorted(store.groups()) == ["chunk", "root"]
            got = {n.uid: n for n in store.get_nodes("chunk")}
            assert sorted(got) == sorted(n.uid for n in chunks if n.uid != "c07")
            for node in chunks:
                if node.uid != "c07":
                    assert_same(got[node.uid], node)
            assert [n.uid for n in store.get_nodes("root", uids=["root1"])] == ["root1"]
        finally:
            store.close()

    @pytest.mark.parametrize("size", [85_709, 5_000_000])
    def test_nodes_of_any_size(self, make_store: StoreMaker, size: int) -> None:
        """A file as one root node (the lecture's 85 KB ``part_30.txt``, a 5 MB line) and a long chunk with a
        vector: written, read by uid, group, file and search, replaced by a shorter text, persisted, removed."""
        meta = {"doc_id": "/docs/long.txt", "file_name": "long.txt"}
        root = DocNode(uid="longroot", text=long_text(size, "root"), group="root", global_metadata=meta)
        chunk = DocNode(uid="longchunk", text=long_text(size, "chunk"), group="chunk", parent=root,
                        metadata={"subject": "bio"}, global_metadata=meta, embedding={"default": EMBED("long")})
        short = DocNode(uid="short", text="short", group="chunk", parent=root, global_metadata=meta,
                        embedding={"default": EMBED("short")})
        root.children.setdefault("chunk", []).extend([chunk, short])  # as node-group transforms link them
        store = make_store()
        try:
            store.update_nodes([root, chunk, short])
            assert_same(store.get_nodes("root", uids=["longroot"])[0], root)
            assert {n.uid: n.text for n in store.get_nodes("chunk")} == {"longchunk": chunk.text, "short": "short"}
            assert [n.text for n in store.get_nodes("chunk", doc_ids=["/docs/long.txt"]) if n.uid == "longchunk"] \
                == [chunk.text]
            assert [n.text for n in store.get_children("chunk", ["longroot"])
                    if n.uid == "longchunk"] == [chunk.text]
            if store.supports_vector_search:
                hits = store.vector_search("chunk", "default", EMBED("long"), 1, {"subject": "bio"})
                assert [(n.uid, n.text) for n, _ in hits] == [("longchunk", chunk.text)]
            shorter = DocNode(uid="longroot", text="now short", group="root", global_metadata=meta)
            store.update_nodes([shorter])
            assert store.get_nodes("root", uids=["longroot"])[0].text == "now short"
            store.update_nodes([root])
            if store.persistent:
                store.close()
                store = make_store()
            assert store.get_nodes("root", uids=["longroot"])[0].text == root.text
            assert store.get_nodes("chunk", uids=["longchunk"])[0].text == chunk.text
            assert sorted(store.remove_nodes("chunk", ["longchunk"])) == ["longchunk"]
            assert store.get_nodes("chunk", uids=["longchunk"]) == []
            store.update_nodes([chunk])
            assert store.remove_docs(["/docs/long.txt"]) == 3
            assert store.get_nodes("root") == [] and store.get_nodes("chunk") == []
            store.update_nodes([root])
            assert sorted(store.remove_nodes("root")) == ["longroot"]
            store.update_nodes([root])
            assert store.get_nodes("root")[0].text == root.text
        finally:
            store.close()

    def test_dimension_mismatch_names_both(self, store: StoreBase) -> None:
        store.register_index("default", DefaultIndex({"default": Embedder("default", EMBED)}, store))
        roots, chunks = make_nodes(3)
        store.update_nodes(roots + chunks)
        bad = DocNode(uid="bad", text="bad", group="chunk", embedding={"default": np.ones(8, dtype=np.float32)})
        with pytest.raises(ValueError, match=r"(?s)(16\b.*\b8\b|\b8\b.*16\b)"):
            store.update_nodes([bad])
