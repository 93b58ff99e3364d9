"""What a client sends: request ids, the context of a request's errors, the login request, the
body and headers of ``POST /_query``, the frame of one WebSocket attempt.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from kuzzle_errors.exceptions import KuzzleError

#: Every answer Kuzzle sends to a query is an envelope holding at least one of these.
ENVELOPE_KEYS: Final = ("status", "result", "requestId")
#: The header carrying the request id over HTTP (Kuzzle echoes it on routed answers).
REQUEST_ID_HEADER: Final = "X-Kuzzle-Request-Id"


def new_request_id() -> str:
    """A fresh request id (a uuid4, as Kuzzle and its SDKs generate)."""
    return str(uuid.uuid4())


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None  # a request's fields may hold anything


def request_context(
    request: Mapping[str, Any], request_id: str | None, transport: str
) -> dict[str, Any]:
    """The context fields of an error about ``request`` sent as ``request_id`` on ``transport``."""
    context = {
        key: _str(request.get(key)) for key in ("controller", "action", "index", "collection")
    }
    return {
        **context,
        "request_id": request_id,
        "volatile": request.get("volatile"),
        "transport": transport,
    }


def ws_context(request: Mapping[str, Any]) -> dict[str, Any]:
    """The context fields of an error about ``request`` (a WebSocket frame we sent)."""
    return request_context(request, _str(request.get("requestId")), "websocket")


def login_request(
    credentials: Mapping[str, Any], strategy: str, expires_in: str | None
) -> dict[str, Any]:
    """The ``auth:login`` request every client sends."""
    request = {
        "controller": "auth",
        "action": "login",
        "strategy": strategy,
        "body": dict(credentials),
    }
    if expires_in is not None:
        request["expiresIn"] = expires_in
    return request


def jwt_from_login(result: object) -> str:
    """The token of an ``auth:login`` result; a KuzzleError if there is none."""
    jwt = result.get("jwt") if isinstance(result, Mapping) else None
    if not isinstance(jwt, str):
        raise KuzzleError("auth:login answered no token", problem="no jwt in the result")
    return jwt


def _dumps(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)


class HTTPQuery(NamedTuple):
    """One attempt of a query over HTTP: what goes to ``POST /_query``."""

    payload: dict[str, Any]  # the request without requestId/jwt (they travel as headers)
    request_id: str
    headers: dict[str, str]
    data: bytes


def http_query(request: Mapping[str, Any], jwt: str | None) -> HTTPQuery:
    """The body and headers of ``POST /_query`` for ``request`` (a fresh request id if none)."""
    payload = dict(request)
    request_id = str(payload.pop("requestId", None) or new_request_id())
    token = payload.pop("jwt", None) or jwt
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        REQUEST_ID_HEADER: request_id,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return HTTPQuery(payload, request_id, headers, _dumps(payload).encode("utf-8"))


def ws_frame(request: Mapping[str, Any], jwt: str | None) -> tuple[dict[str, Any], str]:
    """One attempt's frame: ``request`` with a fresh ``requestId`` (answers never mix), as text.

    Raises ``TypeError``/``ValueError`` for a request JSON cannot carry: nothing is sent.
    """
    payload = dict(request)
    payload["requestId"] = new_request_id()
    if jwt and "jwt" not in payload:
        payload["jwt"] = jwt
    return payload, _dumps(payload)
