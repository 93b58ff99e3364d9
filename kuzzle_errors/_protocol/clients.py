"""What every client has alike: the retry policy scoped to its host, and the call through it;
the base class of the async clients (``async with``, login).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Final, Protocol, TypeVar
from urllib.parse import urlsplit

from kuzzle_errors._protocol.queries import jwt_from_login, login_request

_T = TypeVar("_T")


_P = TypeVar("_P")  # a retry policy, sync or async


_Client = TypeVar("_Client", bound="AsyncClientBase")


class RetryCaller(Protocol):
    """What the transports need from :class:`kuzzle_errors.retry.RetryPolicy`."""

    def call(
        self, fn: Callable[..., _T], /, *args: Any, idempotent: bool = ..., **kwargs: Any
    ) -> _T: ...


class AsyncRetryCaller(Protocol):
    """What the async clients need from :class:`kuzzle_errors.retry.RetryPolicy`."""

    async def acall(
        self, fn: Callable[..., Awaitable[_T]], /, *args: Any, idempotent: bool = ..., **kwargs: Any
    ) -> _T: ...


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


def scope_retry(policy: _P | None, url: str) -> _P | None:
    """``policy.for_host(host_key(url))`` when the policy has ``for_host``, else ``policy``.

    Sync or async (``call`` or ``acall``): every client of one server, HTTP or WebSocket,
    then shares one budget.
    """
    for_host = getattr(policy, "for_host", None)
    if policy is not None and callable(for_host):
        scoped: _P = for_host(host_key(url))
        return scoped
    return policy


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


async def acall_with_retry(
    policy: AsyncRetryCaller | None,
    fn: Callable[..., Awaitable[_T]],
    request: dict[str, Any],
    *,
    idempotent: bool,
    **kwargs: Any,
) -> _T:
    """``await fn(request, **kwargs)``, through ``policy.acall`` when a policy is set."""
    if policy is None:
        return await fn(request, **kwargs)
    return await policy.acall(fn, request, idempotent=idempotent, **kwargs)


class AsyncClientBase:
    """What both async clients have alike: the scoped retry policy, the token, login.

    And ``async with``: :meth:`_aenter` on entry (a client may connect there), :meth:`aclose`
    on exit.
    """

    _retry: AsyncRetryCaller | None
    jwt: str | None

    def _retry_scope(self) -> str:
        """The URL whose host keys the retry budget."""
        raise NotImplementedError

    @property
    def retry(self) -> AsyncRetryCaller | None:
        """The retry policy of the queries, scoped to this client's host (None: no retry)."""
        return self._retry

    @retry.setter
    def retry(self, policy: AsyncRetryCaller | None) -> None:
        self._retry = scope_retry(policy, self._retry_scope())

    async def query(self, request: Mapping[str, Any]) -> Any:
        """Send one Kuzzle API request and return its ``result`` (see the clients)."""
        raise NotImplementedError

    async def login(
        self,
        credentials: Mapping[str, Any],
        strategy: str = "local",
        *,
        expires_in: str | None = None,
    ) -> str:
        """Log in with ``auth:login``, keep the token for the next queries and return it."""
        result = await self.query(login_request(credentials, strategy, expires_in))
        self.jwt = jwt_from_login(result)
        return self.jwt

    async def aclose(self) -> None:
        """Release what the client holds (see the clients)."""
        raise NotImplementedError

    async def _aenter(self) -> None:
        """What entering ``async with`` does before the client is returned: nothing here."""

    async def __aenter__(self: _Client) -> _Client:
        await self._aenter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
