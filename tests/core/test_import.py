"""``import kuzzle_errors`` stays light: no transport library, no catalogue build."""

from __future__ import annotations

from fresh_python import imported, run


def test_import_does_not_pull_transports_or_build_the_catalogue() -> None:
    heavy = (
        "requests",
        "websocket",
        "websockets",
        "urllib3",
        "httpx",
        "h11",
        "tenacity",
        "stamina",
        "asyncio",
        "kuzzle_errors._catalog_data",
    )
    code = "import kuzzle_errors, kuzzle_errors.catalog as c; assert c._catalog is None, 'built'"
    assert imported(code, heavy) == []


def test_using_the_core_does_not_pull_transports_either() -> None:
    code = (
        "import kuzzle_errors as k;"
        'e = k.parse_response(b\'{"status":503,"error":{"id":"api.process.overloaded",'
        '"status":503,"message":"m"}}\', http_status=503, headers={\'Retry-After\': \'1\'});'
        "k.error_class('services.storage.not_found'); e.retry_hint; e.to_dict(); str(e);"
        "import kuzzle_errors.retry"
    )
    assert imported(code, ("requests", "websocket", "websockets", "tenacity", "stamina")) == []


def test_py_typed_marker_ships() -> None:
    out = run(
        "import importlib.resources as r; print(r.files('kuzzle_errors').joinpath('py.typed')"
        ".is_file(), r.files('kuzzle_errors').joinpath('codes.pyi').is_file())"
    )
    assert out == "True True"
