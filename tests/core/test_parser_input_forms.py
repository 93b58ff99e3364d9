"""The parser gives one and the same error for every way a body can arrive (bytes, padded
bytes, a decoded dict, read-only mappings), for every catalogued error."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest

from kuzzle_errors import KuzzleError, PartialError, catalog, parse_response
from kuzzle_errors.catalog import ErrorSpec

HEADERS = {"Content-Type": "application/json", "X-Kuzzle-Node": "n1", "Retry-After": "2"}
SPECS = list(catalog.all_specs())


def envelope(spec: ErrorSpec) -> dict[str, Any]:
    error: dict[str, Any] = {
        "id": spec.id,
        "code": spec.code,
        "status": spec.status,
        "message": spec.message or spec.description,
        "props": ["p1", 2],
    }
    if spec.class_name in ("PartialError", "MultipleErrorsError") or spec.status == 206:
        error["errors"] = [{"document": {"_id": "d"}, "reason": "r", "status": 400}, "m-1"]
        error["count"] = 2
    return {
        "status": spec.status,
        "error": error,
        "requestId": "r-1",
        "controller": "document",
        "action": "mCreate",
        "index": "i",
        "collection": "c",
        "node": "knode",
        "volatile": {"v": 1},
        "result": None,
    }


def frozen(value: Any) -> Any:
    """The same JSON, with every object a read-only mapping (not a dict): the general path."""
    if isinstance(value, dict):
        return MappingProxyType({key: frozen(inner) for key, inner in value.items()})
    if isinstance(value, list):
        return [frozen(inner) for inner in value]
    return value


def view(error: KuzzleError | None) -> dict[str, Any]:
    assert error is not None
    seen = {name: value for name, value in vars(error).items() if name not in ("items",)}
    seen["type"] = type(error)
    seen["args"] = error.args
    seen["hint"] = error.retry_hint
    seen["str"] = str(error)
    if isinstance(error, PartialError):
        seen["items"] = [(i.id, i.status, i.reason, i.action) for i in error.items]
    return seen


@pytest.mark.parametrize("spec", SPECS, ids=[spec.id for spec in SPECS])
def test_every_catalogued_error_parses_the_same_by_every_path(spec: ErrorSpec) -> None:
    body = envelope(spec)
    data = json.dumps(body).encode()
    kwargs: dict[str, Any] = {"http_status": spec.status, "headers": HEADERS, "transport": "http"}
    fast = view(parse_response(data, **kwargs))  # dicts from the C scanner
    padded = view(parse_response(b" \n" + data + b"\n", **kwargs))  # through json.loads
    decoded = view(parse_response(body, **kwargs))  # an already decoded dict
    general = view(parse_response(frozen(body), **kwargs))  # no dict anywhere
    assert fast == padded == decoded == general
