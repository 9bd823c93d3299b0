"""What a module starts with itself: the `Startable` contract.

A module (`ModuleBase`) starts its submodules depth first when it starts: the models, documents, retrievers,
deployed engines and servers assigned to it as attributes. Those declare it by subclassing `Startable`
(``start()`` with no argument loads or starts what the object holds, and returns it). Anything else with a
``start`` method, a user's thread or ragjet's own helpers whose ``start`` takes arguments, is left alone; a
user's class joins by subclassing `Startable`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Startable(ABC):
    """An object a module starts with itself: ``start()`` loads or starts what it holds and returns it."""

    @abstractmethod
    def start(self) -> Any:
        """Load or start now what the object would otherwise do at first use; return the object."""
