"""What the HTTP and WebSocket clients share: retry hints of client-side failures, retry wiring.

No optional dependency here: both transport modules import it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, TypeVar

from kuzzle_errors.exceptions import KuzzleError
from kuzzle_errors.hints import RetryHint

__all__ = [
    "CONNECT_FAILED",
    "CONNECTION_LOST",
    "NOT_RETRYABLE",
    "NO_ANSWER",
    "RetryCaller",
    "call_with_retry",
    "jwt_from_login",
    "login_request",
    "new_request_id",
]

_T = TypeVar("_T")

#: The request never left the client: replaying it cannot run it twice.
CONNECT_FAILED: Final = RetryHint(
    True, True, 0.0, "the connection could not be made: the request never reached the server"
)
#: The request was (perhaps) sent, then the connection failed: it may have run.
CONNECTION_LOST: Final = RetryHint(
    True, False, 0.0, "the connection failed after the request was sent: it may have been processed"
)
#: Sent, no answer in time: Kuzzle has no server-side timeout, so it may still run.
NO_ANSWER: Final = RetryHint(
    True, False, 0.0, "no answer in time: the request may have been (or still be) processed"
)
#: A client-side failure that will not go away by trying again (bad URL, TLS setup...).
NOT_RETRYABLE: Final = RetryHint(
    False, False, 0.0, "client-side configuration problem: retrying will not help"
)


class RetryCaller(Protocol):
    """What the transports need from :class:`kuzzle_errors.retry.RetryPolicy`."""

    def call(
        self, fn: Callable[..., _T], /, *args: Any, idempotent: bool = ..., **kwargs: Any
    ) -> _T: ...


def login_request(
    credentials: Mapping[str, Any], strategy: str, expires_in: str | None
) -> dict[str, Any]:
    """The ``auth:login`` request both clients send."""
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


def new_request_id() -> str:
    """A fresh request id (uuid4, as Kuzzle's SDKs use)."""
    return str(uuid.uuid4())


def call_with_retry(
    policy: RetryCaller | None,
    fn: Callable[..., _T],
    request: dict[str, Any],
    *,
    idempotent: bool,
    **kwargs: Any,
) -> _T:
    """``fn(request, **kwargs)``, through ``policy`` when one is set."""
    if policy is None:
        return fn(request, **kwargs)
    return policy.call(fn, request, idempotent=idempotent, **kwargs)
