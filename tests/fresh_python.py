"""Python run in a new interpreter, for what one test process cannot show: what an import pulls
in, and what a repository script says
(a plain module: pytest's ``pythonpath`` option puts tests/ on sys.path)."""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(code: str) -> str:
    """What ``python -c code`` prints, stripped; a failure shows the child's traceback."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def imported(code: str, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` are in ``sys.modules`` once a new interpreter has run ``code``."""
    out = run(f"import sys\n{code}\nprint(sorted(m for m in {names!r} if m in sys.modules))")
    found: list[str] = ast.literal_eval(out.splitlines()[-1])
    return found


def check_script(name: str) -> None:
    """``scripts/<name> --check`` passes (its complaint is the assertion message)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def import_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` imported in this process, the repository root kept off sys.path.

    A script puts the root first on sys.path so that it runs from a checkout; left there, it
    would let this process import the source tree instead of the package under test (nox runs
    the suite against the installed wheel).
    """
    before = list(sys.path)
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path[:] = [str(ROOT / "scripts"), *before]


def console_script() -> str:
    """The installed ``kuzzle-errors`` script: beside this Python first, then on PATH.

    It is what a user runs, and unlike ``python -m`` it never imports from the working directory.
    """
    for name in ("kuzzle-errors", "kuzzle-errors.exe"):
        beside = Path(sys.executable).with_name(name)
        if beside.exists():
            return str(beside)
    found = shutil.which("kuzzle-errors")
    if found is None:
        pytest.fail("the kuzzle-errors console script is not installed (pip install -e .)")
    return found
