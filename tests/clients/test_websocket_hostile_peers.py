"""KuzzleWebSocket against hostile loopback servers: threads sharing a dripped handshake's
deadline, close during a connect, handshakes refused with an HTTP answer (and secrets in it),
big answers next to small ones. The hostile peers every client meets (drips, huge frames...)
are in test_hostile_peer_matrix.py."""

from __future__ import annotations

import json
import logging
import pickle
import socket
import struct
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

import pytest
from common import NOW
from raw_server import (
    Script,
    drip,
    echo_kuzzle,
    handshake_answer,
    raw_server,
    read_frame,
    read_head,
    unused_port,
)

import kuzzle_errors
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket

WAIT = 5.0
SECRET = "s3cr3t-session-Zq81"


def _dripped_101(server_stopping: list[bool]) -> Script:
    def script(conn: socket.socket, n: int) -> None:
        head = read_head(conn)
        drip(conn, handshake_answer(head), 0.5, lambda: server_stopping[0])

    return script


def test_threads_waiting_for_a_connect_share_its_deadline() -> None:
    stopping = [False]
    with raw_server(_dripped_101(stopping)) as server:
        client = KuzzleWebSocket(f"ws://127.0.0.1:{server.port}", timeout=1.5, connect=False)
        started = time.monotonic()
        with ThreadPoolExecutor(3) as pool:
            futures = [pool.submit(client.query, NOW) for _ in range(3)]
            errors = [f.exception(timeout=WAIT * 2) for f in futures]
        elapsed = time.monotonic() - started
        stopping[0] = True
        client.close()
    assert all(isinstance(e, kuzzle_errors.ConnectionLostError) for e in errors)
    assert elapsed < 4.0  # one deadline for all, not one each after the other
    assert server.connections == 1


def test_close_from_another_thread_never_waits_on_a_connect() -> None:
    stopping = [False]
    with raw_server(_dripped_101(stopping)) as server:
        client = KuzzleWebSocket(f"ws://127.0.0.1:{server.port}", timeout=30, connect=False)
        with ThreadPoolExecutor(1) as pool:
            connecting = pool.submit(client.connect)
            deadline = time.monotonic() + WAIT
            while server.connections == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)
            started = time.monotonic()
            client.close()
            closed_in = time.monotonic() - started
            error = connecting.exception(timeout=WAIT)
        stopping[0] = True
    assert closed_in < 1.0
    assert isinstance(error, kuzzle_errors.ConnectionLostError)
    assert not error.retryable  # closed on purpose


def _slow_frame_then_echo(every: float) -> Script:
    def script(conn: socket.socket, n: int) -> None:
        head = read_head(conn)
        conn.sendall(handshake_answer(head))
        if n == 0:  # once queried, a 1 GB text frame, then a byte every `every` seconds
            read_frame(conn)
            conn.sendall(struct.pack("!BBQ", 0x81, 127, 1 << 30))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                conn.sendall(b"x")
                time.sleep(every)
        else:
            echo_kuzzle(conn)

    return script


def test_a_big_answer_does_not_starve_a_small_query() -> None:
    big = "é" * (5 * 1024 * 1024)  # 10 MB of UTF-8
    with StubKuzzle() as stub:
        stub.respond("test", "big", result=big)
        stub.slow("test", "big", 0.2)
        with KuzzleWebSocket(stub.ws_url, timeout=30) as kuzzle, ThreadPoolExecutor(1) as pool:
            kuzzle.query(NOW)
            large = pool.submit(kuzzle.query, {"controller": "test", "action": "big"})
            time.sleep(0.3)  # the big answer is on its way
            started = time.monotonic()
            kuzzle.query(NOW)
            small = time.monotonic() - started
            assert large.result(timeout=30) == big
    assert small < 2.0


# -- handshakes refused with an HTTP answer ------------------------------------------------------


