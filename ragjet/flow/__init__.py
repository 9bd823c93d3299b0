"""LazyLLM-compatible flows: ``pipeline`` (steps in order), ``parallel`` (branches at once) and ``bind``."""
from .base import FlowError, package
from .bind import Bind, bind
from .parallel import Parallel, parallel
from .pipeline import Pipeline, pipeline

__all__ = ["Bind", "FlowError", "Parallel", "Pipeline", "bind", "package", "parallel", "pipeline"]
