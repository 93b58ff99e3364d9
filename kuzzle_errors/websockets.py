"""Kuzzle errors over WebSocket with the asyncio ``websockets`` client (``websockets`` extra).

:class:`AsyncKuzzleWebSocket` is the asyncio twin of
:class:`kuzzle_errors.websocket.KuzzleWebSocket`: one socket shared by every task, one reader
task routing each answer to its awaiter by ``room`` (Kuzzle sets it to the request id),
realtime notifications to a callback or an async iterator, per-socket rate-limit refusals
(whose answer names no request) failing the refused query, a dropped connection failing every
pending query at once, application pings, and cancellation-safe queries.

This module is ``kuzzle_errors.websockets``; ``import websockets`` below is the absolute
import of the real library (Python 3 has no implicit relative imports).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import websockets
import websockets.asyncio.client
import websockets.exceptions
from websockets.protocol import State

from kuzzle_errors._aio import TaskSet
from kuzzle_errors._protocol import failures, queries
from kuzzle_errors._protocol import websocket as protocol
from kuzzle_errors._protocol.clients import AsyncClientBase, acall_with_retry
from kuzzle_errors._protocol.failures import (
    CONNECT_FAILED,
    CONNECTION_LOST,
    NOT_RETRYABLE,
    shown_url,
)
from kuzzle_errors._protocol.websocket import handshake_refusal
from kuzzle_errors.exceptions import KuzzleError

if TYPE_CHECKING:
    from kuzzle_errors._protocol.clients import AsyncRetryCaller

__all__ = ["DEFAULT_MAX_FRAME_BYTES", "AsyncKuzzleWebSocket", "NotificationStream"]

log = logging.getLogger(__name__)

#: Largest frame accepted, in bytes; a larger one drops the connection (code 1009).
DEFAULT_MAX_FRAME_BYTES: Final = protocol.DEFAULT_MAX_FRAME_BYTES

Notification = Callable[[dict[str, Any]], "Awaitable[None] | None"]
UnmatchedError = Callable[[KuzzleError], "Awaitable[None] | None"]


class _Pending:
    __slots__ = ("future", "request", "request_id", "timer")

    def __init__(self, request_id: str, request: Mapping[str, Any], future: asyncio.Future[Any]):
        self.request_id = request_id
        self.request = request
        self.future = future
        self.timer: asyncio.TimerHandle | None = None


def _settle(entry: _Pending, outcome: protocol.Outcome) -> None:
    if entry.future.done():  # cancelled meanwhile
        return
    if isinstance(outcome, KuzzleError):
        entry.future.set_exception(outcome)
    else:
        entry.future.set_result(outcome)


class NotificationStream:
    """The realtime notifications, as an async iterator (see ``notifications()`` of the client).

    Ends when the client closes; raises :class:`~kuzzle_errors.ConnectionLostError` when the
    connection drops (Kuzzle forgets the subscriptions of a dropped socket: subscribe again).
    At most ``max_queued`` notifications wait; beyond, the oldest are dropped (and logged).
    """

    def __init__(self, client: AsyncKuzzleWebSocket, max_queued: int) -> None:
        self._client = client
        self._queue: asyncio.Queue[dict[str, Any] | KuzzleError | None] = asyncio.Queue(max_queued)
        self.dropped = 0

    def _put(self, item: dict[str, Any] | KuzzleError | None) -> None:
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()
                self.dropped += 1
                log.warning("notification stream full: dropped the oldest notification")

    def __aiter__(self) -> NotificationStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self not in self._client._streams:
            raise StopAsyncIteration
        item = await self._queue.get()
        if isinstance(item, dict):
            return item
        self.close()
        if item is None:
            raise StopAsyncIteration
        raise item

    def close(self) -> None:
        """Stop receiving notifications."""
        self._client._streams.discard(self)

    async def __aenter__(self) -> NotificationStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()


class _Connection:
    """One socket, its reader and pinger tasks and its pending queries; dead once it drops."""

    def __init__(self, client: AsyncKuzzleWebSocket, ws: Any) -> None:
        self._client = client
        self.ws = ws
        self.router = protocol.FrameRouter(_settle, time.monotonic())
        self.dead = False
        self._closing = False
        self._sends = TaskSet(_log_failed)  # pongs: a failure means the reader reports a drop
        self._reader = asyncio.ensure_future(self._read_loop())
        self._pinger = (
            asyncio.ensure_future(self._ping_loop()) if client.ping_interval is not None else None
        )

    # -- the caller's side ---------------------------------------------------------------

    async def request(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``payload`` (which has a fresh ``requestId``) and wait for its answer."""
        if self.dead or self.ws.state is not State.OPEN:
            raise protocol.Stale
        text = queries.ws_text(payload)  # may raise on an unserialisable request: nothing sent
        loop = asyncio.get_running_loop()
        entry = _Pending(payload["requestId"], payload, loop.create_future())
        self.router.sending(entry)
        entry.timer = loop.call_later(timeout, self._expire, entry, timeout)
        try:
            try:
                await self.ws.send(text)
            except websockets.exceptions.ConnectionClosed as exc:
                raise failures.ws_lost_error(
                    self._client.url, payload, f"send failed: {exc}", CONNECTION_LOST
                ) from failures.safe_cause(exc)
            return await entry.future  # type: ignore[no-any-return]
        finally:
            # Whatever ended the wait (answer, error, timeout, cancellation), nothing stays
            # pending; an abandoned query is remembered so its late answer is dropped quietly.
            entry.timer.cancel()
            if self.router.abandon(entry) and not entry.future.done():
                entry.future.cancel()
            if entry.future.done() and not entry.future.cancelled():
                entry.future.exception()  # retrieved: a drop during the send set one too

    def _expire(self, entry: _Pending, timeout: float) -> None:
        error = self.router.expire(entry, timeout)
        if error is not None:
            _settle(entry, error)

    # -- the reader's side ---------------------------------------------------------------

    async def _read_loop(self) -> None:
        why = "the connection dropped"
        try:
            async for data in self.ws:
                self.router.last_received = time.monotonic()
                self._dispatch(data)
        except websockets.exceptions.ConnectionClosed:
            pass
        except Exception as exc:  # never let the reader die silently
            why = protocol.dropped_by(exc)
            log.exception("the WebSocket reader failed")
        if not self._closing:
            why = _describe_close(self.ws, why)
        self._drop(why if not self._closing else "the client was closed")

    async def _ping_loop(self) -> None:
        interval = self._client.ping_interval
        assert interval is not None
        while not self.dead:
            now = time.monotonic()
            due = self.router.ping_due(now, interval)
            if due.dead:
                self.abort("no answer to a ping: the server is unreachable")
                return
            if due.send:
                self.router.ping_sent(now)
                try:
                    await self.ws.send(protocol.PING)
                except websockets.exceptions.ConnectionClosed:
                    return  # the reader reports the drop
            await asyncio.sleep(max(due.wake - time.monotonic(), 0.001))

    def _dispatch(self, data: str | bytes) -> None:
        routed = protocol.decode_frame(data)
        if isinstance(routed, dict):
            routed = self.router.route(routed)
        if routed.pong:
            self.router.pong_sent()
            self._sends.spawn(self.ws.send(protocol.PONG), "sending a pong")
        elif routed.notification is not None:
            self._client._notify(routed.notification)
        elif routed.unmatched is not None:
            protocol.log_unmatched(log, routed.unmatched, routed.what)
            callback = self._client.on_unmatched_error
            if callback is not None:
                self._client._run_callback(callback, routed.unmatched, "on_unmatched_error")

    def _drop(self, why: str) -> None:
        """Fail every pending query at once and mark the connection dead."""
        if self.dead:
            return
        self.dead = True
        self.router.drop(self._client.url, why)
        if self._pinger is not None:
            self._pinger.cancel()
        self._client._connection_dropped(self, why)

    # -- closing -------------------------------------------------------------------------

    def abort(self, why: str) -> None:
        """Drop the connection now, without a closing handshake."""
        self._drop(why)
        transport = getattr(self.ws, "transport", None)
        if transport is not None:
            transport.abort()

    async def close(self, wait: float) -> None:
        """Close politely (close frame), then forcibly if the server does not answer."""
        self._closing = True
        try:
            await asyncio.wait_for(self.ws.close(), wait)
        except Exception:  # already broken, or no answer in time: abort below
            log.debug("closing the WebSocket failed", exc_info=True)
        self.abort("the client was closed")
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), wait)
        except Exception:  # pragma: no cover - the reader ends once the transport is gone
            log.debug("the reader did not end", exc_info=True)
        await self._sends.cancel()