def _refusing(status: int, body: bytes, *headers: str) -> Script:
    def script(conn: socket.socket, n: int) -> None:
        read_head(conn)
        head = f"HTTP/1.1 {status} Refused\r\n" + "".join(f"{h}\r\n" for h in headers)
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        conn.sendall(head.encode() + body)

    return script


def _token_invalid() -> bytes:
    return json.dumps(
        {
            "status": 401,
            "error": {
                "id": "security.token.invalid",
                "code": 117506049,
                "message": "Invalid token.",
                "status": 401,
                "props": [],
            },
            "requestId": None,
            "result": None,
        }
    ).encode()


def test_a_handshake_refused_by_kuzzle_is_parsed_and_never_shows_the_cookie() -> None:
    script = _refusing(
        401,
        _token_invalid(),
        "Content-Type: application/json",
        f"Set-Cookie: kuzzle-sid={SECRET}; HttpOnly",
    )
    with raw_server(script) as server, pytest.raises(kuzzle_errors.KuzzleError) as info:
        KuzzleWebSocket(f"ws://127.0.0.1:{server.port}", timeout=2)
    error = info.value
    assert isinstance(error, kuzzle_errors.error_class("security.token.invalid"))
    assert error.http_status == 401
    assert not error.retryable
    assert error.transport == "websocket"
    assert "handshake" in (error.problem or "")
    shown = [
        str(error),
        repr(error),
        json.dumps(error.to_dict(), default=str),
        "".join(traceback.format_exception(error)),
    ]
    assert not any(SECRET in text for text in shown)
    assert SECRET.encode() not in pickle.dumps(error)


def test_logging_a_handshake_refusal_shows_no_cookie(caplog: pytest.LogCaptureFixture) -> None:
    script = _refusing(403, b"<html>no</html>", f"Set-Cookie: kuzzle-sid={SECRET}")
    caught: list[kuzzle_errors.KuzzleError] = []
    with raw_server(script) as server, caplog.at_level(logging.ERROR):
        try:
            KuzzleWebSocket(f"ws://127.0.0.1:{server.port}", timeout=2)
        except kuzzle_errors.KuzzleError as error:
            logging.getLogger("test").exception("refused")
            caught.append(error)
    assert isinstance(caught[0], kuzzle_errors.ForbiddenError)
    assert not caught[0].retryable
    assert "refused" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("status", "retryable"), [(404, False), (401, False), (503, True), (502, True)]
)
def test_a_handshake_refusal_is_classed_by_its_status(status: int, retryable: bool) -> None:
    with (
        raw_server(_refusing(status, b"")) as server,
        pytest.raises(kuzzle_errors.KuzzleError) as info,
    ):
        KuzzleWebSocket(f"ws://127.0.0.1:{server.port}", timeout=2)
    assert info.value.http_status == status
    assert info.value.retryable is retryable
    if retryable:
        assert info.value.retry_hint.replay_safe  # nothing but the handshake was sent


def test_a_password_in_the_url_is_not_shown() -> None:
    port = unused_port()
    with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
        KuzzleWebSocket(f"ws://admin:hunter2pass@127.0.0.1:{port}", timeout=1)
    assert "hunter2pass" not in info.value.message
    assert "hunter2pass" not in str(info.value)


def test_close_during_a_connect_leaves_no_thread_behind() -> None:
    before = threading.active_count()
    test_close_from_another_thread_never_waits_on_a_connect()
    deadline = time.monotonic() + WAIT
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before


def test_a_password_in_the_url_is_not_shown_once_connected() -> None:
    with raw_server(_slow_frame_then_echo(0.2)) as server:
        url = f"ws://admin:hunter2pass@127.0.0.1:{server.port}"
        with KuzzleWebSocket(url, timeout=5, max_frame_bytes=1024) as kuzzle:
            assert "hunter2pass" not in repr(kuzzle)
            with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
                kuzzle.query(NOW)
            names = [t.name for t in threading.enumerate()]
    assert "hunter2pass" not in info.value.message
    assert not any("hunter2pass" in name for name in names)
