"""Kuzzle's funnel, shared by both transports: request checks, throttle, concurrency slots,
rate limit, action.

Runs on the stub's event loop; the answers themselves come from :mod:`kuzzle_errors._stub.state`.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Mapping
from typing import Any

from kuzzle_errors._stub.payloads import make_error, str_or_none
from kuzzle_errors._stub.state import Effects, StubState


def invalid_request(parsed: object) -> dict[str, Any] | None:
    """The error for a payload Kuzzle's ``Request`` constructor refuses, else None.

    The error has no id, as Kuzzle sends it.
    """
    if not isinstance(parsed, dict):
        return {"message": "Request payload must be an object", "status": 400}
    for key in ("controller", "action", "index", "collection", "_id", "jwt", "requestId"):
        value = parsed.get(key)
        if value is not None and not isinstance(value, str):
            return {"message": f'Attribute {key} must be of type "string"', "status": 400}
    for key in ("volatile", "body"):
        value = parsed.get(key)
        if value is not None and not isinstance(value, dict):
            return {"message": f'Attribute {key} must be of type "object"', "status": 400}
    return None


class Funnel:
    """Admits API requests like Kuzzle's funnel and runs the (scripted) action."""

    def __init__(self, state: StubState) -> None:
        self.state = state
        self._running = 0
        # Requests waiting for a concurrency slot: while there are some, /_ready says 503.
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    async def execute(
        self, payload: Mapping[str, Any], transport: str, request_id: str, conn: int
    ) -> tuple[dict[str, Any] | None, Effects]:
        """The envelope for ``payload`` (None when a scripted drop means no answer) and the
        scripted effects around it (none for a refused request)."""
        state = self.state
        error = state.throttle_error(transport)
        if error is None and not await self._acquire():
            error = make_error("api.process.overloaded")
        if error is not None:
            return state.envelope(payload, request_id, error=error), Effects()
        try:
            controller = str_or_none(payload.get("controller"))
            action = str_or_none(payload.get("action"))
            error = state.rate_error(controller, action, str_or_none(payload.get("jwt")), conn)
            if error is not None:
                return state.envelope(payload, request_id, error=error), Effects()
            effects = state.effects(controller, action)
            if effects.delay > 0:
                await asyncio.sleep(effects.delay)
            if effects.drop is not None:
                return None, effects
            return state.answer(payload, request_id, controller, action), effects
        finally:
            self._release()

    async def _acquire(self) -> bool:
        """A concurrency slot (Kuzzle's ``limits.concurrentRequests``); False when refused."""
        limit = self.state.concurrent_requests
        if limit is None or self._running < limit:
            self._running += 1
            return True
        if len(self.waiting) >= self.state.requests_buffer_size:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        # The releasing request hands its slot over. Only the stub's stop cancels a waiter,
        # and the funnel ends with its server: a slot lost then is never missed.
        await waiter
        return True

    def _release(self) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():  # a cancelled one (the stub is stopping) gets nothing
                waiter.set_result(None)
                return
        self._running -= 1
