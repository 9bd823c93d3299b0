"""``graph``: LazyLLM's DAG flow. Nodes are named steps (``with graph() as g: g.a = f``), edges say where each
node's input comes from (``g.add_edge('__start__', 'a')``, with an optional formatter, or a constant:
``add_const_edge``), and the output is what reaches ``__end__``.

A node runs as soon as all its inputs are there, so independent branches run at once on the flows' shared
pool: a graph's latency is its longest path. The calling thread schedules and runs one ready node itself, and
takes back a queued node rather than wait idle, so graphs nested in parallel branches cannot starve the pool.
A node with several inputs receives them as positional arguments in edge order (``kwargs`` inputs merged as
keyword arguments); `set_node_arg_name` passes them by name instead.
"""
from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextvars import copy_context
from typing import Any, Callable, Optional, Sequence

from .base import FlowBase, kwargs, package
from .parallel import _pool

START, END = "__start__", "__end__"
_CONSTANT = "constant #"


class GraphNode:
    """A node: its step (``func``), its inputs (source name → formatter or None) and the nodes it feeds."""

    def __init__(self, name: str, func: Optional[Callable[..., Any]], index: Optional[int]) -> None:
        self.name, self.func, self.index = name, func, index
        self.inputs: dict[str, Optional[Callable[[Any], Any]]] = {}
        self.outputs: list["GraphNode"] = []
        self.arg_names: Optional[list[str]] = None

    def __repr__(self) -> str:
        return f"<graph node {self.name}>"


