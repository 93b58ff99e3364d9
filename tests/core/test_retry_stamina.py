"""The documented stamina one-liner: ``stamina.retry(on=kuzzle_errors.retry.stamina_hook)``."""

from __future__ import annotations

import types

import pytest

stamina = pytest.importorskip("stamina")

import tenacity.nap  # noqa: E402
from retry_helpers import Flaky, overloaded, rate_limited  # noqa: E402

from kuzzle_errors import GatewayTimeoutError, KuzzleError, NotFoundError  # noqa: E402
from kuzzle_errors.retry import make_stamina_hook, stamina_hook  # noqa: E402


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """stamina sleeps through tenacity's ``nap``: record the waits instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(tenacity.nap, "time", types.SimpleNamespace(sleep=recorded.append))
    return recorded


def test_retries_refused_requests_and_honours_the_hint(sleeps: list[float]) -> None:
    fn = Flaky(overloaded, rate_limited)
    call = stamina.retry(on=stamina_hook, attempts=5, timeout=30)(fn)
    assert call() == "ok"
    assert fn.calls == 3
    assert len(sleeps) == 2
    assert 0.0 < sleeps[0] <= 5.0  # stamina's own jittered backoff
    assert sleeps[1] == 1.0  # the rate-limit window, from the hint


def test_not_retried_when_the_hint_says_no(sleeps: list[float]) -> None:
    for make in (lambda: NotFoundError("x"), lambda: GatewayTimeoutError("t"), ValueError):
        fn = Flaky(make)
        with pytest.raises((KuzzleError, ValueError)):
            stamina.retry(on=stamina_hook, attempts=5)(fn)()
        assert fn.calls == 1
    assert sleeps == []


def test_idempotent_hook_replays_a_gateway_timeout(sleeps: list[float]) -> None:
    fn = Flaky(lambda: GatewayTimeoutError("t"))
    assert stamina.retry(on=make_stamina_hook(idempotent=True), attempts=3)(fn)() == "ok"
    assert fn.calls == 2


def test_stamina_testing_mode() -> None:
    with stamina.set_testing(True, attempts=2):
        fn = Flaky(rate_limited, rate_limited)
        with pytest.raises(KuzzleError):
            stamina.retry(on=stamina_hook)(fn)()
        assert fn.calls == 2
