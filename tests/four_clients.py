"""Drive the four clients with one coroutine per scenario
(a plain module: pytest's ``pythonpath`` option puts tests/ on sys.path)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.httpx import AsyncKuzzleHTTP
from kuzzle_errors.retry import RetryPolicy
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket
from kuzzle_errors.websockets import AsyncKuzzleWebSocket

#: The four clients, for ``@pytest.mark.parametrize("cls", CLIENTS, ids=client_id)``.
CLIENTS = [KuzzleHTTP, AsyncKuzzleHTTP, KuzzleWebSocket, AsyncKuzzleWebSocket]


def client_id(cls: type[Any]) -> str:
    return cls.__name__


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


def policy() -> RetryPolicy:
    """Five attempts, no waiting, no budget: only the replay decisions matter here."""
    return RetryPolicy(
        attempts=5,
        budget=None,
        random=lambda: 0.0,
        sleep=lambda _: None,
        async_sleep=no_sleep,
    )


class Driver:
    """One client, its sync methods run in a thread so every scenario is one coroutine."""

    def __init__(self, cls: type[Any], stub: StubKuzzle) -> None:
        self.cls = cls
        self.sync = cls in (KuzzleHTTP, KuzzleWebSocket)
        self.url = stub.ws_url if "WebSocket" in cls.__name__ else stub.url
        self.client: Any = None

    async def __aenter__(self) -> Driver:
        if self.cls is KuzzleWebSocket:
            self.client = await asyncio.to_thread(self.cls, self.url, timeout=5, retry=policy())
        else:
            self.client = self.cls(self.url, timeout=5, retry=policy())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.sync:
            await asyncio.to_thread(self.client.close)
        else:
            await self.client.close()

    async def run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        method: Callable[..., Any] = getattr(self.client, name)
        if self.sync:
            return await asyncio.to_thread(method, *args, **kwargs)
        return await method(*args, **kwargs)


def play(cls: type[Any], stub: StubKuzzle, scenario: Callable[[Driver], Any]) -> None:
    async def main() -> None:
        async with Driver(cls, stub) as driver:
            await asyncio.wait_for(scenario(driver), 30)

    asyncio.run(main())
