"""Every code block in the README runs, and prints what the README says it prints.

Python blocks are executed; a ``text`` block introduced by "prints" must equal their output.
Shell blocks: ``kuzzle-errors`` command lines are run (through ``python -m kuzzle_errors``);
the Quick-start ``pip install`` lines are exactly what CI (``.ci/run``) executes.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```\n(?:\s*\n)?(prints\n\n```text\n(.*?)^```)?", re.M | re.S)
BLOCKS = [(m.group(1), m.group(2), m.group(4)) for m in BLOCK.finditer(README)]
PYTHON = [(code, expected) for lang, code, expected in BLOCKS if lang == "python"]
SHELL = [code for lang, code, _ in BLOCKS if lang in ("sh", "console", "bash")]


def test_blocks_were_found() -> None:
    assert len(PYTHON) >= 5
    assert SHELL


@pytest.mark.parametrize("code,expected", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_block(code: str, expected: str | None) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    if expected is not None:
        assert out.getvalue() == expected


def shell_commands() -> list[str]:
    commands = []
    for block in SHELL:
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("kuzzle-errors ") and "demo" not in line and "stub" not in line:
                commands.append(line)
    return commands


@pytest.mark.parametrize("command", shell_commands() or ["kuzzle-errors --version"])
def test_shell_command(command: str) -> None:
    args = shlex.split(command)[1:]
    result = subprocess.run(
        [sys.executable, "-m", "kuzzle_errors", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode in (0, 2), result.stderr  # 2: `parse` found an error body


def test_quick_start_is_what_ci_runs() -> None:
    quick = SHELL[0].strip().splitlines()
    assert quick == [
        "python -m pip install '.[http,websocket,stub]' && kuzzle-errors demo",
        "python -m pip install '.[test]' && python -m pytest",
    ]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for line in quick:
        assert line.replace("python -m pip install ", "python -m pip install --quiet ") in ci


def test_generated_tables_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme_tables.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
