"""kuzzle_errors.websocket against a small scripted server (websockets, threaded, loopback).

The server reads each request's ``action`` to decide what to do, so one test can mix answers,
notifications, refusals and drops on a single socket.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from raw_server import unused_port
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

import kuzzle_errors
from kuzzle_errors import catalog
from kuzzle_errors.retry import RetryPolicy
from kuzzle_errors.websocket import KuzzleWebSocket, error_from_message

WAIT = 5.0  # upper bound of every wait in this module


def err(error_id: str, *args: str) -> dict[str, Any]:
    spec = catalog.get(error_id)
    assert spec is not None
    return {
        "code": spec.code,
        "id": spec.id,
        "message": spec.format(*args),
        "props": list(args),
        "status": spec.status,
    }


def answer(msg: dict[str, Any], *, result: Any = None, error: Any = None) -> str:
    return json.dumps(
        {
            "action": msg.get("action"),
            "controller": msg.get("controller"),
            "error": error,
            "headers": {},
            "node": "knode-ws",
            "requestId": msg["requestId"],
            "result": result,
            "status": error["status"] if error else 200,
            "volatile": msg.get("volatile"),
            "room": msg["requestId"],
        }
    )


def refusal_frame() -> str:
    return json.dumps(
        {
            "error": err("network.websocket.ratelimit_exceeded"),
            "status": 429,
            "requestId": str(uuid.uuid4()),
            "controller": None,
            "action": None,
            "result": None,
            "volatile": None,
            "headers": {},
            "node": "knode-ws",
        }
    )


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


class Scripted:
    """A threaded WebSocket server whose behaviour follows each request's ``action``."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.answer_pings = True
        self.overloads = 0
        self.late_sent = threading.Event()
        self._lock = threading.Lock()
        self.server: Server = serve(self._handle, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def requests(self, action: str) -> list[dict[str, Any]]:
        with self._lock:
            frames = list(self.received)
        out = []
        for frame in frames:
            try:
                msg = json.loads(frame)
            except ValueError:
                continue
            if isinstance(msg, dict) and msg.get("action") == action:
                out.append(msg)
        return out

    def close(self) -> None:
        self.server.shutdown()
        self._thread.join(WAIT)

    @staticmethod
    def _send(conn: ServerConnection, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):  # the client may have gone: fine here
            conn.send(text)

    def _later(self, delay: float, conn: ServerConnection, text: str) -> None:
        def run() -> None:
            time.sleep(delay)
            self._send(conn, text)
            self.late_sent.set()

        threading.Thread(target=run, daemon=True).start()

    def _handle(self, conn: ServerConnection) -> None:
        try:
            for frame in conn:
                assert isinstance(frame, str)
                with self._lock:
                    self.received.append(frame)
                self._react(conn, json.loads(frame))
        except ConnectionClosed:
            pass

    def _react(self, conn: ServerConnection, msg: dict[str, Any]) -> None:
        if msg == {"p": 1}:
            if self.answer_pings:
                self._send(conn, '{"p":2}')
            return
        if msg == {"p": 2}:
            return
        action = msg.get("action")
        body = msg.get("body") or {}
        if action == "echo":
            self._send(conn, answer(msg, result=body))
        elif action == "whoami":
            self._send(
                conn, answer(msg, result={"requestId": msg["requestId"], "jwt": msg.get("jwt")})
            )
        elif action == "sleep":
            self._later(body["delay"], conn, answer(msg, result=body))
        elif action == "fail":
            self._send(conn, answer(msg, error=body["error"]))
        elif action == "overload_once":
            with self._lock:
                self.overloads += 1
                first = self.overloads == 1
            error = err("api.process.overloaded") if first else None
            self._send(conn, answer(msg, result=None if first else "ok", error=error))
        elif action == "notify":
            notification = {
                "type": "document",
                "status": 200,
                "action": "create",
                "controller": "document",
                "requestId": msg["requestId"],  # one of the client's own ids, on purpose
                "room": "channel-" + str(body.get("n", 0)),
                "result": {"_id": "d1", "_source": {}},
            }
            self._send(conn, json.dumps(notification))
            self._send(conn, answer(msg, result={"requestId": msg["requestId"]}))
        elif action == "garbage":
            self._send(conn, "}{ this is not JSON")
            self._send(conn, answer(msg, result="after garbage"))
        elif action == "refuse":  # Kuzzle's per-socket rate limit: random id, no room
            self._send(conn, refusal_frame())
        elif action == "invalid":  # Kuzzle's invalid-request answer: our id, no room, no error id
            self._send(
                conn,
                json.dumps(
                    {
                        "error": {"message": "Attribute volatile must be an object", "status": 400},
                        "status": 400,
                        "requestId": msg["requestId"],
                        "result": None,
                    }
                ),
            )
        elif action == "token_expired":  # Kuzzle's server notification, then the answer
            expired = {
                "status": 200,
                "info": "This is an automated server notification",
                "message": "Authentication Token Expired",
                "type": "TokenExpired",
                "node": "knode-ws",
                "room": "kuzzle:notification:server",
            }
            self._send(conn, json.dumps(expired))
            self._send(conn, answer(msg, result="answered"))
        elif action == "refuse_later":  # answered, then a refusal when nothing is in flight
            self._send(conn, answer(msg, result="answered"))
            self._later(0.02, conn, refusal_frame())
        elif action == "odd":  # JSON that is not a Kuzzle message, in several shapes
            for frame in (
                "[1, 2]",
                '"text"',
                '{"room": ["x"], "requestId": {"a": 1}, "error": {"status": 500}}',
                '{"room": 12, "status": 200}',
                "{}",
            ):
                self._send(conn, frame)
            self._send(conn, answer(msg, result="still here"))
        elif action == "raw":  # a plugin's result in Kuzzle's raw format: as is, plus room
            self._send(conn, json.dumps({**body, "room": msg["requestId"]}))
        elif action == "ping_me":
            self._send(conn, '{"p":1}')
            self._send(conn, answer(msg, result="pinged"))
        elif action == "late":
            self._later(body["delay"], conn, answer(msg, result="too late"))
        elif action == "drop":
            conn.close(1011, "too much backpressure: client is too slow")
        elif action == "abort":
            conn.socket.shutdown(socket.SHUT_RDWR)
        # "hang": never answered


@pytest.fixture
def server() -> Iterator[Scripted]:
    scripted = Scripted()
    yield scripted
    scripted.close()


@pytest.fixture
def client(server: Scripted) -> Iterator[KuzzleWebSocket]:
    with KuzzleWebSocket(server.url, timeout=WAIT) as kuzzle:
        yield kuzzle


def q(action: str, **body: Any) -> dict[str, Any]:
    return {"controller": "test", "action": action, "body": body}


# -- answers -----------------------------------------------------------------------------


def test_query_returns_the_result_and_sends_a_fresh_uuid(
    server: Scripted, client: KuzzleWebSocket
) -> None:
    assert client.query(q("echo", a=1)) == {"a": 1}
    assert client.query(q("echo", a=2)) == {"a": 2}
    ids = [msg["requestId"] for msg in server.requests("echo")]
    assert len(set(ids)) == 2
    assert all(uuid.UUID(rid).version == 4 for rid in ids)


def test_jwt_is_added_to_each_request(server: Scripted) -> None:
    with KuzzleWebSocket(server.url, jwt="tok") as kuzzle:
        assert kuzzle.query(q("whoami"))["jwt"] == "tok"
        assert kuzzle.query({**q("whoami"), "jwt": "mine"})["jwt"] == "mine"


def test_error_answer_raises_its_id_class(client: KuzzleWebSocket) -> None:
    not_found = err("services.storage.not_found", "d1", "i", "c")
    with pytest.raises(kuzzle_errors.error_class("services.storage.not_found")) as info:
        client.query(q("fail", error=not_found))
    error = info.value
    assert isinstance(error, kuzzle_errors.NotFoundError)
    assert (error.transport, error.node, error.action) == ("websocket", "knode-ws", "fail")
    assert error.request_id is not None
    assert error.http_status is None


def test_invalid_request_answer_without_room_is_matched_by_request_id(
    client: KuzzleWebSocket,
) -> None:
    with pytest.raises(kuzzle_errors.BadRequestError) as info:
        client.query(q("invalid"))
    assert "volatile" in info.value.message
    assert client.query(q("echo", ok=True)) == {"ok": True}


def test_fifty_queries_from_ten_threads_each_get_their_own_answer(
    client: KuzzleWebSocket,
) -> None:
    import random

    rng = random.Random(5)
    delays = [rng.uniform(0, 0.05) for _ in range(50)]  # answers come back out of order

    def one(n: int) -> Any:
        return client.query(q("sleep", n=n, delay=delays[n]))

    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(one, n) for n in range(50)]
        results = [future.result(timeout=WAIT) for future in futures]
    assert [result["n"] for result in results] == list(range(50))


