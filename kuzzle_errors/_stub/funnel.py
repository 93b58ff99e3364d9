"""Kuzzle's funnel, shared by both transports (``lib/api/funnel.js``): the controller and
action checks, the throttle (shutdown, overload, concurrency slots and their buffer), the
rights, the rate limit, then the action.

Runs on the stub's event loop; the answers themselves come from :mod:`kuzzle_errors._stub.state`.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Mapping
from typing import Any

from kuzzle_errors._stub.payloads import make_error
from kuzzle_errors._stub.request import Call, KuzzleFailure
from kuzzle_errors._stub.state import Answer, Effects, StubState

_REQUEST_KEYS = ("jwt", "volatile", "body", "controller", "action")


def invalid_request(parsed: object) -> dict[str, Any] | None:
    """The error Kuzzle's ``Request`` constructor throws for a payload, else None.

    The error has no id, as Kuzzle sends it (``lib/util/assertType.js``).
    """
    if not isinstance(parsed, dict):
        return {"message": "Input request data must be a non-null object", "status": 500}
    for key in ("jwt", "volatile", "body", "controller", "action"):
        value = parsed.get(key)
        if value is None:
            continue
        if key == "body" and not isinstance(value, (dict, list)):
            return {"message": 'Attribute body must be of type "object" or "array"', "status": 400}
        if key == "volatile" and not isinstance(value, dict):
            return {"message": 'Attribute volatile must be of type "object"', "status": 400}
        if key in ("jwt", "controller", "action") and not isinstance(value, str):
            return {"message": f'Attribute {key} must be of type "string"', "status": 400}
    request_id = parsed.get("requestId")
    if request_id not in (None, "", 0, False) and not isinstance(request_id, str):
        return {"message": 'Attribute requestId must be of type "string"', "status": 400}
    return None


class Funnel:
    """Admits API requests like Kuzzle's funnel and runs the (scripted) action."""

    def __init__(self, state: StubState) -> None:
        self.state = state
        self.running = 0  # requests holding a slot (Kuzzle's remainingRequests with waiting)
        # Requests waiting for a concurrency slot: while there are some, /_ready says 503.
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self.idle = asyncio.Event()  # set while no request is in the funnel
        self.idle.set()
        self._inside = 0

    async def execute(self, call: Call) -> tuple[dict[str, Any] | None, Effects]:
        """The envelope for ``call`` (None when a scripted drop means no answer) and the
        scripted effects around it (none for a refused request)."""
        self._inside += 1
        self.idle.clear()
        try:
            return await self._execute(call)
        finally:
            self._inside -= 1
            if self._inside == 0:
                self.idle.set()

    async def _execute(self, call: Call) -> tuple[dict[str, Any] | None, Effects]:
        state = self.state
        payload = call.payload
        for key in ("controller", "action"):
            if not payload.get(key):
                return self._refused(call, make_error("api.assert.missing_argument", key))
        error = state.throttle_error(call.protocol)
        if error is None and not await self._acquire():
            error = make_error("api.process.overloaded")
        if error is not None:
            return self._refused(call, error)
        try:
            try:
                state.check_rights(call)
            except KuzzleFailure as refused:
                return self._refused(call, refused.error)
            error = state.rate_error(call)
            if error is not None:
                return self._refused(call, error)
            effects = state.effects(call.controller, call.action)
            if effects.delay > 0:
                await asyncio.sleep(effects.delay)
            if effects.drop is not None and not effects.drop.ran:
                return None, effects
            # The storage's round trip: a request holds its slot across it, as in Kuzzle, so
            # a burst meets the concurrency limit and its buffer.
            await asyncio.sleep(0)
            answer = state.run(call)
            if effects.drop is not None:
                return None, effects  # it ran (its writes and notifications happened)
            return state.envelope(payload, call.request_id, answer), effects
        finally:
            self._release()

    def _refused(self, call: Call, error: Mapping[str, Any]) -> tuple[dict[str, Any], Effects]:
        return self.state.envelope(call.payload, call.request_id, Answer(error)), Effects()

    async def _acquire(self) -> bool:
        """A concurrency slot (Kuzzle's ``limits.concurrentRequests``); False when refused."""
        limit = self.state.concurrent_requests
        if limit is None or self.running < limit:
            self.running += 1
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
        self.running -= 1
