"""Retry a call refused by an overloaded Kuzzle node, following the error's retry hint.

Runs against the embedded stub, no server needed::

    pip install '.[http,stub]'   # from a checkout of kuzzle-errors
    python examples/retry_overloaded.py
"""

from __future__ import annotations

import sys

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.retry import RetryDetails, RetryPolicy
from kuzzle_errors.testing import StubKuzzle


def report(details: RetryDetails) -> None:
    error = details.error
    print(f"attempt {details.attempt} failed: {error.id}; retrying in {details.delay:.2f} s")


def main() -> int:
    # Short waits for the demo; the defaults (0.5 s base, 10 s cap, 30 s deadline) suit servers.
    policy = RetryPolicy(attempts=5, base=0.05, cap=0.2, on_retry=report)
    with StubKuzzle() as stub, KuzzleHTTP(stub.url, retry=policy) as kuzzle:
        stub.add_collection("shop", "orders")  # a real node has its collections
        stub.overload(times=2)  # the next two requests get 503 api.process.overloaded
        # A create is not idempotent, but an overload refusal is replay-safe: it never ran.
        result = kuzzle.query(
            {
                "controller": "document",
                "action": "create",
                "index": "shop",
                "collection": "orders",
                "_id": "order-1",
                "body": {"total": 42},
            }
        )
        print(f"created {result['_id']} after {len(stub.requests)} attempts")

        # A permanent error is never retried.
        try:
            kuzzle.query(
                {
                    "controller": "document",
                    "action": "get",
                    "index": "shop",
                    "collection": "orders",
                    "_id": "nope",
                }
            )
        except kuzzle_errors.NotFoundError as error:
            print(f"not retried: {error.id} (retryable={error.retryable})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
