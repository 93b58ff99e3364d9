"""Issue 10: a burst of 32 simultaneous calls against a node that holds 3 gets through.

The node is StubKuzzle with ``concurrentRequests=1`` and ``requestsBufferSize=2``, 20 ms per
request; 32 threads each make one call with the default RetryPolicy (so the per-host budget).
The first budget design (10 tokens per host, failing at once) let 11 to 14 of 32 through.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from common import NOW
from retry_helpers import run_threads

from kuzzle_errors import KuzzleError
from kuzzle_errors._protocol.clients import host_key
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.retry import RetryBudget, RetryPolicy
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket

CALLS = 32


@pytest.fixture
def full_node() -> Iterator[StubKuzzle]:
    with StubKuzzle(concurrent_requests=1, requests_buffer_size=2) as stub:
        stub.slow("server", "now", 0.02)
        # The per-host budgets live as long as the process: a port used by an earlier test
        # must not hand this one a drained budget.
        RetryBudget._registry.pop(host_key(stub.url), None)
        yield stub


def burst(call: Callable[[], Any]) -> tuple[int, list[KuzzleError]]:
    """Run ``call`` in 32 threads released together; successes and errors."""
    ok: list[bool] = []
    errors: list[KuzzleError] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            call()
        except KuzzleError as error:
            with lock:
                errors.append(error)
        else:
            with lock:
                ok.append(True)

    run_threads(one, CALLS, timeout=60)
    return len(ok), errors


def test_burst_over_http_with_the_default_policy(full_node: StubKuzzle) -> None:
    started = time.monotonic()
    with KuzzleHTTP(full_node.url, retry=RetryPolicy()) as kuzzle:
        succeeded, errors = burst(lambda: kuzzle.query(NOW))
    assert succeeded >= 31, [e.__notes__ for e in errors]
    assert time.monotonic() - started < 30  # 5 attempts within 1 + 2 + 4 + 8 s of backoff
    refused = full_node.count("server", "now")
    assert refused >= CALLS  # the node really was full: some attempts were refused


def test_burst_over_websocket_with_the_default_policy(full_node: StubKuzzle) -> None:
    with KuzzleWebSocket(full_node.ws_url, retry=RetryPolicy(), timeout=30.0) as kuzzle:
        succeeded, errors = burst(lambda: kuzzle.query(NOW))
    assert succeeded >= 31, [e.__notes__ for e in errors]
