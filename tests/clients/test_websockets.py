"""``kuzzle_errors.websockets.AsyncKuzzleWebSocket`` against the real stub on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets.asyncio.server
from async_helpers import fast_policy
from common import NOW
from raw_server import drip, raw_server, read_head, replying, unused_port

import kuzzle_errors
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websockets import AsyncKuzzleWebSocket

pytestmark = pytest.mark.anyio


@pytest.fixture
async def kuzzle(stub: StubKuzzle) -> AsyncIterator[AsyncKuzzleWebSocket]:
    async with AsyncKuzzleWebSocket(stub.ws_url, timeout=5.0) as client:
        yield client


@pytest.fixture(autouse=True)
def collection(stub: StubKuzzle) -> None:
    """The collection create() writes to (Kuzzle refuses a missing one with a 412)."""
    stub.add_collection("i", "c")


def create(i: int) -> dict[str, Any]:
    return {
        "controller": "document",
        "action": "create",
        "index": "i",
        "collection": "c",
        "_id": f"d{i}",
        "body": {"i": i},
    }


async def test_result_login_and_jwt(stub: StubKuzzle, kuzzle: AsyncKuzzleWebSocket) -> None:
    assert (await kuzzle.query(NOW))["now"] > 0
    stub.add_user("admin", "secret")  # as in Kuzzle, a login needs a user
    token = await kuzzle.login({"username": "admin", "password": "secret"})
    await kuzzle.query(NOW)
    assert stub.requests[-1].jwt == token


async def test_200_concurrent_queries_answered_in_random_order(
    stub: StubKuzzle, kuzzle: AsyncKuzzleWebSocket
) -> None:
    stub.slow("document", "create", (0.0, 0.05))
    results = await asyncio.gather(*(kuzzle.query(create(i)) for i in range(200)))
    assert [r["_id"] for r in results] == [f"d{i}" for i in range(200)]
    answered = [r.request_id for r in stub.requests]
    assert len(answered) == 200
    assert kuzzle.pending == 0


async def test_a_drop_fails_50_pending_queries_at_once(
    stub: StubKuzzle, kuzzle: AsyncKuzzleWebSocket
) -> None:
    stub.slow("server", "now", 30.0)
    tasks = [asyncio.ensure_future(kuzzle.query(NOW)) for _ in range(50)]
    await stub.await_requests(50, 5.0)
    started = time.monotonic()
    await asyncio.to_thread(stub.drop_connections, 1011, "bye")
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert time.monotonic() - started < 1.0
    assert all(isinstance(r, kuzzle_errors.ConnectionLostError) for r in results), results
    assert all(r.retry_hint.retryable and not r.retry_hint.replay_safe for r in results)
    assert "1011" in str(results[0])
    assert kuzzle.pending == 0 and not kuzzle.connected
    assert (await kuzzle.query({"controller": "auth", "action": "checkToken"})) is not None


async def test_cancelling_100_pending_queries_leaks_nothing(stub: StubKuzzle) -> None:
    unmatched: list[kuzzle_errors.KuzzleError] = []
    notified: list[dict[str, Any]] = []
    async with AsyncKuzzleWebSocket(
        stub.ws_url,
        timeout=5.0,
        on_unmatched_error=unmatched.append,
        on_notification=notified.append,
    ) as kuzzle:
        stub.slow("document", "create", 0.3)
        tasks = [asyncio.ensure_future(kuzzle.query(create(i))) for i in range(100)]
        await stub.await_requests(100, 5.0)
        assert kuzzle.pending == 100
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        assert kuzzle.pending == 0
        await asyncio.sleep(0.6)  # the late answers come in, and are dropped quietly
        assert kuzzle.pending == 0
        assert (unmatched, notified) == ([], [])
        assert (await kuzzle.query(NOW))["now"] > 0


async def test_a_timeout_leaves_nothing_pending(
    stub: StubKuzzle, kuzzle: AsyncKuzzleWebSocket
) -> None:
    stub.slow("server", "now", 0.5, times=1)
    with pytest.raises(kuzzle_errors.RequestTimeoutError) as info:
        await kuzzle.query(NOW, timeout=0.1)
    assert not info.value.retry_hint.replay_safe
    assert kuzzle.pending == 0
    assert (await kuzzle.query(NOW))["now"] > 0


async def test_overload_is_retried_through_acall(stub: StubKuzzle) -> None:
    async with AsyncKuzzleWebSocket(stub.ws_url, timeout=5.0, retry=fast_policy()) as kuzzle:
        stub.overload(times=2)
        assert await kuzzle.query(create(1))
    assert stub.count("document", "create") == 3


async def test_a_refusal_of_the_socket_rate_limit_fails_the_refused_query_at_once() -> None:
    with StubKuzzle(ws_rate_limit=1, clock=lambda: 0.0) as stub:
        async with AsyncKuzzleWebSocket(stub.ws_url, timeout=5.0) as kuzzle:
            started = time.monotonic()
            results = await asyncio.gather(
                kuzzle.query(NOW), kuzzle.query(NOW), return_exceptions=True
            )
            assert time.monotonic() - started < 1.0
            refused = [r for r in results if isinstance(r, BaseException)]
            assert len(refused) == 1, results
            error = refused[0]
            assert isinstance(error, kuzzle_errors.TooManyRequestsError)
            assert error.retry_hint.replay_safe
            assert error.action == "now"
            assert kuzzle.pending == 0


async def test_a_repeated_answer_is_not_a_notification(stub: StubKuzzle) -> None:
    notified: list[dict[str, Any]] = []
    async with AsyncKuzzleWebSocket(
        stub.ws_url, timeout=5.0, on_notification=notified.append
    ) as kuzzle:
        await kuzzle.query(NOW)
        request_id = stub.requests[-1].request_id
        answer = {"status": 200, "result": {"now": 1}, "requestId": request_id, "room": request_id}
        await asyncio.to_thread(stub.send, answer)
        await kuzzle.query(NOW)  # the repeated answer came before this one's
    assert notified == []


async def test_many_refusals_are_attributed_by_elimination() -> None:
    # Frames leave in the order the ledger numbers them (no await between the two), which
    # attribution by elimination relies on: 30 refusals among 50 queries all fail at once.
    with StubKuzzle(ws_rate_limit=20, clock=lambda: 0.0) as stub:
        stub.slow("server", "now", (0.0, 0.05))
        async with AsyncKuzzleWebSocket(stub.ws_url, timeout=5.0) as kuzzle:
            started = time.monotonic()
            results = await asyncio.gather(
                *(kuzzle.query(NOW) for _ in range(50)), return_exceptions=True
            )
            assert time.monotonic() - started < 1.0
            refused = [r for r in results if isinstance(r, BaseException)]
            assert len(refused) == 30, results
            assert all(isinstance(r, kuzzle_errors.TooManyRequestsError) for r in refused)
            assert kuzzle.pending == 0


async def test_an_unattributable_refusal_never_replays_a_write() -> None:
    # Issue 14: the refused query has timed out when the slow write is still in flight; the
    # refusal could be either's, so the write must not fail replay-safe (and not run twice).
    with StubKuzzle(ws_rate_limit=1, clock=lambda: 0.0) as stub:
        stub.add_collection("i", "c")
        stub.slow("document", "create", 0.6)
        async with AsyncKuzzleWebSocket(stub.ws_url, timeout=5.0, retry=fast_policy()) as kuzzle:
            write = asyncio.ensure_future(kuzzle.query(create(1)))
            await stub.await_requests(1, 5.0)
            with pytest.raises(kuzzle_errors.RequestTimeoutError) as info:
                await kuzzle.query(NOW, timeout=0.1)
            assert (await write)["_id"] == "d1"
            assert "rate-limit refusal" in (info.value.problem or "")
    assert stub.count("document", "create") == 1


async def test_notifications_reach_the_callback_and_the_iterator(stub: StubKuzzle) -> None:
    received: list[dict[str, Any]] = []

    async def on_notification(msg: dict[str, Any]) -> None:
        received.append(msg)

    async with AsyncKuzzleWebSocket(
        stub.ws_url, timeout=5.0, on_notification=on_notification
    ) as kuzzle:
        stream = kuzzle.notifications()
        await asyncio.to_thread(stub.notify, "room-1", result={"_id": "n1"})
        first = await asyncio.wait_for(stream.__anext__(), 2.0)
        assert first["room"] == "room-1"
        await asyncio.sleep(0.05)
        assert [m["room"] for m in received] == ["room-1"]
        # A drop ends the stream with the error: the subscriptions are gone with the socket.
        await asyncio.to_thread(stub.drop_connections, 1011)
        with pytest.raises(kuzzle_errors.ConnectionLostError):
            await asyncio.wait_for(stream.__anext__(), 2.0)
        later = kuzzle.notifications()
    # Closing the client ends the other streams.
    assert [n async for n in later] == []


async def test_close_ends_a_stream_once(stub: StubKuzzle) -> None:
    delivered = asyncio.Event()
    kuzzle = AsyncKuzzleWebSocket(
        stub.ws_url, timeout=5.0, on_notification=lambda msg: delivered.set()
    )
    await kuzzle.connect()
    stream = kuzzle.notifications(max_queued=2)
    await asyncio.to_thread(stub.notify, "room-1", result={"_id": "n1"})
    await asyncio.wait_for(delivered.wait(), 2.0)  # queued in the stream before the callback
    await kuzzle.close()
    # One end marker: it drops no queued notification from a stream with room for two.
    assert stream.dropped == 0
    assert [n["room"] async for n in stream] == ["room-1"]


async def test_pings_keep_an_idle_socket_and_a_silent_server_is_dropped(stub: StubKuzzle) -> None:
    async with AsyncKuzzleWebSocket(stub.ws_url, timeout=5.0, ping_interval=0.05) as kuzzle:
        await asyncio.sleep(0.3)
        assert kuzzle.connected  # the stub answered {"p":1} with {"p":2}

    async def silent(ws: Any) -> None:
        async for _ in ws:
            pass  # reads, never answers

    async with websockets.asyncio.server.serve(silent, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with AsyncKuzzleWebSocket(
            f"ws://127.0.0.1:{port}", timeout=10.0, ping_interval=0.1
        ) as kuzzle:
            started = time.monotonic()
            with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
                await kuzzle.query(NOW)
            assert time.monotonic() - started < 2.0
            assert "ping" in str(info.value)


async def test_connection_refused_is_replay_safe() -> None:
    kuzzle = AsyncKuzzleWebSocket(f"ws://127.0.0.1:{unused_port()}", timeout=2.0)
    with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
        await kuzzle.query(NOW)
    assert info.value.retry_hint.replay_safe
    assert info.value.__cause__ is not None
    await kuzzle.close()


async def test_a_handshake_refused_with_an_http_status_is_parsed() -> None:
    body = b'{"status":503,"error":{"id":"api.process.overloaded","status":503,"message":"busy"}}'

    refuse = replying(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with raw_server(refuse) as server:
        kuzzle = AsyncKuzzleWebSocket(f"ws://127.0.0.1:{server.port}", timeout=2.0)
        with pytest.raises(kuzzle_errors.ServiceUnavailableError) as info:
            await kuzzle.connect()
    assert info.value.id == "api.process.overloaded"
    assert info.value.retry_hint.replay_safe
    assert "handshake" in (info.value.problem or "")
    await kuzzle.close()


async def test_a_proxy_refusing_the_handshake_is_replay_safe() -> None:
    bad_gateway = replying(
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nSet-Cookie: sid=s3cr3t\r\n"
        b"Content-Length: 13\r\n\r\n<html></html>"
    )
    with raw_server(bad_gateway) as server:
        kuzzle = AsyncKuzzleWebSocket(f"ws://127.0.0.1:{server.port}", timeout=2.0)
        with pytest.raises(kuzzle_errors.KuzzleError) as info:
            await kuzzle.query(NOW)
        await kuzzle.close()
    error = info.value
    assert error.http_status == 502
    assert error.retry_hint.retryable and error.retry_hint.replay_safe
    assert "s3cr3t" not in str(error) + repr(error)


async def test_a_password_in_a_bad_url_is_not_shown() -> None:
    # websockets quotes the whole URL in InvalidURI's text.
    kuzzle = AsyncKuzzleWebSocket("wsx://admin:hunter2pass@127.0.0.1:1/", timeout=2.0)
    with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
        await kuzzle.connect()
    await kuzzle.close()
    assert not info.value.retry_hint.retryable
    assert "could not connect to" in str(info.value)
    assert "InvalidURI" in str(info.value)
    assert "hunter2pass" not in info.value.message
    assert "hunter2pass" not in str(info.value) + repr(info.value)


async def test_repr_hides_a_password_in_the_url() -> None:
    kuzzle = AsyncKuzzleWebSocket("ws://admin:hunter2pass@127.0.0.1:1/", timeout=2.0)
    assert "hunter2pass" not in repr(kuzzle)
    assert "127.0.0.1:1" in repr(kuzzle)


async def test_the_connect_deadline_is_total() -> None:
    def dripping(conn: socket.socket, n: int) -> None:
        read_head(conn)
        drip(conn, b"HTTP/1.1 101 Switching Protocols\r\n", 0.1, lambda: False)

    with raw_server(dripping) as server:
        kuzzle = AsyncKuzzleWebSocket(f"ws://127.0.0.1:{server.port}", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(kuzzle_errors.ConnectionLostError):
            await kuzzle.connect()
        assert time.monotonic() - started < 2.0
        await kuzzle.close()


async def test_an_oversized_frame_drops_the_connection(stub: StubKuzzle) -> None:
    stub.respond("server", "now", "x" * 5000, times=1)
    async with AsyncKuzzleWebSocket(stub.ws_url, timeout=5.0, max_frame_bytes=1000) as kuzzle:
        with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
            await kuzzle.query(NOW)
        assert "1009" in str(info.value) and "max_frame_bytes" in str(info.value)
        assert (await kuzzle.query(NOW))["now"] > 0  # reconnected


async def test_garbage_goes_to_on_unmatched_error(stub: StubKuzzle) -> None:
    unmatched: list[kuzzle_errors.KuzzleError] = []
    async with AsyncKuzzleWebSocket(
        stub.ws_url, timeout=5.0, on_unmatched_error=unmatched.append
    ) as kuzzle:
        stub.garbage("server", "now")
        assert (await kuzzle.query(NOW))["now"] > 0
    assert len(unmatched) == 1
    assert isinstance(unmatched[0], kuzzle_errors.InvalidResponseError)


async def test_a_closed_client_refuses_queries(stub: StubKuzzle) -> None:
    kuzzle = AsyncKuzzleWebSocket(stub.ws_url, timeout=5.0)
    assert await kuzzle.query(NOW)
    stub.slow("server", "now", 5.0)
    pending = asyncio.ensure_future(kuzzle.query(NOW))
    await stub.await_requests(2, 5.0)
    await kuzzle.close()
    with pytest.raises(kuzzle_errors.ConnectionLostError):
        await pending
    with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
        await kuzzle.query(NOW)
    assert not info.value.retry_hint.retryable
    assert "closed" in repr(kuzzle)


async def test_aclose_is_close_for_contextlib_aclosing(stub: StubKuzzle) -> None:
    async with contextlib.aclosing(AsyncKuzzleWebSocket(stub.ws_url, timeout=5.0)) as kuzzle:
        assert await kuzzle.query(NOW)
        assert kuzzle.connected
    assert not kuzzle.connected
    assert "closed" in repr(kuzzle)
    with pytest.raises(kuzzle_errors.ConnectionLostError):
        await kuzzle.query(NOW)
