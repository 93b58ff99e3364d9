"""Kuzzle's funnel, shared by both transports: throttle, concurrency slots, rate limit, action.

Runs on the stub's event loop; the answers themselves come from :mod:`kuzzle_errors._stub.state`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from kuzzle_errors._stub.payloads import make_error
from kuzzle_errors._stub.state import Effects, StubState
from kuzzle_errors._transport import opt_str

BeforeAnswer = Callable[[Effects], Awaitable[None]]


class Funnel:
    """Admits API requests like Kuzzle's funnel and runs the (scripted) action."""

    def __init__(self, state: StubState) -> None:
        self.state = state
        self._running = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def execute(
        self,
        payload: Mapping[str, Any],
        transport: str,
        request_id: str,
        conn: int,
        before_answer: BeforeAnswer | None = None,
    ) -> tuple[dict[str, Any] | None, Effects]:
        """The envelope for ``payload``, or None when a scripted drop means no answer."""
        state = self.state
        no_effects = Effects()
        error = state.throttle_error(transport)
        if error is not None:
            return state.envelope(payload, request_id, error=error), no_effects
        if not await self._acquire():
            error = make_error("api.process.overloaded")
            return state.envelope(payload, request_id, error=error), no_effects
        try:
            controller = opt_str(payload.get("controller"))
            action = opt_str(payload.get("action"))
            jwt = opt_str(payload.get("jwt"))
            error = state.rate_error(controller, action, jwt, conn)
            if error is not None:
                return state.envelope(payload, request_id, error=error), no_effects
            effects = state.effects(controller, action)
            if effects.delay > 0:
                await asyncio.sleep(effects.delay)
            if effects.drop is not None:
                return None, effects
            if before_answer is not None:
                await before_answer(effects)
            return state.answer(payload, request_id, controller, action), effects
        finally:
            self._release()

    async def _acquire(self) -> bool:
        """A concurrency slot (Kuzzle's ``limits.concurrentRequests``); False when refused."""
        limit = self.state.concurrent_requests
        if limit is None or self._running < limit:
            self._running += 1
            return True
        if len(self._waiters) >= self.state.requests_buffer_size:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self.state.buffered = len(self._waiters)
        try:
            await waiter  # the releasing request hands its slot over
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise
        finally:
            self.state.buffered = len(self._waiters)
        return True

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self.state.buffered = len(self._waiters)
                return
        self._running -= 1
