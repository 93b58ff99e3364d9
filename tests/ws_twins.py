"""Both WebSocket clients driven the same way from async code (a plain module on pytest's
``pythonpath``): the sync one from worker threads, its blocking iterators from daemon threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from kuzzle_errors.websocket import KuzzleWebSocket

WAIT = 5.0
END = object()


class Twin:
    """One WebSocket client kind, driven the same way from async code."""

    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls
        self.sync = cls is KuzzleWebSocket

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.sync:
            return await asyncio.to_thread(fn, *args, **kwargs)
        return await fn(*args, **kwargs)

    async def open(self, url: str, **options: Any) -> Any:
        """A client as ``with``/``async with`` gives it (entered)."""
        if self.sync:
            return await asyncio.to_thread(self.cls, url, **options)
        client = self.cls(url, **options)
        return await client.__aenter__()

    async def next(self, stream: Any) -> Any:
        """The next notification, or END once the stream ended (within WAIT seconds)."""
        if not self.sync:
            return await asyncio.wait_for(anext(stream, END), WAIT)
        # A daemon thread, not to_thread: a stream that never ends must fail the test, not
        # hang the executor's shutdown.
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()

        def settle(outcome: Any, error: BaseException | None) -> None:
            if not done.done():
                done.set_result(outcome) if error is None else done.set_exception(error)

        def work() -> None:
            try:
                loop.call_soon_threadsafe(settle, next(stream, END), None)
            except Exception as exc:
                loop.call_soon_threadsafe(settle, None, exc)

        threading.Thread(target=work, daemon=True).start()
        return await asyncio.wait_for(done, WAIT)
