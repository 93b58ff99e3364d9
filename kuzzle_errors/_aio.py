"""What the asyncio clients share: retry wiring through ``RetryPolicy.acall``.

Imports neither asyncio libraries nor transports: both async client modules use it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from kuzzle_errors._transport import host_key, jwt_from_login, login_request

__all__ = ["AsyncClientBase", "AsyncRetryCaller", "acall_with_retry", "scope_async_retry"]

_T = TypeVar("_T")


class AsyncRetryCaller(Protocol):
    """What the async clients need from :class:`kuzzle_errors.retry.RetryPolicy`."""

    async def acall(
        self, fn: Callable[..., Awaitable[_T]], /, *args: Any, idempotent: bool = ..., **kwargs: Any
    ) -> _T: ...


def scope_async_retry(policy: AsyncRetryCaller | None, url: str) -> AsyncRetryCaller | None:
    """``policy.for_host(host_key(url))`` when the policy has ``for_host``, else ``policy``.

    Every client of one server, sync or async, HTTP or WebSocket, then shares one budget.
    """
    for_host = getattr(policy, "for_host", None)
    if policy is not None and callable(for_host):
        scoped: AsyncRetryCaller = for_host(host_key(url))
        return scoped
    return policy


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
    """What both async clients have alike: the scoped retry policy, the token, login."""

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
        self._retry = scope_async_retry(policy, self._retry_scope())

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
