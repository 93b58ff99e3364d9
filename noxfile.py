"""CI sessions: the tests on every supported Python against the built wheel, lint, typing, docs.

    nox                      # every session (what .ci/run runs)
    nox -s tests-3.12        # one Python; arguments after -- go to pytest: nox -s tests-3.12 -- -x
    nox -s lint typing docs

The test sessions install the package as a wheel (never editable) and run the ``pytest``
command from a scratch directory, so that neither pytest nor any Python a test starts can
import the source tree: a wheel missing a file fails. ``tests/conftest.py`` checks it
(``KUZZLE_ERRORS_TEST_INSTALLED=1``). ``KUZZLE_ERRORS_WHEEL=path/to.whl nox -s tests-3.12``
tests a wheel built elsewhere instead of building one.

Python 3.10 to 3.13 must be on PATH as ``python3.10``..., a missing one is an error (never a
skip); with pyenv and no ``PYENV_VERSION``, the newest installed patch release of each is used.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
#: lint, typing and docs need one Python: the newest.
TOOLS_PYTHON = PYTHONS[-1]

nox.options.error_on_missing_interpreters = True


def _pyenv_versions() -> None:
    """Let pyenv's shims answer ``python3.10``... at once (one global version answers one)."""
    pyenv = shutil.which("pyenv")
    if pyenv is None or "PYENV_VERSION" in os.environ:
        return
    bare = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True).stdout
    installed = [line.strip() for line in bare.splitlines()]
    chosen = []
    for python in PYTHONS:
        patches = [v for v in installed if re.fullmatch(re.escape(python) + r"\.\d+", v)]
        if patches:
            chosen.append(max(patches, key=lambda v: int(v.rsplit(".", 1)[1])))
    if chosen:
        os.environ["PYENV_VERSION"] = ":".join(chosen)


_pyenv_versions()
nox.options.sessions = ["tests", "lint", "typing", "docs"]

#: No PYTHONPATH may reach a session: it would put a source tree before the installed wheel.
CLEAN = {"PYTHONPATH": None}

_built: list[Path] = []


def group(name: str) -> list[str]:
    """The requirements of a dependency group of pyproject.toml (one place for every pin)."""
    return list(nox.project.dependency_groups(PYPROJECT, name))


def pinned(*names: str) -> list[str]:
    """The ``dev`` group's requirements of these tools (their pins live there)."""
    return [req for req in group("dev") if req.split("=")[0].split(">")[0] in names]


def wheel(session: nox.Session) -> Path:
    """The wheel under test: ``$KUZZLE_ERRORS_WHEEL``, else one built from this checkout once
    per nox run."""
    given = os.environ.get("KUZZLE_ERRORS_WHEEL")
    if given:
        return Path(given).resolve()
    if not _built:
        out = Path(session.create_tmp()).resolve() / "dist"
        session.run(
            "python", "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out),
            str(ROOT), env=CLEAN,
        )  # fmt: skip
        (built,) = out.glob("kuzzle_errors-*.whl")
        _built.append(built)
    return _built[0]


def install_wheel(session: nox.Session, *requirements: str) -> None:
    """The wheel with every extra, then ``requirements``; the wheel reinstalled even when a
    reused virtualenv already has this version."""
    built = wheel(session)
    session.install(f"kuzzle-errors[all] @ {built.as_uri()}", *requirements, env=CLEAN)
    session.install("--force-reinstall", "--no-deps", str(built), env=CLEAN)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole suite against the installed wheel (extra arguments go to pytest)."""
    install_wheel(session, *group("test"))
    session.chdir(session.create_tmp())  # a child `python -c`/`-m` imports from its cwd
    session.run(
        "pytest", str(ROOT / "tests"), *session.posargs,
        env={**CLEAN, "KUZZLE_ERRORS_TEST_INSTALLED": "1"},
    )  # fmt: skip


@nox.session(python=TOOLS_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install(*pinned("ruff"), env=CLEAN)
    session.chdir(ROOT)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=TOOLS_PYTHON)
def typing(session: nox.Session) -> None:
    """mypy --strict and pyright's type completeness on the package; the typed usage file
    (tests/typing) through mypy and pyright against the installed wheel."""
    install_wheel(session, *group("test"), *pinned("mypy", "pyright", "types-requests"))
    session.chdir(ROOT)
    session.run("mypy", "--strict", "kuzzle_errors", env=CLEAN)
    session.run("python", "scripts/type_completeness.py", env=CLEAN)
    # Outside the checkout, so that both checkers read the wheel (py.typed, codes.pyi).
    session.chdir(session.create_tmp())
    usage = str(ROOT / "tests" / "typing" / "usage.py")
    session.run("mypy", "--strict", "--python-version", "3.10", usage, env=CLEAN)
    session.run("pyright", "--pythonversion", "3.10", usage, env=CLEAN)


@nox.session(python=TOOLS_PYTHON)
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs --strict) and the generated files and tables."""
    session.install(*group("docs"), env=CLEAN)
    session.chdir(ROOT)
    site = Path(session.create_tmp()) / "site"
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", str(site),
        env={**CLEAN, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    session.run("python", "scripts/docs_tables.py", "--check", env=CLEAN)
    session.run("python", "scripts/generate_catalog.py", "--check", env=CLEAN)
