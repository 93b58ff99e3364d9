"""Stopping the stub closes every connection it accepted, whatever state each one is in.

A server-side socket left open when the stub's loop ends is collected later, in whichever test
runs then: with ``filterwarnings = error`` its ResourceWarning fails that test. The race is made
likely here: many connections (kept-alive HTTP, a request in flight, just connected, WebSocket),
the loop held busy, then ``stop()`` at once.
"""

from __future__ import annotations

import gc
import socket
import sys
from collections.abc import Iterator

import pytest
import requests
import websocket

from kuzzle_errors.testing import StubKuzzle

ROUNDS = 8
SOCKETS = 40


@pytest.fixture
def unraisable() -> Iterator[list[str]]:
    """What ``__del__`` methods failed to report (an unclosed socket's ResourceWarning)."""
    seen: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda u: seen.append(f"{u.exc_type.__name__}: {u.exc_value}")
    try:
        yield seen
    finally:
        gc.collect()
        sys.unraisablehook = previous


def reaches_end(sock: socket.socket) -> bool:
    """True once the stub has closed its side (end of file or reset), within 5 s."""
    sock.settimeout(5.0)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


def one_round(busy: bool) -> list[socket.socket]:
    stub = StubKuzzle().start()
    session = requests.Session()  # one kept-alive connection, idle when stop() comes
    session.post(stub.url + "/_query", json={"controller": "server", "action": "now"})
    ws = websocket.create_connection(stub.ws_url, timeout=5)
    # Busy: every other socket pipelines many requests, so the loop is still answering them,
    # and still accepting the last sockets, when stop() comes.
    pipelined = b"GET /_now HTTP/1.1\r\nHost: x\r\n\r\n" * (50 if busy else 1)
    raw = []
    for i in range(SOCKETS):  # some idle, some with requests the stub has not read yet
        sock = socket.create_connection(("127.0.0.1", stub.port), timeout=5)
        if i % 2:
            sock.sendall(pipelined)
        raw.append(sock)
    stub.stop()
    session.close()
    ws.close()
    return raw


@pytest.mark.parametrize("busy", [False, True], ids=["quiet", "busy"])
def test_stop_closes_every_accepted_connection(busy: bool, unraisable: list[str]) -> None:
    for _ in range(ROUNDS):
        raw = one_round(busy)
        try:
            assert all(reaches_end(sock) for sock in raw)
        finally:
            for sock in raw:
                sock.close()
        gc.collect()
    assert unraisable == []


def test_start_right_after_a_halt_serves_again() -> None:
    """``shutdown()`` halts the node; ``start()`` called as soon as its sockets end must
    restart it, even while the old node is still closing a connection that reads nothing
    (its answer stuck in the send buffer until the grace period aborts it)."""
    stub = StubKuzzle().start()
    stalled = socket.socket()
    try:
        stub.add_document("shop", "orders", "big", {"blob": "x" * (8 << 20)})
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", stub.port))
        stalled.sendall(b"GET /shop/orders/big HTTP/1.1\r\nHost: x\r\n\r\n")
        assert len(stub.wait_for_requests(1)) == 1
        ws = websocket.create_connection(stub.ws_url, timeout=5)
        try:
            stub.shutdown()
            with pytest.raises(websocket.WebSocketConnectionClosedException):
                ws.recv()  # the node halted: its sockets end
        finally:
            ws.close()
        stub.start()
        assert stub.running
        answer = requests.get(f"{stub.url}/shop/orders/big", timeout=5)
        assert answer.status_code == 200
    finally:
        stalled.close()
        stub.stop()
