"""Reading and deleting nodes of a vector database in bounded calls: by uid, file or parent, each distinct
value asked once, never a query too long for the database."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence, TypeVar

if TYPE_CHECKING:
    from ..doc_node import DocNode

T = TypeVar("T")


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for begin in range(0, len(items), size):
        yield items[begin:begin + size]


def fetch_in_batches(values: Iterable[str], fetch: Callable[[list[str]], list[T]], batch_size: int) -> list[T]:
    """``fetch`` over the distinct ``values`` in calls of at most ``batch_size`` of them, results in call order:
    how both databases look nodes (or their uids) up by uid, file or parent without a query too long for them."""
    found: list[T] = []
    for chunk in batches(list(dict.fromkeys(values)), batch_size):
        found.extend(fetch(list(chunk)))
    return found


def fetch_by_uid(uids: Iterable[str], fetch: Callable[[list[str]], list["DocNode"]],
                 batch_size: int) -> list["DocNode"]:
    """Nodes for ``uids`` in the order asked (unknown uids skipped), each distinct uid fetched once, in calls
    of at most ``batch_size`` ids: what both databases' ``get_nodes(uids=...)`` need."""
    uids = list(uids)
    found = {node.uid: node for node in fetch_in_batches(uids, fetch, batch_size)}
    return [found[u] for u in uids if u in found]


def delete_existing(uids: Iterable[str], find: Callable[[list[str]], list[str]],
                    delete: Callable[[list[str]], None], batch_size: int) -> list[str]:
    """Delete those of ``uids`` that exist (``find`` names them), in calls of at most ``batch_size`` ids, and
    return them: what both databases' ``_delete`` of some uids needs."""
    removed: list[str] = []
    for chunk in batches(list(dict.fromkeys(uids)), batch_size):
        found = find(list(chunk))
        if found:
            delete(found)
            removed.extend(found)
    return removed
