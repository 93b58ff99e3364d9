"""Realtime that survives (issue 23), one suite for both WebSocket clients.

Each row of the issue's table is a test against the stub, which plays Kuzzle 2.56's drops,
shutdown (SIGTERM) and token expiry: subscriptions made with ``subscribe()`` are restored
after a drop, a shutdown (on the same URL or the next one) and an expired token, each loss is
told to the subscription's consumer or recorded as a gap, and the lifecycle hooks are called
and logged. The sync client is driven from worker threads, its iterators from daemon threads.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from raw_server import handshake_answer, raw_server, read_frame, read_head, text_frame
from ws_twins import END, WAIT, Twin

import kuzzle_errors
from kuzzle_errors.retry import RetryPolicy
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import Gap, KuzzleWebSocket
from kuzzle_errors.websockets import AsyncKuzzleWebSocket

pytestmark = pytest.mark.anyio

ORDERS = ("shop", "orders")
#: Reconnecting fast and bounded: a test never waits for the default backoff.
FAST = RetryPolicy(attempts=40, timeout=WAIT, base=0.02, cap=0.1, budget=None)


def create(_id: str, **body: Any) -> dict[str, Any]:
    return {
        "controller": "document",
        "action": "create",
        "index": "shop",
        "collection": "orders",
        "_id": _id,
        "body": body,
    }


class Events:
    """The hooks' calls, from any thread, waited for from the event loop."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def hook(self, name: str) -> Callable[..., None]:
        return lambda *args: self.calls.append((name, args))

    def hooks(self, **options: Any) -> dict[str, Any]:
        """The client options recording the hooks, fast reconnects, and ``options``."""
        names = ("disconnect", "reconnect", "resubscribed", "resubscription_failed")
        hooks: dict[str, Any] = {f"on_{name}": self.hook(name) for name in names}
        return {**hooks, "timeout": WAIT, "reconnect": FAST, **options}

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [args for called, args in self.calls if called == name]

    async def wait(self, name: str, count: int = 1) -> list[tuple[Any, ...]]:
        deadline = time.monotonic() + WAIT
        while len(self.of(name)) < count:
            assert time.monotonic() < deadline, f"no {name} within {WAIT} s: {self.calls}"
            await asyncio.sleep(0.01)
        return self.of(name)


@pytest.fixture(params=[KuzzleWebSocket, AsyncKuzzleWebSocket], ids=["sync", "async"])
def twin(request: pytest.FixtureRequest) -> Twin:
    return Twin(request.param)


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
async def kuzzle(twin: Twin, stub: StubKuzzle, events: Events) -> AsyncIterator[Any]:
    stub.add_collection(*ORDERS)
    client = await twin.open(stub.ws_url, **events.hooks())
    yield client
    await twin.run(client.close)


async def written(twin: Twin, kuzzle: Any, sub: Any, _id: str) -> dict[str, Any]:
    """Write a document matching ``sub``; the notification ``sub`` gets for it."""
    await twin.run(kuzzle.query, create(_id, total=1))
    notification = await twin.next(sub)
    assert notification is not END
    assert notification["result"]["_id"] == _id
    return notification  # type: ignore[no-any-return]


CREDENTIALS = {"username": "alice", "password": "pw"}


async def logging_in_again(twin: Twin, stub: StubKuzzle, events: Events, **options: Any) -> Any:
    """A client (``events.hooks(**options)``) whose ``on_token_expired`` records the call and
    logs in again as alice, a user of the stub."""
    stub.add_collection(*ORDERS)
    stub.add_user("alice", "pw")
    stub.configure(logins_per_second=None)  # two logins within a second
    kuzzle: Any = None

    def log_in_again(error: Any) -> Any:
        events.calls.append(("token_expired", (error,)))
        return kuzzle.login(CREDENTIALS)  # a coroutine for the async client: awaited

    kuzzle = await twin.open(stub.ws_url, on_token_expired=log_in_again, **events.hooks(**options))
    return kuzzle


def test_both_clients_take_the_same_realtime_parameters() -> None:
    sync = inspect.signature(KuzzleWebSocket.subscribe).parameters
    aio = inspect.signature(AsyncKuzzleWebSocket.subscribe).parameters
    assert list(sync) == list(aio)
    assert [p.default for p in sync.values()] == [p.default for p in aio.values()]
    for name in ("reconnect", "on_disconnect", "on_token_expired"):
        assert name in inspect.signature(KuzzleWebSocket).parameters


