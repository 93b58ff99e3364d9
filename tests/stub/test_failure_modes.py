"""The failure modes the stub plays do what their docstrings say, as Kuzzle 2.56 does them:
a shutdown (SIGTERM), a drop before or after the request ran, an expired token; and the
options that cannot be played are refused with a ValueError."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket
from ws_helpers import hang_up, recv, send

from kuzzle_errors.testing import StubKuzzle

TIMEOUT = 5.0
ORDERS = {"index": "shop", "collection": "orders"}


def ending(ws: websocket.WebSocket) -> str:
    """How the server ended the connection: ``"eof"`` (no close frame) or ``"close CODE"``;
    a frame that is not the end is an error."""
    try:
        opcode, frame = ws.recv_data_frame(control_frame=True)
    except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
        return "eof"
    if opcode == websocket.ABNF.OPCODE_CLOSE:
        code = struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else None
        return f"close {code}"
    raise AssertionError(f"a frame, not the end: {frame.data!r}")


def silent(ws: websocket.WebSocket, seconds: float = 0.3) -> bool:
    """Nothing arrives within ``seconds`` (the connection may stay open)."""
    ws.settimeout(seconds)
    try:
        ws.recv()
    except websocket.WebSocketTimeoutException:
        return True
    finally:
        ws.settimeout(TIMEOUT)
    return False


@pytest.fixture
def shop() -> Iterator[StubKuzzle]:
    with StubKuzzle() as stub:
        stub.add_collection("shop", "orders")
        stub.add_document("shop", "orders", "o-1", {"total": 1})
        yield stub


def subscribe(stub: StubKuzzle, **extra: Any) -> websocket.WebSocket:
    ws = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
    send(ws, "sub", "realtime", "subscribe", **ORDERS, body={}, **extra)
    assert recv(ws)["status"] == 200
    return ws


# -- shutdown: Kuzzle 2.56 on SIGTERM ---------------------------------------------------------


def test_a_shutdown_answers_in_flight_requests_refuses_new_ones_then_ends_every_socket(
    shop: StubKuzzle,
) -> None:
    subscriber = subscribe(shop)
    busy = websocket.create_connection(shop.ws_url, timeout=TIMEOUT)
    kept_alive = requests.Session()
    assert kept_alive.get(f"{shop.url}/_now", timeout=TIMEOUT).status_code == 200
    shop.slow("document", "get", 0.6)
    send(busy, "in-flight", "document", "get", **ORDERS, _id="o-1")
    shop.wait_for_requests(3)

    shop.shutdown()
    send(busy, "new", "server", "now")
    refused_ws = recv(busy)
    refused_http = requests.post(
        f"{shop.url}/_query", json={"controller": "server", "action": "now"}, timeout=TIMEOUT
    )
    ready = requests.get(f"{shop.url}/_ready", timeout=TIMEOUT).status_code
    alive = requests.get(f"{shop.url}/_healthcheck", timeout=TIMEOUT).status_code
    answered = recv(busy)  # the request in flight still gets its answer

    assert (refused_ws["room"], refused_ws["status"]) == ("new", 503)
    assert refused_ws["error"]["id"] == "network.entrypoint.shutting_down"
    assert refused_http.status_code == 503
    assert refused_http.json()["error"]["id"] == "api.process.shutting_down"
    assert (ready, alive) == (503, 200)
    assert (answered["room"], answered["status"]) == ("in-flight", 200)
    # Then every socket ends without a close frame, the subscriber's without a notification.
    assert ending(busy) == "eof"
    assert ending(subscriber) == "eof"
    hang_up(busy)
    hang_up(subscriber)
    deadline = time.monotonic() + TIMEOUT
    while shop.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not shop.running
    with pytest.raises(requests.ConnectionError):
        kept_alive.get(f"{shop.url}/_now", timeout=TIMEOUT)
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", shop.port), timeout=TIMEOUT),
    ):
        pass
    kept_alive.close()

    port = shop.port
    shop.start()  # a restarted node: same port, same data, no subscription
    assert shop.port == port
    assert requests.get(f"{shop.url}/shop/orders/o-1", timeout=TIMEOUT).status_code == 200
    counted = requests.post(
        f"{shop.url}/_query", json={"controller": "realtime", "action": "list"}, timeout=TIMEOUT
    )
    assert counted.json()["result"] == {}


def test_a_shutdown_with_nothing_in_flight_halts_at_once() -> None:
    with StubKuzzle() as stub:
        ws = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
        stub.shutdown()
        assert ending(ws) == "eof"
        hang_up(ws)


def test_a_draining_node_refuses_until_recover(shop: StubKuzzle) -> None:
    subscriber = subscribe(shop)
    shop.shutdown(halt=False)
    refused = requests.get(f"{shop.url}/shop/orders/o-1", timeout=TIMEOUT)
    assert refused.json()["error"]["id"] == "api.process.shutting_down"
    requests.put(f"{shop.url}/shop/orders/o-2", json={"total": 2}, timeout=TIMEOUT)
    assert silent(subscriber)  # the subscription was forgotten, without a frame
    shop.recover()
    requests.put(f"{shop.url}/shop/orders/o-3", json={"total": 3}, timeout=TIMEOUT)
    assert silent(subscriber)  # still forgotten: recovering does not bring it back
    assert requests.get(f"{shop.url}/shop/orders/o-1", timeout=TIMEOUT).status_code == 200
    hang_up(subscriber)


# -- drops ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ran", [False, True], ids=["never-ran", "ran"])
def test_a_dropped_http_write_may_or_may_not_have_happened(shop: StubKuzzle, ran: bool) -> None:
    shop.drop("document", "create", ran=ran)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{shop.url}/shop/orders/o-9/_create", json={"total": 9}, timeout=TIMEOUT)
    exists = requests.get(f"{shop.url}/shop/orders/o-9/_exists", timeout=TIMEOUT).json()["result"]
    assert exists is ran
    assert shop.requests[-2].status is None  # no answer was sent


@pytest.mark.parametrize("ran", [False, True], ids=["never-ran", "ran"])
def test_a_dropped_websocket_write_may_or_may_not_have_happened(
    shop: StubKuzzle, ran: bool
) -> None:
    ws = websocket.create_connection(shop.ws_url, timeout=TIMEOUT)
    shop.drop("document", "create", code=1011, reason="bye", ran=ran)
    send(ws, "w", "document", "create", **ORDERS, _id="o-9", body={"total": 9})
    assert ending(ws) == "close 1011"
    hang_up(ws)
    exists = requests.get(f"{shop.url}/shop/orders/o-9/_exists", timeout=TIMEOUT).json()["result"]
    assert exists is ran


# -- expired tokens ---------------------------------------------------------------------------


def login(ws: websocket.WebSocket, **extra: Any) -> dict[str, Any]:
    credentials = {"username": "alice", "password": "pw"}
    send(ws, "login", "auth", "login", strategy="local", body=credentials, **extra)
    answer = recv(ws)
    assert answer["status"] == 200, answer
    return answer["result"]


def test_an_expired_token_notifies_its_socket_drops_its_subscriptions_then_is_refused(
    shop: StubKuzzle,
) -> None:
    shop.add_user("alice", "pw")
    ws = websocket.create_connection(shop.ws_url, timeout=TIMEOUT)
    token = login(ws, expiresIn="1s")["jwt"]
    send(ws, "sub", "realtime", "subscribe", **ORDERS, body={}, jwt=token)
    room = recv(ws)["result"]["roomId"]
    started = time.monotonic()
    expired = recv(ws)  # 1 s later, Kuzzle's server notification
    assert 0.8 < time.monotonic() - started < 3.0
    assert expired == {
        "status": 200,
        "info": "This is an automated server notification",
        "message": "Authentication Token Expired",
        "type": "TokenExpired",
        "room": "kuzzle:notification:server",
    }
    requests.put(f"{shop.url}/shop/orders/o-2", json={"total": 2}, timeout=TIMEOUT)
    assert silent(ws)  # the subscription went with the token
    send(ws, "old", "server", "now", jwt=token)
    refused = recv(ws)
    assert (refused["status"], refused["error"]["id"]) == (401, "security.token.invalid")
    send(ws, "count", "realtime", "count", body={"roomId": room})
    assert recv(ws)["result"] == {"count": 0}
    send(ws, "anonymous", "server", "now")  # the socket stays open
    assert recv(ws)["status"] == 200
    hang_up(ws)


def test_expire_tokens_plays_an_expiry_now(shop: StubKuzzle) -> None:
    shop.add_user("alice", "pw")
    ws = websocket.create_connection(shop.ws_url, timeout=TIMEOUT)
    token = login(ws)["jwt"]
    assert shop.expire_tokens("bob") == 0
    assert shop.expire_tokens() == 1
    assert recv(ws)["type"] == "TokenExpired"
    checked = requests.post(f"{shop.url}/_checkToken", json={"token": token}, timeout=TIMEOUT)
    assert checked.json()["result"] == {"state": "Invalid token.", "valid": False}
    hang_up(ws)


def test_token_ttl_sets_the_default_expiry() -> None:
    with StubKuzzle(token_ttl=0.3) as stub:
        stub.add_user("alice", "pw")
        ws = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
        assert login(ws)["ttl"] == 300
        assert recv(ws)["type"] == "TokenExpired"
        hang_up(ws)


# -- what cannot be played is refused ---------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.drop(code=1005), "close code"),
        (lambda s: s.drop(code=1006), "close code"),
        (lambda s: s.drop(code=999), "close code"),
        (lambda s: s.drop(code=5000), "close code"),
        (lambda s: s.drop(code=True), "close code"),
        (lambda s: s.drop(code=1000, reason="x" * 124), "123 bytes"),
        (lambda s: s.drop(reason="bye"), "only a close frame"),
        (lambda s: s.drop_connections(code=1015), "close code"),
        (lambda s: s.drop(times=0), "times"),
        (lambda s: s.fail("server", "now", "api.process.overloaded", times=-1), "times"),
        (lambda s: s.respond("server", "now", {}, times=0), "times"),
        (lambda s: s.garbage(times=0), "times"),
        (lambda s: s.slow("server", "now", -1.0), "seconds"),
        (lambda s: s.slow("server", "now", (2.0, 1.0)), "seconds"),
        (lambda s: s.proxy_error(99), "status"),
        (lambda s: s.proxy_error(600), "status"),
        (lambda s: s.overload(-1), "times"),
        (lambda s: s.fail("server", "now", "no.such.error"), "unknown Kuzzle error id"),
        (lambda s: s.configure(documents_write_count=-1), "documents_write_count"),
        (lambda s: s.configure(concurrent_requests=0), "concurrent_requests"),
        (
            lambda s: s.configure(config={"limits": {"documentsWriteCont": 1}}),
            "limits.documentsWriteCont",
        ),
        (lambda s: s.configure(config={"server": {"maxRequestSize": "big"}}), "maxRequestSize"),
        (lambda s: s.configure(security="yes"), "security"),
        (lambda s: s.configure(token_ttl=0), "token_ttl"),
    ],
)
def test_an_option_that_cannot_be_played_is_refused(call: Any, message: str) -> None:
    stub = StubKuzzle()
    with pytest.raises(ValueError, match=message):
        call(stub)


def test_a_refused_configure_changes_nothing() -> None:
    stub = StubKuzzle()
    with pytest.raises(ValueError):
        stub.configure(documents_write_count=5, documents_fetch_count=-1)
    assert stub._state.documents_write_count == 200


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"version": 3}, "version"),
        ({"max_request_size": 0}, "max_request_size"),
        ({"logins_per_second": -1}, "logins_per_second"),
        ({"config": {"limits": {"concurrentRequests": 0}}}, "concurrent_requests"),
        ({"config": {"plugins": {}}}, "plugins"),
        ({"config": []}, "mapping"),
    ],
)
def test_a_stub_option_out_of_range_is_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StubKuzzle(**options)


def test_close_codes_a_server_may_send_are_played() -> None:
    with StubKuzzle() as stub:
        for code in (1000, 1001, 1008, 1011, 1013, 3000, 4999):
            ws = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
            stub.wait_for_requests(0)
            deadline = time.monotonic() + TIMEOUT
            while stub.drop_connections(code=code, reason="r") == 0 and time.monotonic() < deadline:
                time.sleep(0.01)  # the upgrade may still be on its way
            assert ending(ws) == f"close {code}"
            hang_up(ws)


def test_a_burst_meets_the_concurrency_limit_and_its_buffer() -> None:
    """Kuzzle's limits.concurrentRequests 1 and requestsBufferSize 2: a burst gets 503s."""
    with StubKuzzle(config={"limits": {"concurrentRequests": 1, "requestsBufferSize": 2}}) as stub:
        start = threading.Barrier(20)
        statuses: list[int] = []

        def one() -> None:
            start.wait(TIMEOUT)
            body = {"controller": "server", "action": "info"}
            statuses.append(
                requests.post(f"{stub.url}/_query", json=body, timeout=TIMEOUT).status_code
            )

        threads = [threading.Thread(target=one) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 2)
    assert set(statuses) == {200, 503}
    assert len(statuses) == 20
