"""IndexBase: the three methods every index implements, and the ``override`` marker the lecture uses.

The store calls ``update`` and ``remove`` on every registered index whenever nodes change (its hooks); a
`Retriever` calls ``query``. ``query`` returns DocNodes (or uids, which the retriever resolves through the
store) best first.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Callable, List, Optional, TypeVar

from ...registry import Registry

if TYPE_CHECKING:
    from ..doc_node import DocNode

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

    @abstractmethod
    def update(self, nodes: List["DocNode"]) -> None:
        """Add or replace ``nodes`` (all of one group)."""

    @abstractmethod
    def remove(self, uids: List[str], group_name: Optional[str] = None) -> None:
        """Forget the nodes ``uids`` of ``group_name``."""

    @abstractmethod
    def query(self, *args: Any, **kwargs: Any) -> List["DocNode"]:
        """Return the matching nodes, best first."""


INDEXES: Registry[type] = Registry(
    "index", hint="Register your own with Document.register_index(name, IndexClass, *args).")
