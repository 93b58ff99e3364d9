"""What the asyncio code shares: retry wiring through ``RetryPolicy.acall``, background tasks.

Imports neither asyncio libraries nor transports: both async client modules and the stub use it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Protocol, TypeVar

from kuzzle_errors._transport import jwt_from_login, login_request, scope_retry

__all__ = [
    "AsyncClientBase",
    "AsyncRetryCaller",
    "TaskSet",
    "acall_with_retry",
]

_T = TypeVar("_T")
_Client = TypeVar("_Client", bound="AsyncClientBase")


class AsyncRetryCaller(Protocol):
    """What the async clients need from :class:`kuzzle_errors.retry.RetryPolicy`."""

    async def acall(
        self, fn: Callable[..., Awaitable[_T]], /, *args: Any, idempotent: bool = ..., **kwargs: Any
    ) -> _T: ...


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


class TaskSet:
    """Background tasks nobody awaits, kept alive until they end (the event loop holds
    only weak references to tasks); ``on_error(what, exc)`` reports each failure."""

    def __init__(self, on_error: Callable[[str, BaseException], None]) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()
        self._on_error = on_error

    def spawn(self, aw: Awaitable[Any], what: str) -> None:
        """Run ``aw`` (``what`` it does, for the error report) in the background."""
        self.track(asyncio.ensure_future(aw), what)

    def track(self, task: asyncio.Future[Any], what: str) -> None:
        """Keep ``task`` (already running) with the others until it ends."""
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._done, what))

    def _done(self, what: str, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            exc = task.exception()
            if exc is not None:
                self._on_error(what, exc)

    async def cancel(self, wait: float = 0.0) -> None:
        """Cancel every task, then wait up to ``wait`` seconds for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks and wait > 0:
            await asyncio.wait(tasks, timeout=wait)

    async def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for every task to end, cancelling none."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def __len__(self) -> int:
        return len(self._tasks)