class Graph(FlowBase):
    """``graph(a=f, b=g)`` or nodes assigned in a ``with`` block, then edges; ``g(x)`` runs it."""

    _kind = "graph"
    _step_word = "node"
    start_node_name, end_node_name = START, END

    def __init__(self, *steps: Any, **named_steps: Any) -> None:
        self._graph_nodes = {START: GraphNode(START, None, None), END: GraphNode(END, None, None)}
        self._constants: list[Any] = []
        self._order: Optional[list[GraphNode]] = None
        super().__init__(*steps, **named_steps)

    @property
    def _nodes(self) -> dict[str, GraphNode]:
        """Every node by name: ``__start__``, the steps (a step without a name is ``#i``), ``__end__``."""
        for i, (name, step) in enumerate(zip(self._names, self._steps)):
            key = name or f"#{i}"
            if key not in self._graph_nodes:
                self._graph_nodes[key] = GraphNode(key, step, i)
        return self._graph_nodes

    @property
    def start_node(self) -> GraphNode:
        return self._nodes[START]

    @property
    def end_node(self) -> GraphNode:
        return self._nodes[END]

    def _node(self, node: str | GraphNode) -> GraphNode:
        if isinstance(node, GraphNode):
            return node
        nodes = self._nodes
        if node not in nodes:
            raise KeyError(f"graph has no node {node!r}; its nodes: {', '.join(nodes)}")
        return nodes[node]

    def add_edge(self, from_node: str | GraphNode | Sequence[Any], to_node: str | GraphNode | Sequence[Any],
                 formatter: Optional[Callable[[Any], Any]] = None) -> None:
        """Feed ``to_node`` with ``from_node``'s output (through ``formatter`` when given); a list on either
        side adds an edge for each."""
        if isinstance(from_node, (list, tuple)):
            for f in from_node:
                self.add_edge(f, to_node, formatter)
            return
        if isinstance(to_node, (list, tuple)):
            for t in to_node:
                self.add_edge(from_node, t, formatter)
            return
        source, target = self._node(from_node), self._node(to_node)
        if source.name == END or target.name == START:
            raise ValueError(f"an edge {source.name} → {target.name} goes against the graph: nothing leaves "
                             f"{END} and nothing enters {START}")
        if source.name in target.inputs:
            raise ValueError(f"the graph already has an edge {source.name} → {target.name}")
        source.outputs.append(target)
        target.inputs[source.name] = formatter
        self._order = None

    def add_const_edge(self, constant: Any, to_node: str | GraphNode | Sequence[Any]) -> None:
        """Give ``to_node`` the fixed value ``constant`` as one of its inputs."""
        if isinstance(to_node, (list, tuple)):
            for t in to_node:
                self.add_const_edge(constant, t)
            return
        self._node(to_node).inputs[f"{_CONSTANT}{len(self._constants)}"] = None
        self._constants.append(constant)

    def set_node_arg_name(self, arg_names: Sequence[Optional[Sequence[str]]]) -> None:
        """Per node, in the order the nodes were made: the keyword names its inputs are passed under."""
        steps = [n for n in self._nodes.values() if n.index is not None]
        for node, names in zip(steps, arg_names):
            node.arg_names = list(names) if names else None

    def topological_sort(self) -> list[GraphNode]:
        """The nodes with an edge, each after every node it reads; a cycle is a ValueError naming its nodes."""
        nodes = [n for n in self._nodes.values() if n.inputs or n.outputs]
        waiting = {n.name: sum(not s.startswith(_CONSTANT) for s in n.inputs) for n in nodes}
        ready = [n for n in nodes if not waiting[n.name]]
        order: list[GraphNode] = []
        while ready:
            node = ready.pop(0)
            order.append(node)
            for target in node.outputs:
                waiting[target.name] -= 1
                if not waiting[target.name]:
                    ready.append(target)
        if len(order) != len(nodes):
            stuck = [n.name for n in nodes if n not in order]
            raise ValueError(f"the graph has a cycle through {', '.join(stuck)}")
        return order

    def _run(self, value: Any, extra: dict[str, Any]) -> Any:
        if self._order is None:
            self._order = self.topological_sort()
        end = self._graph_nodes[END]  # always there: no scan of the steps on every call
        if not end.inputs:
            raise ValueError(f"nothing reaches {END}: add an edge to it (g.add_edge('last node', '{END}'))")
        called_by_name = extra and isinstance(value, package) and not value  # g(a=1, b=2)
        results: dict[str, Any] = {START: kwargs(extra) if called_by_name else value}
        waiting = [n for n in self._order if n.name != START]
        running: dict[Future, GraphNode] = {}
        try:
            while END not in results:
                ready = [n for n in waiting if all(s in results or s.startswith(_CONSTANT) for s in n.inputs)]
                waiting = [n for n in waiting if n not in ready]
                if ready:
                    *others, here = ready
                    for node in others:
                        running[_pool().submit(copy_context().run, self._compute, node, results)] = node
                    results[here.name] = self._compute(here, results)
                    continue
                queued = next((f for f in running if f.cancel()), None)
                if queued is not None:
                    node = running.pop(queued)
                    results[node.name] = self._compute(node, results)
                    continue
                for future in wait(running, return_when=FIRST_COMPLETED).done:
                    results[running.pop(future).name] = future.result()
            return results[END]
        finally:
            for future in running:
                future.cancel()

    def _compute(self, node: GraphNode, results: dict[str, Any]) -> Any:
        """``node``'s output from its inputs (already in ``results``)."""
        positional, named = [], {}
        for source, formatter in node.inputs.items():
            item = self._constants[int(source[len(_CONSTANT):])] if source.startswith(_CONSTANT) else results[source]
            item = formatter(item) if formatter is not None else item
            if isinstance(item, kwargs):
                clash = named.keys() & item.keys()
                if clash:
                    raise ValueError(f"graph node {node.name!r} receives {sorted(clash)} from two inputs")
                named.update(item)
            else:
                positional.append(item)
        if node.arg_names:
            named.update(zip(node.arg_names, positional))
            positional = []
        if node.index is None:  # __end__ passes on what reaches it
            return positional[0] if len(positional) == 1 and not named else \
                kwargs(named) if not positional else package(positional)
        value = positional[0] if len(positional) == 1 else package(positional)
        return self._invoke(node.index, value, named)


graph = Graph
