"""Sync client: frames leave in the order the refusal ledger numbers them, from any thread.

Attributing per-socket refusals by elimination relies on it: a query numbered before another
but written after it would be taken for answered-past, its refusal pinned on no one, and the
query would hang until its timeout instead of failing at once with the 429.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from common import NOW

import kuzzle_errors
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket

WAIT = 5.0


def test_refusals_among_many_threads_all_fail_at_once() -> None:
    with (
        StubKuzzle(ws_rate_limit=20, clock=lambda: 0.0) as stub,  # one rate window
        KuzzleWebSocket(stub.ws_url, timeout=WAIT) as kuzzle,
        ThreadPoolExecutor(16) as pool,
    ):
        started = time.monotonic()
        futures = [pool.submit(kuzzle.query, NOW) for _ in range(50)]
        errors = [future.exception(timeout=WAIT * 2) for future in futures]
        elapsed = time.monotonic() - started
    refused = [e for e in errors if e is not None]
    assert len(refused) == 30
    assert all(isinstance(e, kuzzle_errors.TooManyRequestsError) for e in refused)
    assert elapsed < WAIT / 2  # not at the query timeout
