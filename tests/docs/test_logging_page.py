"""The logging page's claims (docs/guides/logging.md), checked with caplog: the loggers, the
level of each event, the ``extra`` fields (issue 22)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from retry_helpers import Flaky, overloaded, rate_limited
from ws_twins import Twin

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