# -- notifications, garbage, pings --------------------------------------------------------


def test_notifications_go_to_the_callback_never_to_a_caller(server: Scripted) -> None:
    seen: list[dict[str, Any]] = []
    with KuzzleWebSocket(server.url, on_notification=seen.append) as kuzzle:

        def one(n: int) -> Any:
            return kuzzle.query(q("notify", n=n))

        with ThreadPoolExecutor(max_workers=5) as pool:
            results = list(pool.map(one, range(20), timeout=WAIT))
    assert len(seen) == 20
    # Each notification carried the request id of one of our queries: still not an answer.
    assert {note["requestId"] for note in seen} == {result["requestId"] for result in results}
    assert all(note["type"] == "document" for note in seen)


def test_a_failing_notification_callback_does_not_kill_the_reader(
    server: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(_: dict[str, Any]) -> None:
        raise RuntimeError("callback bug")

    with (
        KuzzleWebSocket(server.url, on_notification=boom) as kuzzle,
        caplog.at_level(logging.ERROR, logger="kuzzle_errors.websocket"),
    ):
        assert kuzzle.query(q("notify"))["requestId"]
        assert kuzzle.query(q("echo", still="alive")) == {"still": "alive"}
    assert "on_notification callback failed" in caplog.text


def test_a_garbage_frame_is_reported_and_the_socket_goes_on(server: Scripted) -> None:
    unmatched: list[kuzzle_errors.KuzzleError] = []
    with KuzzleWebSocket(server.url, on_unmatched_error=unmatched.append) as kuzzle:
        assert kuzzle.query(q("garbage")) == "after garbage"
    (error,) = unmatched
    assert isinstance(error, kuzzle_errors.InvalidResponseError)
    assert error.raw == "}{ this is not JSON"


def test_the_token_expired_server_notification_is_a_notification(server: Scripted) -> None:
    seen: list[dict[str, Any]] = []
    with KuzzleWebSocket(server.url, on_notification=seen.append) as kuzzle:
        assert kuzzle.query(q("token_expired")) == "answered"
    assert [note["type"] for note in seen] == ["TokenExpired"]
    assert error_from_message(json.dumps(seen[0])) is None


def test_close_returns_quickly_and_stops_the_reader(server: Scripted) -> None:
    before = {t for t in threading.enumerate() if t.name.startswith("kuzzle-ws-reader")}
    kuzzle = KuzzleWebSocket(server.url)
    assert kuzzle.query(q("echo")) == {}
    started = time.monotonic()
    kuzzle.close()
    assert time.monotonic() - started < 1.0
    after = {t for t in threading.enumerate() if t.name.startswith("kuzzle-ws-reader")}
    assert after <= before


def test_odd_json_frames_never_kill_the_reader(server: Scripted) -> None:
    unmatched: list[kuzzle_errors.KuzzleError] = []
    with KuzzleWebSocket(server.url, on_unmatched_error=unmatched.append) as kuzzle:
        assert kuzzle.query(q("odd")) == "still here"
        assert kuzzle.query(q("echo", n=1)) == {"n": 1}
    assert len(unmatched) >= 3
    assert all(isinstance(e, kuzzle_errors.KuzzleError) for e in unmatched)


def test_server_pings_are_answered(server: Scripted, client: KuzzleWebSocket) -> None:
    assert client.query(q("ping_me")) == "pinged"
    wait_until(lambda: '{"p":2}' in server.received)


def test_an_idle_client_pings(server: Scripted) -> None:
    with KuzzleWebSocket(server.url, ping_interval=0.05) as kuzzle:
        wait_until(lambda: server.received.count('{"p":1}') >= 2)
        assert kuzzle.connected
        assert kuzzle.query(q("echo", a=1)) == {"a": 1}


def test_an_unanswered_ping_drops_the_connection(server: Scripted) -> None:
    server.answer_pings = False
    with KuzzleWebSocket(server.url, ping_interval=0.05, timeout=WAIT) as kuzzle:
        started = time.monotonic()
        with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
            kuzzle.query(q("hang"))
        assert time.monotonic() - started < WAIT / 2
        assert "ping" in info.value.message


# -- rate limit, timeouts ------------------------------------------------------------------


def test_a_rate_limit_refusal_fails_the_refused_query_at_once(server: Scripted) -> None:
    unmatched: list[kuzzle_errors.KuzzleError] = []
    with KuzzleWebSocket(server.url, timeout=WAIT, on_unmatched_error=unmatched.append) as kuzzle:
        started = time.monotonic()
        with pytest.raises(kuzzle_errors.TooManyRequestsError) as info:
            kuzzle.query(q("refuse"))
        assert time.monotonic() - started < WAIT / 2  # not the query timeout
        assert kuzzle.query(q("echo", after=1)) == {"after": 1}
    error = info.value
    assert error.id == "network.websocket.ratelimit_exceeded"
    assert error.retry_hint.replay_safe
    assert error.retry_hint.delay >= 1.0
    assert error.action == "refuse"
    assert error.request_id == server.requests("refuse")[0]["requestId"]
    assert [e.id for e in unmatched] == ["network.websocket.ratelimit_exceeded"]


def test_a_refusal_never_fails_a_query_that_is_only_slow(server: Scripted) -> None:
    with (
        KuzzleWebSocket(server.url, timeout=WAIT) as kuzzle,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        slow = pool.submit(kuzzle.query, q("sleep", delay=0.3, n="slow"))
        wait_until(lambda: len(server.requests("sleep")) == 1)
        refused = pool.submit(kuzzle.query, q("refuse"))
        # Two in flight, one refusal: which one was refused is known once the slow answers.
        assert slow.result(timeout=WAIT) == {"delay": 0.3, "n": "slow"}
        with pytest.raises(kuzzle_errors.TooManyRequestsError):
            refused.result(timeout=WAIT)


def test_a_refusal_with_nothing_in_flight_fails_no_later_query(server: Scripted) -> None:
    unmatched: list[kuzzle_errors.KuzzleError] = []
    with KuzzleWebSocket(server.url, on_unmatched_error=unmatched.append) as kuzzle:
        assert kuzzle.query(q("refuse_later")) == "answered"
        assert server.late_sent.wait(WAIT)
        wait_until(lambda: len(unmatched) == 1)
        # The stale refusal must not be pinned on these queries.
        assert kuzzle.query(q("sleep", delay=0.05, n=1)) == {"delay": 0.05, "n": 1}
        assert kuzzle.query(q("echo", n=2)) == {"n": 2}


def test_a_query_without_answer_times_out_not_replay_safe(
    server: Scripted, client: KuzzleWebSocket
) -> None:
    with pytest.raises(kuzzle_errors.RequestTimeoutError) as info:
        client.query(q("hang"), timeout=0.05)
    assert info.value.retry_hint.retryable
    assert not info.value.retry_hint.replay_safe
    assert info.value.action == "hang"


def test_a_late_answer_is_dropped(server: Scripted) -> None:
    seen: list[Any] = []
    unmatched: list[Any] = []
    with KuzzleWebSocket(
        server.url, on_notification=seen.append, on_unmatched_error=unmatched.append
    ) as kuzzle:
        with pytest.raises(kuzzle_errors.RequestTimeoutError):
            kuzzle.query(q("late", delay=0.1), timeout=0.02)
        assert server.late_sent.wait(WAIT)
        # Frames arrive in order: once this answer is in, the late one was read before it.
        assert kuzzle.query(q("echo", n=1)) == {"n": 1}
    assert seen == []
    assert unmatched == []


# -- dropped connections -------------------------------------------------------------------


@pytest.mark.parametrize("how", ["drop", "abort"])
def test_a_drop_fails_twenty_pending_queries_at_once(server: Scripted, how: str) -> None:
    with KuzzleWebSocket(server.url, timeout=30.0) as kuzzle:
        with ThreadPoolExecutor(max_workers=20) as pool:
            futures = [pool.submit(kuzzle.query, q("hang", n=n)) for n in range(20)]
            wait_until(lambda: len(server.requests("hang")) == 20)
            dropped = time.monotonic()
            with pytest.raises(kuzzle_errors.ConnectionLostError):
                kuzzle.query(q(how))
            errors = []
            for future in futures:
                with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
                    future.result(timeout=WAIT)
                errors.append(info.value)
            assert time.monotonic() - dropped < 1.0
        assert all(e.retry_hint.retryable and not e.retry_hint.replay_safe for e in errors)
        if how == "drop":
            assert "1011" in errors[0].message
        # The next query opens a new connection.
        assert kuzzle.query(q("echo", back=True)) == {"back": True}


def test_connect_failure_is_replay_safe() -> None:
    with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
        KuzzleWebSocket(f"ws://127.0.0.1:{unused_port()}", timeout=2.0)
    assert info.value.retry_hint.replay_safe
    assert info.value.__cause__ is not None


def test_close_is_idempotent_and_fails_pending_queries(server: Scripted) -> None:
    kuzzle = KuzzleWebSocket(server.url, timeout=30.0)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(kuzzle.query, q("hang"))
        wait_until(lambda: len(server.requests("hang")) == 1)
        kuzzle.close()
        kuzzle.close()
        with pytest.raises(kuzzle_errors.ConnectionLostError):
            pending.result(timeout=WAIT)
    with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
        kuzzle.query(q("echo"))
    assert not info.value.retryable
    assert "closed" in repr(kuzzle)


def test_a_raw_plugin_result_is_returned_not_dropped(client: KuzzleWebSocket) -> None:
    # Kuzzle sends a raw-format result as is with only `room` added: no status, no result.
    assert client.query(q("raw", foo=1, bar=[2])) == {"foo": 1, "bar": [2]}
    assert client.query(q("echo", a=1)) == {"a": 1}  # envelopes still give their result


def test_lazy_connection(server: Scripted) -> None:
    with KuzzleWebSocket(server.url, connect=False) as kuzzle:
        assert not kuzzle.connected
        assert kuzzle.query(q("echo", a=1)) == {"a": 1}
        assert kuzzle.connected


# -- retry -----------------------------------------------------------------------------------


def test_retry_policy_replays_a_refused_query(server: Scripted) -> None:
    policy = RetryPolicy(attempts=3, budget=None, sleep=lambda _: None)
    with KuzzleWebSocket(server.url, retry=policy) as kuzzle:
        assert kuzzle.query(q("overload_once")) == "ok"
    ids = [msg["requestId"] for msg in server.requests("overload_once")]
    assert len(ids) == 2
    assert len(set(ids)) == 2


def test_retry_after_a_drop_only_when_idempotent(server: Scripted) -> None:
    policy = RetryPolicy(attempts=2, budget=None, sleep=lambda _: None)
    with KuzzleWebSocket(server.url, retry=policy) as kuzzle:
        with pytest.raises(kuzzle_errors.ConnectionLostError):
            kuzzle.query(q("abort"))
        assert len(server.requests("abort")) == 1
        with pytest.raises(kuzzle_errors.ConnectionLostError):
            kuzzle.query(q("abort"), idempotent=True)
        wait_until(lambda: len(server.requests("abort")) == 3)  # replayed on a new socket


# -- error_from_message --------------------------------------------------------------------


def test_error_from_message_shapes() -> None:
    assert error_from_message('{"p":2}') is None
    assert error_from_message({"p": 1}) is None
    notification = {"type": "document", "status": 200, "room": "ch", "result": {}}
    assert error_from_message(notification) is None
    assert error_from_message(json.dumps(notification).encode()) is None
    msg = {"status": 503, "error": err("api.process.overloaded"), "room": "r", "requestId": "r"}
    error = error_from_message(json.dumps(msg).encode())
    assert isinstance(error, kuzzle_errors.ServiceUnavailableError)
    assert (error.transport, error.request_id) == ("websocket", "r")
    assert isinstance(error_from_message("<html>"), kuzzle_errors.InvalidResponseError)
    v1 = {"room": "r", "status": 400, "error": {"message": "bad"}}
    assert isinstance(error_from_message(v1), kuzzle_errors.BadRequestError)


@pytest.mark.parametrize("options", [{"timeout": 0}, {"ping_interval": 0}])
def test_bad_options_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        KuzzleWebSocket("ws://127.0.0.1:1", connect=False, **options)  # type: ignore[arg-type]
