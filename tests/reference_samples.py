"""Partial failures as the protocol reference shows them (shared/reference/kuzzle-protocol.md
§2.4), for the tests of several layers
(a plain module: pytest's ``pythonpath`` option puts tests/ on sys.path)."""

from __future__ import annotations

from typing import Any

MDELETE_PROFILES_206: dict[str, Any] = {
    "action": "mDeleteProfiles",
    "controller": "security",
    "error": {
        "code": 16842761,
        "id": "services.storage.incomplete_delete",
        "message": "Couldn't delete all the requested documents: %s",
        "props": [],
        "status": 206,
        "errors": [
            {
                "code": 117833729,
                "id": "security.profile.not_found",
                "message": 'Profile "bar" not found.',
                "props": ["bar"],
                "stack": "NotFoundError: Profile ...",
                "status": 404,
            }
        ],
        "count": 1,
    },
    "headers": {},
    "node": "knode-1",
    "requestId": "req-44",
    "result": ["foo", "baz"],
    "status": 206,
    "volatile": None,
}

STRICT_MCREATE: dict[str, Any] = {
    "error": {
        "code": 33685514,
        "id": "api.process.incomplete_multiple_request",
        "message": "At least one of the mCreate actions failed.",
        "props": ["mCreate"],
        "status": 400,
        "count": 1,
        "errors": [
            {
                "document": {"_id": "d1", "body": {"a": 1}},
                "reason": "document already exists",
                "status": 400,
            }
        ],
    },
    "result": None,
    "status": 400,
    "controller": "document",
    "action": "mCreate",
    "requestId": "req-45",
}

STRICT_MGET: dict[str, Any] = {
    "error": {
        "code": 33685514,
        "id": "api.process.incomplete_multiple_request",
        "message": "At least one of the get actions failed.",
        "props": ["get"],
        "status": 400,
        "count": 2,
        "errors": ["missing-1", "missing-2"],
    },
    "result": None,
    "status": 400,
}
