"""KuzzleWebSocket end to end against the real Kuzzle stub: many threads on one socket,
answers out of order, drops, notifications, garbage, the per-socket rate limit."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

import kuzzle_errors
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket

WAIT = 5.0


def get(doc_id: str) -> dict[str, Any]:
    return {
        "controller": "document",
        "action": "get",
        "index": "i",
        "collection": "c",
        "_id": doc_id,
    }


def test_fifty_queries_from_ten_threads_answered_in_random_order(stub: StubKuzzle) -> None:
    for n in range(50):
        stub.add_document("i", "c", f"d{n}", {"n": n})
    stub.slow("document", "get", (0.0, 0.05))  # random delays: answers come back shuffled
    with KuzzleWebSocket(stub.ws_url, timeout=WAIT) as kuzzle, ThreadPoolExecutor(10) as pool:
        futures = [pool.submit(kuzzle.query, get(f"d{n}")) for n in range(50)]
        results = [future.result(timeout=WAIT) for future in futures]
    assert [result["_source"]["n"] for result in results] == list(range(50))
    assert stub.count("document", "get", transport="websocket") == 50


@pytest.mark.parametrize("code", [1011, None])
def test_a_drop_with_twenty_pending_queries_fails_them_all_within_a_second(
    stub: StubKuzzle, code: int | None
) -> None:
    stub.slow("server", "info", 30.0)
    with KuzzleWebSocket(stub.ws_url, timeout=30.0) as kuzzle, ThreadPoolExecutor(20) as pool:
        futures: list[Future[Any]] = [
            pool.submit(kuzzle.query, {"controller": "server", "action": "info"}) for _ in range(20)
        ]
        stub.wait_for_requests(20, timeout=WAIT)
        assert stub.count("server", "info") == 20
        dropped = time.monotonic()
        reason = "too much backpressure" if code else ""  # only a close frame has a reason
        assert stub.drop_connections(code=code, reason=reason) == 1
        for future in futures:
            error = future.exception(timeout=WAIT)
            assert isinstance(error, kuzzle_errors.ConnectionLostError)
            assert error.retry_hint.retryable
            assert not error.retry_hint.replay_safe
        assert time.monotonic() - dropped < 1.0
        stub.reset()
        assert "now" in kuzzle.query({"controller": "server", "action": "now"})  # reconnected


def test_notifications_interleaved_with_answers(stub: StubKuzzle) -> None:
    for n in range(20):
        stub.add_document("i", "c", f"d{n}", {"n": n})
    stub.interleave_notifications("channel-1")
    seen: list[dict[str, Any]] = []
    with (
        KuzzleWebSocket(stub.ws_url, timeout=WAIT, on_notification=seen.append) as kuzzle,
        ThreadPoolExecutor(5) as pool,
    ):
        futures = [pool.submit(kuzzle.query, get(f"d{n}")) for n in range(20)]
        results = [future.result(timeout=WAIT) for future in futures]
        note = stub.notify("channel-2", request_id="not-ours")
        assert kuzzle.query(get("d0"))["_id"] == "d0"
    assert [r["_id"] for r in results] == [f"d{n}" for n in range(20)]
    ours = {r.request_id for r in stub.requests}
    carried = [n["requestId"] for n in seen if n["room"] == "channel-1"]
    assert len(carried) == 21
    assert set(carried) <= ours  # notifications carried our own request ids: still not answers
    assert note in seen


def test_a_garbage_frame(stub: StubKuzzle) -> None:
    unmatched: list[kuzzle_errors.KuzzleError] = []
    stub.garbage("server", "now")
    with KuzzleWebSocket(stub.ws_url, timeout=WAIT, on_unmatched_error=unmatched.append) as kuzzle:
        assert "now" in kuzzle.query({"controller": "server", "action": "now"})
        stub.send_garbage(b"\x00\xffbinary junk")
        assert "now" in kuzzle.query({"controller": "server", "action": "now"})
    assert len(unmatched) == 2
    assert all(isinstance(e, kuzzle_errors.InvalidResponseError) for e in unmatched)


def test_the_per_socket_rate_limit_refusal_fails_the_refused_queries() -> None:
    # A frozen clock keeps the whole burst in one 1-second window.
    with StubKuzzle(ws_rate_limit=5, clock=lambda: 0.0) as stub:
        unmatched: list[kuzzle_errors.KuzzleError] = []
        with (
            KuzzleWebSocket(
                stub.ws_url,
                timeout=WAIT,
                on_unmatched_error=unmatched.append,
            ) as kuzzle,
            ThreadPoolExecutor(8) as pool,
        ):
            started = time.monotonic()
            futures = [
                pool.submit(kuzzle.query, {"controller": "server", "action": "now"})
                for _ in range(8)
            ]
            errors = [future.exception(timeout=WAIT) for future in futures]
            elapsed = time.monotonic() - started
    assert sum(1 for e in errors if e is not None) == 3
    refused = [e for e in errors if isinstance(e, kuzzle_errors.TooManyRequestsError)]
    assert len(refused) == 3
    assert all(e.id == "network.websocket.ratelimit_exceeded" for e in refused)
    assert all(e.retry_hint.replay_safe for e in refused)
    assert len({e.request_id for e in refused}) == 3  # each names the query it failed
    assert elapsed < WAIT / 2  # failed after the grace, not at the query timeout
    assert len(unmatched) == 3


def test_the_refused_queries_are_retried() -> None:
    from kuzzle_errors.retry import RetryPolicy

    now = [0.0]  # the stub's rate window and the policy's sleep share this fake clock

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with StubKuzzle(ws_rate_limit=2, clock=lambda: now[0]) as stub:
        policy = RetryPolicy(attempts=3, budget=None, sleep=sleep)
        with KuzzleWebSocket(stub.ws_url, timeout=WAIT, retry=policy) as kuzzle:
            for _ in range(3):
                kuzzle.query({"controller": "server", "action": "now"})
        assert stub.count("server", "now") == 4
    assert now[0] >= 1.0  # waited at least Kuzzle's 1-second window
