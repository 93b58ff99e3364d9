"""The logging page's claims (docs/guides/logging.md), checked with caplog: the loggers, the
level of each event, the ``extra`` fields (issue 22)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from retry_helpers import Flaky, overloaded, rate_limited
from ws_twins import Twin

import kuzzle_errors
from kuzzle_errors import (
    GatewayTimeoutError,
    NotFoundError,
    ServiceUnavailableError,
    TooManyRequestsError,
    error_class,
)
from kuzzle_errors.retry import RetryPolicy
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket
from kuzzle_errors.websockets import AsyncKuzzleWebSocket

RETRY = "kuzzle_errors.retry"
EXTRA = ("kuzzle_error", "kuzzle_error_id", "kuzzle_attempt", "kuzzle_delay", "kuzzle_elapsed")


def policy(**options: Any) -> RetryPolicy:
    options.setdefault("budget", None)
    return RetryPolicy(random=lambda: 0.0, sleep=lambda _: None, **options)


def records(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


def test_retries_are_info_with_the_error_and_the_attempt(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=RETRY)
    assert policy().call(Flaky(overloaded, rate_limited)) == "ok"
    first, second = records(caplog, RETRY)
    assert (first.levelno, second.levelno) == (logging.INFO, logging.INFO)
    assert first.getMessage().startswith("retrying after attempt 1 in ")
    for record in (first, second):
        assert all(hasattr(record, name) for name in EXTRA)
    assert [r.kuzzle_attempt for r in (first, second)] == [1, 2]  # type: ignore[attr-defined]
    assert [r.kuzzle_error_id for r in (first, second)] == [  # type: ignore[attr-defined]
        "api.process.overloaded",
        "api.process.too_many_requests",
    ]
    assert first.kuzzle_delay is not None and first.kuzzle_delay >= 0  # type: ignore[attr-defined]
    assert first.kuzzle_error.id == "api.process.overloaded"  # type: ignore[attr-defined]


def test_giving_up_on_a_retryable_error_is_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=RETRY)
    with pytest.raises(TooManyRequestsError):
        policy(attempts=2).call(Flaky(rate_limited, rate_limited))
    *_, last = records(caplog, RETRY)
    assert last.levelno == logging.INFO
    assert last.getMessage().startswith("stopped after 2 attempts in ")
    assert last.kuzzle_delay is None and last.kuzzle_attempt == 2  # type: ignore[attr-defined]


def test_a_request_that_may_have_run_given_up_is_info(caplog: pytest.LogCaptureFixture) -> None:
    # A 504 is retryable, but the call is not idempotent: news, the request may have run.
    caplog.set_level(logging.DEBUG, logger=RETRY)
    timeout = error_class("core.sandbox.timeout")("timed out")
    with pytest.raises(GatewayTimeoutError):
        policy().call(Flaky(timeout))
    (record,) = records(caplog, RETRY)
    assert record.levelno == logging.INFO
    assert "the request may have run" in record.getMessage()


def test_giving_up_on_an_error_that_is_not_retryable_is_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Issue 22: after a retry, the expected 404 was logged at INFO "... not retryable".
    caplog.set_level(logging.DEBUG, logger=RETRY)
    with pytest.raises(NotFoundError):
        policy().call(Flaky(overloaded, NotFoundError("no such document")))
    retried, stopped = records(caplog, RETRY)
    assert (retried.levelno, stopped.levelno) == (logging.INFO, logging.DEBUG)
    assert "not retryable" in stopped.getMessage()
    assert stopped.kuzzle_error_id is None  # type: ignore[attr-defined]  # a bare class: no id
    caplog.clear()
    caplog.set_level(logging.INFO, logger=RETRY)
    with pytest.raises(ServiceUnavailableError):
        policy(attempts=1).call(Flaky(overloaded))
    assert [r.levelno for r in records(caplog, RETRY)] == [logging.INFO]


NOW = {"controller": "server", "action": "now"}
LOGGERS = {
    KuzzleWebSocket: "kuzzle_errors.websocket",
    AsyncKuzzleWebSocket: "kuzzle_errors.websockets",
}


@pytest.fixture(params=list(LOGGERS), ids=lambda c: c.__name__)
def twin(request: pytest.FixtureRequest) -> Twin:
    return Twin(request.param)


def scenario(twin: Twin, stub: StubKuzzle, body: Any, **options: Any) -> None:
    async def run() -> None:
        client = await twin.open(stub.ws_url, timeout=5, **options)
        try:
            await asyncio.wait_for(body(client), 20)
        finally:
            await twin.run(client.close)

    asyncio.run(run())


def test_the_websocket_clients_log_unmatched_errors_on_their_logger(
    twin: Twin, stub: StubKuzzle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kuzzle_errors")

    async def body(client: Any) -> None:
        await twin.run(client.query, NOW)
        stub.send_garbage()
        await twin.run(client.query, NOW)  # the garbage came before this answer
        stub.configure(ws_rate_limit=1)

        async def flood() -> None:
            for _ in range(5):
                await twin.run(client.query, NOW)

        with pytest.raises(TooManyRequestsError):
            await flood()
        stub.configure(ws_rate_limit=None)

    scenario(twin, stub, body)
    sent = [
        r for r in records(caplog, LOGGERS[twin.cls]) if r.getMessage().startswith("Kuzzle sent")
    ]
    refusals = [r for r in sent if "ratelimit_exceeded" in r.getMessage()]
    others = [r for r in sent if r not in refusals]
    assert refusals and {r.levelno for r in refusals} == {logging.INFO}
    assert others and {r.levelno for r in others} == {logging.WARNING}


def test_a_failing_callback_is_an_error_and_a_full_stream_a_warning(
    twin: Twin, stub: StubKuzzle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kuzzle_errors")

    def boom(_: Any) -> None:
        raise RuntimeError("callback bug")

    async def body(client: Any) -> None:
        stream = client.notifications(max_queued=1)
        for n in range(2):
            stub.notify("room-1", result={"_id": f"n{n}"})
        deadline = time.monotonic() + 5
        while stream.dropped == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert stream.dropped == 1
        await twin.run(client.query, NOW)

    scenario(twin, stub, body, on_notification=boom)
    failed = [r for r in records(caplog, LOGGERS[twin.cls]) if "failed" in r.getMessage()]
    assert failed and {r.levelno for r in failed} == {logging.ERROR}
    assert all(r.exc_info is not None for r in failed)
    full = [
        r for r in records(caplog, "kuzzle_errors.websocket") if "stream full" in r.getMessage()
    ]
    assert [r.levelno for r in full] == [logging.WARNING]


# -- the WebSocket clients' lifecycle records (docs/guides/logging.md) ---------------------

ORDERS = ("shop", "orders")
LIFECYCLE = (
    "kuzzle_event",
    "kuzzle_error",
    "kuzzle_error_id",
    "kuzzle_attempt",
    "kuzzle_url",
    "kuzzle_subscription",
    "kuzzle_channel",
    "kuzzle_room",
)
#: Reconnecting fast and bounded: a test never waits for the default backoff.
FAST = RetryPolicy(attempts=20, timeout=5, base=0.02, cap=0.1, budget=None)
SECRET = "pw-s3cret"  # the password, in the URL and in the login
CREDENTIALS = {"username": "alice", "password": SECRET}


def lifecycle(caplog: pytest.LogCaptureFixture, twin: Twin) -> list[logging.LogRecord]:
    return [r for r in records(caplog, LOGGERS[twin.cls]) if hasattr(r, "kuzzle_event")]


async def until(caplog: pytest.LogCaptureFixture, twin: Twin, *events: str) -> None:
    """Wait (5 s at most) until a lifecycle record of each of ``events`` was logged."""
    deadline = time.monotonic() + 5
    while not set(events) <= {r.kuzzle_event for r in lifecycle(caplog, twin)}:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, [r.getMessage() for r in lifecycle(caplog, twin)]
        await asyncio.sleep(0.01)


def checked(caplog: pytest.LogCaptureFixture, twin: Twin, jwt: str | None = None) -> dict[str, Any]:
    """The lifecycle records by event, each checked: one of each, one line, every field, the
    URL redacted, no password nor token anywhere."""
    found: dict[str, Any] = {}
    for record in lifecycle(caplog, twin):
        event = record.kuzzle_event  # type: ignore[attr-defined]
        assert event not in found, f"{event} logged twice"
        found[event] = record
        assert all(hasattr(record, name) for name in LIFECYCLE)
        text = record.getMessage()
        assert "\n" not in text and text.isprintable()
        error = record.kuzzle_error  # type: ignore[attr-defined]
        shown = [text, record.kuzzle_url, repr(error.to_dict() if error else None)]  # type: ignore[attr-defined]
        for secret in filter(None, (SECRET, jwt)):
            assert all(secret not in part for part in shown), (event, shown)
        assert record.kuzzle_url.startswith("ws://user:")  # type: ignore[attr-defined]
        want = error.id if error is not None and isinstance(error.id, str) else None
        assert record.kuzzle_error_id == want  # type: ignore[attr-defined]
    return found


def played(
    twin: Twin,
    stub: StubKuzzle,
    caplog: pytest.LogCaptureFixture,
    act: Callable[[Any], Awaitable[None]],
    *events: str,
    **options: Any,
) -> tuple[dict[str, Any], Any, Any]:
    """Log in (a password in the URL too), subscribe, ``act`` on the client, wait for the
    lifecycle records of ``events``; the records by event (see :func:`checked`), the
    subscription, and its room before ``act``."""
    caplog.set_level(logging.INFO, logger="kuzzle_errors")
    stub.add_collection(*ORDERS)
    stub.add_user("alice", SECRET)
    stub.configure(logins_per_second=None)  # a login again within the second
    url = stub.ws_url.replace("ws://", f"ws://user:{SECRET}@")
    jwts: list[str] = []

    async def run() -> tuple[Any, Any]:
        client = await twin.open(url, timeout=5, **options)
        try:
            await twin.run(client.login, CREDENTIALS)
            jwts.append(client.jwt)
            sub = await twin.run(client.subscribe, *ORDERS, {})
            room = sub.room_id
            await act(client)
            await until(caplog, twin, *events)
            jwts.append(client.jwt)
            return sub, room
        finally:
            await twin.run(client.close)

    sub, room = asyncio.run(asyncio.wait_for(run(), 20))
    found = {}
    for jwt in jwts:
        found = checked(caplog, twin, jwt)
    return found, sub, room


def test_a_drop_and_its_restore_are_logged_with_their_fields(
    twin: Twin, stub: StubKuzzle, caplog: pytest.LogCaptureFixture
) -> None:
    async def drop(_: Any) -> None:
        await asyncio.to_thread(stub.drop_connections)

    found, sub, _ = played(twin, stub, caplog, drop, "resubscribed", reconnect=FAST)
    assert set(found) == {"disconnect", "reconnect", "resubscribed"}
    lost, back, again = found["disconnect"], found["reconnect"], found["resubscribed"]
    assert (lost.levelno, back.levelno, again.levelno) == (
        logging.WARNING,
        logging.INFO,
        logging.INFO,
    )
    assert lost.getMessage().startswith("connection to ws://user:")
    assert lost.getMessage().endswith("; 1 subscription(s) to restore")
    assert isinstance(lost.kuzzle_error, kuzzle_errors.ConnectionLostError)
    assert lost.kuzzle_attempt is None and lost.kuzzle_subscription is None
    assert lost.kuzzle_error_id is None  # a dropped connection: no id
    # The recoveries name their cause (the loss) and the restoring's attempt that made them.
    assert back.kuzzle_error is lost.kuzzle_error and again.kuzzle_error is lost.kuzzle_error
    assert back.kuzzle_attempt == 1 and again.kuzzle_attempt == 1
    assert back.getMessage().startswith("reconnected to ws://user:")
    assert again.getMessage().startswith("resubscribed to shop/orders after ")
    assert again.kuzzle_subscription == "shop/orders"
    assert (again.kuzzle_channel, again.kuzzle_room) == (sub.channel, sub.room_id)
    assert sub.channel is not None and sub.room_id is not None


def test_a_node_shutting_down_is_logged_with_its_refusal_id(
    twin: Twin, stub: StubKuzzle, caplog: pytest.LogCaptureFixture
) -> None:
    async def shut_down(client: Any) -> None:
        await asyncio.to_thread(stub.shutdown, halt=False)  # draining: 503 to all
        with pytest.raises(ServiceUnavailableError):
            await twin.run(client.query, NOW, idempotent=False)
        await until(caplog, twin, "disconnect")
        stub.recover()

    found, _, _ = played(twin, stub, caplog, shut_down, "resubscribed", reconnect=FAST)
    lost, again = found["disconnect"], found["resubscribed"]
    assert (lost.levelno, again.levelno) == (logging.WARNING, logging.INFO)
    assert lost.kuzzle_error_id == "network.entrypoint.shutting_down"
    assert again.kuzzle_error_id == "network.entrypoint.shutting_down"


def test_an_expired_token_is_logged_then_the_restore_after_the_login(
    twin: Twin, stub: StubKuzzle, caplog: pytest.LogCaptureFixture
) -> None:
    box: list[Any] = []

    def log_in_again(_: Any) -> Any:
        return box[0].login(CREDENTIALS)  # a coroutine for the async client: awaited

    async def expire(client: Any) -> None:
        box.append(client)
        await asyncio.to_thread(stub.expire_tokens)

    found, _, _ = played(
        twin,
        stub,
        caplog,
        expire,
        "token_expired",
        "resubscribed",
        reconnect=FAST,
        on_token_expired=log_in_again,
    )
    assert set(found) == {"token_expired", "resubscribed"}
    expired, again = found["token_expired"], found["resubscribed"]
    assert (expired.levelno, again.levelno) == (logging.WARNING, logging.INFO)
    assert expired.getMessage() == "the token expired: 1 subscription(s) lost until a login"
    assert expired.kuzzle_error_id == again.kuzzle_error_id == "security.token.invalid"
    assert expired.kuzzle_attempt is None and again.kuzzle_attempt == 1
    assert again.kuzzle_subscription == "shop/orders"


def test_a_refused_resubscription_is_logged_with_its_subscription(
    twin: Twin, stub: StubKuzzle, caplog: pytest.LogCaptureFixture
) -> None:
    async def refuse(_: Any) -> None:
        stub.fail("realtime", "subscribe", "security.rights.forbidden", "realtime", "subscribe")
        await asyncio.to_thread(stub.drop_connections)

    found, _, room = played(twin, stub, caplog, refuse, "resubscription_failed", reconnect=FAST)
    assert set(found) == {"disconnect", "reconnect", "resubscription_failed"}
    failed = found["resubscription_failed"]
    assert failed.levelno == logging.WARNING
    assert failed.getMessage().startswith("could not subscribe again to shop/orders: ")
    assert failed.kuzzle_error_id == "security.rights.forbidden"
    assert failed.kuzzle_attempt == 1 and failed.kuzzle_subscription == "shop/orders"
    # Lost: no channel; the room is the one Kuzzle gave it last (the one lost).
    assert failed.kuzzle_channel is None and failed.kuzzle_room == room
    assert room is not None


def test_giving_up_reconnecting_is_logged_once_after_each_attempt_s_retry_record(
    twin: Twin, stub: StubKuzzle, caplog: pytest.LogCaptureFixture
) -> None:
    bounded = RetryPolicy(attempts=3, timeout=5, base=0.01, cap=0.02, budget=None)

    async def stop(_: Any) -> None:
        await asyncio.to_thread(stub.stop)  # the node is gone: every attempt is refused

    found, _, _ = played(twin, stub, caplog, stop, "gave_up", reconnect=bounded)
    assert set(found) == {"disconnect", "gave_up"}
    gave_up = found["gave_up"]
    assert gave_up.levelno == logging.WARNING
    assert gave_up.getMessage().startswith("gave up restoring shop/orders after 3 attempts: ")
    assert gave_up.kuzzle_attempt == 3 and gave_up.kuzzle_subscription == "shop/orders"
    assert isinstance(gave_up.kuzzle_error, kuzzle_errors.ConnectionLostError)
    # Each reconnect attempt that failed is the reconnect policy's retry record (INFO).
    retried = [r for r in records(caplog, RETRY) if r.getMessage().startswith("retrying after")]
    assert [r.kuzzle_attempt for r in retried] == [1, 2]
    assert {r.levelno for r in retried} == {logging.INFO}
    assert all(SECRET not in r.getMessage() for r in retried)
