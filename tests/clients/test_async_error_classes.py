"""Every Kuzzle error class comes out of both asyncio clients, with its id and request id."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from common import FAMILIES

import kuzzle_errors
from kuzzle_errors.httpx import AsyncKuzzleHTTP
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websockets import AsyncKuzzleWebSocket

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["http", "websocket"])
async def kuzzle(
    request: pytest.FixtureRequest, stub: StubKuzzle
) -> AsyncIterator[AsyncKuzzleHTTP | AsyncKuzzleWebSocket]:
    client: AsyncKuzzleHTTP | AsyncKuzzleWebSocket
    if request.param == "http":
        client = AsyncKuzzleHTTP(stub.url, timeout=5.0)
    else:
        client = AsyncKuzzleWebSocket(stub.ws_url, timeout=5.0)
    async with client:
        yield client


@pytest.mark.parametrize("class_name", sorted(FAMILIES))
async def test_every_error_class(
    stub: StubKuzzle, kuzzle: AsyncKuzzleHTTP | AsyncKuzzleWebSocket, class_name: str
) -> None:
    error_id = FAMILIES[class_name]
    stub.fail("test", "boom", error_id, "a", "b", "c")
    with pytest.raises(kuzzle_errors.error_class(error_id)) as info:
        await kuzzle.query({"controller": "test", "action": "boom"})
    error = info.value
    assert isinstance(error, kuzzle_errors.error_class(class_name))
    assert error.id == error_id
    assert error.request_id == stub.requests[-1].request_id
    if isinstance(kuzzle, AsyncKuzzleHTTP):
        assert error.transport == "http"
        assert error.node == stub.node
        assert error.http_status == error.status
    else:
        assert error.transport == "websocket"