async def test_a_subscription_holds_its_filters_room_and_channel_and_unsubscribes(
    twin: Twin, kuzzle: Any, stub: StubKuzzle
) -> None:
    sub = await twin.run(kuzzle.subscribe, *ORDERS, {"equals": {"total": 1}}, scope="all")
    assert (sub.index, sub.collection, sub.filters) == ("shop", "orders", {"equals": {"total": 1}})
    assert sub.options == {"scope": "all"}
    assert sub.room_id and sub.channel.startswith(sub.room_id) and sub.active
    assert (await written(twin, kuzzle, sub, "o-1"))["room"] == sub.channel
    await twin.run(kuzzle.query, create("o-2", total=2))  # filtered out
    await twin.run(sub.unsubscribe)
    assert await twin.next(sub) is END
    assert stub.count("realtime", "unsubscribe") == 1
    assert kuzzle.subscriptions == []


async def test_raw_query_subscriptions_keep_working(twin: Twin, kuzzle: Any) -> None:
    stream = kuzzle.notifications()
    subscribe = {"controller": "realtime", "action": "subscribe", "body": {}}
    result = await twin.run(kuzzle.query, {**subscribe, "index": "shop", "collection": "orders"})
    await twin.run(kuzzle.query, create("o-1"))
    assert (await twin.next(stream))["room"] == result["channel"]


# -- the rows of the table --------------------------------------------------------


