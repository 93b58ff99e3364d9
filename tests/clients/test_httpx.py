"""``kuzzle_errors.httpx`` against the real stub on loopback: helpers, hook, AsyncKuzzleHTTP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from async_helpers import fast_policy
from common import NOW
from raw_server import Script, drip, raw_server, read_head, replying, unused_port

import kuzzle_errors
from kuzzle_errors.httpx import (
    AsyncKuzzleHTTP,
    error_from_response,
    install,
    raise_for_kuzzle,
    uninstall,
)
from kuzzle_errors.testing import StubKuzzle

pytestmark = pytest.mark.anyio


@pytest.fixture
async def kuzzle(stub: StubKuzzle) -> AsyncIterator[AsyncKuzzleHTTP]:
    async with AsyncKuzzleHTTP(stub.url, timeout=5.0) as client:
        yield client


# -- the helpers on plain httpx responses ------------------------------------------------------


def test_error_from_a_response_built_by_hand() -> None:
    resp = httpx.Response(
        503,
        json={"status": 503, "error": {"id": "api.process.overloaded", "status": 503}},
        headers={"X-Kuzzle-Node": "knode-1"},
    )
    error = error_from_response(resp)
    assert isinstance(error, kuzzle_errors.error_class("api.process.overloaded"))
    assert error.node == "knode-1"
    assert error.retry_hint.replay_safe
    with pytest.raises(kuzzle_errors.ServiceUnavailableError):
        raise_for_kuzzle(resp)
    assert error_from_response(httpx.Response(200, json={"status": 200, "result": 1})) is None


def test_sync_client_helpers_and_hook(stub: StubKuzzle) -> None:
    stub.fail("document", "get", "services.storage.not_found", "x", "i", "c")
    with httpx.Client() as client:
        resp = client.post(f"{stub.url}/_query", json={"controller": "document", "action": "get"})
        error = error_from_response(resp)
        assert isinstance(error, kuzzle_errors.NotFoundError)
        assert error.request_id == stub.requests[-1].request_id
        install(client)
        with pytest.raises(kuzzle_errors.error_class("network.http.body_parse_failed")):
            client.post(f"{stub.url}/_query", content=b"{oops")
        # A success passes untouched, its body still readable.
        assert client.post(f"{stub.url}/_query", json=NOW).json()["result"]["now"] > 0
        # Streamed: the hook reads the error body itself.
        stub.overload(times=1)
        with (
            pytest.raises(kuzzle_errors.ServiceUnavailableError),
            client.stream("POST", f"{stub.url}/_query", json=NOW),
        ):
            pass  # pragma: no cover - the hook raises first
        install(client)  # twice: still one hook
        assert (
            sum(h.__class__.__name__ == "_KuzzleHook" for h in client.event_hooks["response"]) == 1
        )
        uninstall(client)
        stub.overload(times=1)
        assert client.post(f"{stub.url}/_query", json=NOW).status_code == 503


async def test_async_client_hook(stub: StubKuzzle) -> None:
    async with httpx.AsyncClient() as client:
        install(client)
        with pytest.raises(kuzzle_errors.error_class("network.http.url_not_found")):
            await client.get(f"{stub.url}/no/such/route/at/all")
        stub.overload(times=1)
        with pytest.raises(kuzzle_errors.ServiceUnavailableError) as info:
            await client.post(f"{stub.url}/_query", json=NOW)
        assert info.value.retry_hint.replay_safe
        resp = await client.post(f"{stub.url}/_query", json=NOW)
        assert resp.json()["result"]["now"] > 0
        # A 206 is Kuzzle's partial failure: parsed even though it is a 2xx.
        stub.fail(
            "document",
            "mCreate",
            "services.storage.incomplete_create",
            result={"successes": [], "errors": [{"_id": "a", "status": 400, "reason": "no"}]},
        )
        with pytest.raises(kuzzle_errors.PartialError):
            await client.post(
                f"{stub.url}/_query", json={"controller": "document", "action": "mCreate"}
            )
        uninstall(client)
        assert (await client.get(f"{stub.url}/no/such/route/at/all")).status_code == 404


def answering(status: int, body: bytes) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(
            status, content=body, headers={"Content-Type": "application/json"}
        )
    )


def test_hook_lets_an_error_status_without_an_error_through_with_its_body() -> None:
    body = b'{"status":200,"result":{"ok":true}}'  # a success envelope under a 404
    with httpx.Client(transport=answering(404, body)) as client:
        install(client)
        assert client.get("http://kuzzle/x").json()["result"] == {"ok": True}
        with client.stream("GET", "http://kuzzle/x") as resp:
            assert resp.read() == body


async def test_hook_reads_only_the_start_of_a_huge_error_body() -> None:
    body = b'{"status":500,"error":{"id":"core.fatal.unexpected_error","message":"' + b"x" * (
        3 * 1024 * 1024
    )
    transport = answering(500, body)
    async with httpx.AsyncClient(transport=transport) as client:
        install(client)
        with pytest.raises(kuzzle_errors.InternalError) as info:
            await client.get("http://kuzzle/x")
        assert "first 1048576 bytes" in (info.value.problem or "")
    body = b'{"status":200,"result":{"ok":true}}'
    async with httpx.AsyncClient(transport=answering(400, body)) as client:
        install(client)
        assert (await client.get("http://kuzzle/x")).json()["status"] == 200


# -- AsyncKuzzleHTTP ------------------------------------------------------------------------------


async def test_result_login_and_jwt(stub: StubKuzzle, kuzzle: AsyncKuzzleHTTP) -> None:
    assert (await kuzzle.query(NOW))["now"] > 0
    stub.add_user("admin", "secret")  # as in Kuzzle, a login needs a user
    token = await kuzzle.login({"username": "admin", "password": "secret"})
    assert token and kuzzle.jwt == token
    await kuzzle.query(NOW)
    assert stub.requests[-1].jwt == token


async def test_a_pre_routing_error_names_the_action_we_sent(stub: StubKuzzle) -> None:
    async with AsyncKuzzleHTTP(stub.url, timeout=5.0) as kuzzle:
        stub.configure(max_request_size=10)
        with pytest.raises(kuzzle_errors.SizeLimitError) as info:
            await kuzzle.query(
                {"controller": "document", "action": "create", "body": {"x": "y" * 50}}
            )
    assert (info.value.controller, info.value.action) == ("document", "create")
    assert info.value.request_id is not None


async def test_overload_is_retried_through_acall(stub: StubKuzzle, kuzzle: AsyncKuzzleHTTP) -> None:
    stub.overload(times=2)
    stub.add_collection("i", "c")
    kuzzle.retry = fast_policy()
    create = {"controller": "document", "action": "create", "index": "i", "collection": "c"}
    assert await kuzzle.query({**create, "body": {}})
    assert stub.count("document", "create") == 3


async def test_connection_refused_is_replay_safe() -> None:
    async with AsyncKuzzleHTTP(f"http://127.0.0.1:{unused_port()}", timeout=2.0) as kuzzle:
        with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
            await kuzzle.query(NOW)
    assert info.value.retry_hint.replay_safe
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.transport == "http"


async def test_a_timeout_after_sending_is_not_replay_safe(stub: StubKuzzle) -> None:
    stub.slow("document", "create", 3.0)
    async with AsyncKuzzleHTTP(stub.url, timeout=0.3, retry=fast_policy()) as kuzzle:
        with pytest.raises(kuzzle_errors.RequestTimeoutError) as info:
            await kuzzle.query({"controller": "document", "action": "create", "body": {}})
    error = info.value
    assert error.retry_hint.retryable and not error.retry_hint.replay_safe
    assert isinstance(error.__cause__, (asyncio.TimeoutError, httpx.TimeoutException))
    assert (error.controller, error.action) == ("document", "create")
    assert stub.count("document", "create") == 1  # not replayed: it may still run


async def test_a_dropped_connection_is_not_replay_safe(
    stub: StubKuzzle, kuzzle: AsyncKuzzleHTTP
) -> None:
    stub.drop("server", "now")
    with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
        await kuzzle.query(NOW)
    assert info.value.retry_hint.retryable and not info.value.retry_hint.replay_safe
    assert isinstance(info.value.__cause__, httpx.TransportError)
    kuzzle.retry = fast_policy()
    stub.drop("server", "now")
    assert "now" in await kuzzle.query(NOW, idempotent=True)


@contextlib.asynccontextmanager
async def client_of(script: Script, **options: Any) -> AsyncIterator[AsyncKuzzleHTTP]:
    """An AsyncKuzzleHTTP talking to a :func:`raw_server` that runs ``script``."""
    with raw_server(script) as server:
        async with AsyncKuzzleHTTP(f"http://127.0.0.1:{server.port}", **options) as kuzzle:
            yield kuzzle


async def test_the_timeout_bounds_the_whole_call_not_each_read() -> None:
    def dripping(conn: socket.socket, n: int) -> None:
        read_head(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        drip(conn, b" " * 100, 0.1, lambda: False)  # until the server hangs up

    async with client_of(dripping, timeout=0.5) as kuzzle:
        started = time.monotonic()
        with pytest.raises(kuzzle_errors.RequestTimeoutError) as info:
            await kuzzle.query(NOW)
        assert time.monotonic() - started < 2.0
    assert not info.value.retry_hint.replay_safe


async def test_the_body_read_is_bounded(stub: StubKuzzle) -> None:
    stub.respond("server", "now", "x" * 5000)
    async with AsyncKuzzleHTTP(stub.url, timeout=5.0, max_body_bytes=1000) as kuzzle:
        with pytest.raises(kuzzle_errors.InvalidResponseError) as info:
            await kuzzle.query(NOW)
    assert "max_body_bytes" in str(info.value)
    assert not info.value.retry_hint.retryable
    assert info.value.action == "now"
    assert len(info.value.http_response.content) <= 1000


async def test_an_error_body_is_cut_but_keeps_its_class(stub: StubKuzzle) -> None:
    stub.fail("server", "now", "api.process.overloaded", result="x" * 5000)
    async with AsyncKuzzleHTTP(stub.url, timeout=5.0, max_error_bytes=100) as kuzzle:
        with pytest.raises(kuzzle_errors.ServiceUnavailableError) as info:
            await kuzzle.query(NOW)
    assert "cut at 100 bytes" in (info.value.problem or "")
    assert info.value.action == "now"  # the id was in the part cut: the class of the status


async def test_a_gzip_bomb_stops_at_the_cap() -> None:
    import gzip

    bomb = gzip.compress(b"[" + b"{}," * 20_000_000 + b"{}]")  # 60 MB inflated, 60 KB sent

    answer = replying(
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
        b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb
    )
    async with client_of(answer, timeout=5.0, max_error_bytes=4096) as kuzzle:
        with pytest.raises(kuzzle_errors.InternalError) as info:
            await kuzzle.query(NOW)
    assert "cut at 4096 bytes" in (info.value.problem or "")
    assert len(info.value.http_response.content) <= 4096


async def test_a_broken_gzip_body_is_an_invalid_response() -> None:
    answer = replying(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!"
    )
    async with client_of(answer, timeout=5.0) as kuzzle:
        with pytest.raises(kuzzle_errors.InvalidResponseError) as info:
            await kuzzle.query(NOW)
    assert "decompressing" in (info.value.problem or "")


async def test_a_proxy_page_is_not_a_result(stub: StubKuzzle, kuzzle: AsyncKuzzleHTTP) -> None:
    stub.proxy_error(502, retry_after=4)
    with pytest.raises(kuzzle_errors.KuzzleError) as info:
        await kuzzle.query(NOW)
    error = info.value
    assert error.http_status == 502
    assert error.retry_after == 4.0
    assert error.problem and "HTML" in error.problem
    assert await kuzzle.query(NOW)  # the proxy recovered


async def test_a_2xx_that_is_not_kuzzle_raises() -> None:
    portal = replying(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\n<html>"
    )
    async with client_of(portal, timeout=2.0) as kuzzle:
        with pytest.raises(kuzzle_errors.InvalidResponseError) as info:
            await kuzzle.query(NOW)
    assert info.value.raw == b"<html>"


async def test_many_concurrent_queries_share_one_client(
    stub: StubKuzzle, kuzzle: AsyncKuzzleHTTP
) -> None:
    stub.slow("document", "create", (0.0, 0.03))
    stub.add_collection("i", "c")
    create = {"controller": "document", "action": "create", "index": "i", "collection": "c"}
    results = await asyncio.gather(
        *(kuzzle.query({**create, "_id": f"d{i}", "body": {}}) for i in range(50))
    )
    assert [r["_id"] for r in results] == [f"d{i}" for i in range(50)]


async def test_a_user_client_is_not_closed() -> None:
    client = httpx.AsyncClient()
    async with AsyncKuzzleHTTP("http://127.0.0.1:1", client=client):
        pass
    assert not client.is_closed
    await client.aclose()


def test_bad_timeout() -> None:
    with pytest.raises(ValueError):
        AsyncKuzzleHTTP("http://x", timeout=0)


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.abcdefghijkl"


def everything_shown(error: BaseException) -> str:
    import json
    import pickle
    import traceback

    assert isinstance(error, kuzzle_errors.KuzzleError)
    return "\n".join(
        [
            str(error),
            repr(error),
            str(error.args),
            json.dumps(error.to_dict(), default=str),
            "".join(traceback.format_exception(error)),
            str(pickle.loads(pickle.dumps(error))),
        ]
    )


async def test_no_secret_in_a_transport_error_or_its_chained_cause(stub: StubKuzzle) -> None:
    # An illegal header value is refused before httpx (and h11) could quote it in an error.
    async with AsyncKuzzleHTTP(stub.url, timeout=2.0, jwt=JWT + "\n") as kuzzle:
        with pytest.raises(kuzzle_errors.BadRequestError) as info:
            await kuzzle.query(NOW)
    assert not info.value.retry_hint.retryable
    assert info.value.__cause__ is not None and stub.count() == 0
    assert "abcdefghijkl" not in everything_shown(info.value)
    url = f"http://admin:hunter2@127.0.0.1:{unused_port()}"
    async with AsyncKuzzleHTTP(url, timeout=2.0) as kuzzle:
        with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
            await kuzzle.query(NOW)
    assert "hunter2" not in everything_shown(info.value)


async def test_a_long_transport_failure_text_is_cut_with_a_marker() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("x" * 1000)

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client,
        AsyncKuzzleHTTP("http://kuzzle", client=client) as kuzzle,
    ):
        with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
            await kuzzle.query(NOW)
    assert info.value.retry_hint.replay_safe
    assert "x" * 300 + "… [cut: 1000 characters]" in info.value.message
