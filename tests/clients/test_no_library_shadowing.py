"""``kuzzle_errors.httpx``/``.websockets`` never shadow the libraries of the same name.

Inside the package, ``import httpx`` must give the real httpx and ``import websockets`` the
real websockets (which the stub server also uses), never our modules of the same name.
"""

from __future__ import annotations

import ast
from pathlib import Path

from fresh_python import run

import kuzzle_errors

PACKAGE = Path(kuzzle_errors.__file__).resolve().parent


def test_our_modules_import_the_real_libraries() -> None:
    out = run(
        "import sys, kuzzle_errors;"
        "h = kuzzle_errors.httpx; w = kuzzle_errors.websockets;"  # the lazy attributes
        "import kuzzle_errors.httpx as h2, kuzzle_errors.websockets as w2;"
        "assert h is h2 and w is w2;"
        "real_h, real_w = sys.modules['httpx'], sys.modules['websockets'];"
        "print(h.httpx is real_h, w.websockets is real_w,"
        " real_h.__name__, real_w.__name__,"
        f" {str(PACKAGE)!r} not in (real_h.__file__ or ''),"
        f" {str(PACKAGE)!r} not in (real_w.__file__ or ''),"
        " hasattr(real_h, 'AsyncClient'), hasattr(real_w, 'asyncio'))"
    )
    assert out == "True True httpx websockets True True True True"


def test_the_stub_still_serves_websockets_after_our_module_is_imported() -> None:
    out = run(
        "import kuzzle_errors.websockets, kuzzle_errors.httpx;"
        "from kuzzle_errors.testing import StubKuzzle;"
        "from kuzzle_errors.websocket import KuzzleWebSocket;"
        "s = StubKuzzle().start();"
        "k = KuzzleWebSocket(s.ws_url, timeout=5);"
        "print('now' in k.query({'controller': 'server', 'action': 'now'}));"
        "k.close(); s.stop()"
    )
    assert out == "True"


def test_no_relative_imports_in_the_package() -> None:
    # A relative import (`from . import websockets`) would pick our module over the library.
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []
