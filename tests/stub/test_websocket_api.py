"""The stub's WebSocket side (same port as HTTP), driven with plain ``websocket-client``."""

from __future__ import annotations

import json
import struct
import uuid
from collections.abc import Iterator

import pytest
import requests
import websocket
from ws_helpers import hang_up, recv, send

from kuzzle_errors import (
    BadRequestError,
    NotFoundError,
    ServiceUnavailableError,
    TooManyRequestsError,
    parse_response,
)
from kuzzle_errors.testing import StubKuzzle

TIMEOUT = 5.0


@pytest.fixture
def ws(stub: StubKuzzle) -> Iterator[websocket.WebSocket]:
    conn = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
    try:
        yield conn
    finally:
        hang_up(conn)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def assert_silent(ws: websocket.WebSocket, seconds: float = 0.2) -> None:
    """Nothing more arrives within ``seconds``."""
    ws.settimeout(seconds)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv()
    ws.settimeout(TIMEOUT)


def close_code(ws: websocket.WebSocket) -> int | None:
    """The close code the server sent, or None when the TCP connection was just cut."""
    for _ in range(10):  # bounded: a few frames may precede the close
        try:
            opcode, frame = ws.recv_data_frame(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            return None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int(struct.unpack("!H", frame.data[:2])[0]) if len(frame.data) >= 2 else None
    raise AssertionError("no close came")


def test_answers_carry_the_envelope_and_room(ws: websocket.WebSocket) -> None:
    send(ws, "r1", "server", "now", volatile={"v": 1})
    answer = recv(ws)
    assert answer["room"] == answer["requestId"] == "r1"
    assert answer["status"] == 200
    assert answer["volatile"] == {"v": 1}
    assert list(answer)[-1] == "room"
    assert parse_response(answer, transport="websocket") is None


def test_http_and_websocket_share_the_port(stub: StubKuzzle, ws: websocket.WebSocket) -> None:
    assert stub.ws_url.replace("ws://", "http://") == stub.url
    resp = requests.get(f"{stub.url}/_now", timeout=TIMEOUT)
    send(ws, "r1", "server", "now")
    assert resp.status_code == 200
    assert recv(ws)["room"] == "r1"
    assert [r.transport for r in stub.requests] == ["http", "websocket"]


def test_application_ping(ws: websocket.WebSocket) -> None:
    ws.send('{"p":1}')
    assert ws.recv() == '{"p":2}'


def test_unparsable_message_has_a_random_request_id_and_no_room(ws: websocket.WebSocket) -> None:
    ws.send("{oops")
    answer = recv(ws)
    assert "room" not in answer
    assert uuid.UUID(answer["requestId"])
    assert answer["status"] == 400
    assert answer["error"]["id"] == "network.websocket.unexpected_error"
    assert (answer["controller"], answer["action"]) == (None, None)
    assert isinstance(parse_response(answer), BadRequestError)


def test_a_message_nested_100000_deep_is_refused_not_crashed(ws: websocket.WebSocket) -> None:
    ws.send("[" * 100_000 + "]" * 100_000)
    answer = recv(ws)
    assert answer["status"] == 400
    assert answer["error"]["id"] == "network.websocket.unexpected_error"
    send(ws, "r8", "server", "now")  # the socket still serves
    assert recv(ws)["requestId"] == "r8"


def test_invalid_request_echoes_the_request_id_without_room(ws: websocket.WebSocket) -> None:
    send(ws, "r7", "server", "now", volatile="not an object")
    answer = recv(ws)
    assert "room" not in answer
    assert answer["requestId"] == "r7"
    assert answer["error"] == {
        "message": 'Attribute volatile must be of type "object"',
        "status": 400,
    }


def test_per_socket_rate_limit_refuses_without_room_and_drops_the_request() -> None:
    clock = FakeClock()
    with StubKuzzle(ws_rate_limit=2, clock=clock) as stub:
        ws = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
        try:
            for request_id in ("a", "b", "c"):
                send(ws, request_id, "server", "now")
            messages = [recv(ws) for _ in range(3)]
            assert_silent(ws)  # the refused request never gets an answer
            clock.now += 1.0
            send(ws, "d", "server", "now")
            later = recv(ws)
        finally:
            hang_up(ws)
    rooms = sorted(m.get("room", "-") for m in messages)
    assert rooms == ["-", "a", "b"]
    refusal = next(m for m in messages if "room" not in m)
    assert refusal["requestId"] not in ("a", "b", "c")
    assert refusal["status"] == 429
    error = parse_response(refusal)
    assert isinstance(error, TooManyRequestsError)
    assert error.id == "network.websocket.ratelimit_exceeded"
    assert later["room"] == "d"
    assert stub.count("server", "now", transport="websocket") == 4


def test_shutdown_over_websocket_is_entrypoint_shutting_down(
    stub: StubKuzzle, ws: websocket.WebSocket
) -> None:
    stub.shutdown(halt=False)
    send(ws, "r1", "server", "now")
    answer = recv(ws)
    assert answer["room"] == "r1"
    assert answer["error"]["id"] == "network.entrypoint.shutting_down"
    assert isinstance(parse_response(answer), ServiceUnavailableError)


def test_fail_user_rate_limit_and_overload_answer_with_room(
    stub: StubKuzzle, ws: websocket.WebSocket
) -> None:
    stub.fail("document", "get", "services.storage.not_found", "d1", "i", "c", times=1)
    send(ws, "r1", "document", "get", index="i", collection="c", _id="d1")
    failed = recv(ws)
    assert failed["room"] == "r1"
    error = parse_response(failed, transport="websocket")
    assert isinstance(error, NotFoundError)
    assert (error.request_id, error.index, error.transport) == ("r1", "i", "websocket")

    stub.overload(times=1)
    send(ws, "r2", "server", "now")
    assert recv(ws)["error"]["id"] == "api.process.overloaded"

    clock = FakeClock()
    with StubKuzzle(rate_limit=1, clock=clock) as limited:
        limited.add_user("u", "pw")
        conn = websocket.create_connection(limited.ws_url, timeout=TIMEOUT)
        try:
            credentials = {"username": "u", "password": "pw"}
            send(conn, "login", "auth", "login", strategy="local", body=credentials)
            token = recv(conn)["result"]["jwt"]
            send(conn, "a", "server", "now", jwt=token)
            send(conn, "b", "server", "now", jwt=token)
            answers = {m["room"]: m for m in (recv(conn), recv(conn))}
        finally:
            hang_up(conn)
    assert answers["a"]["status"] == 200
    assert answers["b"]["error"]["id"] == "api.process.too_many_requests"


def test_concurrency_limit_over_websocket() -> None:
    with StubKuzzle(concurrent_requests=1, requests_buffer_size=0) as stub:
        stub.slow("server", "now", 0.3)
        ws = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
        try:
            send(ws, "slow", "server", "now")
            stub.wait_for_requests(1)
            send(ws, "refused", "server", "now")
            first, second = recv(ws), recv(ws)
        finally:
            hang_up(ws)
    assert (first["room"], first["status"]) == ("refused", 503)
    assert first["error"]["id"] == "api.process.overloaded"
    assert (second["room"], second["status"]) == ("slow", 200)


def test_slow_answers_come_out_of_order(stub: StubKuzzle, ws: websocket.WebSocket) -> None:
    stub.slow("server", "info", 0.3)
    send(ws, "slow", "server", "info")
    send(ws, "fast", "server", "now")
    assert [recv(ws)["room"], recv(ws)["room"]] == ["fast", "slow"]


def test_notifications_interleaved_with_answers(stub: StubKuzzle, ws: websocket.WebSocket) -> None:
    stub.interleave_notifications("chan-1")
    send(ws, "r1", "server", "now")
    notification, answer = recv(ws), recv(ws)
    # The notification carries *our* request id but the channel as room: route by room.
    assert (notification["room"], notification["requestId"]) == ("chan-1", "r1")
    assert (notification["type"], notification["status"]) == ("document", 200)
    assert "error" not in notification
    assert parse_response(notification) is None
    assert answer["room"] == "r1"

    stub.interleave_notifications(None)
    sent = stub.notify("chan-2", result={"_id": "x"}, request_id="r1")
    assert recv(ws) == sent


def test_subscribe_returns_a_room_and_its_channel(ws: websocket.WebSocket) -> None:
    send(ws, "s1", "realtime", "subscribe", index="i", collection="c", body={})
    result = recv(ws)["result"]
    # As Kuzzle: the channel is the room id and three digits (users none, propagate, scope all).
    assert result["channel"] == result["roomId"] + "-311"
    assert len(result["roomId"]) == 64


def test_scripted_drop_mid_request_drops_every_socket(stub: StubKuzzle) -> None:
    first = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
    second = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
    try:
        stub.drop("document", "create")
        send(first, "r1", "document", "create", index="i", collection="c", body={})
        assert close_code(first) is None
        assert close_code(second) is None
    finally:
        hang_up(first)
        hang_up(second)
    third = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
    try:
        send(third, "r2", "server", "now")
        assert recv(third)["room"] == "r2"
    finally:
        hang_up(third)


def test_drop_with_close_code_1011(stub: StubKuzzle, ws: websocket.WebSocket) -> None:
    stub.drop("server", "now", code=1011, reason="Connection closed by remote host")
    send(ws, "r1", "server", "now")
    assert close_code(ws) == 1011


def test_drop_connections_with_pending_requests(stub: StubKuzzle, ws: websocket.WebSocket) -> None:
    stub.slow("server", "now", 5.0)
    for index in range(5):
        send(ws, f"r{index}", "server", "now")
    stub.wait_for_requests(5)
    assert stub.drop_connections(code=1011) == 1
    assert close_code(ws) == 1011
    assert all(r.status is None for r in stub.requests)  # none was answered


def test_garbage_frames(stub: StubKuzzle, ws: websocket.WebSocket) -> None:
    stub.garbage("server", "now")
    send(ws, "r1", "server", "now")
    assert ws.recv() == "}{ this is not JSON"
    assert recv(ws)["room"] == "r1"
    assert stub.send_garbage(b"\x00\xff") == 1
    assert ws.recv() == b"\x00\xff"


def test_fragmented_messages_are_reassembled(ws: websocket.WebSocket) -> None:
    text = json.dumps({"controller": "server", "action": "now", "requestId": "frag"})
    ws.send_frame(websocket.ABNF.create_frame(text[:10], websocket.ABNF.OPCODE_TEXT, 0))
    ws.send_frame(websocket.ABNF.create_frame(text[10:], websocket.ABNF.OPCODE_CONT, 1))
    assert recv(ws)["room"] == "frag"


def test_stop_closes_open_sockets() -> None:
    stub = StubKuzzle().start()
    ws = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
    try:
        stub.stop()
        assert not stub.running
        assert close_code(ws) is None
    finally:
        hang_up(ws)
    stub.stop()  # idempotent


def test_oversized_message_drops_the_socket_without_close_frame() -> None:
    with StubKuzzle(max_request_size=100) as stub:
        ws = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
        try:
            send(ws, "big", "server", "now", body={"x": "y" * 200})
            assert close_code(ws) is None  # uWebSockets just drops the connection
        finally:
            hang_up(ws)


def test_a_busy_port_fails_start() -> None:
    with StubKuzzle() as stub:
        other = StubKuzzle(port=stub.port)
        with pytest.raises(OSError):
            other.start()
        assert not other.running


def test_logins_per_second_over_one_socket() -> None:
    clock = FakeClock()
    with StubKuzzle(logins_per_second=1, clock=clock) as stub:
        stub.add_user("bob", "pw")
        ws = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
        credentials = {"username": "bob", "password": "pw"}
        try:
            send(ws, "l1", "auth", "login", strategy="local", body=credentials)
            send(ws, "l2", "auth", "login", strategy="local", body=credentials)
            answers = {m["room"]: m for m in (recv(ws), recv(ws))}
        finally:
            hang_up(ws)
    assert answers["l1"]["status"] == 200
    assert answers["l2"]["error"]["id"] == "api.process.too_many_logins_requests"
