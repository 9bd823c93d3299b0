"""IndexBase: the three methods every index implements, and the ``override`` marker the lecture uses.

The store calls ``update`` and ``remove`` on every registered index whenever nodes change (its hooks); a
`Retriever` calls ``query``. ``query`` returns DocNodes best first, each carrying its ``similarity_score``:
one shape for every index (`ragjet.testing.index_contract` is the suite that holds an index to it).

An index also declares, as class attributes, what the store and the retriever need to know about it (the
defaults fit a custom index such as the lecture's trie): whether it wants the nodes already stored when it is
registered late (`needs_backfill`), whether the nodes it searches must be embedded (`vector_index`), or
whether the retriever's similarity decides that (`serves_similarity`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Callable, ClassVar, List, Optional, TypeVar

from ...registry import Registry

if TYPE_CHECKING:
    from ..doc_node import DocNode
    from ..store.base import StoreBase

F = TypeVar("F", bound=Callable[..., Any])


def override(func: F) -> F:
    """Mark a method as overriding its base (``typing.override`` exists only from Python 3.12)."""
    try:
        func.__override__ = True  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        pass
    return func


class IndexBase(ABC):
    """A structure that answers queries over the nodes of a store faster than a scan."""

    needs_backfill: ClassVar[bool] = True
    """`StoreBase.register_index` feeds the index every node already stored. False for an index that keeps no
    copy of its own (a view over another index) or reconciles itself on its first query."""

    vector_index: ClassVar[bool] = False
    """The index searches vectors: a retriever using it has its group embedded (with the document's models)."""

    serves_similarity: ClassVar[bool] = False
    """The index answers any registered similarity (``Retriever(similarity=...)``): whether a group needs
    embeddings then follows from the similarity (``cosine`` does, ``bm25`` does not), not from `vector_index`."""

    setup_hint: ClassVar[str] = ""
    """Appended to the error for a retriever naming this index on a document where it is not set up."""

    @classmethod
    def stand_in(cls, store: "StoreBase") -> Optional["IndexBase"]:
        """An index already on ``store`` that answers for this one when it was not configured (None: none)."""
        return None

    @classmethod
    def needs_vectors(cls, similarity_needs_embedding: bool) -> bool:
        """Whether a retriever using this index, with a similarity that does or does not embed, needs its group
        embedded."""
        return similarity_needs_embedding if cls.serves_similarity else cls.vector_index

    @abstractmethod
    def update(self, nodes: List["DocNode"]) -> None:
        """Add or replace ``nodes`` (all of one group)."""

    @abstractmethod
    def remove(self, uids: List[str], group_name: Optional[str] = None) -> None:
        """Forget the nodes ``uids`` of ``group_name``."""

    @abstractmethod
    def query(self, *args: Any, **kwargs: Any) -> List["DocNode"]:
        """Return the matching nodes, best first."""

    def close(self) -> None:
        """Release what the index holds of its own (a database connection, a file lock): the store it is
        registered on calls this when it closes. Most indexes hold nothing."""


INDEXES: Registry[type] = Registry(
    "index", hint="Register your own with Document.register_index(name, IndexClass, *args).")
