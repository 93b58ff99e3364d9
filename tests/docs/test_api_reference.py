"""The API reference renders the docstrings' sections and roles (issue 22): mkdocs.yml parses
them as Google style, and scripts/griffe_rst.py turns their Sphinx roles and ``::`` markers
into Markdown (the site showed raw ``:class:`` roles, ``::`` and ``Args:``)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from fresh_python import import_script

import kuzzle_errors

ROOT = Path(__file__).resolve().parents[2]
griffe_rst = import_script("griffe_rst")


def test_mkdocs_parses_google_sections_through_the_extension() -> None:
    config = (ROOT / "mkdocs.yml").read_text("utf-8")
    assert "docstring_style: google" in config
    assert "- scripts/griffe_rst.py:SphinxRolesToMarkdown" in config


def test_the_extension_rewrites_what_griffe_loads() -> None:
    # griffe comes with the docs group; the test group checks markdown() alone.
    griffe = pytest.importorskip("griffe")
    loaded = griffe.Class("Example", docstring=griffe.Docstring("see :class:`~a.KuzzleError`::"))
    griffe_rst.SphinxRolesToMarkdown().on_instance(obj=loaded)
    assert loaded.docstring.value == "see `KuzzleError`:"


@pytest.mark.parametrize(
    ("text", "markdown"),
    [
        ("a :class:`~kuzzle_errors.KuzzleError` b", "a `KuzzleError` b"),
        ("see :data:`kuzzle_errors.hints.ACTIONS`.", "see `kuzzle_errors.hints.ACTIONS`."),
        (":meth:`~PartialError.retry_request` and :py:func:`f`", "`retry_request` and `f`"),
        ("Usage::\n\n    x = 1\n", "Usage:\n\n    x = 1\n"),
        ("intro\n\n::\n\n    code\n", "intro\n\n\n\n    code\n"),
        ("a ``literal`` and a dict {a: b}", "a ``literal`` and a dict {a: b}"),
    ],
)
def test_sphinx_roles_become_markdown(text: str, markdown: str) -> None:
    assert griffe_rst.markdown(text) == markdown


def _docstrings() -> list[tuple[str, str]]:
    found = []
    modules = [kuzzle_errors] + [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(kuzzle_errors.__path__, "kuzzle_errors.")
        if not info.name.startswith("kuzzle_errors._")
    ]
    for module in modules:
        found.append((module.__name__, inspect.getdoc(module) or ""))
        for name, value in list(vars(module).items()):
            if getattr(value, "__module__", None) == module.__name__:
                found.append((f"{module.__name__}.{name}", inspect.getdoc(value) or ""))
    return found


def test_no_docstring_keeps_a_raw_role_or_literal_marker() -> None:
    raw = re.compile(r":[a-z]+:`|::$", re.MULTILINE)
    docstrings = _docstrings()
    assert len(docstrings) > 100
    left = [name for name, doc in docstrings if raw.search(griffe_rst.markdown(doc))]
    assert left == []
