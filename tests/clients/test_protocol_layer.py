"""The protocol core every client feeds is I/O-free: it imports only the core and the standard
library, never a transport library nor asyncio (the clients bring their library's I/O)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import kuzzle_errors

PACKAGE = Path(kuzzle_errors.__file__).resolve().parent
CORE = {"_redact", "_record", "catalog", "hints", "exceptions", "parser", "partial"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_protocol_core_imports_only_the_core_and_the_standard_library() -> None:
    modules = sorted((PACKAGE / "_protocol").glob("*.py"))
    assert len(modules) > 1
    wrong = []
    for path in modules:
        for name in imported_modules(path):
            top, _, rest = name.partition(".")
            if top == "kuzzle_errors":
                ok = rest.split(".")[0] in CORE or rest.startswith("_protocol")
            else:
                ok = top in sys.stdlib_module_names and top != "asyncio"
            if not ok and name != "__future__":
                wrong.append(f"{path.name}: {name}")
    assert wrong == []
