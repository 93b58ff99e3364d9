"""One API request as Kuzzle's actions see it: its arguments, read and checked the way
``KuzzleRequest``'s getters do (Kuzzle 2.56.0 ``lib/api/request/kuzzleRequest.ts``), with
Kuzzle's errors and messages.

An action raises :class:`KuzzleFailure` where Kuzzle throws; the funnel answers it.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kuzzle_errors._stub.payloads import make_error

# The request's top-level keys that are not arguments (RequestInput's resource properties).
_NOT_ARGS = frozenset({"jwt", "volatile", "body", "controller", "action"})
_SAFE_INTEGER = 2**53 - 1


class KuzzleFailure(Exception):
    """An error answer: ``error`` as Kuzzle serializes it, ``result`` beside it (a 206)."""

    def __init__(self, error: dict[str, Any], result: Any = None) -> None:
        super().__init__(error.get("id") or error.get("message"))
        self.error = error
        self.result = result


def failure(error_id: str, *args: object, **fields: Any) -> KuzzleFailure:
    """The failure Kuzzle's ``kerror.get(error_id, *args)`` throws."""
    return KuzzleFailure(make_error(error_id, *args, **fields))


def plain_failure(message: str, status: int) -> KuzzleFailure:
    """A failure Kuzzle throws as a bare ``KuzzleError``: a message and a status, no id."""
    return KuzzleFailure({"message": message, "status": status})


def _truthy(value: object) -> bool:
    # JavaScript's truthiness: "", 0, NaN, null and false are falsy; [] and {} are not.
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, "", 0) or isinstance(value, (list, dict))


def is_plain_object(value: object) -> bool:
    return isinstance(value, dict)


