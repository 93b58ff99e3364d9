"""``import kuzzle_errors`` stays light: no transport library, no catalogue build."""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


def test_import_does_not_pull_transports_or_build_the_catalogue() -> None:
    out = run(
        "import sys, kuzzle_errors, kuzzle_errors.catalog as c;"
        "print(sorted(m for m in ('requests', 'websocket', 'websockets', 'urllib3', 'email.utils',"
        " 'kuzzle_errors._catalog_data') if m in sys.modules), c._catalog is None)"
    )
    assert out == "[] True"


def test_py_typed_marker_ships() -> None:
    out = run(
        "import importlib.resources as r; print(r.files('kuzzle_errors').joinpath('py.typed')"
        ".is_file(), r.files('kuzzle_errors').joinpath('codes.pyi').is_file())"
    )
    assert out == "True True"
