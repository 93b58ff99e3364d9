"""The stub's HTTP/1.1 framing: keep-alive like Kuzzle, and a 400 for broken framing.

Raw sockets on loopback send what ``requests`` never would (bad chunk sizes, huge size lines,
absurdly nested JSON); the stub must answer each like Kuzzle, never crash its handler.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator

import pytest
import requests

from kuzzle_errors import BadRequestError, parse_response
from kuzzle_errors.testing import StubKuzzle

TIMEOUT = 5.0


@pytest.fixture
def stub(caplog: pytest.LogCaptureFixture) -> Iterator[StubKuzzle]:
    with caplog.at_level(logging.ERROR, logger="kuzzle_errors.testing"), StubKuzzle() as kuzzle:
        yield kuzzle
    # A crashed connection handler logs its traceback here (and sends no answer).
    assert [r.getMessage() for r in caplog.records] == []


def exchange(stub: StubKuzzle, raw: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """Send ``raw``, read one answer: (status line, headers, body)."""
    with socket.create_connection(("127.0.0.1", stub.port), timeout=TIMEOUT) as sock:
        sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed with no answer: {data!r}"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            assert chunk
            body += chunk
    return status.encode(), headers, body


def chunked(first_line: bytes) -> bytes:
    return (
        b"POST /_query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + first_line + b"\r\n{}\r\n0\r\n\r\n"
    )


def assert_bare_400(status: bytes, headers: dict[str, str], body: bytes, error_id: str) -> None:
    assert status == b"HTTP/1.1 400"
    assert headers["content-type"] == "application/json"
    assert "x-kuzzle-request-id" not in headers  # refused before routing: the bare error
    error = json.loads(body)
    assert error["id"] == error_id
    assert error["status"] == 400
    parsed = parse_response(body, http_status=400, transport="http")
    assert isinstance(parsed, BadRequestError)
    assert parsed.id == error_id


def test_one_session_makes_100_calls_over_one_connection(stub: StubKuzzle) -> None:
    with requests.Session() as session:
        statuses = {
            session.post(
                f"{stub.url}/_query",
                json={"controller": "server", "action": "now"},
                timeout=TIMEOUT,
            ).status_code
            for _ in range(100)
        }
    assert statuses == {200}
    assert len(stub.requests) == 100
    assert {r.connection for r in stub.requests} == {stub.requests[0].connection}


def test_keep_alive_survives_bodies_errors_and_rest_routes(stub: StubKuzzle) -> None:
    with requests.Session() as session:
        session.put(f"{stub.url}/i/c", json={}, timeout=TIMEOUT)
        session.put(f"{stub.url}/i/c/d1", json={"a": 1}, timeout=TIMEOUT)
        missing = session.get(f"{stub.url}/i/c/nope", timeout=TIMEOUT)
        bad = session.post(
            f"{stub.url}/_query",
            data="{oops",
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT,
        )
        got = session.get(f"{stub.url}/i/c/d1", timeout=TIMEOUT)
    assert (missing.status_code, bad.status_code, got.status_code) == (404, 400, 200)
    assert len({r.connection for r in stub.requests}) == 1


@pytest.mark.parametrize(
    "size_line", [b"ZZ", b"-5", b"1" * (100 * 1024)], ids=["not-hex", "negative", "over-64k"]
)
def test_a_broken_chunk_size_is_a_bare_400(stub: StubKuzzle, size_line: bytes) -> None:
    status, headers, body = exchange(stub, chunked(size_line))
    assert_bare_400(status, headers, body, "network.http.unexpected_error")
    assert [r.status for r in stub.requests] == [400]


def test_json_nested_100000_deep_is_a_bare_400(stub: StubKuzzle) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    raw = (
        b"POST /_query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(deep), deep)
    )
    status, headers, body = exchange(stub, raw)  # 200 KB: under the 1 MB default limit
    assert_bare_400(status, headers, body, "network.http.body_parse_failed")
    assert json.loads(body)["props"] == ["[" * 50]


def test_nested_json_in_the_volatile_header_is_refused_not_crashed(stub: StubKuzzle) -> None:
    resp = requests.post(
        f"{stub.url}/_query",
        json={"controller": "server", "action": "now"},
        headers={"X-Kuzzle-Volatile": "[" * 60_000},
        timeout=TIMEOUT,
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["id"] == "network.http.volatile_parse_failed"


def test_a_broken_request_line_is_a_400_and_a_huge_head_a_431(stub: StubKuzzle) -> None:
    status, headers, _ = exchange(stub, b"NOT A REQUEST\r\n\r\n")
    assert status == b"HTTP/1.1 400"
    assert headers["connection"] == "close"
    huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (100 * 1024) + b"\r\n\r\n"
    status, _, _ = exchange(stub, huge)
    assert status == b"HTTP/1.1 431"
