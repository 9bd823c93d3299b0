"""Where the deploy layer attaches to the models it serves.

A model can be served by an engine process instead of in-process (`LocalChat.deploy_method`), but the models
layer sits below the deploy layer and never imports it: ``ragjet.deploy`` registers its builder here when it
is imported (``import ragjet`` does), and a model asks this seam for it.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

Deployer = Callable[..., Any]
_deployer: Optional[Deployer] = None


def attach_deployer(deployer: Deployer) -> None:
    """Make ``deployer(method, args, **model_facts)`` the builder behind every model's ``deploy_method``."""
    global _deployer
    _deployer = deployer


def deployer() -> Deployer:
    """The attached builder, or an error saying which import attaches it."""
    if _deployer is None:
        raise RuntimeError("no deploy layer is attached: import ragjet (or ragjet.deploy) before calling "
                           "deploy_method")
    return _deployer