def _log_failed(what: str, exc: BaseException) -> None:
    log.debug("%s failed", what, exc_info=exc)


def _log_callback_failure(what: str, exc: BaseException) -> None:
    log.error("%s failed", what, exc_info=exc)


def _describe_close(ws: Any, default: str) -> str:
    protocol = getattr(ws, "protocol", None)
    received = getattr(protocol, "close_rcvd", None)
    sent = getattr(protocol, "close_sent", None)
    if received is not None:
        who, frame = "the server", received
    elif sent is not None:  # we closed: a frame too large, a protocol error from the server
        who, frame = "the client", sent
    else:
        return default
    reason = f": {frame.reason}" if frame.reason else ""
    if sent is not None and received is None and frame.code == 1009:
        reason += ", over max_frame_bytes"
    return f"closed by {who} (code {frame.code}{reason})"


class AsyncKuzzleWebSocket(AsyncClientBase):
    """An asyncio Kuzzle WebSocket client: ``await query(request)`` returns ``result`` or raises.

    One socket serves every task of the event loop; each answer goes to its awaiter. When the
    connection drops, every pending query fails at once with
    :class:`~kuzzle_errors.ConnectionLostError`; the next query reconnects. Cancelling an
    ``await query(...)`` leaves nothing behind (its late answer, if any, is dropped).

    Args:
        url: ``ws://host:7512``.
        timeout: seconds to connect (in total, handshake included), and the default time a
            query waits for its answer.
        jwt: an authentication token added to every request; :meth:`login` sets one.
        retry: a :class:`kuzzle_errors.retry.RetryPolicy`; each query then goes through
            ``await retry.acall(...)`` with its ``idempotent`` flag, sharing the per-host
            budget with every other client of the same server.
        on_notification: called with each realtime notification (a dict), in the reader
            task: keep it quick. A coroutine function is run as its own task.
        on_unmatched_error: called with the error of an answer matching no pending query (a
            rate-limit refusal, a garbage frame...); logged at WARNING level either way.
        ping_interval: seconds of silence after which Kuzzle's ``{"p":1}`` is sent; a ping
            unanswered for a whole interval (a dead network, or a frame dripping in) drops the
            connection. None disables pings.
        max_frame_bytes: largest frame accepted, in bytes (None: no limit); a larger frame drops
            the connection.

    Use it as ``async with AsyncKuzzleWebSocket(url) as kuzzle: ...`` (connects on entry), or
    let the first query connect and call :meth:`close` (or its alias :meth:`aclose`) at the end.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        jwt: str | None = None,
        retry: AsyncRetryCaller | None = None,
        on_notification: Notification | None = None,
        on_unmatched_error: UnmatchedError | None = None,
        ping_interval: float | None = 20.0,
        max_frame_bytes: int | None = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        if ping_interval is not None and not ping_interval > 0:
            raise ValueError(f"ping_interval must be positive or None, not {ping_interval!r}")
        self.url = url
        self.timeout = timeout
        self.jwt = jwt
        self._retry = None
        self.retry = retry
        self.on_notification = on_notification
        self.on_unmatched_error = on_unmatched_error
        self.ping_interval = ping_interval
        self.max_frame_bytes = max_frame_bytes
        self._conn: _Connection | None = None
        self._connect_lock: asyncio.Lock | None = None
        self._closed = False
        self._streams: set[NotificationStream] = set()
        self._callbacks = TaskSet(_log_callback_failure)

    def _retry_scope(self) -> str:
        return self.url

    @property
    def connected(self) -> bool:
        """True while the socket is open."""
        conn = self._conn
        return conn is not None and not conn.dead

    @property
    def pending(self) -> int:
        """How many queries wait for their answer."""
        conn = self._conn
        return len(conn.router.pending) if conn is not None else 0

    async def connect(self) -> None:
        """Open the socket if it is not open (queries do this on their own)."""
        await self._connection()

    async def _connection(self) -> _Connection:
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            if self._closed:
                raise failures.ws_closed_error()
            conn = self._conn
            if conn is None or conn.dead:
                ws = await self._open()
                if self._closed:  # closed while we connected
                    await ws.close()
                    raise failures.ws_closed_error()
                conn = self._conn = _Connection(self, ws)
            return conn

    async def _open(self) -> Any:
        try:
            # One deadline for the whole handshake: a server dripping its answer cannot
            # stretch it.
            return await asyncio.wait_for(
                websockets.asyncio.client.connect(
                    self.url,
                    open_timeout=self.timeout,
                    ping_interval=None,  # Kuzzle's application pings instead (see _ping_loop)
                    max_size=self.max_frame_bytes,
                    close_timeout=min(self.timeout, 2.0),
                ),
                self.timeout,
            )
        except websockets.exceptions.InvalidStatus as exc:
            raise self._refused_handshake(exc) from failures.safe_cause(exc)
        except Exception as exc:  # refused, DNS, timeout, bad URL: nothing was sent
            bad_url = isinstance(exc, (ValueError, TypeError, websockets.exceptions.InvalidURI))
            hint = NOT_RETRYABLE if bad_url else CONNECT_FAILED
            raise failures.ws_connect_error(self.url, exc, hint) from failures.safe_cause(exc)

    def _refused_handshake(self, exc: websockets.exceptions.InvalidStatus) -> KuzzleError:
        """A handshake answered with an HTTP status: parsed like any HTTP answer (shared)."""
        response = exc.response
        return handshake_refusal(
            self.url,
            response.status_code,
            dict(response.headers.raw_items()),
            bytes(response.body or b""),
            "websocket",
        )

    async def query(
        self,
        request: Mapping[str, Any],
        *,
        idempotent: bool = False,
        strict: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """Send one Kuzzle API request and return its ``result``.

        Raises the parsed :class:`~kuzzle_errors.KuzzleError` on an error answer,
        :class:`~kuzzle_errors.ConnectionLostError` if the connection fails or drops,
        :class:`~kuzzle_errors.RequestTimeoutError` if no answer comes within ``timeout``
        (default: the client's). ``idempotent`` and ``strict`` as for the sync client.
        """
        return await acall_with_retry(
            self.retry,
            self._query_once,
            dict(request),
            idempotent=idempotent,
            strict=strict,
            timeout=timeout,
        )

    async def _query_once(
        self, request: dict[str, Any], *, strict: bool = False, timeout: float | None = None
    ) -> Any:
        payload = queries.ws_payload(request, self.jwt)
        wait = self.timeout if timeout is None else timeout
        try:
            answer = await (await self._connection()).request(payload, wait)
        except protocol.Stale:  # it dropped before our send: nothing was sent, reconnect once
            try:
                answer = await (await self._connection()).request(payload, wait)
            except protocol.Stale as exc:
                raise failures.stale_error(self.url, payload) from exc
        return protocol.ws_result(answer, strict)

    def notifications(self, *, max_queued: int = 1000) -> NotificationStream:
        """An async iterator of the realtime notifications received from now on.

        ``async for notification in kuzzle.notifications(): ...``; see
        :class:`NotificationStream`. Independent of ``on_notification`` (both get them).
        """
        stream = NotificationStream(self, max_queued)
        self._streams.add(stream)
        return stream

    def _notify(self, msg: dict[str, Any]) -> None:
        for stream in list(self._streams):
            stream._put(msg)
        callback = self.on_notification
        if callback is not None:
            self._run_callback(callback, msg, "on_notification")
        elif not self._streams:
            log.debug("notification without a callback: room %s", msg.get("room"))

    def _run_callback(self, callback: Callable[[Any], Any], arg: Any, name: str) -> None:
        try:
            result = callback(arg)
        except Exception:  # a failing callback must not kill the reader
            log.exception("%s callback failed", name)
            return
        if inspect.isawaitable(result):
            self._callbacks.spawn(result, f"{name} callback")

    def _connection_dropped(self, conn: _Connection, why: str) -> None:
        if conn is not self._conn or self._closed:
            return  # closing: close() ends the streams, once
        for stream in list(self._streams):
            stream._put(failures.ws_lost_error(self.url, {}, why, CONNECTION_LOST))

    async def close(self) -> None:
        """Close the socket; pending queries fail with ConnectionLostError. Idempotent."""
        self._closed = True
        conn = self._conn
        if conn is not None:
            await conn.close(min(self.timeout, 2.0))
        for stream in list(self._streams):
            stream._put(None)

    async def aclose(self) -> None:
        """The same as :meth:`close`, under the name ``contextlib.aclosing`` and httpx use."""
        await self.close()

    async def _aenter(self) -> None:
        await self.connect()  # ``async with`` connects on entry

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("connected" if self.connected else "idle")
        return f"AsyncKuzzleWebSocket({shown_url(self.url)!r}, {state})"
