"""Catch Kuzzle errors over HTTP: by exact id, by class, by id pattern, and with ``requests``.

Runs against the embedded stub, no server needed::

    pip install '.[http,stub]'   # from a checkout of kuzzle-errors
    python examples/http_errors.py
"""

from __future__ import annotations

import sys

import requests

import kuzzle_errors
from kuzzle_errors import codes
from kuzzle_errors.http import KuzzleHTTP, install
from kuzzle_errors.testing import StubKuzzle

ORDERS = {"controller": "document", "index": "shop", "collection": "orders"}


def main() -> int:
    with StubKuzzle() as stub, KuzzleHTTP(stub.url) as kuzzle:
        stub.add_collection("shop", "orders")  # a real node has its collections
        kuzzle.query({**ORDERS, "action": "create", "_id": "order-1", "body": {"total": 42}})

        # 1. One exact error, by its own class (also error_class("services.storage.not_found")).
        try:
            kuzzle.query({**ORDERS, "action": "get", "_id": "order-2"})
        except codes.ServicesStorageNotFound as error:
            print(f"exact id: {error.id} ({error.hex}), status {error.status}: {error.message}")
            print(f"  request {error.request_id}, node {error.node}, transport {error.transport}")

        # 2. A whole family, by Kuzzle class: the per-id classes are subclasses of it.
        try:
            kuzzle.query({**ORDERS, "action": "create", "_id": "order-1", "body": {}})
        except kuzzle_errors.BadRequestError as error:
            print(f"by class: {type(error).__name__} is a BadRequestError: {error.id}")

        # 3. Several ids that call for the same handling, by pattern.
        stub.fail("document", "create", "services.storage.too_many_operations", "write")
        try:
            kuzzle.query({**ORDERS, "action": "create", "body": {"total": 1}})
        except kuzzle_errors.KuzzleError as error:
            if not error.matches("services.storage.*"):
                raise
            hint = error.retry_hint
            print(
                f"by pattern: {error.id}: retryable={hint.retryable} replay_safe={hint.replay_safe}"
            )
            print(f"  {hint.reason}")

        # 4. Plain requests: the hook makes every Kuzzle error response raise.
        session = install(requests.Session())
        try:
            session.get(f"{stub.url}/shop/orders/order-3")
        except kuzzle_errors.NotFoundError as error:
            print(f"requests hook: {error}")
        session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
