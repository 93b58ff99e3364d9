"""KuzzleHTTP against hostile loopback servers and odd answers: dripped heads and bodies, gzip
bombs, redirect loops, bare pre-routing errors, secrets in headers and URLs."""

from __future__ import annotations

import gzip
import json
import logging
import pickle
import socket
import time
import traceback
import zlib

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


def _envelope(result: object) -> bytes:
    return json.dumps({"status": 200, "error": None, "result": result, "requestId": "r"}).encode()


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


@pytest.mark.parametrize("what", ["head", "body"])
def test_the_timeout_bounds_the_whole_call(what: str) -> None:
    stopping = [False]
    with raw_server(_dripping(what, stopping)) as server:
        with KuzzleHTTP(f"http://127.0.0.1:{server.port}", timeout=1) as kuzzle:
            started = time.monotonic()
            with pytest.raises(kuzzle_errors.RequestTimeoutError) as info:
                kuzzle.query(CREATE)
            elapsed = time.monotonic() - started
        stopping[0] = True
    assert elapsed < 3.0  # about 1 s, not the 20-30 s a per-read timeout allows
    assert info.value.retry_hint.retryable
    assert not info.value.retry_hint.replay_safe  # sent: it may have run
    assert info.value.action == "create"


def _ending_at_close(body: bytes, stopping: list[bool]) -> Script:
    """An answer with neither Content-Length nor chunks (it ends when the connection closes):
    its body dripped, or (empty ``body``) never started."""

    def script(conn: socket.socket, n: int) -> None:
        head = read_head(conn)
        read_body(conn, head)
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Kuzzle-Node: knode-1\r\nConnection: close\r\n\r\n")
        drip(conn, body or b"\0" * 100, 0.25, lambda: stopping[0] or not body)
        while not stopping[0]:
            time.sleep(0.05)

    return script


@pytest.mark.parametrize(
    "body", [b"a plugin's raw text result, dripped", b""], ids=["drip", "none"]
)
def test_the_timeout_bounds_a_body_that_ends_at_close(body: bytes) -> None:
    # http.client lets go of conn.sock for such an answer: the deadline must still cut it, and
    # the end of file the cut makes is not the end of the body (a raw result would be cut).
    stopping = [False]
    with raw_server(_ending_at_close(body, stopping)) as server:
        kuzzle = KuzzleHTTP(f"http://127.0.0.1:{server.port}", timeout=1)
        started = time.monotonic()
        with kuzzle, pytest.raises(kuzzle_errors.RequestTimeoutError) as info:
            kuzzle.query(CREATE)
        elapsed = time.monotonic() - started
        stopping[0] = True
    assert elapsed < 3.0  # about 1 s, not until the server stops
    assert not info.value.retry_hint.replay_safe  # sent: it may have run
    assert info.value.action == "create"


def _gzip_bomb(megabytes: int) -> bytes:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1024 * 1024)
    parts = [squeeze.compress(zeros) for _ in range(megabytes)]
    return b"".join(parts) + squeeze.flush()


def _serving(answer: bytes, count: list[int]) -> Script:
    def script(conn: socket.socket, n: int) -> None:
        while True:
            head = read_head(conn)
            if not head:
                return
            read_body(conn, head)
            count[0] += 1
            conn.sendall(answer)

    return script


def test_a_gzip_bomb_under_an_error_status_is_not_inflated_past_the_cap() -> None:
    bomb = _gzip_bomb(256)  # 256 MiB of zeros in about 250 KB
    answer = _answer(502, bomb, "Content-Encoding: gzip", "Content-Type: text/html")
    count = [0]
    with raw_server(_serving(answer, count)) as server:
        url = f"http://127.0.0.1:{server.port}"
        with KuzzleHTTP(url, timeout=10, max_error_bytes=1024 * 1024) as kuzzle:
            started = time.monotonic()
            with pytest.raises(kuzzle_errors.KuzzleError) as info:
                kuzzle.query(CREATE)
            elapsed = time.monotonic() - started
    error = info.value
    assert error.http_status == 502
    assert error.retryable  # a 502 stays what its status says
    assert "cut at 1048576 bytes" in (error.problem or "")
    assert isinstance(error.http_response, requests.Response)
    assert error.http_response.content == b"\0" * (1024 * 1024)  # what was read is kept
    assert elapsed < 5.0


def test_a_compressed_success_is_decoded() -> None:
    result = {"hits": ["x" * 100] * 50_000}  # about 5 MB of JSON
    body = gzip.compress(_envelope(result))
    answer = _answer(200, body, "Content-Encoding: gzip", "Content-Type: application/json")
    with (
        raw_server(_serving(answer, [0])) as server,
        KuzzleHTTP(f"http://127.0.0.1:{server.port}", timeout=10) as kuzzle,
    ):
        assert kuzzle.query({"controller": "document", "action": "search"}) == result


def test_a_success_past_max_body_bytes_is_not_returned() -> None:
    answer = _answer(200, _envelope("x" * 100_000), "Content-Type: application/json")
    with raw_server(_serving(answer, [0])) as server:
        url = f"http://127.0.0.1:{server.port}"
        with (
            KuzzleHTTP(url, timeout=10, max_body_bytes=10_000) as kuzzle,
            pytest.raises(kuzzle_errors.InvalidResponseError) as info,
        ):
            kuzzle.query(CREATE)
    assert not info.value.retryable
    assert len(info.value.http_response.content) == 10_000


def test_a_redirect_loop_is_not_followed_and_not_retryable() -> None:
    count = [0]
    answer = _answer(307, b"", "Location: /_query")
    with (
        raw_server(_serving(answer, count)) as server,
        KuzzleHTTP(f"http://127.0.0.1:{server.port}", timeout=5) as kuzzle,
        pytest.raises(kuzzle_errors.KuzzleError) as info,
    ):
        kuzzle.query(CREATE)
    assert count[0] == 1  # the POST body was sent once
    assert info.value.http_status == 307
    assert not info.value.retryable


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
