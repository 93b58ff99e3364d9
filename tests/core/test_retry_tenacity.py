"""kuzzle_errors.contrib.tenacity, exercised through tenacity itself."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from typing import Any

import pytest

tenacity = pytest.importorskip("tenacity")

from retry_helpers import Flaky, overloaded, rate_limited  # noqa: E402
from tenacity import AsyncRetrying, Retrying, stop_after_attempt, wait_fixed, wait_none  # noqa: E402

from kuzzle_errors import (  # noqa: E402
    GatewayTimeoutError,
    NotFoundError,
    ServiceUnavailableError,
    parse_response,
)
from kuzzle_errors.contrib.tenacity import (  # noqa: E402
    retry_if_kuzzle_retryable,
    wait_kuzzle_hint,
)


def retrying(sleeps: list[float], **kwargs: Any) -> Any:
    kwargs.setdefault("retry", retry_if_kuzzle_retryable())
    kwargs.setdefault("wait", wait_kuzzle_hint(fallback=wait_none()))
    return Retrying(stop=stop_after_attempt(4), sleep=sleeps.append, reraise=True, **kwargs)


def test_retries_refused_requests() -> None:
    sleeps: list[float] = []
    fn = Flaky(overloaded, overloaded)
    assert retrying(sleeps)(fn) == "ok"
    assert fn.calls == 3
    assert sleeps == [0.0, 0.0]


def test_waits_at_least_the_hint() -> None:
    sleeps: list[float] = []
    wait = wait_kuzzle_hint(fallback=wait_fixed(0.25))
    assert retrying(sleeps, wait=wait)(Flaky(rate_limited, overloaded)) == "ok"
    assert sleeps == [1.25, 0.25]  # the 1-second rate-limit window, plus the fallback


def test_retry_after_header_is_the_floor() -> None:
    error = parse_response(
        b'{"status": 503, "error": {"id": "api.process.overloaded", "status": 503}}',
        http_status=503,
        headers={"Retry-After": "6"},
    )
    sleeps: list[float] = []
    assert retrying(sleeps)(Flaky(lambda: error)) == "ok"
    assert sleeps == [6.0]


def test_default_fallback_is_full_jitter() -> None:
    random.seed(11)  # tenacity draws from the module-level generator
    wait = wait_kuzzle_hint()
    waits: list[float] = []
    for _ in range(200):
        sleeps: list[float] = []
        retrying(sleeps, wait=wait)(Flaky(rate_limited))
        waits.extend(sleeps)
    assert all(1.0 <= w <= 2.0 for w in waits)  # floor 1 s + uniform(0, 1)
    assert min(waits) < 1.05 and max(waits) > 1.9


def test_unknown_outcome_needs_idempotent() -> None:
    sleeps: list[float] = []
    fn = Flaky(lambda: GatewayTimeoutError("t"))
    with pytest.raises(GatewayTimeoutError):
        retrying(sleeps)(fn)
    assert fn.calls == 1
    fn = Flaky(lambda: GatewayTimeoutError("t"))
    assert retrying(sleeps, retry=retry_if_kuzzle_retryable(idempotent=True))(fn) == "ok"
    assert fn.calls == 2


@pytest.mark.parametrize("make", [lambda: NotFoundError("x"), lambda: ValueError("x")])
def test_permanent_and_foreign_errors_are_not_retried(make: Any) -> None:
    sleeps: list[float] = []
    fn = Flaky(make)
    with pytest.raises((NotFoundError, ValueError)):
        retrying(sleeps)(fn)
    assert fn.calls == 1


def test_results_are_not_retried() -> None:
    sleeps: list[float] = []
    assert retrying(sleeps)(lambda: None) is None


def test_exhaustion_reraises_the_original() -> None:
    sleeps: list[float] = []
    fn = Flaky(*[overloaded] * 9)
    with pytest.raises(ServiceUnavailableError):
        retrying(sleeps)(fn)
    assert fn.calls == 4


def test_async_retrying() -> None:
    fn = Flaky(overloaded, rate_limited)
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> str:
        async for attempt in AsyncRetrying(
            retry=retry_if_kuzzle_retryable(),
            wait=wait_kuzzle_hint(fallback=wait_none()),
            stop=stop_after_attempt(5),
            sleep=fake_sleep,
            reraise=True,
        ):
            with attempt:
                return fn()
        raise AssertionError("unreachable")

    assert asyncio.run(main()) == "ok"
    assert sleeps == [0.0, 1.0]


def test_kuzzle_errors_does_not_import_tenacity() -> None:
    code = (
        "import sys, kuzzle_errors, kuzzle_errors.retry, kuzzle_errors.contrib;"
        "assert 'tenacity' not in sys.modules, 'tenacity imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
