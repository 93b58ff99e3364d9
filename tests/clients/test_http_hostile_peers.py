"""KuzzleHTTP against loopback servers and odd answers: a compressed success, a session passed
in against a dripped body, bare pre-routing errors, secrets in headers and URLs. The hostile
peers every client meets (drips, bombs, redirect loops...) are in test_hostile_peer_matrix.py."""

from __future__ import annotations

import gzip
import json
import logging
import pickle
import socket
import time
import traceback
from collections.abc import Callable

import pytest
import requests
import responses
from raw_server import Script, drip, raw_server, read_body, read_head, unused_port

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJfaWQiOiJhZG1pbiIsImlhdCI6MTcwMDAwMDAwMH0."
    "c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl"
)
CREATE = {"controller": "document", "action": "create", "index": "i", "collection": "c"}


def _answer(status: int, body: bytes, *headers: str) -> bytes:
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{h}\r\n" for h in headers)
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _envelope(result: object, request_id: str = "r") -> bytes:
    envelope = {"status": 200, "error": None, "result": result, "requestId": request_id}
    return json.dumps(envelope).encode()


def _dripping(what: str, stopping: list[bool]) -> Script:
    def script(conn: socket.socket, n: int) -> None:
        head = read_head(conn)
        read_body(conn, head)
        answer = _answer(200, _envelope({"ok": True}), "Content-Type: application/json")
        if what == "head":
            drip(conn, answer, 0.5, lambda: stopping[0])
        else:
            top, _, body = answer.partition(b"\r\n\r\n")
            conn.sendall(top + b"\r\n\r\n")
            drip(conn, body, 0.5, lambda: stopping[0])

    return script


def _serving(answer: Callable[[str], bytes]) -> Script:
    """Answer every request with ``answer(its request id)``."""

    def script(conn: socket.socket, n: int) -> None:
        while True:
            head = read_head(conn)
            if not head:
                return
            read_body(conn, head)
            request_id = head.split(b"X-Kuzzle-Request-Id: ", 1)[1].split(b"\r\n", 1)[0]
            conn.sendall(answer(request_id.decode()))

    return script


def test_a_compressed_success_is_decoded() -> None:
    result = {"hits": ["x" * 100] * 50_000}  # about 5 MB of JSON

    def answer(request_id: str) -> bytes:
        body = gzip.compress(_envelope(result, request_id))
        return _answer(200, body, "Content-Encoding: gzip", "Content-Type: application/json")

    with (
        raw_server(_serving(answer)) as server,
        KuzzleHTTP(f"http://127.0.0.1:{server.port}", timeout=10) as kuzzle,
    ):
        assert kuzzle.query({"controller": "document", "action": "search"}) == result


# -- what Kuzzle sends before routing -----------------------------------------------------------


@responses.activate
def test_a_bare_pre_routing_error_gets_the_context_of_the_request_sent() -> None:
    bare = {
        "status": 413,
        "id": "network.http.request_too_large",
        "code": 50397193,
        "message": "Maximum HTTP request size exceeded.",
    }
    responses.add(responses.POST, "http://kuzzle:7512/_query", json=bare, status=413)
    with (
        KuzzleHTTP("http://kuzzle:7512", jwt=JWT) as kuzzle,
        pytest.raises(kuzzle_errors.KuzzleError) as info,
    ):
        kuzzle.query(CREATE)
    error = info.value
    assert error.id == "network.http.request_too_large"
    assert (error.controller, error.action) == ("document", "create")
    assert (error.index, error.collection) == ("i", "c")
    assert isinstance(error.http_response, requests.Response)
    assert error.http_response.status_code == 413
    assert "Response" not in repr(error)
    copy = pickle.loads(pickle.dumps(error))
    assert copy.http_response is None
    assert JWT.encode() not in pickle.dumps(error)  # the response's request had the token


def test_a_bad_token_header_never_shows_the_token(caplog: pytest.LogCaptureFixture) -> None:
    with KuzzleHTTP("http://127.0.0.1:9", jwt=JWT + "\n") as kuzzle:
        with pytest.raises(kuzzle_errors.KuzzleError) as info:
            kuzzle.query(CREATE)
        with caplog.at_level(logging.ERROR):
            try:
                kuzzle.query(CREATE)
            except kuzzle_errors.KuzzleError:
                logging.getLogger("test").exception("failed")
    error = info.value
    assert not error.retryable
    assert JWT not in "".join(traceback.format_exception(error))
    assert JWT[:40] not in caplog.text
    assert "header" in str(error).lower()  # the useful fact is kept


def test_a_password_in_the_url_is_not_shown() -> None:
    port = unused_port()
    with KuzzleHTTP(f"http://admin:hunter2pass@127.0.0.1:{port}", timeout=2) as kuzzle:
        with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
            kuzzle.query(CREATE)
        assert "hunter2pass" not in repr(kuzzle)
    error = info.value
    assert "hunter2pass" not in error.message
    assert "hunter2pass" not in "".join(traceback.format_exception(error))


def test_a_session_passed_in_gets_the_total_deadline_with_the_adapter() -> None:
    from kuzzle_errors.http import DeadlineAdapter

    stopping = [False]
    session = requests.Session()
    session.mount("http://", DeadlineAdapter())
    with raw_server(_dripping("body", stopping)) as server:
        kuzzle = KuzzleHTTP(f"http://127.0.0.1:{server.port}", session=session, timeout=1)
        started = time.monotonic()
        with pytest.raises(kuzzle_errors.RequestTimeoutError):
            kuzzle.query(CREATE)
        elapsed = time.monotonic() - started
        stopping[0] = True
    session.close()
    assert elapsed < 3.0
