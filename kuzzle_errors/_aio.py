"""asyncio helpers: the background tasks of the async WebSocket client and of the stub."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any


class TaskSet:
    """Background tasks nobody awaits, kept alive until they end (the event loop holds
    only weak references to tasks); ``on_error(what, exc)`` reports each failure."""

    def __init__(self, on_error: Callable[[str, BaseException], None]) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()
        self._on_error = on_error

    def spawn(self, aw: Awaitable[Any], what: str) -> None:
        """Run ``aw`` (``what`` it does, for the error report) in the background."""
        self.track(asyncio.ensure_future(aw), what)

    def track(self, task: asyncio.Future[Any], what: str) -> None:
        """Keep ``task`` (already running) with the others until it ends."""
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._done, what))

    def _done(self, what: str, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            exc = task.exception()
            if exc is not None:
                self._on_error(what, exc)

    async def cancel(self, wait: float = 0.0) -> None:
        """Cancel every task, then wait up to ``wait`` seconds for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks and wait > 0:
            await asyncio.wait(tasks, timeout=wait)

    async def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for every task to end, cancelling none."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def __len__(self) -> int:
        return len(self._tasks)
