"""What the asyncio transport tests share
(a plain module: pytest's ``pythonpath`` option puts tests/ on sys.path)."""

from __future__ import annotations

import asyncio

from kuzzle_errors.retry import RetryPolicy


def fast_policy(attempts: int = 5) -> RetryPolicy:
    """A retry policy with no budget that only yields to the loop between attempts."""

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    return RetryPolicy(attempts=attempts, budget=None, async_sleep=no_sleep)
