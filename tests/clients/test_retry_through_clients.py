"""RetryPolicy through the real transports against the Kuzzle stub (loopback only).

The policy's clock and sleep are fake, and the stub's rate-limit windows run on the same fake
clock: a "1-second wait" costs no real time.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

pytest.importorskip("requests")
testing = pytest.importorskip("kuzzle_errors.testing")
http = pytest.importorskip("kuzzle_errors.http")

from common import NOW  # noqa: E402

from kuzzle_errors import (  # noqa: E402
    GatewayTimeoutError,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from kuzzle_errors.retry import RetryDetails, RetryPolicy  # noqa: E402


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.25

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make_policy(fake: FakeTime, retries: list[RetryDetails], **kwargs: Any) -> RetryPolicy:
    kwargs.setdefault("random", lambda: 0.0)  # waits are exactly the server's floor
    return RetryPolicy(
        clock=fake.clock, sleep=fake.sleep, on_retry=retries.append, budget=None, **kwargs
    )


def test_overloaded_twice_then_success(fake: FakeTime) -> None:
    retries: list[RetryDetails] = []
    with testing.StubKuzzle() as kuzzle:
        kuzzle.overload(times=2)
        client = http.KuzzleHTTP(kuzzle.url, retry=make_policy(fake, retries))
        try:
            assert "now" in client.query(NOW)
        finally:
            client.close()
        assert kuzzle.count("server", "now") == 3
    assert len(retries) == 2
    assert all(isinstance(d.error, ServiceUnavailableError) for d in retries)


def test_rate_limited_retry_waits_for_the_next_window(fake: FakeTime) -> None:
    retries: list[RetryDetails] = []
    with testing.StubKuzzle(rate_limit=1, clock=fake.clock) as kuzzle:
        client = http.KuzzleHTTP(kuzzle.url, retry=make_policy(fake, retries))
        try:
            client.query(NOW)  # uses the window's only slot
            window = math.floor(fake.now)
            client.query(NOW)  # refused (429), retried in the next window
        finally:
            client.close()
        assert kuzzle.count("server", "now") == 3
    assert len(retries) == 1
    assert isinstance(retries[0].error, TooManyRequestsError)
    assert retries[0].delay >= 1.0
    assert math.floor(fake.now) > window


def test_proxy_retry_after_is_honoured(fake: FakeTime) -> None:
    retries: list[RetryDetails] = []
    with testing.StubKuzzle() as kuzzle:
        kuzzle.proxy_error(503, times=1, retry_after=7)
        client = http.KuzzleHTTP(kuzzle.url, retry=make_policy(fake, retries))
        try:
            assert "now" in client.query(NOW)
        finally:
            client.close()
    assert [d.delay for d in retries] == [7.0]
    assert retries[0].error.retry_after == 7.0


def test_proxy_retry_after_past_the_deadline_gives_up(fake: FakeTime) -> None:
    retries: list[RetryDetails] = []
    with testing.StubKuzzle() as kuzzle:
        kuzzle.proxy_error(503, times=1, retry_after=50)
        client = http.KuzzleHTTP(kuzzle.url, retry=make_policy(fake, retries, timeout=30.0))
        try:
            with pytest.raises(ServiceUnavailableError) as caught:
                client.query(NOW)
        finally:
            client.close()
        assert kuzzle.count() == 1
    assert retries == []
    assert caught.value.attempts == 1


def test_gateway_timeout_is_replayed_only_when_idempotent(fake: FakeTime) -> None:
    retries: list[RetryDetails] = []
    with testing.StubKuzzle() as kuzzle:
        client = http.KuzzleHTTP(kuzzle.url, retry=make_policy(fake, retries))
        try:
            # The caller's False wins over the action's default.
            kuzzle.fail("server", "now", "core.sandbox.timeout", 100, times=1)
            with pytest.raises(GatewayTimeoutError):
                client.query(NOW, idempotent=False)
            assert kuzzle.count("server", "now") == 1

            # Issue 22: a read is replayed by default (server:now is replay-safe)...
            kuzzle.fail("server", "now", "core.sandbox.timeout", 100, times=1)
            assert "now" in client.query(NOW)
            assert kuzzle.count("server", "now") == 3

            # ...a create is not, unless its caller says so.
            create = {
                "controller": "document",
                "action": "create",
                "index": "i",
                "collection": "c",
                "body": {},
            }
            kuzzle.add_collection("i", "c")
            kuzzle.fail("document", "create", "core.sandbox.timeout", 100, times=1)
            with pytest.raises(GatewayTimeoutError):
                client.query(create)
            assert kuzzle.count("document", "create") == 1
            kuzzle.fail("document", "create", "core.sandbox.timeout", 100, times=1)
            assert "_id" in client.query(create, idempotent=True)
            assert kuzzle.count("document", "create") == 3
        finally:
            client.close()
    assert len(retries) == 2


def test_websocket_overloaded_twice_then_success(fake: FakeTime) -> None:
    pytest.importorskip("websocket")
    pytest.importorskip("websockets")
    websocket = pytest.importorskip("kuzzle_errors.websocket")
    retries: list[RetryDetails] = []
    with testing.StubKuzzle() as kuzzle:
        kuzzle.overload(times=2)
        with websocket.KuzzleWebSocket(
            kuzzle.ws_url, timeout=5.0, retry=make_policy(fake, retries), ping_interval=None
        ) as client:
            assert "now" in client.query(NOW)
        assert kuzzle.count("server", "now") == 3
    assert len(retries) == 2
