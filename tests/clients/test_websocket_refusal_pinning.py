"""Per-socket rate-limit refusals name no request: they are pinned on a query only when certain.

Kuzzle answers a refused frame at once with a random request id and no room, so the client can
only attribute a refusal by elimination. These tests drive the real stub: a refusal that could
be another query's must never make a write replay-safe (a retry would run it twice).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from common import NOW

import kuzzle_errors
from kuzzle_errors._protocol.websocket import RefusalLedger
from kuzzle_errors.retry import RetryPolicy
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket

WAIT = 5.0
CREATE = {
    "controller": "document",
    "action": "create",
    "index": "i",
    "collection": "c",
    "body": {"a": 1},
}


def test_a_refusal_of_a_timed_out_query_is_never_pinned_on_an_in_flight_write() -> None:
    # create is accepted (slow), then server:now is refused and times out before anything
    # else: the one refusal is then either query's, so the write must not fail replay-safe.
    with StubKuzzle(ws_rate_limit=1, clock=lambda: 0.0) as stub:  # one rate window
        stub.add_collection("i", "c")
        stub.slow("document", "create", 1.5)
        policy = RetryPolicy(attempts=3, budget=None, sleep=lambda _: None)
        with (
            KuzzleWebSocket(stub.ws_url, timeout=WAIT, retry=policy) as kuzzle,
            ThreadPoolExecutor(1) as pool,
        ):
            create = pool.submit(kuzzle.query, CREATE)
            stub.wait_for_requests(1)
            time.sleep(0.05)
            with pytest.raises(kuzzle_errors.RequestTimeoutError) as info:
                kuzzle.query(NOW, timeout=0.2)
            result = create.result(timeout=WAIT)
        assert stub.count("document", "create") == 1
    assert result["_source"]["a"] == 1
    assert not info.value.retry_hint.replay_safe
    assert "rate-limit refusal" in (info.value.problem or "")


def test_the_refused_query_fails_at_once_when_it_is_the_only_candidate() -> None:
    with (
        StubKuzzle(ws_rate_limit=1, clock=lambda: 0.0) as stub,
        KuzzleWebSocket(stub.ws_url, timeout=WAIT) as kuzzle,
    ):
        kuzzle.query(NOW)
        started = time.monotonic()
        with pytest.raises(kuzzle_errors.TooManyRequestsError) as info:
            kuzzle.query(NOW)
        assert time.monotonic() - started < WAIT / 2
    assert info.value.retry_hint.replay_safe


def test_a_refusal_is_pinned_once_the_other_candidate_is_answered() -> None:
    with StubKuzzle(ws_rate_limit=1, clock=lambda: 0.0) as stub:
        stub.add_collection("i", "c")
        stub.slow("document", "create", 0.3)
        with (
            KuzzleWebSocket(stub.ws_url, timeout=WAIT) as kuzzle,
            ThreadPoolExecutor(1) as pool,
        ):
            create = pool.submit(kuzzle.query, CREATE)
            stub.wait_for_requests(1)
            with pytest.raises(kuzzle_errors.TooManyRequestsError) as info:
                kuzzle.query(NOW)
            assert create.result(timeout=WAIT)["_source"]["a"] == 1
    assert info.value.action == "now"
    assert info.value.retry_hint.replay_safe


def test_a_repeated_answer_never_reaches_on_notification() -> None:
    seen: list[dict[str, object]] = []
    with (
        StubKuzzle() as stub,
        KuzzleWebSocket(stub.ws_url, timeout=WAIT, on_notification=seen.append) as kuzzle,
    ):
        kuzzle.query(NOW)
        request_id = stub.requests[-1].request_id
        again = {"status": 200, "result": {"now": 1}, "requestId": request_id, "room": request_id}
        stub.send(again)
        stub.notify("channel-1")
        kuzzle.query(NOW)  # frames come in order: both were read before this answer
    assert [msg.get("room") for msg in seen] == ["channel-1"]


# -- the ledger on its own -------------------------------------------------------------------


def test_ledger_pins_a_refusal_only_by_certain_elimination() -> None:
    ledger = RefusalLedger()
    ledger.sent("write")
    ledger.sent("read")
    assert ledger.refused() == []  # either may be the refused one
    assert ledger.suspected("write") and ledger.suspected("read")
    # "read" timing out does not answer it: the refusal is still either one's.
    assert ledger.answered("write") == ["read"]


def test_ledger_later_refusals_are_not_frames_behind_an_answer() -> None:
    ledger = RefusalLedger()
    ledger.sent("a")
    ledger.sent("b")
    assert ledger.answered("b") == []
    # "a" was sent before "b": its refusal would have come before b's answer.
    ledger.sent("c")
    assert ledger.refused() == ["c"]


def test_ledger_a_forgotten_frame_blinds_refusals_until_the_horizon_passes_it() -> None:
    ledger = RefusalLedger()
    ledger.sent("old")
    ledger.sent("q")
    ledger.forget("old")
    assert ledger.refused() == []  # may be the forgotten frame's
    assert ledger.answered("q") == []
    ledger.sent("r")
    assert ledger.refused() == ["r"]  # past the horizon: certain again


def test_ledger_more_refusals_than_candidates_pins_nothing() -> None:
    ledger = RefusalLedger()
    assert ledger.refused() == []
    ledger.sent("q")
    ledger.sent("p")
    assert ledger.refused() == []
    assert ledger.answered("p") == ["q"]
