"""LazyLLM-compatible flows: ``pipeline`` (steps in order), ``parallel`` (branches at once), ``diverter`` (each
branch its own input), ``warp`` (one step over every item), ``switch`` / ``ifs`` / ``loop``, ``graph`` (a DAG),
and ``bind`` with its placeholders (``_0`` … ``_9``)."""
from .base import FlowError, kwargs, package
from .bind import Bind, bind
from .control import IFS, Loop, Switch, ifs, loop, switch
from .graph import Graph, graph
from .parallel import Diverter, Parallel, Warp, barrier, diverter, parallel, warp
from .pipeline import Pipeline, pipeline
from .placeholder import ARGS

_0, _1, _2, _3, _4, _5, _6, _7, _8, _9 = ARGS

__all__ = ["Bind", "barrier", "Diverter", "FlowError", "Graph", "IFS", "Loop", "Parallel", "Pipeline", "Switch", "Warp", "bind",
           "diverter", "graph", "ifs", "kwargs", "loop", "package", "parallel", "pipeline", "switch", "warp",
           "_0", "_1", "_2", "_3", "_4", "_5", "_6", "_7", "_8", "_9"]
