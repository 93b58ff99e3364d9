"""``help(kuzzle_errors)`` reads well, and the typing promises hold."""

from __future__ import annotations

import pydoc
import re
from pathlib import Path

from fresh_python import run

import kuzzle_errors
import kuzzle_errors.testing

#: The package under test: the installed wheel under nox, the source tree otherwise.
PACKAGE = Path(kuzzle_errors.__file__).resolve().parent


def _help(module: object) -> str:
    return pydoc.render_doc(module, renderer=pydoc.plaintext)


def test_help_shows_no_sentinel_object_in_signatures() -> None:
    for module in (kuzzle_errors, kuzzle_errors.testing):
        text = _help(module)
        assert not re.search(r"<object object at 0x[0-9a-f]+>", text)
    assert "status: 'int | None' = <from the id or the class>" in _help(kuzzle_errors)


def test_module_docstring_maps_the_submodules() -> None:
    doc = kuzzle_errors.__doc__ or ""
    for name in ("exceptions", "codes", "catalog", "parser", "hints", "retry", "http"):
        assert f"kuzzle_errors.{name}" in doc
    for name in ("websocket", "testing", "contrib.tenacity", "cli"):
        assert f"kuzzle_errors.{name}" in doc


def test_module_getattr_is_documented() -> None:
    import kuzzle_errors.codes

    for module in (kuzzle_errors, kuzzle_errors.codes):
        assert module.__getattr__.__doc__


def test_error_class_has_one_overload_per_id_in_the_stub() -> None:
    stub = (PACKAGE / "codes.pyi").read_text(encoding="utf-8")
    overloads = re.findall(r"def error_class\(key: Literal\['([^']+)'\]", stub)
    ids = {spec.id for spec in kuzzle_errors.catalog.all_specs()}
    assert ids <= set(overloads)
    assert "def error_class(key: Literal['api.process.overloaded'], *, version: int | None" in stub
    assert "-> type[ApiProcessOverloaded]: ..." in stub


def test_stub_docstrings_say_what_the_error_is() -> None:
    stub = (PACKAGE / "codes.pyi").read_text(encoding="utf-8")
    start = stub.index("class ApiProcessOverloaded(")
    doc = stub[start : stub.index("class ", start + 10)]
    assert "ServiceUnavailableError, status 503" in doc
    assert "discarded because the server is overloaded" in doc
    assert "Retry" not in doc  # the advice is the hints table's, read by `explain`


def test_stub_docstrings_keep_their_paragraphs_on_one_line() -> None:
    import ast

    source = (PACKAGE / "codes.pyi").read_text(encoding="utf-8")
    classes = [node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)]
    assert len(classes) == len({spec.id for spec in kuzzle_errors.catalog.all_specs()})
    for node in classes:
        doc = ast.get_docstring(node) or ""
        head, description = doc.split("\n\n")  # id, code, class, status; what it is
        assert head.startswith("``") and description, node.name
        assert node.body[0].end_lineno == node.body[0].lineno, node.name  # one line a docstring


def test_py_typed_marker_ships() -> None:
    out = run(
        "import importlib.resources as r; print(r.files('kuzzle_errors').joinpath('py.typed')"
        ".is_file(), r.files('kuzzle_errors').joinpath('codes.pyi').is_file())"
    )
    assert out == "True True"
