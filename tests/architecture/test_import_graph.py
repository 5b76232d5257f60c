"""The import graph of ``src/turnmeter``: no cycles, and one door to the generated package.

Every ``import`` counts, at module level or inside a function (a lazy import is still a
dependency), except those under ``if TYPE_CHECKING:``. Importing ``a.b.c`` also depends on the
packages ``a.b`` and ``a`` whose ``__init__`` runs first.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "turnmeter"
GENERATED = "cf_analytics"
#: The one hand-written module that imports the generated package.
DOOR = "turnmeter.generated"
#: ariadne-codegen copies this template into generated/, where its relative imports resolve.
TEMPLATES = {"turnmeter.codegen.transport_base_client", "turnmeter.codegen.row_decoding"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from pkg import sub` may name a submodule.
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.split(".")[0] == GENERATED
        ):
            # A module named as a string (importlib.import_module, a lazy table) is imported too.
            found.add(node.value)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in (SRC / PACKAGE).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        if name in TEMPLATES:
            continue
        raw = _imports(ast.parse(path.read_text()), name, path.name == "__init__.py")
        edges: set[str] = set()
        for target in raw:
            parts = target.split(".")
            for end in range(1, len(parts) + 1):  # a.b.c needs a.b and a too
                prefix = ".".join(parts[:end])
                if prefix in paths and prefix != name and not name.startswith(prefix + "."):
                    edges.add(prefix)
            if parts[0] == GENERATED:
                edges.add(GENERATED)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                strong(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strong(node)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_only_the_door_imports_the_generated_package() -> None:
    importers = sorted(name for name, edges in _graph().items() if GENERATED in edges)
    assert importers == [DOOR]


def test_schema_tools_never_import_the_cli() -> None:
    graph = _graph()
    offenders = {
        name: sorted(t for t in edges if t.startswith("turnmeter.cli"))
        for name, edges in graph.items()
        if name.startswith("turnmeter.schema_tools")
    }
    assert {name: targets for name, targets in offenders.items() if targets} == {}


def test_the_graph_sees_real_edges() -> None:
    # Guards the walker itself: a known lazy import and a known package edge are found.
    graph = _graph()
    assert "turnmeter.errors" in graph["turnmeter.client"]
    assert "turnmeter.query" in graph["turnmeter.query.runner"] or any(
        t.startswith("turnmeter.query") for t in graph["turnmeter.client"]
    )
