"""Catch Kuzzle errors over WebSocket, including a connection that drops mid-request.

Runs against the embedded stub, no server needed::

    pip install '.[websocket,stub]'   # from a checkout of kuzzle-errors
    python examples/websocket_errors.py
"""

from __future__ import annotations

import sys

import kuzzle_errors
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket

ORDERS = {"controller": "document", "index": "shop", "collection": "orders"}


def main() -> int:
    with StubKuzzle() as stub, KuzzleWebSocket(stub.ws_url, timeout=5.0) as kuzzle:
        stub.add_collection("shop", "orders")  # a real node has its collections
        kuzzle.query({**ORDERS, "action": "create", "_id": "order-1", "body": {"total": 42}})
        print(f"created order-1 over {stub.ws_url}")

        # The same exceptions as over HTTP: the transport only changes `transport`.
        try:
            kuzzle.query({**ORDERS, "action": "get", "_id": "order-2"})
        except kuzzle_errors.NotFoundError as error:
            print(f"not found: {error.id} over {error.transport}: {error.message}")

        # A refusal before processing: safe to replay, even for a write.
        stub.fail("document", "create", "api.process.overloaded", times=1)
        try:
            kuzzle.query({**ORDERS, "action": "create", "body": {"total": 7}})
        except kuzzle_errors.ServiceUnavailableError as error:
            hint = error.retry_hint
            print(f"overloaded: replay_safe={hint.replay_safe} other_node={hint.other_node}")

        # The connection drops while a query waits: it fails at once, not at its timeout.
        stub.drop("server", "now", code=1011, reason="too much backpressure")
        try:
            kuzzle.query({"controller": "server", "action": "now"})
        except kuzzle_errors.ConnectionLostError as error:
            print(f"connection lost: retryable={error.retryable} ({error.retry_hint.reason})")

        # The next query reconnects.
        now = kuzzle.query({"controller": "server", "action": "now"})
        print(f"reconnected: server time {now['now'] > 0}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
