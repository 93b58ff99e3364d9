"""The stub's network side: one asyncio server speaking HTTP and WebSocket on one port.

Like Kuzzle (uWebSockets on 7512), each connection starts as HTTP/1.1 (framed by h11 in
:mod:`~kuzzle_errors._stub.http_wire`) and stays open for further requests; a WebSocket
upgrade is handed to :mod:`~kuzzle_errors._stub.ws_api`, anything else is answered by
:mod:`~kuzzle_errors._stub.http_api`. The loop runs in a daemon thread; the public facade
(``kuzzle_errors.testing.StubKuzzle``) talks to it through thread-safe calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from kuzzle_errors._aio import TaskSet
from kuzzle_errors._stub.funnel import Funnel
from kuzzle_errors._stub.http_api import HttpApi
from kuzzle_errors._stub.http_wire import HEAD_LIMIT, FramingError, HttpWire
from kuzzle_errors._stub.state import StubState
from kuzzle_errors._stub.ws_api import WebSocketApi

T = TypeVar("T")
_log = logging.getLogger("kuzzle_errors.testing")


def _report_failure(what: str, exc: BaseException) -> None:
    # A stub bug must be visible, not just a request that never gets its answer.
    _log.error("Kuzzle stub: %s failed", what, exc_info=exc)


def _listen(host: str, port: int) -> socket.socket:
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.create_server(address, family=family, backlog=128)
    listener.setblocking(False)
    return listener


class _TrackedProtocol(asyncio.StreamReaderProtocol):
    """asyncio's stream protocol, keeping the set of open transports up to date.

    ``stop()`` closes every connection it accepted and waits for each: a kept-alive socket
    left open when the loop closes is a ResourceWarning in whatever test runs when it is
    collected.
    """

    def __init__(
        self,
        open_transports: set[asyncio.Transport],
        on_connection: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    ) -> None:
        super().__init__(asyncio.StreamReader(limit=HEAD_LIMIT), on_connection)
        self.open_transports = open_transports
        self.tracked: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # a TCP socket's transport
        self.tracked = transport
        self.open_transports.add(transport)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.tracked is not None:
            self.open_transports.discard(self.tracked)
        super().connection_lost(exc)


class StubServer:
    """The event loop, its thread, and the connections of one stub."""

    def __init__(self, state: StubState, host: str, port: int) -> None:
        self.state = state
        self.host = host
        self.port: int = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = asyncio.Event()
        self._tasks = TaskSet(_report_failure)
        self._connecting = TaskSet(_report_failure)
        self._open: set[asyncio.Transport] = set()
        self._ids = itertools.count(1)
        self._graceful = False  # a halt: connections end with their answers flushed
        self._closing = False  # the port is closed; connections may still be ending
        self.funnel = Funnel(state)
        self.http: HttpApi = HttpApi(state, self.funnel)
        self.websocket: WebSocketApi = WebSocketApi(state, self.funnel, self._tasks)

    def start(self) -> None:
        listener = _listen(self.host, self.port)  # a busy port fails here, in the caller
        self.port = listener.getsockname()[1]
        # A selector loop on every platform: the listener is watched with add_reader.
        self._loop = loop = asyncio.SelectorEventLoop()
        self._thread = threading.Thread(
            target=self._run, args=(loop, listener), name="kuzzle-stub", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        loop, thread, self._thread = self._loop, self._thread, None
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(self._stopping.set)
        thread.join(timeout)

    @property
    def running(self) -> bool:
        """True while the port accepts connections (a halting node is no longer running,
        though its thread may still be closing connections: ``stop()`` waits for it)."""
        return self._thread is not None and self._thread.is_alive() and not self._closing

    def call(self, fn: Callable[[], T], timeout: float = 5.0) -> T:
        """Run ``fn`` on the loop thread and return its result (so its effects happened)."""
        assert self._loop is not None, "the stub was started"

        async def wrapper() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(timeout)

    def _run(self, loop: asyncio.AbstractEventLoop, listener: socket.socket) -> None:
        try:
            loop.run_until_complete(self._main(listener))
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def halt_when_idle(self) -> None:
        """Like a Kuzzle node shutting down: once no request is in flight, end every
        connection without a close frame and stop serving (called on the loop)."""
        self._tasks.spawn(self._halt(), "shutdown")

    async def _halt(self) -> None:
        while not self.funnel.idle.is_set() or self.funnel.waiting:
            await self.funnel.idle.wait()
            await asyncio.sleep(0)  # the answers just computed are written in this turn
        self._graceful = True
        self._stopping.set()

    async def _expire_tokens(self) -> None:
        # Kuzzle's tokenManager timer: TokenExpired to the connections of an expired token.
        while True:
            with self.state.lock:
                delay = self.state.security.expire_due()
            await asyncio.sleep(min(delay, 0.05) if delay is not None else 0.05)

    async def _main(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(listener.fileno(), self._accept, listener)
        self._tasks.spawn(self._expire_tokens(), "token expiry")
        try:
            await self._stopping.wait()
        finally:
            self._closing = True
            loop.remove_reader(listener.fileno())
            listener.close()
            if self._graceful:
                self.websocket.end_all()
            else:
                self.websocket.drop_all(None, "")
            await self._tasks.cancel(wait=2.0)
            await self._close_connections(grace=2.0)
            await self._tasks.cancel(wait=2.0)  # handlers that began after the first cancel

    def _accept(self, listener: socket.socket) -> None:
        # A synchronous accept: once accept() returns, the socket is ours to close, with no
        # await in between for a cancellation to strike (asyncio's own Server leaks a socket
        # accepted just before Server.close(), its transport refusing to attach).
        for _ in range(64):
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of descriptors, say: the peer waits in the backlog
                _log.warning("Kuzzle stub: accept failed: %s", exc)
                return
            conn.setblocking(False)
            self._connecting.spawn(self._adopt(conn), "connection setup")

    async def _adopt(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(
                lambda: _TrackedProtocol(self._open, self._on_connection), conn
            )
        except BaseException:
            conn.close()
            raise

    async def _close_connections(self, grace: float) -> None:
        """Close every accepted connection; return once asyncio has closed each socket.

        Connections still being set up finish first (nothing cancels them, so none is lost
        half-made); a transport still open after ``grace`` seconds (its peer reads nothing,
        so its buffer never drains) is aborted.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        await self._connecting.wait(grace)
        while self._open:
            late = loop.time() >= deadline
            for transport in list(self._open):
                if late:
                    transport.abort()
                elif not transport.is_closing():
                    transport.close()
            await asyncio.sleep(0 if late else 0.001)

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:  # cancelled when the stub stops
            self._tasks.track(task, "connection handler")
        try:
            await self._serve(HttpWire(reader, writer), next(self._ids))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass  # the client went away
        except asyncio.CancelledError:
            pass  # the stub is stopping: this task ends here, as the others
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, wire: HttpWire, conn_id: int) -> None:
        """HTTP requests one after the other, until the client leaves or upgrades."""
        while True:
            try:
                head = await wire.next_request()
            except FramingError as exc:
                # Not even a request head: a bodiless answer, then hang up.
                wire.respond(exc.status, [("Connection", "close")], b"")
                await wire.linger()
                return
            if head is None:
                return
            if head.method == "GET" and "websocket" in head.headers.get("upgrade", "").lower():
                await self.websocket.serve(wire, conn_id)
                return
            if not await self.http.answer(wire, head, conn_id):
                await wire.linger()
                return
            await wire.writer.drain()
