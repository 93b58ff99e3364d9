"""The transports share one retry budget per host:port (issue 3: "one per host by default")."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import kuzzle_echo
import pytest
import responses

import kuzzle_errors
from kuzzle_errors import catalog
from kuzzle_errors._protocol.clients import RetryCaller, host_key, scope_retry
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.retry import RetryBudget, RetryPolicy
from kuzzle_errors.websocket import KuzzleWebSocket


def fresh_host() -> str:
    """A host name no other test uses: the per-host budgets are process-wide."""
    return f"kuzzle-{uuid.uuid4().hex[:12]}.test"


def overloaded_envelope() -> dict[str, Any]:
    spec = catalog.get("api.process.overloaded")
    assert spec is not None
    error = {"id": spec.id, "code": spec.code, "message": spec.format(), "status": 503}
    return {"status": 503, "error": error, "requestId": "r", "result": None}


def quick_policy(**kwargs: Any) -> RetryPolicy:
    return RetryPolicy(attempts=100, timeout=1000.0, sleep=lambda _: None, **kwargs)


def budget_of(client: KuzzleHTTP | KuzzleWebSocket) -> RetryBudget | None:
    policy = client.retry
    assert isinstance(policy, RetryPolicy)
    return policy.budget


def test_two_http_clients_of_one_host_share_one_budget() -> None:
    host = fresh_host()
    policy = RetryPolicy()
    with (
        KuzzleHTTP(f"http://{host}:7512", retry=policy) as a,
        KuzzleHTTP(f"http://{host.upper()}:7512/", retry=RetryPolicy()) as b,
        KuzzleHTTP(f"http://{host}:7513", retry=policy) as other_port,
        KuzzleHTTP(f"http://{fresh_host()}:7512", retry=policy) as other_host,
    ):
        assert budget_of(a) is budget_of(b) is RetryBudget.for_host(f"{host}:7512")
        assert budget_of(a) is not policy.budget  # the policy's own budget is not used
        assert budget_of(other_port) is not budget_of(a)
        assert budget_of(other_host) is not budget_of(a)
        assert budget_of(other_host) is not budget_of(other_port)


def test_http_and_websocket_clients_of_one_server_share_one_budget() -> None:
    host = fresh_host()
    http = KuzzleHTTP(f"http://{host}:7512", retry=RetryPolicy())
    ws = KuzzleWebSocket(f"ws://{host}:7512", retry=RetryPolicy(), connect=False)
    ws2 = KuzzleWebSocket(f"ws://{host}:7512", retry=RetryPolicy(), connect=False)
    elsewhere = KuzzleWebSocket(f"ws://{fresh_host()}:7512", retry=RetryPolicy(), connect=False)
    try:
        assert budget_of(http) is budget_of(ws) is budget_of(ws2)
        assert budget_of(elsewhere) is not budget_of(ws)
    finally:
        for client in (http, ws, ws2, elsewhere):
            client.close()


@responses.activate
def test_a_budget_drained_by_one_client_stops_the_other_client_of_that_host() -> None:
    host, other = fresh_host(), fresh_host()
    for name in (host, other):
        kuzzle_echo.answer(f"http://{name}:7512/_query", overloaded_envelope(), 503)
    policy = quick_policy()
    with (
        KuzzleHTTP(f"http://{host}:7512", retry=policy) as a,
        KuzzleHTTP(f"http://{host}:7512", retry=policy) as b,
        KuzzleHTTP(f"http://{other}:7512", retry=policy) as c,
    ):
        with pytest.raises(kuzzle_errors.ServiceUnavailableError) as first:
            a.query({"controller": "server", "action": "now"})
        # 100 tokens, each failure and each retry take one: 50 retries, then the bucket is
        # empty and the call waits for it (here, for 100 polls, as the sleep does not sleep).
        assert first.value.attempts == 51
        with pytest.raises(kuzzle_errors.ServiceUnavailableError) as second:
            b.query({"controller": "server", "action": "now"})
        assert second.value.attempts == 1  # same host: the shared budget is empty
        assert "budget" in second.value.__notes__[-1]
        with pytest.raises(kuzzle_errors.ServiceUnavailableError) as third:
            c.query({"controller": "server", "action": "now"})
        assert third.value.attempts == 51  # another host: its own full budget


def test_an_explicit_budget_or_none_is_kept() -> None:
    host = fresh_host()
    mine = RetryBudget()
    with (
        KuzzleHTTP(f"http://{host}:7512", retry=RetryPolicy(budget=mine)) as explicit,
        KuzzleHTTP(f"http://{host}:7512", retry=RetryPolicy(budget=None)) as unbudgeted,
    ):
        assert budget_of(explicit) is mine
        assert budget_of(unbudgeted) is None


def test_assigning_a_policy_later_scopes_it_too() -> None:
    host = fresh_host()
    with KuzzleHTTP(f"http://{host}:7512") as client:
        assert client.retry is None
        client.retry = RetryPolicy()
        assert budget_of(client) is RetryBudget.for_host(f"{host}:7512")
        client.retry = None
        assert client.retry is None


class PlainCaller:
    """A RetryCaller without for_host: used as given."""

    def __init__(self) -> None:
        self.calls = 0

    def call(
        self, fn: Callable[..., Any], /, *args: Any, idempotent: bool = False, **kw: Any
    ) -> Any:
        self.calls += 1
        return fn(*args, **kw)


@responses.activate
def test_a_retry_caller_without_for_host_is_used_as_given() -> None:
    host = fresh_host()
    envelope = {"status": 200, "error": None, "result": 7, "requestId": "r"}
    kuzzle_echo.answer(f"http://{host}:7512/_query", envelope)
    caller = PlainCaller()
    with KuzzleHTTP(f"http://{host}:7512", retry=caller) as client:
        assert client.retry is caller
        assert client.query({"controller": "server", "action": "now"}) == 7
    assert caller.calls == 1
    assert scope_retry(caller, "http://x") is caller
    assert scope_retry(None, "http://x") is None


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://Kuzzle.Example:7512/prefix", "kuzzle.example:7512"),
        ("ws://kuzzle.example:7512", "kuzzle.example:7512"),
        ("https://kuzzle.example", "kuzzle.example:443"),
        ("wss://kuzzle.example/", "kuzzle.example:443"),
        ("http://kuzzle.example", "kuzzle.example:80"),
        ("ws://user:pw@kuzzle.example:9000", "kuzzle.example:9000"),
        ("http://[::1]:7512", "[::1]:7512"),
        ("kuzzle.example:7512", "kuzzle.example:7512"),
    ],
)
def test_host_key(url: str, key: str) -> None:
    assert host_key(url) == key


def test_a_policy_is_a_retry_caller() -> None:
    caller: RetryCaller = RetryPolicy()
    assert scope_retry(caller, "http://h:1") is not caller
