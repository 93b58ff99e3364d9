"""What the asyncio transport tests share (plain module: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from kuzzle_errors.retry import RetryPolicy

#: What a raw server does with a connection once the request head is read.
Handler = Callable[[asyncio.StreamWriter], Awaitable[None]]


def fast_policy(attempts: int = 5) -> RetryPolicy:
    """A retry policy with no budget that only yields to the loop between attempts."""

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    return RetryPolicy(attempts=attempts, budget=None, async_sleep=no_sleep)


def replying(data: bytes) -> Handler:
    """A handler that sends ``data`` as the whole answer."""

    async def reply(writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()

    return reply


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[int]:
    """A loopback server that reads each request head, runs ``handler``, then hangs up.

    Yields its port. For answers no real server sends: dripped bytes, bombs, bad handshakes.
    """

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        try:
            await handler(writer)
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client gave up first: what these tests provoke
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]
