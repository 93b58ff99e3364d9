"""Kuzzle's ``Request`` constructor checks, shared by the HTTP and WebSocket sides."""

from __future__ import annotations

from typing import Any


def invalid_request(parsed: object) -> dict[str, Any] | None:
    """The error for a payload Kuzzle refuses to build a request from, else None.

    The error has no id, as Kuzzle sends it.
    """
    if not isinstance(parsed, dict):
        return {"message": "Request payload must be an object", "status": 400}
    for key in ("controller", "action", "index", "collection", "_id", "jwt", "requestId"):
        value = parsed.get(key)
        if value is not None and not isinstance(value, str):
            return {"message": f'Attribute {key} must be of type "string"', "status": 400}
    for key in ("volatile", "body"):
        value = parsed.get(key)
        if value is not None and not isinstance(value, dict):
            return {"message": f'Attribute {key} must be of type "object"', "status": 400}
    return None
