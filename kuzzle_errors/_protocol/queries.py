"""What a client sends (request ids, the context of a request's errors, the login request, the
body and headers of ``POST /_query``, the frame of one WebSocket attempt) and what a Kuzzle
answer to it is (:func:`is_envelope`, :func:`foreign_id`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

from kuzzle_errors._redact import redact
from kuzzle_errors.exceptions import BadRequestError, KuzzleError, replace
from kuzzle_errors.hints import RetryHint
from kuzzle_errors.partial import MULTI_DOCUMENT_ACTIONS

#: The header carrying the request id over HTTP (Kuzzle echoes it on routed answers).
REQUEST_ID_HEADER: Final = "X-Kuzzle-Request-Id"
#: A request no JSON text (UTF-8, as Kuzzle reads it) can carry: sending it again fails again.
UNENCODABLE: Final = RetryHint(
    retryable=False,
    replay_safe=False,
    reason="the request cannot be encoded as JSON in UTF-8: nothing was sent",
)


def is_envelope(answer: object) -> bool:
    """Whether ``answer`` (decoded JSON) is the envelope Kuzzle answers a query with.

    A JSON object whose ``status`` is an integer, ``requestId`` a string and ``error`` null or
    an object: every answer Kuzzle 2 sends to a query has the three (and so had Kuzzle 1's),
    whatever the action or the protocol; ``result`` may be missing (``index:create``). So in
    the answers recorded from Kuzzle 2.56 (shared/kuzzle-transcripts), all but the bare errors
    Kuzzle raises before routing. A health page's ``{"status": "UP"}`` or a gateway's JSend
    ``{"status": "error"}`` is not one.
    """
    if not isinstance(answer, Mapping):
        return False
    status, error = answer.get("status"), answer.get("error", False)
    return (
        isinstance(status, int)
        and not isinstance(status, bool)
        and isinstance(answer.get("requestId"), str)
        and (error is None or isinstance(error, Mapping))
    )


def foreign_id(answer: object, request_id: str) -> str | None:
    """The request id ``answer`` names when it is not ``request_id`` (None: ours, or none).

    Kuzzle writes the id of the request it answers in the envelope's ``requestId`` (over HTTP
    the ``X-Kuzzle-Request-Id`` header we sent, over WebSocket the frame's); an answer naming
    another is someone else's (a socket shared by a forked process, a confused proxy).
    """
    named = answer.get("requestId") if isinstance(answer, Mapping) else None
    return named if isinstance(named, str) and named != request_id else None


def unencodable_error(
    request: Mapping[str, Any], request_id: str | None, transport: str, exc: Exception
) -> KuzzleError:
    """The error of ``request``, which JSON in UTF-8 cannot carry (``exc`` says why)."""
    why = f"{type(exc).__name__}: {str(exc)[:200]}"
    return BadRequestError(
        f"cannot encode the request: {why}",
        status=None,
        problem=UNENCODABLE.reason,
        retry_hint=UNENCODABLE,
        **request_context(request, request_id, transport),
    )


def new_request_id() -> str:
    """A fresh request id (a uuid4, as Kuzzle and its SDKs generate)."""
    return str(uuid.uuid4())


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None  # a request's fields may hold anything


#: What a client adds to a request on its own: a replay gets fresh ones.
_ADDED: Final = ("requestId", "jwt")


def as_sent(request: Mapping[str, Any]) -> dict[str, Any]:
    """``request`` as an error keeps it (``KuzzleError.request``): without the request id and
    the token the client added (a replay gets fresh ones; a token is no error's business).

    Only a multi-document action's request is rebuilt from it (``retry_request``), so only
    that one is kept whole; any other is kept with its secrets redacted (a login's password,
    a credentials body), as an error shows them."""
    kept = {key: value for key, value in request.items() if key not in _ADDED}
    kind = MULTI_DOCUMENT_ACTIONS.get(f"{request.get('controller')}:{request.get('action')}")
    if kind is not None:
        # Its own body and item lists (the items stay shared): a caller clearing or reusing
        # its list after the call must not change what retry_request() rebuilds.
        key = "ids" if kind == "ids" else kind
        body = kept.get("body")
        if isinstance(body, Mapping):
            kept["body"] = {**body, key: _items_copy(body.get(key))}
        if key == "ids" and "ids" in kept:  # mGet and mExists take them beside the body too
            kept["ids"] = _items_copy(kept["ids"])
        return kept
    shown = redact(kept)
    return shown if isinstance(shown, dict) else kept


def _items_copy(items: object) -> object:
    """A list of ``items`` when they are a sequence of items (a string is one argument)."""
    if isinstance(items, Sequence) and not isinstance(items, (str, bytes, bytearray)):
        return list(items)
    return items


def sent_request(error: KuzzleError) -> KuzzleError:
    """``error`` keeping the request it answers as :func:`as_sent` makes it: the parser
    attaches the request it was given, as the client sent it. Called on errors only (a
    success pays for no copy of its request)."""
    sent = error.request
    return error if sent is None else replace(error, request=as_sent(sent))


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
        "request": as_sent(request),
    }


def ws_context(request: Mapping[str, Any]) -> dict[str, Any]:
    """The context fields of an error about ``request`` (a WebSocket frame we sent)."""
    return request_context(request, _str(request.get("requestId")), "websocket")


#: The signature of every client's ``login``, as its TypeErrors name it.
LOGIN_SIGNATURE: Final = "login(credentials, strategy='local', *, expires_in=None, idempotent=None)"


def login_request(
    credentials: Mapping[str, Any], strategy: str, expires_in: str | int | None
) -> dict[str, Any]:
    """The ``auth:login`` request every client sends; a TypeError naming the signature for
    arguments of the wrong type (the official SDKs' ``login(strategy, credentials)`` order
    among them), before anything is sent."""
    given: object = credentials
    if isinstance(given, str) and isinstance(strategy, Mapping):
        raise TypeError(
            f"{LOGIN_SIGNATURE}: the credentials come first, then the strategy: "
            f"login({{'username': ..., 'password': ...}}, {given[:40]!r}), not the "
            "official SDKs' order login(strategy, credentials)"
        )
    if not isinstance(credentials, Mapping):
        raise TypeError(
            f"{LOGIN_SIGNATURE}: credentials must be a mapping such as "
            f"{{'username': ..., 'password': ...}}, not {type(credentials).__name__}"
        )
    if not isinstance(strategy, str) or not strategy:
        raise TypeError(
            f"{LOGIN_SIGNATURE}: strategy must be the name of a strategy ('local'), "
            f"not {repr(strategy)[:40]}"
        )
    if expires_in is not None and (
        isinstance(expires_in, bool) or not isinstance(expires_in, (str, int))
    ):
        raise TypeError(
            f"{LOGIN_SIGNATURE}: expires_in must be a duration Kuzzle reads ('1h', or "
            f"milliseconds as an int) or None, not {type(expires_in).__name__}"
        )
    request: dict[str, Any] = {
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


def encode(payload: Mapping[str, Any], request_id: str, transport: str) -> bytes:
    """``payload`` as the UTF-8 JSON sent, or a BadRequestError when it cannot be one.

    Encoded here, whole, before anything is sent: a lone surrogate (half of an emoji cut by
    JavaScript, as Kuzzle may store and give back), a circular reference, a NaN (which
    ``JSON.parse`` refuses) then fail this request alone, never a socket other callers share.
    Values JSON has no type for are sent as their ``str()``.
    """
    try:
        text = json.dumps(
            payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str
        )
        return text.encode("utf-8")
    except (ValueError, TypeError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise unencodable_error(payload, request_id, transport, exc) from exc


class HTTPQuery(NamedTuple):
    """One attempt of a query over HTTP: what goes to ``POST /_query``."""

    payload: dict[str, Any]  # the request without requestId/jwt (they travel as headers)
    request_id: str
    headers: dict[str, str]
    data: bytes


#: A header value requests and httpx both send as it is: printable ASCII, no edge whitespace
#: (a JWT and a uuid always are; a token or request id holding anything else is refused).
_HEADER_VALUE: Final = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


def http_query(request: Mapping[str, Any], jwt: str | None) -> HTTPQuery:
    """The body and headers of ``POST /_query`` for ``request`` (a fresh request id if none)."""
    payload = dict(request)
    request_id = str(payload.pop("requestId", None) or new_request_id())
    # A request's own jwt wins; None there sends none (a login must not carry a stale token).
    token = payload.pop("jwt") if "jwt" in payload else jwt
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        REQUEST_ID_HEADER: request_id,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for header, field in ((REQUEST_ID_HEADER, "requestId"), ("Authorization", "jwt")):
        if header in headers and not _HEADER_VALUE.fullmatch(headers[header]):
            # Refused here, before anything is sent: requests and httpx would raise their own
            # errors (or a bare UnicodeEncodeError) as the request goes out.
            why = ValueError(f"its {field} cannot travel in an HTTP header (printable ASCII only)")
            raise unencodable_error(payload, request_id, "http", why) from why
    return HTTPQuery(payload, request_id, headers, encode(payload, request_id, "http"))


def ws_frame(request: Mapping[str, Any], jwt: str | None) -> tuple[dict[str, Any], bytes]:
    """One attempt's frame: ``request`` with a fresh ``requestId`` (answers never mix), as the
    UTF-8 text it is sent as (a text frame).

    Raises a BadRequestError (not retryable) for a request that cannot be encoded: nothing
    is sent.
    """
    payload = dict(request)
    payload["requestId"] = request_id = new_request_id()
    if "jwt" not in payload:
        if jwt:
            payload["jwt"] = jwt
    elif payload["jwt"] is None:  # sent without a token (a login: a stale one gets a 401)
        del payload["jwt"]
    return payload, encode(payload, request_id, "websocket")
