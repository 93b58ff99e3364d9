"""Kuzzle errors from asyncio over WebSocket: AsyncKuzzleWebSocket, drops and notifications.

Runs against the embedded stub, no server needed::

    pip install '.[websockets,stub]'   # from a checkout of kuzzle-errors
    python examples/asyncio_websockets.py
"""

from __future__ import annotations

import asyncio
import sys

import kuzzle_errors
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websockets import AsyncKuzzleWebSocket, NotificationStream

NOW = {"controller": "server", "action": "now"}


async def main() -> int:
    async with StubKuzzle() as stub, AsyncKuzzleWebSocket(stub.ws_url, timeout=5.0) as kuzzle:
        stub.add_collection("shop", "orders")  # a real node has its collections
        try:
            await kuzzle.query(
                {
                    "controller": "document",
                    "action": "get",
                    "index": "shop",
                    "collection": "orders",
                    "_id": "nope",
                }
            )
        except kuzzle_errors.NotFoundError as error:
            print(f"not found: {error.id} over {error.transport}")

        # Notifications arrive on an async iterator (or an on_notification callback).
        stream = kuzzle.notifications()
        await asyncio.to_thread(stub.notify, "orders-room", result={"_id": "order-9"})
        notification = await anext_(stream)
        print(
            f"notification: room {notification['room']}, document {notification['result']['_id']}"
        )

        # A dropped connection fails every pending query at once, not at its timeout.
        stub.slow("server", "now", 30.0)
        pending = [asyncio.ensure_future(kuzzle.query(NOW)) for _ in range(10)]
        await stub.await_requests(10)
        stub.drop_connections(code=1011, reason="too much backpressure")
        results = await asyncio.gather(*pending, return_exceptions=True)
        lost = sum(isinstance(r, kuzzle_errors.ConnectionLostError) for r in results)
        print(f"connection lost: {lost} of 10 pending queries failed at once")

        # A cancelled query leaves nothing behind; the next query reconnects.
        stub.reset()
        task = asyncio.ensure_future(kuzzle.query(NOW))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        now = await kuzzle.query(NOW)
        print(f"reconnected: server time {now['now'] > 0}, pending {kuzzle.pending}")
    return 0


async def anext_(stream: NotificationStream) -> dict[str, object]:
    return await asyncio.wait_for(stream.__anext__(), 5.0)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
