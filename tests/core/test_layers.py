"""The package's imports go one way: no module imports, even inside a function, one that
imports it back, and the core keeps its layer order.

Every ``import`` statement counts wherever it sits (module level, function bodies, class
bodies, ``try``/``if`` blocks) except under ``if TYPE_CHECKING:``, which never runs:
annotations may name a class of a layer above (``KuzzleError.retry_hint`` is a
``RetryHint``) without importing it. A submodule's implicit import of its parent packages
is not counted either: every module would otherwise "import" ``kuzzle_errors/__init__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kuzzle_errors"

#: The core, bottom to top: a module may import only modules of a lower rank.
CORE_LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "kuzzle_errors._redact",
        "kuzzle_errors._catalog_data",
        "kuzzle_errors._actions_data",
    ),
    ("kuzzle_errors.catalog",),
    ("kuzzle_errors.hints",),
    ("kuzzle_errors.exceptions",),
    ("kuzzle_errors.parser",),
    ("kuzzle_errors.partial",),
)

#: The only imports allowed to go up (each one function-level, documented where it sits).
UPWARD_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        # PartialError.items/.successes: the items parser builds errors of nested error objects.
        ("kuzzle_errors.exceptions", "kuzzle_errors.partial"),
    }
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def run_time_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of ``tree`` that can run (``if TYPE_CHECKING:`` bodies skipped)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for branch in node.orelse:  # the ``else`` of a TYPE_CHECKING test does run
                visit(branch)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def targets(
    node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, modules: set[str]
) -> set[str]:
    """The package's modules an import statement loads (outside modules are ignored)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = importer.split(".")
            anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
            base = ".".join(anchor + ([base] if base else []))
        # ``from pkg import name``: the submodule pkg.name if there is one, else pkg itself.
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
            for alias in node.names
        ]
    return {name for name in names if name in modules}


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    names = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in run_time_imports(tree):
            edges |= targets(node, name, is_package, names)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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
            connect(node)
    return found


def test_the_walk_sees_every_subpackage_and_function_level_imports() -> None:
    graph = import_graph()
    for name in ("kuzzle_errors._stub.server", "kuzzle_errors.cli.main", "kuzzle_errors.testing"):
        assert name in graph
    # A function-level import (the CLI loads its subcommands on demand) is an edge.
    assert "kuzzle_errors.cli.parse" in graph["kuzzle_errors.cli.main"]


def test_the_walk_finds_a_cycle_hidden_in_a_function() -> None:
    code = "def f():\n    from kuzzle_errors.parser import parse_error\n"
    node = run_time_imports(ast.parse(code))[0]
    modules = set(all_modules())
    assert targets(node, "kuzzle_errors.exceptions", False, modules) == {"kuzzle_errors.parser"}
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    skipped = "if TYPE_CHECKING:\n    import x\nelse:\n    import y\n"
    assert [n.names[0].name for n in run_time_imports(ast.parse(skipped))] == ["y"]


def without_allowed(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    return {
        name: {t for t in targets if (name, t) not in UPWARD_ALLOWED}
        for name, targets in graph.items()
    }


def test_no_import_cycle_anywhere_in_the_package() -> None:
    assert cycles(without_allowed(import_graph())) == []


def test_the_allowed_upward_imports_exist_and_sit_in_functions() -> None:
    graph = import_graph()
    for importer, target in UPWARD_ALLOWED:
        assert target in graph[importer]
        tree = ast.parse(all_modules()[importer].read_text(encoding="utf-8"))
        top_level = {
            t
            for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for t in targets(node, importer, False, set(graph))
        }
        assert target not in top_level


def test_the_core_imports_only_downwards() -> None:
    graph = without_allowed(import_graph())
    rank = {name: level for level, names in enumerate(CORE_LAYERS) for name in names}
    upward = [
        f"{name} imports {target}"
        for name, level in rank.items()
        for target in sorted(graph[name])
        if target == "kuzzle_errors" or rank.get(target, len(CORE_LAYERS)) >= level
    ]
    assert upward == []
