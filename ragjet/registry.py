"""Name → object registries.

Stores, indexes, similarities, readers and models register themselves by name instead of being picked by
if-chains; an unknown name raises an error that lists what is registered, so a typo explains itself.
"""
from __future__ import annotations

from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection whose lookup errors list the valid names."""

    def __init__(self, kind: str, hint: str = "") -> None:
        self.kind = kind
        self.hint = hint
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T | None = None, *, replace: bool = False):
        """Register ``item`` under ``name``; without ``item`` return a decorator."""
        def _do(obj: T) -> T:
            if name in self._items and not replace and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered; pass replace=True to override it")
            self._items[name] = obj
            return obj
        return _do if item is None else _do(item)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(self.unknown_message(name)) from None

    def unknown_message(self, name: object) -> str:
        names = ", ".join(sorted(self._items)) or "(none)"
        msg = f"unknown {self.kind} {name!r}; registered: {names}"
        return f"{msg}. {self.hint}" if self.hint else msg

    def name_of(self, item: T) -> str:
        """The name ``item`` is registered under."""
        for name, registered in self._items.items():
            if registered is item:
                return name
        raise KeyError(f"{item!r} is not a registered {self.kind}")

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)


def missing_extra(package: str, extra: str) -> ImportError:
    """Build the ImportError raised when an optional dependency is absent, naming the extra to install."""
    return ImportError(f"{package} is not installed; install it with: pip install 'ragjet[{extra}]'")
