"""The index contract as a reusable test suite: what every `IndexBase` keeps, fed by a store's hooks.

A retriever asks an index ``query(query, group_name=..., similarity_name=..., topk=..., similarity_cut_off=...,
embed_keys=..., filters=...)`` and gets back DocNodes, best first, each carrying its ``similarity_score``: one
shape, whatever the index. The store tells the index of every write (``update``) and removal (``remove``).
An index of your own passes it in a few lines::

    from ragjet.testing.index_contract import IndexContract

    class TestMyIndex(IndexContract):
        def make_index(self, store, embed, tmp_path):
            return MyIndex(embed, store)

Checked: the node whose own text is asked for comes first, scores never rise down the list and at most
``topk`` come back; a rewrite replaces a node, a removal forgets it; another group's nodes never answer; a
metadata filter keeps only what it names (``filters`` = False on the class for an index without them); a
cut-off keeps only the scores over it; a registered index is closed with its store. Needs pytest.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest

from ..rag.doc_node import DocNode
from ..rag.embedding import Embedder
from ..rag.index.base import IndexBase
from ..rag.store import StoreBase, create_store
from .store_samples import EMBED, SUBJECTS, make_nodes

GROUP = "chunk"


class IndexContract:
    """Subclass with ``make_index(store, embed, tmp_path)``; ``similarity`` is what the queries ask for."""

    similarity = "cosine"
    filters = True  # the index honours metadata filters

    def make_index(self, store: StoreBase, embed: Mapping[str, Embedder], tmp_path: Path) -> IndexBase:
        raise NotImplementedError("give the contract make_index(store, embed, tmp_path)")

    @pytest.fixture
    def fed(self, tmp_path: Path) -> Iterator[tuple[StoreBase, IndexBase, list[DocNode]]]:
        """A map store with the contract's index registered on it (unless ``make_index`` registered it), then
        fed the sample chunks through the store's hooks, as a Document feeds it."""
        store = create_store(None)
        index = self.make_index(store, {"default": Embedder("default", EMBED)}, tmp_path)
        if all(store.get_index(name) is not index for name in store.index_names()):
            store.register_index("contract", index)
        roots, chunks = make_nodes()
        store.update_nodes(roots + chunks)
        yield store, index, chunks
        store.close()

    def ask(self, index: IndexBase, text: str, topk: int = 5, **kwargs: Any) -> list[DocNode]:
        found = index.query(text, group_name=GROUP, similarity_name=self.similarity, topk=topk,
                            embed_keys=["default"], **kwargs)
        assert all(isinstance(n, DocNode) for n in found), "an index returns DocNodes, best first"
        return found

    # -- the contract ------------------------------------------------------------------------------------
    def test_the_node_asked_for_comes_first_and_scores_fall(self, fed: Any) -> None:
        _, index, chunks = fed
        for chunk in chunks[:6]:
            found = self.ask(index, chunk.text, topk=4)
            assert found[0].uid == chunk.uid and found[0].text == chunk.text
            scores = [n.similarity_score for n in found]
            assert len(found) <= 4 and None not in scores and scores == sorted(scores, reverse=True)

    def test_topk_over_the_count_gives_each_node_once(self, fed: Any) -> None:
        _, index, chunks = fed
        uids = [n.uid for n in self.ask(index, chunks[0].text, topk=len(chunks) + 10)]
        assert len(uids) == len(set(uids)) and set(uids) <= {c.uid for c in chunks}

    def test_a_rewritten_node_answers_with_its_new_text(self, fed: Any) -> None:
        store, index, chunks = fed
        old = chunks[4]
        text = "chunk four now speaks of astronomy"
        store.update_nodes([DocNode(uid=old.uid, text=text, group=GROUP, parent=old.parent_uid,
                                    metadata=dict(old.metadata), embedding={"default": EMBED(text)})])
        found = self.ask(index, text)
        assert found[0].uid == old.uid and found[0].text == text
        assert [n.uid for n in found].count(old.uid) == 1
        assert all(n.text != old.text for n in self.ask(index, old.text, topk=len(chunks)))

    def test_a_removed_node_never_answers(self, fed: Any) -> None:
        store, index, chunks = fed
        gone = chunks[7]
        store.remove_nodes(GROUP, [gone.uid])
        assert gone.uid not in {n.uid for n in self.ask(index, gone.text, topk=len(chunks))}

    def test_another_group_never_answers(self, fed: Any) -> None:
        store, index, chunks = fed
        text = chunks[2].text
        store.update_nodes([DocNode(uid="other-1", text=text, group="other", embedding={"default": EMBED(text)})])
        assert "other-1" not in {n.uid for n in self.ask(index, text, topk=len(chunks) + 1)}

    def test_a_filter_keeps_what_it_names(self, fed: Any) -> None:
        if not self.filters:
            pytest.skip(f"{type(self).__name__}: the index takes no filters")
        _, index, chunks = fed
        found = self.ask(index, chunks[0].text, topk=len(chunks), filters={"subject": SUBJECTS[1]})
        assert found and all(n.metadata["subject"] == SUBJECTS[1] for n in found)
        assert len(found) == sum(c.metadata["subject"] == SUBJECTS[1] for c in chunks)

    def test_a_filter_means_what_it_means_in_the_databases(self, fed: Any) -> None:
        """The same filters everywhere (`ragjet.rag.store.filters`): a key no database filters on is refused,
        and a list in a node's metadata is absent to a filter, as in Milvus and Chroma."""
        if not self.filters:
            pytest.skip(f"{type(self).__name__}: the index takes no filters")
        _, index, chunks = fed
        with pytest.raises(ValueError, match="cannot filter on metadata key 'content'"):
            self.ask(index, chunks[0].text, filters={"content": chunks[0].text})
        assert self.ask(index, chunks[0].text, topk=len(chunks), filters={"tags": ["x", "y"]}) == []

    def test_a_cut_off_keeps_only_the_scores_over_it(self, fed: Any) -> None:
        _, index, chunks = fed
        found = self.ask(index, chunks[3].text, topk=len(chunks), similarity_cut_off=0.999)
        assert [n.uid for n in found] == [chunks[3].uid]

    def test_the_store_closes_its_index(self, fed: Any) -> None:
        store, index, _ = fed
        closed: list[bool] = []
        close = index.close
        index.close = lambda: (closed.append(True), close())[1]  # type: ignore[method-assign]
        store.close()
        assert closed == [True]
