"""Kuzzle errors from asyncio over HTTP with httpx: AsyncKuzzleHTTP and the httpx hook.

Runs against the embedded stub, no server needed::

    pip install '.[httpx,stub]'   # from a checkout of kuzzle-errors
    python examples/asyncio_httpx.py
"""

from __future__ import annotations

import asyncio
import sys

import httpx

import kuzzle_errors
from kuzzle_errors.httpx import AsyncKuzzleHTTP, install
from kuzzle_errors.retry import RetryPolicy
from kuzzle_errors.testing import StubKuzzle

ORDERS = {"controller": "document", "index": "shop", "collection": "orders"}


async def main() -> int:
    async with StubKuzzle() as stub, AsyncKuzzleHTTP(stub.url, timeout=5.0) as kuzzle:
        stub.add_collection("shop", "orders")  # a real node has its collections
        await kuzzle.query({**ORDERS, "action": "create", "_id": "order-1", "body": {"total": 42}})

        # The same exceptions as the synchronous clients.
        try:
            await kuzzle.query({**ORDERS, "action": "get", "_id": "order-2"})
        except kuzzle_errors.NotFoundError as error:
            print(f"not found: {error.id} over {error.transport}: {error.message}")

        # Many queries at once from one event loop: each awaiter gets its own answer.
        ids = [f"bulk-{i}" for i in range(20)]
        created = await asyncio.gather(
            *(kuzzle.query({**ORDERS, "action": "create", "_id": i, "body": {}}) for i in ids)
        )
        print(f"concurrent: {[doc['_id'] for doc in created] == ids}")

        # Retries go through RetryPolicy.acall: an overload is refused before running, so
        # even a write is replayed.
        kuzzle.retry = RetryPolicy(base=0.05, budget=None)
        stub.clear_requests()
        stub.overload(times=2)
        await kuzzle.query({**ORDERS, "action": "create", "body": {"total": 7}})
        print(f"created after {stub.count('document', 'create')} attempts")

        # A plain httpx.AsyncClient raises Kuzzle errors once the hook is installed.
        async with httpx.AsyncClient() as client:
            install(client)
            try:
                await client.post(f"{stub.url}/_query", content=b"{not json")
            except kuzzle_errors.BadRequestError as error:
                print(f"httpx hook: {error.id} (status {error.status})")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
