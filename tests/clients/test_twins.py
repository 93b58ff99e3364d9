"""The sync and async twins side by side: same parameters, same behaviour.

Each test runs on both clients of a pair: ``KuzzleWebSocket``/``AsyncKuzzleWebSocket`` (the
sync one driven from a worker thread) and ``KuzzleHTTP``/``AsyncKuzzleHTTP``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from common import NOW
from ws_twins import END, WAIT, Twin

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.httpx import AsyncKuzzleHTTP
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket
from kuzzle_errors.websockets import AsyncKuzzleWebSocket

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[KuzzleWebSocket, AsyncKuzzleWebSocket], ids=["sync", "async"])
def twin(request: pytest.FixtureRequest) -> Twin:
    return Twin(request.param)


@pytest.fixture
async def kuzzle(twin: Twin, stub: StubKuzzle) -> AsyncIterator[Any]:
    client = await twin.open(stub.ws_url, timeout=WAIT)
    yield client
    await twin.run(client.close)


def test_the_websocket_twins_take_the_same_parameters() -> None:
    sync = inspect.signature(KuzzleWebSocket).parameters
    aio = inspect.signature(AsyncKuzzleWebSocket).parameters
    assert list(sync) == list(aio)
    assert [p.default for p in sync.values()] == [p.default for p in aio.values()]
    assert "rate_limit_grace" not in sync


def test_the_http_twins_take_the_same_parameters_but_their_library_s_object() -> None:
    sync = dict(inspect.signature(KuzzleHTTP).parameters)
    aio = dict(inspect.signature(AsyncKuzzleHTTP).parameters)
    assert (sync.pop("session").default, aio.pop("client").default) == (None, None)
    assert list(sync) == list(aio)
    assert [p.default for p in sync.values()] == [p.default for p in aio.values()]


async def test_notifications_stream_then_a_drop_ends_the_stream_with_the_error(
    twin: Twin, kuzzle: Any, stub: StubKuzzle
) -> None:
    stream = kuzzle.notifications()
    await asyncio.to_thread(stub.notify, "room-1", result={"_id": "n1"})
    first = await twin.next(stream)
    assert first["room"] == "room-1"
    await asyncio.to_thread(stub.drop_connections, 1011)
    with pytest.raises(kuzzle_errors.ConnectionLostError):
        await twin.next(stream)
    assert await twin.next(stream) is END  # ended once: subscribe again on a new stream


async def test_closing_the_client_ends_a_stream_after_what_was_queued(
    twin: Twin, kuzzle: Any, stub: StubKuzzle
) -> None:
    stream = kuzzle.notifications(max_queued=2)
    for n in range(3):
        await asyncio.to_thread(stub.notify, "room-1", result={"_id": f"n{n}"})
    deadline = time.monotonic() + WAIT
    while stream.dropped == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await twin.run(kuzzle.close)
    assert stream.dropped == 1  # the oldest went
    got = [await twin.next(stream), await twin.next(stream), await twin.next(stream)]
    assert [n["result"]["_id"] for n in got[:2]] == ["n1", "n2"]
    assert got[2] is END


async def test_pending_counts_the_queries_waiting_for_their_answer(
    twin: Twin, kuzzle: Any, stub: StubKuzzle
) -> None:
    stub.slow("server", "now", 0.5)
    assert kuzzle.pending == 0
    query = asyncio.ensure_future(twin.run(kuzzle.query, NOW))
    await stub.await_requests(1, WAIT)
    assert kuzzle.pending == 1
    await query
    assert kuzzle.pending == 0


@pytest.mark.parametrize("connect", [True, False])
async def test_connect_false_waits_for_the_first_query(
    twin: Twin, stub: StubKuzzle, connect: bool
) -> None:
    client = await twin.open(stub.ws_url, timeout=WAIT, connect=connect)
    try:
        assert client.connected is connect
        await twin.run(client.query, NOW)
        assert client.connected
    finally:
        await twin.run(client.close)


@pytest.mark.parametrize("cls", [KuzzleWebSocket, AsyncKuzzleWebSocket])
@pytest.mark.parametrize("options", [{"timeout": 0}, {"max_frame_bytes": 0}, {"frame_timeout": -1}])
def test_bad_websocket_options_are_refused_by_both(cls: type[Any], options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        cls("ws://127.0.0.1:1", connect=False, **options)


@pytest.mark.parametrize("cls", [KuzzleHTTP, AsyncKuzzleHTTP])
@pytest.mark.parametrize("timeout", [0, -1.0, (0, 5.0), (5.0, -1)])
def test_bad_http_timeouts_are_refused_by_both(cls: type[Any], timeout: Any) -> None:
    with pytest.raises(ValueError, match="timeout"):
        cls("http://127.0.0.1:1", timeout=timeout)


async def test_both_http_clients_take_a_connect_read_timeout(stub: StubKuzzle) -> None:
    with KuzzleHTTP(stub.url, timeout=(2.0, 0.3)) as sync:
        stub.slow("server", "now", 1.0)
        with pytest.raises(kuzzle_errors.RequestTimeoutError):
            await asyncio.to_thread(sync.query, NOW)
    async with AsyncKuzzleHTTP(stub.url, timeout=(2.0, 0.3)) as aio:
        with pytest.raises(kuzzle_errors.RequestTimeoutError):
            await aio.query(NOW)
        stub.reset()
        assert (await aio.query(NOW))["now"] > 0


@pytest.mark.parametrize(
    "cls", [KuzzleHTTP, AsyncKuzzleHTTP, KuzzleWebSocket, AsyncKuzzleWebSocket]
)
async def test_every_client_closes_with_close_and_the_async_ones_with_aclose_too(
    cls: type[Any], stub: StubKuzzle
) -> None:
    http = cls in (KuzzleHTTP, AsyncKuzzleHTTP)
    url = stub.url if http else stub.ws_url
    options = {} if http else {"connect": False}
    client = cls(url, timeout=WAIT, **options)
    sync = cls in (KuzzleHTTP, KuzzleWebSocket)
    if sync:
        await asyncio.to_thread(client.query, NOW)
        client.close()
        client.close()  # idempotent
    else:
        await client.query(NOW)
        await client.close()
        await client.aclose()  # idempotent, and the name contextlib.aclosing uses
    if not http:
        assert client.closed and not client.connected
        with pytest.raises(kuzzle_errors.ConnectionLostError):
            await (asyncio.to_thread(client.query, NOW) if sync else client.query(NOW))
