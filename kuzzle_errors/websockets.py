"""Kuzzle errors over WebSocket with the asyncio ``websockets`` client (``websockets`` extra).

:class:`AsyncKuzzleWebSocket` is the asyncio twin of
:class:`kuzzle_errors.websocket.KuzzleWebSocket`, with the same parameters and behaviour.
This module is ``kuzzle_errors.websockets``; ``import websockets`` below is the absolute
import of the real library (Python 3 has no implicit relative imports).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import websockets
import websockets.asyncio.client
import websockets.exceptions
from websockets.protocol import State

from kuzzle_errors._adapters import SendDataHook
from kuzzle_errors._aio import TaskSet
from kuzzle_errors._protocol import failures
from kuzzle_errors._protocol import websocket as protocol
from kuzzle_errors._protocol.clients import AsyncClientBase, WebSocketClient, unsubscribe_request
from kuzzle_errors._protocol.queries import ws_frame
from kuzzle_errors._protocol.realtime import SHUTTING_DOWN_IDS, Gap, SubscriptionState
from kuzzle_errors.exceptions import KuzzleError
from kuzzle_errors.retry import RECONNECT, RECONNECT_ONCE

if TYPE_CHECKING:
    from kuzzle_errors._protocol.clients import AsyncRetryCaller

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "AsyncKuzzleWebSocket",
    "Gap",
    "NotificationStream",
    "Subscription",
]

log: logging.Logger = logging.getLogger(__name__)

#: Largest message accepted, in bytes; a larger one drops the connection (code 1009).
DEFAULT_MAX_FRAME_BYTES: Final = protocol.DEFAULT_MAX_FRAME_BYTES

Notification = Callable[[dict[str, Any]], "Awaitable[None] | None"]
UnmatchedError = Callable[[KuzzleError], "Awaitable[None] | None"]
Hook = Callable[..., "Awaitable[None] | None"]
#: Called in the reader with the connection and the answer frame (see protocol.Pending).
Answered = Callable[[Any, dict[str, Any]], None] | None


class NotificationStream(protocol.NotificationQueue):
    """The realtime notifications, as an async iterator (see ``notifications()`` of the client).

    Ends when the client closes (or :meth:`close` is called); raises
    :class:`~kuzzle_errors.ConnectionLostError` when the connection drops (Kuzzle forgets the
    subscriptions of a dropped socket: subscribe again). At most ``max_queued`` notifications
    wait; beyond, the oldest are dropped (and logged), counted in :attr:`dropped`.
    """

    def __init__(self, streams: set[protocol.NotificationQueue], max_queued: int) -> None:
        self._event = asyncio.Event()
        super().__init__(streams, max_queued)

    def put(self, item: dict[str, Any] | KuzzleError | None) -> None:
        super().put(item)
        self._event.set()

    def warn(self, error: KuzzleError) -> None:
        super().warn(error)
        self._event.set()

    def forked(self) -> None:
        self._event = asyncio.Event()

    def __aiter__(self) -> NotificationStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while (item := self._next(StopAsyncIteration)) is None:
            self._event.clear()
            await self._event.wait()
        return item

    async def __aenter__(self) -> NotificationStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()


class Subscription(SubscriptionState, NotificationStream):
    """A subscription :meth:`AsyncKuzzleWebSocket.subscribe` made, kept across reconnects: the
    twin of :class:`kuzzle_errors.websocket.Subscription`, iterated with ``async for``; its
    callbacks may be coroutine functions, and :meth:`unsubscribe` is awaited."""

    async def unsubscribe(self) -> None:
        """End the subscription (``realtime:unsubscribe`` if Kuzzle has it). Idempotent."""
        await self._client._unsubscribe(self)


class _ClockedConnection(SendDataHook, websockets.asyncio.client.ClientConnection):
    """websockets' connection, the bytes it receives timed by a FrameClock (``frame_timeout``).

    The size is bounded by websockets itself (``max_size``); its public ``create_connection``
    option builds this subclass, which sees each chunk through asyncio's ``data_received``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # From the handshake's first byte, untimed until the client sets frame_timeout.
        self.clock = protocol.FrameClock(None, math.inf, http_head=True)
        self.limit: str | None = None  # why the clock dropped the connection
        #: Called once the connection stops being open (a close frame came, or websockets
        #: failed it: a message too large, not UTF-8, a protocol error), with why.
        self.on_closing: Callable[[str], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # asyncio hands the protocol its transport: aborting it drops the connection at once,
        # with no closing handshake (websockets' own close() would wait for one).
        assert isinstance(transport, asyncio.Transport)
        self.abort = transport.abort

    def data_received(self, data: bytes) -> None:
        try:
            self.clock.feed(data, time.monotonic())
        except protocol.FrameLimit as exc:
            self.limit = str(exc)
            self.abort()
            return
        super().data_received(data)
        self.check_open()

    def after_send_data(self) -> None:
        self.check_open()

    def check_open(self) -> None:
        """Call ``on_closing`` once the connection is no longer open.

        A close frame came, or websockets failed the connection (a message past max_size, a
        text message that is not UTF-8, a protocol error): recv() raises only once the closing
        handshake ends, up to close_timeout later if the server keeps the TCP connection open.
        The queries fail now.
        """
        if self.protocol.state is not State.OPEN and self.on_closing is not None:
            on_closing, self.on_closing = self.on_closing, None
            on_closing(_closing_reason(self.protocol))


class _Connection:
    """One socket, its reader and watch tasks and its pending queries; dead once it drops."""

    def __init__(self, client: AsyncKuzzleWebSocket, ws: _ClockedConnection) -> None:
        self._client = client
        self.ws = ws
        self.router = protocol.FrameRouter(time.monotonic())
        self.dead = False
        self.leaving = False  # its node said it shuts down: nothing more is sent there
        self.reported = False  # its loss was told (on_disconnect, the streams' end)
        self._closing = False
        # Pongs: a failure to send one means the reader reports a drop.
        self._sends = TaskSet(lambda what, exc: log.debug("%s failed", what, exc_info=exc))
        self._reader = asyncio.ensure_future(self._read_loop())
        self._watch = asyncio.ensure_future(self._watch_loop())
        ws.on_closing = self.abort

    async def request(
        self, payload: Mapping[str, Any], data: bytes, timeout: float, answered: Answered = None
    ) -> protocol.Pending:
        """Send ``payload`` (encoded: ``data``, a text frame) and wait for its answer,
        ``timeout`` seconds in all (its send included); ``answered``: see
        :class:`protocol.Pending`."""
        if self.dead or self.ws.state is not State.OPEN:
            raise protocol.Stale
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not future.done():  # cancelled meanwhile
                future.set_result(None)

        on_answer = None if answered is None else functools.partial(answered, self)
        entry = protocol.Pending(payload, wake, on_answer)
        self.router.sending(entry)
        timer = loop.call_later(timeout, self.router.expire, entry, timeout)
        try:
            try:
                # A peer that stops reading holds a send for ever (websockets waits for the
                # buffer to drain): bounded too. The frame was handed to the loop whole: it
                # may still leave, the timeout is not replay-safe.
                await asyncio.wait_for(self.ws.send(data, text=True), timeout)
            except asyncio.TimeoutError:
                self.router.expire(entry, timeout)  # if the timer has not already
            except websockets.exceptions.ConnectionClosed as exc:
                error = failures.lost_error(self._client.url, payload, f"send failed: {exc}")
                raise error from failures.safe_cause(exc)
            await future
            return entry
        finally:
            # Whatever ended the wait (answer, error, timeout, cancellation), nothing stays
            # pending; an abandoned query is remembered so its late answer is dropped quietly.
            timer.cancel()
            self.router.abandon(entry)

    async def _read_loop(self) -> None:
        why = "the connection dropped"
        try:
            while True:
                data = await self.ws.recv()
                self.router.last_received = time.monotonic()
                self._dispatch(data)
        except websockets.exceptions.ConnectionClosed as exc:
            why = _describe_close(exc, why)
        except Exception as exc:  # never let the reader die silently
            why = protocol.dropped_by(exc)
            log.exception("the WebSocket reader failed")
        if self._closing:
            why = "the client was closed"
        elif self.ws.limit is not None:
            why = f"the connection was dropped: {self.ws.limit}"
        self._drop(why)

    async def _watch_loop(self) -> None:
        """Ping an idle connection; drop one silent after a ping or in the middle of a frame."""
        interval = self._client.ping_interval
        clock = self.ws.clock
        while not self.dead:
            now = time.monotonic()
            try:
                clock.check(now)
            except protocol.FrameLimit as exc:
                self.abort(f"the connection was dropped: {exc}")
                return
            wake = (now if clock.started is None else clock.started) + clock.timeout
            if interval is not None:
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
                wake = min(wake, due.wake)
            await asyncio.sleep(max(wake - time.monotonic(), 0.001))

    def _dispatch(self, data: str | bytes) -> None:
        routed = protocol.decode_frame(data)
        if isinstance(routed, dict):
            routed = self.router.route(routed)
        if routed.pong:
            self.router.pong_sent()
            self._sends.spawn(self.ws.send(protocol.PONG), "sending a pong")
        else:
            self._client._deliver(routed, log)

    def _drop(self, why: str) -> None:
        """Fail every pending query at once, mark the connection dead, end the streams."""
        if self.dead:
            return
        self.dead = True
        self.router.drop(self._client.url, why)
        self._watch.cancel()
        self._client._end_streams(self, why)

    def abort(self, why: str) -> None:
        """Drop the connection now, without a closing handshake."""
        self._drop(why)
        self.ws.abort()

    def retire_if_idle(self) -> None:
        """Close this connection, whose node is leaving, once no query waits on it: nothing
        more is sent there, and each reconnect to a draining node would leave a socket and
        its tasks behind."""
        if self._closing or self.dead or self.router.pending:
            return
        self._closing = True
        wait = min(self._client.timeout, 2.0)
        self._client._callbacks.spawn(self.close(wait), "closing a connection its node left")

    def forget(self) -> None:
        """In a forked child: let go of this socket without a word to the server (it is the
        parent's connection). Its transport belongs to the parent's loop, which nothing here
        may touch (its selector is shared with the parent): this process's copy of the socket
        is replaced by /dev/null, so the descriptor stays valid until the objects go."""
        self.dead = True
        sock = self.ws.transport.get_extra_info("socket") if self.ws.transport else None
        if sock is None:
            return
        null = os.open(os.devnull, os.O_RDWR)
        try:
            os.dup2(null, sock.fileno())
        except OSError:  # already gone
            pass
        finally:
            os.close(null)

    async def close(self, wait: float) -> None:
        """Close politely (close frame), then forcibly if the server does not answer."""
        self._closing = True
        self.ws.on_closing = None  # our own close frame: the closing handshake may end
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


def _closing_reason(proto: Any) -> str:
    """Why a connection stopped being open, from websockets' protocol state."""
    return _describe_close(proto, "the connection is closing")


def _describe_close(exc: Any, default: str) -> str:
    """Why a connection closed, from the close frames ``exc`` (a ConnectionClosed, or the
    protocol: the same ``close_rcvd``/``close_sent``, or ``rcvd``/``sent``) tells."""
    received = getattr(exc, "rcvd", getattr(exc, "close_rcvd", None))
    sent = getattr(exc, "sent", getattr(exc, "close_sent", None))
    frame = received or sent  # sent only: we closed (a frame too large, a bad frame)
    if frame is None:
        return default
    reason = frame.reason
    if received is None and frame.code == 1009:
        reason = f"{reason}, over max_frame_bytes" if reason else "over max_frame_bytes"
    by = "the server" if received is not None else "the client"
    return protocol.close_reason(by, frame.code, reason)


def _callback_failed(what: str, exc: BaseException) -> None:
    log.error("%s failed", what, exc_info=exc)


class AsyncKuzzleWebSocket(WebSocketClient, AsyncClientBase):
    """An asyncio Kuzzle WebSocket client: ``await query(request)`` returns ``result`` or raises.

    The twin of :class:`kuzzle_errors.websocket.KuzzleWebSocket`, with the same parameters,
    properties and behaviour; one socket serves every task of the event loop. When the
    connection drops, every pending query fails at once with
    :class:`~kuzzle_errors.ConnectionLostError`; the next query reconnects. Cancelling an
    ``await query(...)`` leaves nothing behind (its late answer, if any, is dropped).

    Where the twins differ: the retry policy is called through ``await retry.acall(...)``;
    ``on_notification`` and ``on_unmatched_error`` run in the reader task and may be coroutine
    functions (each call then runs as its own task); :meth:`notifications` is an async
    iterator; a constructor cannot await, so ``connect=True`` (the default) connects on
    entering ``async with``, and ``connect=False`` (or no ``async with``) at the first query.
    ``frame_timeout`` is checked as bytes arrive (websockets bounds the size itself, closing
    with code 1009 past ``max_frame_bytes``).

    The hooks (``on_disconnect``...) may be coroutine functions too (each call its own task;
    ``on_token_expired`` is awaited before the subscriptions are restored).

    Use it as ``async with AsyncKuzzleWebSocket(url) as kuzzle: ...``, or call
    :meth:`close` (or its alias :meth:`aclose`) at the end.
    """

    _logger = log

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        timeout: float = 10.0,
        jwt: str | None = None,
        retry: AsyncRetryCaller | None = None,
        on_notification: Notification | None = None,
        on_unmatched_error: UnmatchedError | None = None,
        ping_interval: float | None = 20.0,
        max_frame_bytes: int | None = DEFAULT_MAX_FRAME_BYTES,
        frame_timeout: float | None = None,
        reconnect: AsyncRetryCaller | None = RECONNECT,
        on_disconnect: Hook | None = None,
        on_reconnect: Hook | None = None,
        on_resubscribed: Hook | None = None,
        on_resubscription_failed: Hook | None = None,
        on_token_expired: Hook | None = None,
        connect: bool = True,
    ) -> None:
        options = (on_notification, on_unmatched_error, ping_interval, max_frame_bytes)
        self._configure(url, timeout, jwt, *options, frame_timeout)
        hooks = (on_disconnect, on_reconnect, on_resubscribed, on_resubscription_failed)
        self._configure_realtime(reconnect, *hooks, on_token_expired)
        self._set_retry(retry)
        self._connect_on_enter = connect
        self._connect_lock: asyncio.Lock | None = None
        self._callbacks = TaskSet(_callback_failed)
        self._restorer: asyncio.Future[None] | None = None  # the task restoring subscriptions

    async def connect(self) -> None:
        """Open the socket if it is not open (queries do this on their own)."""
        await self._connection()

    async def _enter(self) -> None:
        if self._connect_on_enter:
            await self.connect()

    def _renew(self) -> None:
        # First use in a forked child: the connection, its tasks, the lock and the streams'
        # events belong to the parent's event loop. Nothing of it is reused or closed politely
        # (a close frame would end the parent's connection).
        conn, self._conn, self._connect_lock = self._conn, None, None
        self._callbacks = TaskSet(_callback_failed)
        self._restorer = None
        if conn is not None:
            conn.forget()
        self._forked_streams("a stream of the parent process")

    async def _connection(self) -> _Connection:
        self._fork.check(self._renew)
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            if self._closed:
                raise failures.closed_error()
            conn = self._conn
            if conn is None or conn.dead or conn.leaving:
                try:
                    ws = await self._open()
                except KuzzleError:
                    self._rotate()
                    raise
                if self._closed:  # closed while we connected
                    await ws.close()
                    raise failures.closed_error()
                conn = self._conn = _Connection(self, ws)
                self._opened()
            return conn  # type: ignore[no-any-return]

    async def _open(self) -> _ClockedConnection:
        try:
            # One deadline for the whole handshake: a server dripping its answer cannot
            # stretch it.
            ws = await asyncio.wait_for(
                websockets.asyncio.client.connect(
                    self.url,
                    create_connection=_ClockedConnection,
                    open_timeout=self.timeout,
                    ping_interval=None,  # Kuzzle's application pings instead (_watch_loop)
                    max_size=self.max_frame_bytes,
                    close_timeout=min(self.timeout, 2.0),
                ),
                self.timeout,
            )
        except websockets.exceptions.InvalidStatus as exc:
            response = exc.response
            headers = dict(response.headers.raw_items())
            refusal = protocol.handshake_refusal(
                self.url, response.status_code, headers, bytes(response.body or b"")
            )
            raise refusal from failures.safe_cause(exc)
        except Exception as exc:  # refused, DNS, timeout, bad URL: nothing was sent
            # A bad URL, or a handshake answer past websockets' limits (a redirect loop, too
            # many headers): the same would come again.
            permanent = (
                ValueError,
                TypeError,
                websockets.exceptions.InvalidURI,
                websockets.exceptions.SecurityError,
            )
            hint = failures.NOT_RETRYABLE if isinstance(exc, permanent) else failures.CONNECT_FAILED
            raise failures.connect_error(self.url, exc, hint) from failures.safe_cause(exc)
        assert isinstance(ws, _ClockedConnection)
        ws.clock.timeout = self.frame_timeout or self.timeout  # websockets bounds the size
        return ws

    async def query(
        self,
        request: Mapping[str, Any],
        *,
        idempotent: bool | None = None,
        strict: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """Send one Kuzzle API request and return its ``result``.

        Raises the parsed :class:`~kuzzle_errors.KuzzleError` on an error answer,
        :class:`~kuzzle_errors.ConnectionLostError` if the connection fails or drops,
        :class:`~kuzzle_errors.RequestTimeoutError` if no answer comes within ``timeout``
        (default: the client's). ``idempotent`` and ``strict`` as for the sync client.
        """
        return await self._call(
            self._query_once, request, idempotent, strict=strict, timeout=timeout
        )

    async def _query_once(
        self,
        request: dict[str, Any],
        *,
        strict: bool = False,
        timeout: float | None = None,
        answered: Answered = None,
    ) -> Any:
        wait = self._call_timeout(timeout)  # refused here, before anything is sent
        payload, data = ws_frame(request, self.jwt)  # a fresh requestId on every attempt
        for _ in range(2):  # a connection that dropped before our send: nothing was sent
            with contextlib.suppress(protocol.Stale):
                conn = await self._connection()
                entry = await conn.request(payload, data, wait, answered)
                try:
                    return entry.result(strict)
                except KuzzleError as exc:
                    if exc.matches(*SHUTTING_DOWN_IDS):
                        self._node_leaving(conn, exc)
                    raise
                finally:
                    if conn.leaving:
                        conn.retire_if_idle()
        why = "before the request was sent"
        raise failures.lost_error(self.url, payload, why, failures.CONNECT_FAILED)

    async def subscribe(
        self,
        index: str,
        collection: str,
        filters: Mapping[str, Any],
        *,
        on_notification: Notification | None = None,
        on_error: UnmatchedError | None = None,
        max_queued: int = 1000,
        **options: Any,
    ) -> Subscription:
        """Subscribe and keep the subscription across reconnects: as the sync client's
        :meth:`kuzzle_errors.websocket.KuzzleWebSocket.subscribe`; iterate it with
        ``async for``."""
        sub = Subscription(
            self, index, collection, filters, options, on_notification, on_error, max_queued
        )
        try:
            # Through the retry policy (subscribing twice is harmless); the channel is known
            # in the reader, before the frame after the answer.
            once, answered = self._query_once, self._answered(sub)
            result = await self._call(once, sub.request(), True, answered=answered)
        except BaseException:
            sub._abandon()
            raise
        self._subscribed_now(sub, result)
        return sub

    async def _unsubscribe(self, sub: Subscription) -> None:
        room = self._leave(sub)
        if room is not None:
            await self.query(unsubscribe_request(room), idempotent=True)

    def _restore_soon(self) -> None:
        if self._restore_begin():
            self._restorer = asyncio.ensure_future(self._restore_loop())
            self._callbacks.track(self._restorer, "restoring the subscriptions")

    def _in_restorer(self) -> bool:
        return self._restorer is not None and asyncio.current_task() is self._restorer

    async def _restore_loop(self) -> None:
        while True:
            try:
                await (self.reconnect or RECONNECT_ONCE).acall(self._restore_once, idempotent=True)
            except Exception as exc:  # never let the restoring die silently
                self._gave_up(exc)
            if not self._restore_end():
                return

    async def _restore_once(self) -> None:
        """One attempt: connect, subscribe each lost subscription again."""
        if self._closed:
            return
        self._restore_attempt_begins()
        await self._connection()
        for sub in self._to_restore():
            try:
                answered = self._answered(sub)
                result = await self._query_once(sub.request(), answered=answered)
                orphan = self._restored(sub, result)
            except KuzzleError as exc:
                self._not_restored(sub, exc)  # raises it to try again on another connection
                continue
            if orphan is not None:  # unsubscribed while Kuzzle subscribed it again
                try:
                    await self._query_once(unsubscribe_request(orphan))
                except KuzzleError as exc:
                    log.warning("could not unsubscribe from a room left meanwhile: %s", exc)

    def _after_token_expired(self, error: KuzzleError) -> None:
        async def run() -> None:
            callback = self.on_token_expired
            if callback is not None:
                try:
                    result = callback(error)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("on_token_expired callback failed")
            self._restore_waiting()  # after a login there, or a token set by hand

        self._callbacks.spawn(run(), "on_token_expired")

    def notifications(self, *, max_queued: int = 1000) -> NotificationStream:
        """An async iterator of the realtime notifications received from now on.

        ``async for notification in kuzzle.notifications(): ...``; see
        :class:`NotificationStream`. Independent of ``on_notification`` (both get them).
        """
        return NotificationStream(self._streams, max_queued)

    def _hook(self, name: str, callback: Any, *args: Any) -> Any:
        result = super()._hook(name, callback, *args)
        if inspect.isawaitable(result):  # a coroutine function: each call is its own task
            self._callbacks.spawn(result, f"{name} callback")
        return result

    async def close(self) -> None:
        """Close the socket; pending queries fail with ConnectionLostError, streams end.

        Idempotent.
        """
        self._closed = True
        if self._restorer is not None:  # it may be waiting between two attempts
            self._restorer.cancel()
        conn = self._conn
        if conn is not None:
            await conn.close(min(self.timeout, 2.0))
        self._end_streams(None, None)
