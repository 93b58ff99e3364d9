"""What the asyncio clients share: retry wiring through ``RetryPolicy.acall``.

Imports neither asyncio libraries nor transports: both async client modules use it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from kuzzle_errors._transport import host_key

__all__ = ["AsyncRetryCaller", "acall_with_retry", "scope_async_retry"]

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
