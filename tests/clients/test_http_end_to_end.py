"""Both transports end to end against the real Kuzzle stub (loopback), HTTP specifics here.

WebSocket-only behaviour (concurrency, drops, notifications, refusals) is in
``test_websocket_end_to_end.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from common import FAMILIES

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP, install
from kuzzle_errors.retry import RetryPolicy
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket

Client = KuzzleHTTP | KuzzleWebSocket


class FakeClock:
    """Drives the stub's 1-second rate windows; the retry policy's sleep advances it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stub(clock: FakeClock) -> Iterator[StubKuzzle]:
    with StubKuzzle(clock=clock) as kuzzle:
        yield kuzzle


@pytest.fixture(params=["http", "websocket"])
def client(request: pytest.FixtureRequest, stub: StubKuzzle) -> Iterator[Client]:
    kuzzle: Client
    if request.param == "http":
        kuzzle = KuzzleHTTP(stub.url, timeout=5.0)
    else:
        kuzzle = KuzzleWebSocket(stub.ws_url, timeout=5.0)
    with kuzzle:
        yield kuzzle


def transport_of(client: Client) -> str:
    return "http" if isinstance(client, KuzzleHTTP) else "websocket"


@pytest.mark.parametrize("class_name", sorted(FAMILIES))
def test_every_error_class_over_both_transports(
    stub: StubKuzzle, client: Client, class_name: str
) -> None:
    error_id = FAMILIES[class_name]
    stub.fail("test", "boom", error_id, "a", "b", "c")
    with pytest.raises(kuzzle_errors.error_class(error_id)) as info:
        client.query({"controller": "test", "action": "boom"})
    error = info.value
    assert isinstance(error, kuzzle_errors.error_class(class_name))
    assert error.id == error_id
    assert error.transport == transport_of(client)
    assert error.node == stub.node
    assert error.request_id == stub.requests[-1].request_id
    if isinstance(client, KuzzleHTTP):
        assert error.http_status == error.status


def test_the_answer_carries_our_request_id(stub: StubKuzzle, client: Client) -> None:
    stub.fail("document", "get", "services.storage.not_found", "x", "i", "c")
    with pytest.raises(kuzzle_errors.NotFoundError) as info:
        client.query({"controller": "document", "action": "get", "_id": "x"})
    recorded = stub.requests[-1]
    assert recorded.transport == transport_of(client)
    assert info.value.request_id == recorded.request_id


def test_overload_is_retried_over_both(stub: StubKuzzle, client: Client) -> None:
    stub.overload(times=2)
    client.retry = RetryPolicy(attempts=5, budget=None, sleep=lambda _: None)
    result = client.query({"controller": "server", "action": "now"})
    assert "now" in result
    assert stub.count("server", "now") == 3


def test_rate_limit_is_waited_out(stub: StubKuzzle, client: Client, clock: FakeClock) -> None:
    stub.configure(rate_limit=2)
    client.retry = RetryPolicy(attempts=3, budget=None, sleep=clock.sleep, clock=clock)
    for _ in range(3):
        client.query({"controller": "server", "action": "now"})
    assert len(clock.slept) == 1
    assert clock.slept[0] >= 1.0  # the hint's floor: Kuzzle's 1-second window
    assert stub.count("server", "now") == 4


def test_shutdown_ids_differ_by_transport(stub: StubKuzzle, client: Client) -> None:
    stub.shutdown(halt=False)  # still draining: a halted node refuses connections instead
    with pytest.raises(kuzzle_errors.ServiceUnavailableError) as info:
        client.query({"controller": "server", "action": "now"})
    expected = {
        "http": "api.process.shutting_down",
        "websocket": "network.entrypoint.shutting_down",
    }
    assert info.value.id == expected[transport_of(client)]
    assert info.value.retry_hint.replay_safe


