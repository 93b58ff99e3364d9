"""The stub in async tests: the ``kuzzle_stub`` fixture, ``async with StubKuzzle()``, ``await_requests``."""

from __future__ import annotations

import asyncio
import threading

import pytest
from common import NOW

from kuzzle_errors.httpx import AsyncKuzzleHTTP
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websockets import AsyncKuzzleWebSocket

pytestmark = pytest.mark.anyio


async def test_the_fixture_serves_async_tests(kuzzle_stub: StubKuzzle) -> None:
    assert kuzzle_stub.running
    async with AsyncKuzzleHTTP(kuzzle_stub.url) as kuzzle:
        assert (await kuzzle.query(NOW))["now"] > 0
    assert kuzzle_stub.count("server", "now") == 1


@pytest.mark.kuzzle_stub(version=1)
async def test_the_marker_applies_too(kuzzle_stub: StubKuzzle) -> None:
    async with AsyncKuzzleWebSocket(kuzzle_stub.ws_url) as kuzzle:
        assert await kuzzle.query(NOW)
    assert kuzzle_stub.requests[-1].transport == "websocket"


async def test_async_with_starts_and_stops_off_the_loop() -> None:
    loop_thread = threading.get_ident()
    ticks = 0

    async def ticker() -> None:  # keeps running while the stub starts: the loop is not blocked
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.ensure_future(ticker())
    async with StubKuzzle() as stub:
        assert stub.running
        assert threading.get_ident() == loop_thread
        async with AsyncKuzzleWebSocket(stub.ws_url) as kuzzle:
            waiting = asyncio.ensure_future(kuzzle.query(NOW))
            recorded = await stub.await_requests(1)
            assert recorded[-1].action == "now"
            await waiting
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not stub.running
    assert ticks > 1