@dataclass
class Call:
    """A request past the entry point: its payload, transport and (once verified) user.

    ``connection`` is the Kuzzle connection id: one per WebSocket, a fresh one for each HTTP
    request (Kuzzle builds a ``ClientConnection`` per HTTP request). ``verb`` is the HTTP
    verb (None over WebSocket).
    """

    payload: dict[str, Any]
    protocol: str
    request_id: str
    connection: str = field(default_factory=lambda: str(uuid.uuid4()))
    verb: str | None = None
    kuid: str = "-1"  # the user, once the token is verified
    jwt: str | None = None  # the token verified (None: anonymous)

    @property
    def controller(self) -> str | None:
        value = self.payload.get("controller")
        return value if isinstance(value, str) else None

    @property
    def action(self) -> str | None:
        value = self.payload.get("action")
        return value if isinstance(value, str) else None

    @property
    def args(self) -> dict[str, Any]:
        return {k: v for k, v in self.payload.items() if k not in _NOT_ARGS}

    @property
    def body(self) -> Any:
        """The body: an object, an array (Kuzzle accepts both) or None."""
        return self.payload.get("body")

    @property
    def volatile(self) -> dict[str, Any] | None:
        value = self.payload.get("volatile")
        return value if isinstance(value, dict) else None

    # Kuzzle's getters, in KuzzleRequest's order.

    def get_index(self, *, required: bool = True) -> str | None:
        index = self.payload.get("index")
        if required and not _truthy(index):
            raise failure("api.assert.missing_argument", "index")
        return _js_string(index) if _truthy(index) else None

    def get_collection(self, *, required: bool = True) -> str | None:
        collection = self.payload.get("collection")
        if required and not _truthy(collection):
            raise failure("api.assert.missing_argument", "collection")
        return _js_string(collection) if _truthy(collection) else None

    def get_index_and_collection(self) -> tuple[str, str]:
        index, collection = self.payload.get("index"), self.payload.get("collection")
        if not _truthy(index):
            raise failure("api.assert.missing_argument", "index")
        if not _truthy(collection):
            raise failure("api.assert.missing_argument", "collection")
        return _js_string(index), _js_string(collection)

    def get_body(self, default: Any = None) -> Any:
        if self.body is None:
            if default is not None:
                return default
            raise failure("api.assert.body_required")
        return self.body

    def get_id(self, if_missing: str = "error") -> str | None:
        """``_id``; when missing: an error, None (``ignore``) or a new id (``generate``)."""
        doc_id = self.payload.get("_id")
        if not _truthy(doc_id):
            if if_missing == "generate":
                return str(uuid.uuid4())
            if if_missing == "ignore":
                return None
            raise failure("api.assert.missing_argument", "_id")
        if not isinstance(doc_id, str):
            raise failure("api.assert.invalid_type", "_id", "string")
        return doc_id

    def _body_value(self, name: str, default: Any, kind: type, kind_name: str) -> Any:
        """The body's ``name`` (a dotted path), of type ``kind``: Kuzzle's getBody* checks
        (no body, a missing value, a wrong type), ``default`` standing in for the first two."""
        if self.body is None:
            if default is not None:
                return default
            raise failure("api.assert.body_required")
        value = _get_path(self.body, name)
        if value is None:
            if default is not None:
                return default
            raise failure("api.assert.missing_argument", f"body.{name}")
        if not isinstance(value, kind):
            raise failure("api.assert.invalid_type", f"body.{name}", kind_name)
        return value

    def get_body_string(self, name: str, default: str | None = None) -> str:
        value: str = self._body_value(name, default, str, "string")
        return value

    def get_body_array(self, name: str, default: list[Any] | None = None) -> list[Any]:
        value: list[Any] = self._body_value(name, default, list, "array")
        return value

    def get_body_object(self, name: str, default: dict[str, Any] | None = None) -> dict[str, Any]:
        value: dict[str, Any] = self._body_value(name, default, dict, "object")
        return value

    def get_boolean(self, name: str) -> bool:
        """Over HTTP an argument is a flag: present means true, whatever its value."""
        value = self.payload.get(name)
        if self.protocol == "http":
            return name in self.payload and value is not None
        if value is None:
            return False
        if not isinstance(value, bool):
            raise failure("api.assert.invalid_type", name, "boolean")
        return value

    def get_integer(self, name: str, default: int | None = None) -> int:
        value = self.payload.get(name, default)
        if value is None:
            raise failure("api.assert.missing_argument", name)
        number = _parse_float(value)
        if number is None or not number.is_integer() or abs(number) > _SAFE_INTEGER:
            raise failure("api.assert.invalid_type", name, "integer")
        return int(number)

    def get_string(self, name: str, default: str | None = None) -> str:
        value = self.payload.get(name, default)
        if value is None:
            raise failure("api.assert.missing_argument", name)
        if not isinstance(value, str):
            raise failure("api.assert.invalid_type", name, "string")
        return value

    def get_array(self, name: str) -> list[Any]:
        """An array argument; over HTTP a query string gives a JSON array or a comma list."""
        value = self.payload.get(name)
        if value is None:
            raise failure("api.assert.missing_argument", name)
        if isinstance(value, list):
            return value
        if self.protocol == "http" and isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            return parsed if isinstance(parsed, list) else value.split(",")
        raise failure("api.assert.invalid_type", name, "array")

    def get_refresh(self) -> str:
        value = self.payload.get("refresh")
        return "false" if value in (None, False, "false") else "wait_for"

    def get_search_params(self) -> tuple[int, int, dict[str, Any]]:
        """``from``, ``size`` (10 by default) and the search body (an HTTP GET reads the
        ``searchBody`` argument, every other request its body)."""
        start = self.get_integer("from", 0)
        size = self.get_integer("size", 10)
        if self.protocol == "http" and self.verb == "GET":
            raw = self.payload.get("searchBody", {})
            if isinstance(raw, str):
                try:
                    raw = json.loads(raw)
                except ValueError:
                    raise failure("api.assert.invalid_type", "searchBody", "object") from None
            if not isinstance(raw, dict):
                raise failure("api.assert.invalid_type", "searchBody", "object")
            return start, size, raw
        body = self.get_body({})
        if not isinstance(body, dict):
            raise failure("api.assert.invalid_type", "body", "object")
        return start, size, body


def _js_string(value: object) -> str:
    # Kuzzle's String(value) for an index or collection given as a number or a boolean.
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


def _parse_float(value: object) -> float | None:
    # JavaScript's Number.parseFloat: the longest numeric prefix of the value's text.
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    text = str(value).strip()
    for end in range(len(text), 0, -1):
        try:
            number = float(text[:end])
        except ValueError:
            continue
        return number if math.isfinite(number) else None
    return None


def _get_path(obj: Any, path: str) -> Any:
    """``lodash.get``: a dotted path into nested objects (None where it ends)."""
    for part in path.split("."):
        if isinstance(obj, Mapping):
            obj = obj.get(part)
        else:
            return None
    return obj
