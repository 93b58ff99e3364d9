"""Python run in a new interpreter, for what one test process cannot show: what an import pulls
in, and what a repository script says
(a plain module: pytest's ``pythonpath`` option puts tests/ on sys.path)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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
