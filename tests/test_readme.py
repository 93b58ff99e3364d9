"""Every code block in the README runs, and prints what the README says it prints.

Python blocks are executed; a ``text`` block introduced by "prints" must equal their output.
Shell blocks: ``kuzzle-errors`` command lines are run (through ``python -m kuzzle_errors``);
the Quick-start ``pip install`` lines are exactly what CI (``.ci/run``) executes.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)


def blocks() -> list[tuple[str, str, str | None]]:
    """(language, code, expected output): the output is the ``text`` block that follows,
    right after the code block (shell) or after a "prints" line (python)."""
    found = list(FENCE.finditer(README))
    out = []
    for i, match in enumerate(found):
        expected = None
        if i + 1 < len(found) and found[i + 1].group(1) == "text":
            between = README[match.end() : found[i + 1].start()].strip()
            if between in ("", "prints"):
                expected = found[i + 1].group(2)
        out.append((match.group(1), match.group(2), expected))
    return out


BLOCKS = blocks()
PYTHON = [(code, expected) for lang, code, expected in BLOCKS if lang == "python"]
SHELL = [(code, expected) for lang, code, expected in BLOCKS if lang in ("sh", "console", "bash")]


def test_blocks_were_found() -> None:
    assert len(PYTHON) >= 5
    assert SHELL


@pytest.mark.parametrize("code,expected", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_block(code: str, expected: str | None) -> None:
    out = io.StringIO()
    namespace: dict[str, object] = {"__name__": "__readme__"}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), namespace)
        # A block showing a pytest test using the kuzzle_stub fixture: run that test too.
        for name, value in list(namespace.items()):
            if name.startswith("test_") and callable(value):
                from kuzzle_errors.testing import StubKuzzle

                with StubKuzzle() as stub:
                    value(stub)
    if expected is not None:
        assert out.getvalue() == expected


def shell_commands() -> list[tuple[str, str | None]]:
    commands = []
    for block, expected in SHELL:
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        runnable = [
            line
            for line in lines
            if line.startswith("kuzzle-errors ") and "demo" not in line and "stub" not in line
        ]
        for line in runnable:
            commands.append((line, expected if len(lines) == 1 else None))
    return commands


@pytest.mark.parametrize(("command", "expected"), shell_commands())
def test_shell_command(command: str, expected: str | None) -> None:
    args = shlex.split(command)[1:]
    result = subprocess.run(
        [sys.executable, "-m", "kuzzle_errors", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100"},
    )
    assert result.returncode in (0, 3), result.stderr  # 3: `parse` found an error response
    if expected is not None:
        assert result.stdout == expected


def test_shell_blocks_with_output_are_checked() -> None:
    assert sum(1 for _, expected in shell_commands() if expected is not None) >= 3


def test_quick_start_is_what_ci_runs() -> None:
    quick = SHELL[0][0].strip().splitlines()
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
