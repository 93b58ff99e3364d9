"""The sans-I/O frame router both WebSocket clients feed: frames in, settled queries out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kuzzle_errors import ConnectionLostError, RequestTimeoutError, TooManyRequestsError
from kuzzle_errors._protocol.websocket import FrameRouter, Pending, Routed, decode_frame
from kuzzle_errors.exceptions import KuzzleError

REFUSAL = {
    "status": 429,
    "requestId": "random-by-kuzzle",
    "error": {"id": "network.websocket.ratelimit_exceeded", "status": 429, "message": "x"},
}


@dataclass
class Harness:
    settled: dict[str, dict[str, Any] | KuzzleError] = field(default_factory=dict)
    router: FrameRouter = field(init=False)

    def __post_init__(self) -> None:
        self.router = FrameRouter(now=0.0)

    def send(self, request_id: str) -> Pending:
        def wake() -> None:
            assert request_id not in self.settled, "settled twice"
            assert query.outcome is not None
            self.settled[request_id] = query.outcome

        query = Pending({"requestId": request_id, "controller": "document"}, wake)
        self.router.sending(query)
        return query

    def receive(self, frame: Any) -> Routed:
        decoded = decode_frame(json.dumps(frame))
        assert isinstance(decoded, dict)
        return self.router.route(decoded)


def test_an_answer_goes_to_the_query_its_room_names() -> None:
    h = Harness()
    h.send("a")
    h.send("b")
    assert h.receive({"room": "b", "status": 200, "result": 2}) == Routed()
    assert h.settled == {"b": {"room": "b", "status": 200, "result": 2}}
    assert set(h.router.pending) == {"a"}


def test_an_invalid_request_is_answered_by_request_id_without_a_room() -> None:
    h = Harness()
    h.send("a")
    h.receive({"requestId": "a", "status": 400, "error": {"message": "bad"}})
    assert "a" in h.settled and not h.router.pending


def test_a_repeated_answer_is_dropped_not_taken_for_a_notification() -> None:
    h = Harness()
    h.send("a")
    h.receive({"room": "a", "status": 200, "result": 1})
    assert h.receive({"room": "a", "status": 200, "result": 1}) == Routed()


def test_notifications_and_stray_errors_go_back_to_the_client() -> None:
    h = Harness()
    note = {"room": "channel-1", "type": "document", "action": "create"}
    assert h.receive(note).notification == note
    stray = h.receive({"status": 500, "error": {"message": "boom"}})
    assert stray.unmatched is not None and stray.what.startswith("an error answer")


def test_a_frame_that_is_not_a_json_object_is_reported() -> None:
    routed = decode_frame("<html>")
    assert isinstance(routed, Routed) and routed.unmatched is not None
    assert routed.what == "a frame that is not JSON"
    listed = decode_frame("[1]")
    assert isinstance(listed, Routed) and listed.what == "a frame that is not a JSON object"


def test_a_refusal_fails_the_only_query_it_can_belong_to() -> None:
    h = Harness()
    h.send("a")
    h.send("b")
    h.receive(REFUSAL)
    assert h.settled == {}  # a or b: not known yet
    h.receive({"room": "a", "status": 200, "result": 1})
    refused = h.settled["b"]
    assert isinstance(refused, TooManyRequestsError)
    assert refused.request_id == "b" and refused.controller == "document"
    assert "by elimination" in (refused.problem or "")


def test_pings_count_as_frames_a_refusal_may_belong_to() -> None:
    h = Harness()
    h.router.ping_sent(now=1.0)
    h.send("a")
    h.receive(REFUSAL)
    assert h.receive({"p": 2}) == Routed()  # the pong: the ping was not the refused frame
    assert isinstance(h.settled["a"], TooManyRequestsError)


def test_kuzzle_pings_ask_for_a_pong() -> None:
    assert Harness().receive({"p": 1}) == Routed(pong=True)


def test_a_timed_out_query_says_when_a_refusal_may_have_been_its_answer() -> None:
    h = Harness()
    a, b = h.send("a"), h.send("b")
    h.receive(REFUSAL)
    error = h.router.expire(a, 2.0)
    assert isinstance(error, RequestTimeoutError)
    assert "rate-limit refusal" in (error.problem or "")
    assert h.router.expire(a, 2.0) is None  # ended already
    assert h.router.abandon(b) and not h.router.pending


def test_a_dropped_connection_fails_every_pending_query() -> None:
    h = Harness()
    h.send("a")
    h.send("b")
    h.router.drop("ws://user:secret@127.0.0.1:7512", "closed by the server")
    assert set(h.settled) == {"a", "b"} and not h.router.pending
    error = h.settled["a"]
    assert isinstance(error, ConnectionLostError) and "secret" not in str(error)


def test_an_idle_connection_is_pinged_then_given_up_on() -> None:
    router = Harness().router
    assert not router.ping_due(now=5.0, interval=10.0).send
    due = router.ping_due(now=10.0, interval=10.0)
    assert due.send and not due.dead
    router.ping_sent(now=10.0)
    assert not router.ping_due(now=15.0, interval=10.0).dead
    assert router.ping_due(now=20.0, interval=10.0).dead
    router.last_received = 19.0  # anything came: alive again
    assert not router.ping_due(now=20.0, interval=10.0).dead
