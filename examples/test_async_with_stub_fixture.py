"""Async tests against the ``kuzzle_stub`` fixture, with anyio's pytest plugin.

The same fixture as for sync tests: the stub runs its own loop in a thread. Run::

    pip install '.[stub]' --group test   # from a checkout of kuzzle-errors
    python -m pytest examples/test_async_with_stub_fixture.py
"""

from __future__ import annotations

from typing import Any

import pytest

import kuzzle_errors
from kuzzle_errors.httpx import AsyncKuzzleHTTP
from kuzzle_errors.retry import RetryPolicy
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websockets import AsyncKuzzleWebSocket

pytestmark = pytest.mark.anyio  # every test of this module runs on asyncio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # our clients are asyncio ones: no trio run


async def server_time(kuzzle: AsyncKuzzleHTTP | AsyncKuzzleWebSocket) -> Any:
    """The code under test."""
    return (await kuzzle.query({"controller": "server", "action": "now"}))["now"]


async def test_over_http(kuzzle_stub: StubKuzzle) -> None:
    async with AsyncKuzzleHTTP(kuzzle_stub.url) as kuzzle:
        assert await server_time(kuzzle) > 0


async def test_an_overload_is_retried(kuzzle_stub: StubKuzzle) -> None:
    kuzzle_stub.overload(times=1)
    policy = RetryPolicy(base=0.01, budget=None)
    async with AsyncKuzzleWebSocket(kuzzle_stub.ws_url, retry=policy) as kuzzle:
        assert await server_time(kuzzle) > 0
    assert kuzzle_stub.count("server", "now") == 2


@pytest.mark.kuzzle_stub(version=2)
async def test_errors_are_the_sync_ones(kuzzle_stub: StubKuzzle) -> None:
    kuzzle_stub.fail("server", "now", "api.process.overloaded")
    async with AsyncKuzzleWebSocket(kuzzle_stub.ws_url) as kuzzle:
        with pytest.raises(kuzzle_errors.ServiceUnavailableError) as info:
            await server_time(kuzzle)
    assert info.value.retry_hint.replay_safe
