"""What the HTTP and WebSocket clients share: retry hints of client-side failures, retry wiring.

No optional dependency here: both transport modules import it, and so does the stub.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit

from kuzzle_errors.exceptions import KuzzleError
from kuzzle_errors.hints import RetryHint

__all__ = [
    "CONNECT_FAILED",
    "CONNECTION_LOST",
    "ENVELOPE_KEYS",
    "NOT_RETRYABLE",
    "NO_ANSWER",
    "HostScopedRetryCaller",
    "RetryCaller",
    "call_with_retry",
    "host_key",
    "jwt_from_login",
    "login_request",
    "new_request_id",
    "opt_str",
    "request_fields",
    "scope_retry",
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

#: Every answer Kuzzle sends to a query is an envelope holding at least one of these.
ENVELOPE_KEYS: Final = ("status", "result", "requestId")


class RetryCaller(Protocol):
    """What the transports need from :class:`kuzzle_errors.retry.RetryPolicy`."""

    def call(
        self, fn: Callable[..., _T], /, *args: Any, idempotent: bool = ..., **kwargs: Any
    ) -> _T: ...


@runtime_checkable
class HostScopedRetryCaller(RetryCaller, Protocol):
    """A :class:`RetryCaller` that can share a per-host retry budget (``RetryPolicy`` does).

    The transports call ``for_host("host:port")`` on such a policy, so that every client of
    one server draws on one budget; a caller without ``for_host`` is used as given.
    """

    def for_host(self, host: str) -> RetryCaller: ...


_DEFAULT_PORTS: Final = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def host_key(url: str) -> str:
    """``host:port`` of ``url`` (the scheme's default port when none is given), lowercased.

    HTTP and WebSocket URLs of one server give the same key (Kuzzle serves both on one port),
    so their clients share one retry budget.
    """
    parts = urlsplit(url if "//" in url else f"//{url}")
    try:
        port = parts.port
    except ValueError:  # an invalid port: the client will fail on it, any key will do
        port = None
    if port is None:
        port = _DEFAULT_PORTS.get(parts.scheme.lower())
    host = (parts.hostname or parts.netloc or url).lower()
    if ":" in host:  # IPv6 literal: bracket it again so the port stays unambiguous
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


def scope_retry(policy: RetryCaller | None, url: str) -> RetryCaller | None:
    """``policy.for_host(host_key(url))`` when the policy has ``for_host``, else ``policy``."""
    if isinstance(policy, HostScopedRetryCaller):
        return policy.for_host(host_key(url))
    return policy


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


def opt_str(value: object) -> str | None:
    """``value`` if it is a string, else None: a request's fields may hold anything."""
    return value if isinstance(value, str) else None


def request_fields(request: Mapping[str, Any]) -> dict[str, Any]:
    """``controller``, ``action``, ``index`` and ``collection``: the context of its errors."""
    return {
        key: opt_str(request.get(key)) for key in ("controller", "action", "index", "collection")
    }


def new_request_id() -> str:
    """A fresh request id (a uuid4, as Kuzzle and its SDKs generate)."""
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
