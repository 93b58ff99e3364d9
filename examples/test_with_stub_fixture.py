"""Test your own code against the ``kuzzle_stub`` pytest fixture, no Kuzzle server needed.

The fixture comes with the package (``pip install '.[stub]'`` from a checkout) and gives each test
a fresh, running :class:`kuzzle_errors.testing.StubKuzzle`. Run::

    python -m pytest examples/test_with_stub_fixture.py
"""

from __future__ import annotations

from typing import Any

import pytest

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.retry import RetryPolicy
from kuzzle_errors.testing import StubKuzzle, make_error


def load_order(kuzzle: KuzzleHTTP, order_id: str) -> dict[str, Any] | None:
    """The code under test: an order, or None when it does not exist."""
    try:
        result = kuzzle.query(
            {
                "controller": "document",
                "action": "get",
                "index": "shop",
                "collection": "orders",
                "_id": order_id,
            },
            idempotent=True,
        )
    except kuzzle_errors.NotFoundError:
        return None
    source: dict[str, Any] = result["_source"]
    return source


@pytest.fixture(autouse=True)
def shop(kuzzle_stub: StubKuzzle) -> None:
    """The collection the code reads, as the real node has it (a missing one is a 412)."""
    kuzzle_stub.add_collection("shop", "orders")


def test_missing_order_is_none(kuzzle_stub: StubKuzzle) -> None:
    with KuzzleHTTP(kuzzle_stub.url) as kuzzle:
        assert load_order(kuzzle, "nope") is None


def test_storage_failure_is_not_hidden(kuzzle_stub: StubKuzzle) -> None:
    kuzzle_stub.fail("document", "get", "services.storage.not_connected")
    with KuzzleHTTP(kuzzle_stub.url) as kuzzle, pytest.raises(kuzzle_errors.KuzzleError) as caught:
        load_order(kuzzle, "o1")
    assert caught.value.id == "services.storage.not_connected"
    assert caught.value.retry_hint.retryable


def test_an_overload_is_retried(kuzzle_stub: StubKuzzle) -> None:
    kuzzle_stub.overload(times=1)
    policy = RetryPolicy(base=0.01, cap=0.05)
    with KuzzleHTTP(kuzzle_stub.url, retry=policy) as kuzzle:
        assert load_order(kuzzle, "nope") is None
    assert len(kuzzle_stub.requests) == 2


def test_make_error_builds_kuzzles_payloads() -> None:
    payload = make_error("services.storage.not_found", "o1", "shop", "orders")
    error = kuzzle_errors.parse_error(payload)
    assert isinstance(error, kuzzle_errors.error_class("services.storage.not_found"))
    assert error.message == 'Document "o1" not found in "shop":"orders".'
