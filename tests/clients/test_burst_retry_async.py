"""Issue 7's burst driven from asyncio: 32 simultaneous calls against a tiny request buffer.

``StubKuzzle(concurrent_requests=1, requests_buffer_size=2)`` with ``server:now`` taking 20 ms
refuses most of a 32-call burst with 503 ``api.process.overloaded``; the default
:class:`RetryPolicy` (through ``acall``) must carry the burst through.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from common import NOW

import kuzzle_errors
from kuzzle_errors.httpx import AsyncKuzzleHTTP
from kuzzle_errors.retry import RetryPolicy
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websockets import AsyncKuzzleWebSocket

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.kuzzle_stub(concurrent_requests=1, requests_buffer_size=2),
]

CALLS = 32


@pytest.fixture
def stub(stub: StubKuzzle) -> StubKuzzle:
    """The conftest's stub (options from the marker above), with ``server:now`` taking 20 ms."""
    stub.slow("server", "now", 0.02)
    return stub


async def burst(stub: StubKuzzle, transport: str) -> tuple[list[object], float]:
    policy = RetryPolicy()  # the default policy, with its default per-host budget
    client: AsyncKuzzleHTTP | AsyncKuzzleWebSocket
    if transport == "http":
        client = AsyncKuzzleHTTP(stub.url, timeout=10.0, retry=policy)
    else:
        client = AsyncKuzzleWebSocket(stub.ws_url, timeout=10.0, retry=policy)
    async with client:
        started = time.monotonic()
        results = await asyncio.gather(
            *(client.query(NOW) for _ in range(CALLS)), return_exceptions=True
        )
        return results, time.monotonic() - started


@pytest.mark.parametrize("transport", ["http", "websocket"])
async def test_the_burst_ends_with_successes_or_honest_overloads(
    stub: StubKuzzle, transport: str
) -> None:
    results, elapsed = await burst(stub, transport)
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures:  # nothing but the refusal, which is safe to replay later
        assert isinstance(failure, kuzzle_errors.error_class("api.process.overloaded"))
        assert failure.retry_hint.replay_safe
    assert len(results) - len(failures) >= 3  # at least the ones the buffer held
    assert stub.count("server", "now") <= CALLS * RetryPolicy().attempts
    assert elapsed < 30.0  # the policy's deadline: no call hangs


@pytest.mark.parametrize("transport", ["http", "websocket"])
async def test_the_default_policy_carries_the_burst(stub: StubKuzzle, transport: str) -> None:
    results, _ = await burst(stub, transport)
    succeeded = sum(not isinstance(r, BaseException) for r in results)
    assert succeeded >= CALLS - 1, f"{succeeded}/{CALLS}"