async def test_row1_a_drop_with_no_query_pending_is_told_and_logged_once(
    twin: Twin, kuzzle: Any, stub: StubKuzzle, events: Events, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kuzzle_errors")
    await asyncio.to_thread(stub.drop_connections)
    (error,) = (await events.wait("disconnect"))[0]
    assert isinstance(error, kuzzle_errors.ConnectionLostError)
    await asyncio.sleep(0.1)  # the reader ends after an abort: it must not tell it again
    assert len(events.of("disconnect")) == 1
    lines = [r for r in caplog.records if r.levelno == logging.WARNING and "lost" in r.message]
    assert len(lines) == 1
    assert kuzzle.connected is False  # nothing to restore: the next query reconnects


async def test_row2_after_a_drop_the_subscription_is_restored_and_its_gap_told(
    twin: Twin, kuzzle: Any, stub: StubKuzzle, events: Events, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kuzzle_errors")
    sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
    first = sub.channel
    before = time.time()
    await asyncio.to_thread(stub.drop_connections, 1011)
    ((restored, gap),) = await events.wait("resubscribed")
    assert restored is sub and sub.active
    assert isinstance(gap, Gap) and before <= gap.start <= gap.end and sub.gaps == [gap]
    assert events.of("reconnect") == [(stub.ws_url,)]
    assert len(events.of("disconnect")) == 1
    assert (await written(twin, kuzzle, sub, "o-1"))["room"] == sub.channel
    assert sub.channel is not None and first is not None
    messages = [r.message for r in caplog.records]
    assert sum("reconnected to" in m for m in messages) == 1
    assert sum("resubscribed to shop/orders" in m for m in messages) == 1


async def test_row3_a_node_that_exits_under_a_subscriber_is_reconnected_to(
    twin: Twin, kuzzle: Any, stub: StubKuzzle, events: Events
) -> None:
    sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
    await asyncio.to_thread(stub.shutdown)  # SIGTERM: subscriptions gone, then the exit
    await events.wait("disconnect")
    await asyncio.to_thread(stub.start)  # the node comes back on the same port
    await events.wait("resubscribed")
    assert events.of("reconnect")
    await written(twin, kuzzle, sub, "o-1")


async def test_row4_a_callback_only_application_hears_the_drop_and_keeps_its_callback(
    twin: Twin, stub: StubKuzzle, events: Events
) -> None:
    stub.add_collection(*ORDERS)
    got: list[Any] = []
    kuzzle = await twin.open(stub.ws_url, on_notification=got.append, **events.hooks())
    try:
        with pytest.raises(ValueError, match="on_error"):
            await twin.run(kuzzle.subscribe, *ORDERS, {}, on_notification=got.append)
        mine: list[Any] = []
        errors: list[Any] = []
        sub = await twin.run(
            kuzzle.subscribe, *ORDERS, {}, on_notification=mine.append, on_error=errors.append
        )
        await asyncio.to_thread(stub.drop_connections)
        await events.wait("disconnect")
        await events.wait("resubscribed")
        await twin.run(kuzzle.query, create("o-1"))
        deadline = time.monotonic() + WAIT
        while not mine and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert [n["room"] for n in mine] == [sub.channel]
        assert errors == []
        assert len(got) == 1  # the client's callback still gets every notification
    finally:
        await twin.run(kuzzle.close)


async def test_row5_a_raw_stream_ended_by_a_drop_says_the_subscriptions_are_gone(
    twin: Twin, kuzzle: Any, stub: StubKuzzle
) -> None:
    stream = kuzzle.notifications()
    await asyncio.to_thread(stub.drop_connections, 1011)
    with pytest.raises(kuzzle_errors.ConnectionLostError) as caught:
        await twin.next(stream)
    hint = caught.value.retry_hint
    assert hint.replay_safe and "may have been processed" not in hint.reason
    assert "subscriptions" in hint.reason and "subscriptions" in (caught.value.problem or "")


async def test_row6_a_node_shutting_down_is_left_for_the_next_url_and_the_query_retried(
    twin: Twin, events: Events
) -> None:
    with StubKuzzle() as leaving, StubKuzzle() as other:
        for node in (leaving, other):
            node.add_collection(*ORDERS)
        retry = RetryPolicy(attempts=3, base=0.01, budget=None)
        kuzzle = await twin.open([leaving.ws_url, other.ws_url], retry=retry, **events.hooks())
        try:
            sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
            await asyncio.to_thread(leaving.shutdown, halt=False)  # draining: 503 to all
            now = {"controller": "server", "action": "now"}
            assert "now" in await twin.run(kuzzle.query, now)  # refused, retried on `other`
            assert leaving.count("server", "now") == 1 and other.count("server", "now") == 1
            (error,) = (await events.wait("disconnect"))[0]
            assert error.matches("network.entrypoint.shutting_down")  # the node's own 503
            await events.wait("resubscribed")
            assert kuzzle.url == other.ws_url
            await written(twin, kuzzle, sub, "o-1")
            assert other.count("document", "create") == 1
        finally:
            await twin.run(kuzzle.close)


async def test_the_funnel_s_shutting_down_refusal_also_moves_to_the_next_url(
    twin: Twin, events: Events
) -> None:
    # api.process.shutting_down: what Kuzzle's funnel answers (embedded SDK, plugins).
    with StubKuzzle() as leaving, StubKuzzle() as other:
        retry = RetryPolicy(attempts=3, base=0.01, budget=None)
        kuzzle = await twin.open([leaving.ws_url, other.ws_url], retry=retry, **events.hooks())
        try:
            leaving.fail(None, None, "api.process.shutting_down")
            assert "now" in await twin.run(kuzzle.query, {"controller": "server", "action": "now"})
            assert (leaving.count("server", "now"), other.count("server", "now")) == (1, 1)
            (error,) = (await events.wait("disconnect"))[0]
            assert error.matches("api.process.shutting_down") and error.retry_hint.replay_safe
            assert kuzzle.url == other.ws_url
        finally:
            await twin.run(kuzzle.close)


async def test_row7_an_expired_token_tells_each_subscription_then_a_login_restores_them(
    twin: Twin, stub: StubKuzzle, events: Events, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kuzzle_errors")
    credentials = CREDENTIALS
    kuzzle = await logging_in_again(twin, stub, events)
    try:
        stale = await twin.run(kuzzle.login, credentials)
        sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
        await asyncio.to_thread(stub.expire_tokens)
        with pytest.raises(kuzzle_errors.AuthenticationRequiredError):
            await twin.next(sub)
        (error,) = (await events.wait("token_expired"))[0]
        assert isinstance(error, kuzzle_errors.AuthenticationRequiredError)
        await events.wait("resubscribed")
        assert (
            stale and sub.active and len(sub.gaps) == 1
        )  # (a login within the second may give the same token)
        await written(twin, kuzzle, sub, "o-1")
        logins = [r for r in stub.requests if (r.controller, r.action) == ("auth", "login")]
        assert len(logins) == 2 and logins[1].jwt is None  # the stale token is not sent
        assert logins[1].status == 200
        warned = [r for r in caplog.records if "the token expired" in r.message]
        assert [r.levelno for r in warned] == [logging.WARNING]
    finally:
        await twin.run(kuzzle.close)


async def test_a_subscription_nobody_reads_keeps_only_its_latest_errors(
    twin: Twin, stub: StubKuzzle, events: Events, caplog: pytest.LogCaptureFixture
) -> None:
    # A token that keeps expiring under an iterator nobody reads: each loss is told in the
    # stream, and the stream holds at most max_queued of them, not one more per expiry.
    kuzzle = await logging_in_again(twin, stub, events)
    try:
        await twin.run(kuzzle.login, CREDENTIALS)
        sub = await twin.run(kuzzle.subscribe, *ORDERS, {}, max_queued=2)
        for expiry in range(1, 5):
            assert await asyncio.to_thread(stub.expire_tokens) == 1
            await events.wait("resubscribed", expiry)
        assert sub.active and sub.dropped == 2 and len(sub.gaps) == 4
        full = [r for r in caplog.records if "dropped the oldest error" in r.message]
        assert len(full) == 2
        for _id in ("o-1", "o-2"):  # the errors take no room of the notifications
            await twin.run(kuzzle.query, create(_id, total=1))
        for _ in range(2):
            with pytest.raises(kuzzle_errors.AuthenticationRequiredError):
                await twin.next(sub)
        got = [await twin.next(sub), await twin.next(sub)]
        assert [n["result"]["_id"] for n in got] == ["o-1", "o-2"] and sub.dropped == 2
    finally:
        await twin.run(kuzzle.close)


# -- what a loss that cannot be mended tells ----------------------------------------------


async def test_a_resubscription_kuzzle_refuses_reaches_the_consumer_and_ends_it(
    twin: Twin, kuzzle: Any, stub: StubKuzzle, events: Events, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kuzzle_errors")
    sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
    stub.fail("realtime", "subscribe", "security.rights.forbidden", "realtime", "subscribe")
    await asyncio.to_thread(stub.drop_connections)
    with pytest.raises(kuzzle_errors.ForbiddenError):
        await twin.next(sub)
    assert await twin.next(sub) is END
    ((failed, error),) = await events.wait("resubscription_failed")
    assert failed is sub and sub.error is error and sub.state == "ended"
    warned = [r for r in caplog.records if "could not subscribe again" in r.message]
    assert [r.levelno for r in warned] == [logging.WARNING]


async def test_reconnecting_is_bounded_and_each_subscription_is_told_the_last_error(
    twin: Twin, stub: StubKuzzle, events: Events
) -> None:
    stub.add_collection(*ORDERS)
    bounded = RetryPolicy(attempts=3, timeout=WAIT, base=0.01, cap=0.02, budget=None)
    kuzzle = await twin.open(stub.ws_url, **events.hooks(reconnect=bounded))
    try:
        sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
        started = time.monotonic()
        await asyncio.to_thread(stub.stop)  # the node is gone: every attempt is refused
        with pytest.raises(kuzzle_errors.ConnectionLostError):
            await twin.next(sub)
        assert time.monotonic() - started < WAIT
        ((failed, error),) = await events.wait("resubscription_failed")
        assert failed is sub and isinstance(error, kuzzle_errors.ConnectionLostError)
        assert sub.state == "lost" and sub.gaps[-1].end is None  # restored by a later connect
    finally:
        await twin.run(kuzzle.close)


async def test_without_reconnect_the_next_query_restores_the_subscriptions(
    twin: Twin, stub: StubKuzzle, events: Events
) -> None:
    stub.add_collection(*ORDERS)
    kuzzle = await twin.open(stub.ws_url, **events.hooks(reconnect=None))
    try:
        sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
        await asyncio.to_thread(stub.drop_connections)
        await events.wait("disconnect")
        await asyncio.sleep(0.2)
        assert not kuzzle.connected and sub.state == "lost"  # nothing reconnected on its own
        await twin.run(kuzzle.query, {"controller": "server", "action": "now"})
        await events.wait("resubscribed")
        await written(twin, kuzzle, sub, "o-1")
    finally:
        await twin.run(kuzzle.close)


async def test_closing_the_client_ends_its_subscriptions(
    twin: Twin, kuzzle: Any, stub: StubKuzzle
) -> None:
    sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
    await twin.run(kuzzle.close)
    assert await twin.next(sub) is END
    assert sub.state == "ended" and kuzzle.subscriptions == []


def _answer_then_notify(conn: socket.socket, n: int) -> None:
    """A peer answering the subscribe request and, in the same write, notifying its channel
    (Kuzzle may: a write by another client right after the subscription)."""
    conn.sendall(handshake_answer(read_head(conn)))
    while (text := read_frame(conn)) is not None:
        msg = json.loads(text)
        result = {"roomId": "r1", "channel": "r1-111"}
        answer = {"requestId": msg["requestId"], "room": msg["requestId"], "status": 200}
        notification = {"type": "document", "room": "r1-111", "status": 200, "result": {"_id": "x"}}
        conn.sendall(
            text_frame(json.dumps({**answer, "result": result, "error": None}))
            + text_frame(json.dumps(notification))
        )


async def test_a_notification_right_after_the_subscribe_answer_reaches_the_subscription(
    twin: Twin,
) -> None:
    with raw_server(_answer_then_notify) as peer:
        kuzzle = await twin.open(f"ws://127.0.0.1:{peer.port}", timeout=WAIT, ping_interval=None)
        try:
            sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
            assert sub.channel == "r1-111"
            assert (await twin.next(sub))["result"] == {"_id": "x"}
        finally:
            await twin.run(kuzzle.close)


# -- restoring ends when its policy gives up ----------------------------------------------

#: Three quick attempts: the bound a test can count.
THREE = RetryPolicy(attempts=3, timeout=WAIT, base=0.01, cap=0.02, budget=None)


async def test_restoring_makes_its_attempts_then_waits_for_a_query_to_connect(
    twin: Twin, stub: StubKuzzle, events: Events
) -> None:
    stub.add_collection(*ORDERS)
    kuzzle = await twin.open(stub.ws_url, **events.hooks(reconnect=THREE))
    try:
        sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
        stub.drop("realtime", "subscribe", times=3)  # each resubscription drops the socket
        await asyncio.to_thread(stub.drop_connections)
        await events.wait("resubscription_failed")
        await asyncio.sleep(0.5)  # restoring gave up: no attempt more (it restarted for ever)
        assert stub.count("realtime", "subscribe") == 1 + 3
        assert len(events.of("resubscription_failed")) == 1 and sub.state == "lost"
        await twin.run(kuzzle.query, {"controller": "server", "action": "now"})
        await events.wait("resubscribed")  # the next connection a query opens restores it
        assert stub.count("realtime", "subscribe") == 1 + 3 + 1 and sub.active
    finally:
        await twin.run(kuzzle.close)


async def test_restoring_on_a_draining_node_is_bounded_and_leaves_no_socket_open(
    twin: Twin, stub: StubKuzzle, events: Events
) -> None:
    stub.add_collection(*ORDERS)
    kuzzle = await twin.open(stub.ws_url, **events.hooks(reconnect=THREE))
    try:
        sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
        await asyncio.to_thread(stub.shutdown, halt=False)  # 503 to every request, for ever
        now = {"controller": "server", "action": "now"}
        with pytest.raises(kuzzle_errors.KuzzleError, match="shutting"):
            await twin.run(kuzzle.query, now)
        await events.wait("resubscription_failed")
        await asyncio.sleep(0.5)
        assert stub.count("realtime", "subscribe") == 1 + 3 and sub.state == "lost"
        # Each connection to the leaving node was closed once nothing waited on it.
        assert await asyncio.to_thread(stub.drop_connections) == 0
    finally:
        await twin.run(kuzzle.close)


# -- a resubscription whose connection goes as Kuzzle answers -----------------------------

CLOSE_FRAME = b"\x88\x02\x03\xe8"  # a close frame, code 1000


def _answer(msg: dict[str, Any], result: Any) -> bytes:
    envelope = {"requestId": msg["requestId"], "room": msg["requestId"], "status": 200}
    return text_frame(json.dumps({**envelope, "result": result, "error": None}))


def _second_connection_goes_as_it_answers(conn: socket.socket, n: int) -> None:
    """Answers each subscribe request with a channel naming the connection; the first
    connection hangs up at its first other request, the second closes in the very write that
    answers the resubscription; the third and later ones stay."""
    conn.sendall(handshake_answer(read_head(conn)))
    while (text := read_frame(conn)) is not None:
        msg = json.loads(text)
        if msg.get("action") != "subscribe":
            return  # the first connection drops: the subscription is lost
        answer = _answer(msg, {"roomId": "r1", "channel": f"r1-{n}"})
        conn.sendall(answer + CLOSE_FRAME if n == 1 else answer)


async def test_a_resubscription_whose_connection_goes_as_it_is_answered_is_restored_again(
    twin: Twin,
) -> None:
    for _ in range(8):  # the reader may see the drop before the restorer sees the answer, or not
        events = Events()
        with raw_server(_second_connection_goes_as_it_answers) as peer:
            url = f"ws://127.0.0.1:{peer.port}"
            kuzzle = await twin.open(url, **events.hooks(ping_interval=None))
            try:
                sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
                assert sub.channel == "r1-0"
                with pytest.raises(kuzzle_errors.ConnectionLostError):
                    await twin.run(kuzzle.query, {"controller": "server", "action": "now"})
                deadline = time.monotonic() + WAIT
                while peer.connections < 3 or not (sub.active and kuzzle.connected):
                    assert time.monotonic() < deadline, (peer.connections, sub, events.calls)
                    await asyncio.sleep(0.01)
                # Active on the connection that stayed, not on the channel of the one that
                # went as it answered (marked active there, nobody restored it nor told it).
                assert sub.channel == "r1-2" and peer.connections == 3
                assert events.of("resubscription_failed") == []
            finally:
                await twin.run(kuzzle.close)


# -- a token that expired while the socket was down ---------------------------------------


async def test_a_token_that_expired_while_disconnected_calls_on_token_expired_once(
    twin: Twin, stub: StubKuzzle, events: Events
) -> None:
    kuzzle = await logging_in_again(twin, stub, events, reconnect=None)
    try:
        await twin.run(kuzzle.login, CREDENTIALS)
        sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
        await asyncio.to_thread(stub.drop_connections)
        await events.wait("disconnect")
        # Expired while no socket holds it: no TokenExpired, only 401 on the resubscription.
        assert await asyncio.to_thread(stub.expire_tokens) == 1
        await twin.run(kuzzle.query, {"controller": "server", "action": "now", "jwt": None})
        ((failed, refused),) = await events.wait("resubscription_failed")
        assert failed is sub and isinstance(refused, kuzzle_errors.AuthenticationRequiredError)
        ((error,),) = await events.wait("token_expired")
        assert error is refused
        await events.wait("resubscribed")  # the login in the hook restored it
        assert sub.active and len(events.of("token_expired")) == 1
        with pytest.raises(kuzzle_errors.AuthenticationRequiredError):
            await twin.next(sub)  # the refusal it was told, in its place
        await written(twin, kuzzle, sub, "o-1")
    finally:
        await twin.run(kuzzle.close)


# -- unsubscribing while a restore is in flight -------------------------------------------


async def test_unsubscribing_while_it_is_restored_leaves_no_room_on_kuzzle(
    twin: Twin, kuzzle: Any, stub: StubKuzzle, events: Events
) -> None:
    sub = await twin.run(kuzzle.subscribe, *ORDERS, {})
    room = sub.room_id
    stub.slow("realtime", "subscribe", 0.3, times=1)  # the resubscription, answered late
    await asyncio.to_thread(stub.drop_connections)
    deadline = time.monotonic() + WAIT
    while stub.count("realtime", "subscribe") < 2:  # the resubscription is in flight
        assert time.monotonic() < deadline, stub.requests
        await asyncio.sleep(0.01)
    await twin.run(sub.unsubscribe)  # lost: nothing to send yet
    assert sub.state == "ended"
    while stub.count("realtime", "unsubscribe") < 1:  # sent once Kuzzle answered
        assert time.monotonic() < deadline, "the room restored meanwhile stays on Kuzzle"
        await asyncio.sleep(0.01)
    count = {"controller": "realtime", "action": "count", "body": {"roomId": room}}
    assert (await twin.run(kuzzle.query, count))["count"] == 0
    assert events.of("resubscribed") == [] and kuzzle.subscriptions == []


async def test_unsubscribing_from_its_own_callback_blocks_nothing(
    twin: Twin, stub: StubKuzzle, events: Events
) -> None:
    stub.add_collection(*ORDERS)
    kuzzle = await twin.open(stub.ws_url, **events.hooks(timeout=1.0))
    try:
        subs: list[Any] = []
        errors: list[Any] = []

        def once(notification: dict[str, Any]) -> Any:
            return subs[0].unsubscribe()  # a coroutine for the async client: run as a task

        sub = await twin.run(
            kuzzle.subscribe, *ORDERS, {}, on_notification=once, on_error=errors.append
        )
        subs.append(sub)
        # Its notification comes before its answer: the sync reader waited in the callback
        # for the unsubscribe answer only it can read, and the create timed out.
        assert (await twin.run(kuzzle.query, create("o-1")))["_id"] == "o-1"
        deadline = time.monotonic() + WAIT
        while stub.count("realtime", "unsubscribe") < 1:
            assert time.monotonic() < deadline, "no realtime:unsubscribe"
            await asyncio.sleep(0.01)
        assert sub.state == "ended" and errors == [] and kuzzle.subscriptions == []
        assert stub.count("document", "create") == 1
    finally:
        await twin.run(kuzzle.close)
