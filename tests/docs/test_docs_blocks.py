"""Every code block of README.md and docs/**/*.md runs, and prints what the page says it prints.

Conventions (docs/contributing.md):

- ``python`` blocks run as written, in a fresh namespace each; a ``text`` block introduced by
  a "prints" line must equal their output;
- ``sh``/``console``/``bash`` blocks: the lines starting with ``kuzzle-errors `` are run
  (through the installed console script; ``demo`` and ``stub`` excepted), and a one-line block
  followed by a ``text`` block must print exactly that;
- the README's two Quick-start commands are exactly what CI (``.ci/run``) executes;
- the generated tables are current, the README stays a landing page, and every page is in the
  site's navigation.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from fresh_python import check_script, console_script

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def blocks(page: Path) -> list[tuple[str, str, str | None]]:
    """(language, code, expected output): the output is the ``text`` block that follows,
    right after the code block (shell) or after a "prints" line (python)."""
    text = page.read_text(encoding="utf-8")
    found = list(FENCE.finditer(text))
    out = []
    for i, match in enumerate(found):
        expected = None
        if i + 1 < len(found) and found[i + 1].group(1) == "text":
            between = text[match.end() : found[i + 1].start()].strip()
            if between in ("", "prints"):
                expected = found[i + 1].group(2)
        out.append((match.group(1), match.group(2), expected))
    return out


def _collect() -> tuple[list[object], list[object]]:
    python: list[object] = []
    shell: list[object] = []
    for page in PAGES:
        name = _name(page)
        number = 0
        for lang, code, expected in blocks(page):
            if lang == "python":
                number += 1
                python.append(pytest.param(code, expected, id=f"{name}-python-{number}"))
            elif lang in ("sh", "console", "bash"):
                lines = [line.strip() for line in code.splitlines() if line.strip()]
                for line in lines:
                    words = line.split()
                    if words[0] != "kuzzle-errors" or words[1:2] in (["demo"], ["stub"]):
                        continue
                    want = expected if len(lines) == 1 else None
                    shell.append(pytest.param(line, want, id=f"{name}: {line}"))
    return python, shell


PYTHON, SHELL = _collect()


def test_blocks_were_found() -> None:
    assert len(PYTHON) >= 20
    assert len(SHELL) >= 5


@pytest.mark.parametrize(("code", "expected"), PYTHON)
def test_python_block(code: str, expected: str | None) -> None:
    out = io.StringIO()
    namespace: dict[str, object] = {"__name__": "__docs__"}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<docs>", "exec"), namespace)
        # A block showing a pytest test using the kuzzle_stub fixture: run that test too.
        for name, value in list(namespace.items()):
            if name.startswith("test_") and callable(value):
                from kuzzle_errors.testing import StubKuzzle

                with StubKuzzle() as stub:
                    value(stub)
    if expected is not None:
        assert out.getvalue() == expected


@pytest.mark.parametrize(("command", "expected"), SHELL)
def test_shell_command(command: str, expected: str | None) -> None:
    args = shlex.split(command)[1:]
    result = subprocess.run(
        [console_script(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,  # the commands name repository files (examples/responses/...)
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100"},
    )
    assert result.returncode in (0, 3), result.stderr  # 3: `parse` found an error response
    if expected is not None:
        assert result.stdout == expected


def test_shell_blocks_with_output_are_checked() -> None:
    assert sum(1 for param in SHELL if param.values[1] is not None) >= 3  # type: ignore[attr-defined]


def test_quick_start_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1]
    code = FENCE.search(quick_start)
    assert code is not None and code.group(1) == "sh"
    lines = code.group(2).strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("python3 -m venv .venv && . .venv/bin/activate && ")
    assert lines[0].endswith("&& kuzzle-errors demo")
    assert lines[1].endswith("&& python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for line in lines:
        assert line in ci


def test_readme_is_a_landing_page() -> None:
    assert (ROOT / "README.md").stat().st_size <= 8 * 1024
    assert "pip install kuzzle-errors" not in (ROOT / "README.md").read_text(encoding="utf-8")


def test_install_path_is_honest_everywhere() -> None:
    # The package is not on an index: every install line works from a checkout.
    texts = [page.read_text(encoding="utf-8") for page in PAGES]
    texts += [path.read_text(encoding="utf-8") for path in (ROOT / "examples").glob("*.py")]
    texts += [path.read_text(encoding="utf-8") for path in (ROOT / "kuzzle_errors").rglob("*.py")]
    for text in texts:
        assert not re.search(r"pip install '?kuzzle-errors", text)


def test_every_page_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    listed = set(re.findall(r":\s*([\w/.-]+\.md)\s*$", nav, flags=re.M))
    assert pages == listed


def test_generated_tables_are_current() -> None:
    check_script("docs_tables.py")