def test_mcreate_partial_failures(stub: StubKuzzle, client: Client) -> None:
    stub.add_document("i", "c", "dup", {"n": 0})
    docs = [{"_id": "a", "body": {"n": 1}}, {"_id": "dup", "body": {"n": 2}}]
    request = {
        "controller": "document",
        "action": "mCreate",
        "index": "i",
        "collection": "c",
        "body": {"documents": docs},
    }
    result = client.query(request)
    assert [s["_id"] for s in result["successes"]] == ["a"]
    with pytest.raises(kuzzle_errors.PartialError) as client_side:
        client.query({**request, "body": {"documents": docs[1:]}}, strict=True)
    assert [item.id for item in client_side.value.items] == ["dup"]
    with pytest.raises(kuzzle_errors.MultipleErrorsError) as kuzzle_side:
        client.query({**request, "body": {"documents": docs[1:]}, "strict": True})
    (item,) = kuzzle_side.value.items
    assert (item.id, item.status, item.reason) == ("dup", 400, "document already exists")


def test_v1_partial_error_keeps_the_successes(stub: StubKuzzle, client: Client) -> None:
    stub.configure(version=1)
    stub.add_document("i", "c", "dup", {})
    docs = [{"_id": "a", "body": {}}, {"_id": "dup", "body": {}}]
    with pytest.raises(kuzzle_errors.PartialError) as info:
        client.query(
            {
                "controller": "document",
                "action": "mCreate",
                "index": "i",
                "collection": "c",
                "body": {"documents": docs},
            }
        )
    assert info.value.status == 206
    assert info.value.successes is not None
    assert [hit["_id"] for hit in info.value.successes] == ["a"]


# -- HTTP only -------------------------------------------------------------------------------


@pytest.fixture
def http(stub: StubKuzzle) -> Iterator[KuzzleHTTP]:
    with KuzzleHTTP(stub.url, timeout=5.0) as kuzzle:
        yield kuzzle


def test_proxy_html_502_with_retry_after(stub: StubKuzzle, http: KuzzleHTTP) -> None:
    stub.proxy_error(502, retry_after=4)
    with pytest.raises(kuzzle_errors.KuzzleError) as info:
        http.query({"controller": "server", "action": "now"})
    error = info.value
    assert error.http_status == 502
    assert error.retry_after == 4.0
    assert error.problem and "HTML" in error.problem
    assert http.query({"controller": "server", "action": "now"})  # the proxy recovered


def test_request_too_large_is_a_bare_413(http: KuzzleHTTP, stub: StubKuzzle) -> None:
    stub.configure(max_request_size=200)
    with pytest.raises(kuzzle_errors.SizeLimitError) as info:
        http.query({"controller": "document", "action": "create", "body": {"x": "y" * 500}})
    assert info.value.id == "network.http.request_too_large"
    assert info.value.request_id  # the one we sent, since the bare body has none


def test_install_on_raw_requests(stub: StubKuzzle) -> None:
    with install(requests.Session()) as session:
        with pytest.raises(kuzzle_errors.error_class("network.http.body_parse_failed")):
            session.post(
                f"{stub.url}/_query", data=b"{oops", headers={"Content-Type": "application/json"}
            )
        with pytest.raises(kuzzle_errors.error_class("network.http.url_not_found")):
            session.get(f"{stub.url}/no/such/route/at/all")
        stub.overload()
        with pytest.raises(kuzzle_errors.ServiceUnavailableError):
            session.get(f"{stub.url}/_ready")
        stub.recover()
        assert session.get(f"{stub.url}/_ready").status_code == 200


def test_dropped_http_connection(stub: StubKuzzle, http: KuzzleHTTP) -> None:
    stub.drop("server", "now")
    with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
        http.query({"controller": "server", "action": "now"})
    assert info.value.retry_hint.retryable
    assert not info.value.retry_hint.replay_safe
    assert isinstance(info.value.__cause__, requests.RequestException)
    http.retry = RetryPolicy(attempts=2, budget=None, sleep=lambda _: None)
    stub.drop("server", "now")
    assert "now" in http.query({"controller": "server", "action": "now"}, idempotent=True)


def test_login_then_authenticated_queries(stub: StubKuzzle, client: Client) -> None:
    stub.add_user("admin", "secret")  # as in Kuzzle, a login needs a user
    token = client.login({"username": "admin", "password": "secret"})
    assert token
    client.query({"controller": "server", "action": "now"})
    assert stub.requests[-1].jwt == token
