"""The package imports one way, down the layers of docs/architecture.md, and no module imports itself back
through others. Read from the source (lazy imports inside functions included; ``if TYPE_CHECKING:`` blocks,
which never run, excluded), so an upward import fails here before it becomes a cycle at run time."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ragjet"

# Bottom to top: a module may import its own layer and the layers below it.
LAYERS: list[tuple[str, ...]] = [
    ("ragjet.settings", "ragjet.log", "ragjet.progress", "ragjet.registry", "ragjet.home", "ragjet.hashing", "ragjet.procs", "ragjet.http_client", "ragjet.asgi_transport", "ragjet.sqlite_util",
     "ragjet.text", "ragjet.data"),
    ("ragjet.flow",),
    ("ragjet.models",),
    ("ragjet.deploy",),
    ("ragjet.rag.doc_node", "ragjet.rag.sparse_vector", "ragjet.rag.similarity"),
    ("ragjet.rag.fusion", "ragjet.rag.embedding", "ragjet.rag.readers", "ragjet.rag.transforms"),
    ("ragjet.rag.store",),
    ("ragjet.rag.index",),
    ("ragjet.rag.ingest", "ragjet.rag.warm_up"),
    ("ragjet.rag.document",),
    ("ragjet.rag.retriever", "ragjet.rag.reranker", "ragjet.rag"),
    ("ragjet.chat",),
    ("ragjet.web",),
    ("ragjet.bench", "ragjet.testing"),
    ("ragjet.cli", "ragjet.__main__", "ragjet.lazyllm_paths", "ragjet"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> int:
    best, found = -1, None
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), level
    assert found is not None, f"{module} is in no layer of LAYERS: add it where it belongs"
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")[: len(module.split(".")) - (node.level - (1 if is_package else 0))]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, for_types: bool = False) -> set[str]:
    """The ragjet modules ``module`` loads when run: each one it names and the packages above that one (with
    ``for_types``, also those it names for type checkers only)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    skipped = set() if for_types else _type_checking_nodes(tree)
    named: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            named += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node, path.name == "__init__.py")
            named += [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names]
    found: set[str] = set()
    for name in named:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        while name.startswith("ragjet"):
            if name in MODULES and name != module and not module.startswith(name + "."):
                found.add(name)
            name = name.rpartition(".")[0]
    return found


GRAPH = {m: imports_of(m) for m in MODULES}
TYPED_GRAPH = {m: imports_of(m, for_types=True) for m in MODULES}


def test_every_import_goes_down_the_layers() -> None:
    upward = [f"{m} (layer {layer_of(m)}) imports {t} (layer {layer_of(t)})"
              for m in sorted(GRAPH) for t in sorted(GRAPH[m]) if layer_of(t) > layer_of(m)]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


@pytest.mark.parametrize("graph", [GRAPH, TYPED_GRAPH], ids=["run", "type-only imports too"])
def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    """Not even through imports for type checkers: a module that needs a type from above names a Protocol
    of its own (`StoreHooks`, the web API's `Served`)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert not cycles, f"modules importing each other: {cycles}"


def test_the_graph_sees_imports() -> None:
    """The check reads what it should: a known lazy import and a known top-level one are found."""
    assert "ragjet.rag.store" in GRAPH["ragjet.rag.index.smart_embedding"]
    assert "ragjet.text.lexical" in GRAPH["ragjet.rag.index.bm25"]
    assert "ragjet.models.deployment" in GRAPH["ragjet.deploy.module"]


def test_the_architecture_page_names_every_module():
    """docs/architecture.md's package tree is the map of the code: every module file is named in it."""
    import re

    root = Path(__file__).resolve().parents[1]
    tree = (root / "docs" / "architecture.md").read_text(encoding="utf-8").split("```")[1]
    unnamed = [str(path.relative_to(root)) for path in sorted((root / "ragjet").rglob("*.py"))
               if path.name not in ("__init__.py", "__main__.py")
               and not re.search(rf"(?<![\w.]){re.escape(path.name)}(?!\w)", tree)]
    assert unnamed == [], "name these modules in the package tree of docs/architecture.md"


def test_no_test_folder_takes_the_name_of_a_module_ragjet_imports():
    """pytest puts a folder of test files on ``sys.path``, so its subfolders import as namespace packages: a
    ``tests/models/llama_cpp/`` made ``import llama_cpp`` find the tests where llama-cpp-python is not
    installed, and the bench took the Python binding for present. Test folders get names nothing imports."""
    imported = set()
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                imported.add(node.module.split(".")[0])
    tests = Path(__file__).resolve().parent
    folders = {p.name for p in tests.rglob("*") if p.is_dir() and p.name != "__pycache__"}
    assert "llama_cpp" in imported and "numpy" in imported
    assert folders & imported == set(), "rename these test folders: they shadow modules ragjet imports"
