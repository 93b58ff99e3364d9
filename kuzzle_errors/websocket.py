"""Kuzzle errors over WebSocket with ``websocket-client`` (install the ``websocket`` extra).

* :func:`error_from_message`: the :class:`~kuzzle_errors.KuzzleError` one frame carries;
* :class:`KuzzleWebSocket`: a thread-safe client on one socket, its answers routed by a reader
  thread, its notifications given to a callback and to :class:`NotificationStream` iterators.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import websocket as _wsc  # type: ignore[import-untyped, unused-ignore]  # old releases: untyped

from kuzzle_errors._adapters import RecvHook
from kuzzle_errors._protocol import failures
from kuzzle_errors._protocol import websocket as protocol
from kuzzle_errors._protocol.clients import ClientBase, WebSocketClient, unsubscribe_request
from kuzzle_errors._protocol.queries import ws_context, ws_frame
from kuzzle_errors._protocol.realtime import SHUTTING_DOWN_IDS, Gap, SubscriptionState
from kuzzle_errors._protocol.websocket import DEFAULT_MAX_FRAME_BYTES, error_from_message
from kuzzle_errors.exceptions import KuzzleError, RequestTimeoutError
from kuzzle_errors.retry import RECONNECT, RECONNECT_ONCE

if TYPE_CHECKING:
    from kuzzle_errors._protocol.clients import RetryCaller

__all__ = ["Gap", "KuzzleWebSocket", "NotificationStream", "Subscription", "error_from_message"]

log: logging.Logger = logging.getLogger(__name__)

Notification = Callable[[dict[str, Any]], None]
UnmatchedError = Callable[[KuzzleError], None]
Hook = Callable[..., None]
#: Called in the reader with the connection and the answer frame (see protocol.Pending).
Answered = Callable[[Any, dict[str, Any]], None] | None


class NotificationStream(protocol.NotificationQueue, Iterator[dict[str, Any]]):
    """The realtime notifications, as a blocking iterator (see ``notifications()`` of the client).

    ``next()`` waits for the next notification. The iteration ends when the client closes (or
    :meth:`close` is called, from any thread); it raises
    :class:`~kuzzle_errors.ConnectionLostError` when the connection drops (Kuzzle forgets the
    subscriptions of a dropped socket: subscribe again). At most ``max_queued`` notifications
    wait; beyond, the oldest are dropped (and logged), counted in :attr:`dropped`.
    """

    def __init__(self, streams: set[protocol.NotificationQueue], max_queued: int) -> None:
        self._cond = threading.Condition()
        super().__init__(streams, max_queued)

    def put(self, item: dict[str, Any] | KuzzleError | None) -> None:
        with self._cond:
            super().put(item)
            self._cond.notify_all()

    def warn(self, error: KuzzleError) -> None:
        with self._cond:
            super().warn(error)
            self._cond.notify_all()

    def forked(self) -> None:
        """In a forked child: a fresh condition (another thread of the parent may have held
        the old one's lock)."""
        self._cond = threading.Condition()

    def __next__(self) -> dict[str, Any]:
        with self._cond:
            while (item := self._next(StopIteration)) is None:
                self._cond.wait()
            return item


class Subscription(SubscriptionState, NotificationStream):
    """A subscription :meth:`KuzzleWebSocket.subscribe` made, kept across reconnects.

    Its notifications go to its ``on_notification`` callback if it has one, else to its
    blocking iterator (``for notification in subscription``). When the connection drops, the
    node leaves or the token expires, Kuzzle forgets it: the client subscribes again with the
    same filters (a new :attr:`channel`, the same object) and records the time in between in
    :attr:`gaps` (notifications of then are lost: re-read what may have changed). An error the
    subscription meets (restoring gave up, the token expired, Kuzzle refused it) goes to its
    ``on_error``, else is raised by the iterator in its place; a refusal by Kuzzle ends it.
    The iteration ends after :meth:`unsubscribe` or when the client closes.
    """

    def unsubscribe(self) -> None:
        """End the subscription (``realtime:unsubscribe`` if Kuzzle has it). Idempotent.

        From a callback (the reader thread runs them) it returns at once: the request is sent
        from a thread of its own, its failure logged."""
        self._client._unsubscribe(self)


class _BoundedWebSocket(RecvHook, _wsc.WebSocket):  # type: ignore[misc, unused-ignore]
    """websocket-client's socket, each message bounded in size and time by a FrameClock.

    Its public options do the rest: each fragment of a message is handed over as it comes
    (``fire_cont_frame``: the reader joins them, in linear time, and keeps watching the
    connection in between), and UTF-8 is validated by the reader, once per message, in C
    (websocket-client's check is pure Python: seconds for a 10 MB answer).
    """

    def __init__(self, clock: protocol.FrameClock) -> None:
        super().__init__(skip_utf8_validation=True, fire_cont_frame=True)
        self.clock = clock

    def received(self, data: bytes) -> None:
        self.clock.feed(data, time.monotonic())

    def cut(self) -> None:
        """Shut the socket down (from any thread, never blocks): its reads fail at once."""
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # not connected yet, or closed already
                sock.shutdown(socket.SHUT_RDWR)


class _Attempt:
    """One connect in progress: other threads wait for its outcome, ``close()`` cuts it short."""

    def __init__(self, client: KuzzleWebSocket) -> None:
        self.url = client.url
        self.done = threading.Event()
        self.stopped: str | None = None  # why the attempt was cut short
        self.conn: _Connection | None = None
        self.error: KuzzleError | None = None
        clock = protocol.FrameClock(client.max_frame_bytes, client.frame_timeout or client.timeout)
        self.ws: Any = _BoundedWebSocket(clock)

    def stop(self, why: str) -> None:
        """Cut the handshake short (from any thread, never blocks)."""
        self.stopped = self.stopped or why
        self.ws.cut()

    def open(self, timeout: float, closed: Callable[[], bool]) -> Any:
        """The connected socket. websocket-client bounds each read of the handshake, not the
        handshake: a server dripping its 101 answer would hold it for ever; a timer cuts it."""
        watchdog = threading.Timer(timeout, self.stop, (f"no handshake within {timeout:g} s",))
        watchdog.daemon = True
        watchdog.start()
        failure: BaseException | None = None
        try:
            self.ws.connect(self.url, timeout=timeout)
        except Exception as exc:  # refused, DNS, handshake: nothing was sent
            failure = exc
        finally:
            watchdog.cancel()
        if failure is None and self.stopped is None:
            return self.ws
        with contextlib.suppress(Exception):  # a half-open socket: closing it may fail
            self.ws.shutdown()
        if self.stopped is not None:
            if closed():
                why = "the client was closed"
                raise failures.connect_error(self.url, why, failures.NOT_RETRYABLE)
            raise failures.connect_error(self.url, self.stopped, failures.CONNECT_FAILED)
        if (self.ws.getstatus() or 0) in range(300, 400):
            # Still redirected after the 3 redirects websocket-client follows: a loop stays a
            # loop (and only handshakes were sent).
            hint = failures.NOT_RETRYABLE
            raise failures.connect_error(self.url, failure or "redirected", hint) from None
        if isinstance(failure, _wsc.WebSocketBadStatusException):
            # Its text holds the response headers (Set-Cookie...): it is not chained; what
            # matters is parsed into the error.
            headers = failure.resp_headers or {}
            raise protocol.handshake_refusal(
                self.url, failure.status_code, headers, failure.resp_body
            )
        bad = isinstance(failure, (ValueError, TypeError))
        hint = failures.NOT_RETRYABLE if bad else failures.CONNECT_FAILED
        assert failure is not None
        raise failures.connect_error(self.url, failure, hint) from failures.safe_cause(failure)

    def outcome(self, wait: float) -> _Connection:
        """The connection the attempt opened, or (a copy of) the error it met."""
        if self.done.wait(wait) and self.conn is not None:
            return self.conn
        if self.error is not None:
            raise copy.copy(self.error)
        why = "another thread's attempt did not succeed"
        raise failures.connect_error(self.url, why, failures.CONNECT_FAILED)


class _Connection:
    """One socket, its reader thread and its pending queries; dead for good once it drops."""

    def __init__(self, client: KuzzleWebSocket, attempt: _Attempt) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # taken before _lock, never the other way
        self.router = protocol.FrameRouter(time.monotonic())
        self.dead = False
        self.leaving = False  # its node said it shuts down: nothing more is sent there
        self.reported = False  # its loss was told (on_disconnect, the streams' end)
        self._why: str | None = None  # why the connection was aborted, if it was
        self._closing = False
        self._sending: float | None = None  # the deadline of the query being sent
        self._send_cut = False  # the reader cut a send that passed its deadline
        self._ws: Any = attempt.open(client.timeout, lambda: client.closed)
        # Reads wake up every `poll` seconds to ping an idle connection and check the bounds
        # of a message gone quiet; each send's syscalls are bounded by it too (one socket).
        bounds = (client.timeout, client.ping_interval, client.frame_timeout)
        self._ws.settimeout(min(bound for bound in bounds if bound is not None))
        name = f"kuzzle-ws-reader {failures.shown_url(client.url)}"
        self._reader = threading.Thread(target=self._read_loop, name=name, daemon=True)
        self._reader.start()

    def request(
        self, payload: Mapping[str, Any], data: bytes, timeout: float, answered: Answered = None
    ) -> protocol.Pending:
        """Send ``payload`` (encoded: ``data``) and wait for its answer, ``timeout`` seconds
        in all (its send included); ``answered``: see :class:`protocol.Pending`."""
        deadline = time.monotonic() + timeout
        wake = threading.Condition(self._lock)
        on_answer = None if answered is None else functools.partial(answered, self)
        entry = protocol.Pending(payload, wake.notify, on_answer)
        with self._send_lock:  # the router needs frames in the order they hit the wire
            with self._lock:
                if self.dead:
                    raise protocol.Stale
                self.router.sending(entry)
            self._sending, self._send_cut = deadline, False
            try:
                self._ws.send(data, _wsc.ABNF.OPCODE_TEXT)
            except BaseException as exc:
                self._send_failed(entry, exc, timeout)
            finally:
                self._sending = None
        try:
            with self._lock:
                while entry.outcome is None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self.router.expire(entry, timeout)
                        break
                    wake.wait(left)
        except BaseException:  # Ctrl-C while waiting: nothing stays pending
            with self._lock:
                self.router.abandon(entry)
            raise
        return entry

    def _send_failed(self, entry: protocol.Pending, exc: BaseException, timeout: float) -> None:
        """Raise the error of ``entry``, whose send failed with ``exc`` (re-raised as is if it
        is no Exception: a KeyboardInterrupt, a SystemExit).

        Part of its frame may be on the wire, and nobody can send on this socket after half a
        frame: it is aborted, every other pending query fails at once (they were sent: not
        replay-safe), the next query reconnects. This query's frame never left whole: Kuzzle
        cannot have run it.
        """
        with self._lock:
            self.router.abandon(entry)
        self.abort(f"a send was cut ({type(exc).__name__}): the socket is unusable")
        if not isinstance(exc, Exception):
            raise exc
        url, request = self._client.url, entry.request
        if isinstance(exc, _wsc.WebSocketTimeoutException) or self._send_cut:
            raise failures.client_error(
                f"could not send the whole request to {failures.shown_url(url)} "
                f"within {timeout:g} s",
                failures.CUT_WHILE_SENDING,
                ws_context(request),
                cls=RequestTimeoutError,
            ) from exc
        why = f"send failed: {exc}"
        raise failures.lost_error(url, request, why, failures.CUT_WHILE_SENDING) from exc

    def abort(self, why: str) -> None:
        """Drop the connection now (from any thread): pending queries fail, the socket is cut
        (the reader then ends)."""
        with self._lock:
            if self._why is None:
                self._why = why
        self._ws.cut()  # first: closing the socket would not wake a read blocked on it
        self._drop(why)

    def _read_loop(self) -> None:
        why = "the connection dropped"
        # The opcode and the fragments of the message being received.
        kind, parts = _wsc.ABNF.OPCODE_TEXT, list[bytes]()
        try:
            while True:
                if not self._tick():
                    why = "no answer to a ping: the server is unreachable"
                    break
                try:
                    opcode, frame = self._ws.recv_data_frame(True)
                except _wsc.WebSocketTimeoutException:
                    self._ws.clock.check(time.monotonic())  # gone quiet in the middle of a frame
                    if self._closing:
                        break  # the server did not answer our close frame: stop anyway
                    continue
                if opcode in (_wsc.ABNF.OPCODE_PING, _wsc.ABNF.OPCODE_PONG):
                    # websocket-client answered a ping. A proxy answers (and sends) them for a
                    # dead node: liveness comes from Kuzzle's own {"p":2} and answers only.
                    continue
                if opcode == _wsc.ABNF.OPCODE_CLOSE:
                    data = frame.data
                    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                    reason = data[2:].decode("utf-8", "replace")
                    why = protocol.close_reason("the server", code, reason)
                    break
                with self._lock:
                    self.router.last_received = time.monotonic()
                if opcode != _wsc.ABNF.OPCODE_CONT:
                    kind, parts = opcode, []
                parts.append(frame.data)
                if not frame.fin:
                    continue  # bounded in size and time by the FrameClock
                message, parts = b"".join(parts), []
                if kind != _wsc.ABNF.OPCODE_TEXT:
                    self._dispatch(message)
                    continue
                try:
                    text = message.decode("utf-8")
                except UnicodeDecodeError:  # RFC 6455 8.1: the connection fails
                    why = protocol.NOT_UTF8
                    break
                self._dispatch(text)
        except protocol.FrameLimit as exc:  # a hostile or broken frame: the socket is unusable
            why = f"the connection was dropped: {exc}"
        except Exception as exc:  # the socket failed or was aborted: report, never raise
            why = protocol.dropped_by(exc)
        finally:
            self._drop("the client was closed" if self._closing else self._why or why)

    def _tick(self) -> bool:
        """What the reader checks between frames: a send past its deadline is cut; an idle
        connection is pinged. False once a ping stayed unanswered for a whole interval."""
        now = time.monotonic()
        sending = self._sending
        if sending is not None and now > sending:
            self._send_cut = True
            self._ws.cut()  # the sender fails at once, and aborts the connection
        interval = self._client.ping_interval
        if not interval or self._closing:
            return True
        with self._lock:
            due = self.router.ping_due(now, interval)
        if due.send:
            self._send_control(protocol.PING, lambda: self.router.ping_sent(now))
        return not due.dead

    def _send_control(self, frame: str, record: Callable[[], None]) -> None:
        """Send a ping or a pong, recorded by the router in wire order."""
        with self._send_lock:
            with self._lock:
                record()
            self._ws.send(frame)

    def _dispatch(self, data: str | bytes) -> None:
        routed = protocol.decode_frame(data)  # outside the lock: a large answer takes a while
        if isinstance(routed, dict):
            with self._lock:
                routed = self.router.route(routed)
        if routed.pong:
            self._send_control(protocol.PONG, self.router.pong_sent)
            return
        self._client._deliver(routed, log)

    def _drop(self, why: str) -> None:
        """Fail every pending query at once, mark the connection dead, end the streams."""
        with self._lock:
            self.dead = True
            self.router.drop(self._client.url, why)
        with contextlib.suppress(Exception):  # closing a broken socket may fail: ignore
            self._ws.shutdown()
        self._client._end_streams(self, why)

    def reading(self) -> bool:
        """True in this connection's reader thread (the callbacks run there)."""
        return threading.current_thread() is self._reader

    def retire_if_idle(self) -> None:
        """Close this connection, whose node is leaving, once no query waits on it: nothing
        more is sent there, and each reconnect to a draining node would leave a socket and
        its reader behind. Never blocks: the reader ends on the server's close frame, or at
        its next wake-up."""
        with self._lock:
            if self._closing or self.dead or self.router.pending:
                return
            self._closing = True
        try:
            self._ws.send_close()
        except Exception:  # already broken: the reader ends on its own
            log.debug("sending the close frame failed", exc_info=True)

    def forget(self) -> None:
        """In a forked child: let go of this socket without a word to the server (it is the
        parent's connection): this process's copy is closed, nothing is sent, no shutdown."""
        self.dead = True
        sock = self._ws.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def close(self, wait: float = 1.0) -> None:
        """Close politely (close frame), then forcibly if the server does not answer."""
        self._closing = True
        if not self.dead:
            try:
                self._ws.send_close()
            except Exception:  # already broken: the cut below handles it
                log.debug("sending the close frame failed", exc_info=True)
        if threading.current_thread() is self._reader:
            return  # closed from a callback: the reader ends after this message
        self._reader.join(wait)
        if self._reader.is_alive():
            self._ws.cut()
            self._reader.join(wait)


class KuzzleWebSocket(WebSocketClient, ClientBase):
    """A thread-safe Kuzzle WebSocket client: ``query(request)`` returns ``result`` or raises.

    One socket serves every thread; each answer goes to its caller (matched by ``room``).
    When the connection drops, every pending query fails at once with
    :class:`~kuzzle_errors.ConnectionLostError`; the next query reconnects. A per-socket
    rate-limit refusal fails the refused query (replay-safe) once it is known for certain.
    :class:`kuzzle_errors.websockets.AsyncKuzzleWebSocket` is its asyncio twin, with the same
    parameters.

    :meth:`subscribe` makes subscriptions the client keeps: after a drop it reconnects
    (``reconnect``) and subscribes them again, each told what it lost (see
    :class:`Subscription`); a node answering that it shuts down is left for the next URL.
    Subscriptions made with a raw ``query()`` are the application's: a drop ends the
    :meth:`notifications` streams instead.

    Args:
        url: ``ws://host:7512``, or several URLs of one cluster's nodes: a node that shuts
            down or cannot be reached is left for the next (failover).
        timeout: seconds the whole connect (TCP, TLS, handshake) may take, and the default
            time a query waits for its answer.
        jwt: an authentication token added to every request; :meth:`login` sets one.
        retry: a :class:`kuzzle_errors.retry.RetryPolicy` each query goes through, with its
            ``idempotent`` flag (see :attr:`retry`).
        on_notification: called with each realtime notification (a dict), from the reader
            thread: keep it quick. :meth:`notifications` gives them as an iterator too.
        on_unmatched_error: called, from the reader thread, with the error of an answer that
            matches no pending query (a rate-limit refusal, a garbage frame...); such errors
            are logged either way: a per-socket rate-limit refusal at INFO (the query it
            refused fails on its own), anything else at WARNING (docs/guides/logging.md).
        ping_interval: seconds of silence after which Kuzzle's ``{"p":1}`` is sent (Kuzzle
            closes idle sockets after 60 s by default); a ping unanswered for a whole interval
            drops the connection. None disables pings.
        max_frame_bytes: the largest message accepted (256 MiB by default; None: no limit); a
            larger one drops the connection, as Kuzzle does with an oversized message.
        frame_timeout: seconds one message may take to arrive once it has begun (default:
            ``timeout``); a slower one drops the connection likewise.
        reconnect: the :class:`kuzzle_errors.retry.RetryPolicy` of reconnecting to restore
            the subscriptions after a drop (full jitter from 0.25 s up to 5 s, 8 attempts
            within 60 s by default); when it gives up, each subscription is told the last
            error (and is restored by the next connection a query opens). None: no
            reconnect of its own, subscriptions are restored when a query connects again.
        on_disconnect: called with the error (a ConnectionLostError, or the node's 503) when
            the connection drops or its node says it shuts down (not on :meth:`close`).
        on_reconnect: called with the URL when a connection opens after one was lost.
        on_resubscribed: called with the subscription and its :class:`Gap` once it is
            subscribed again.
        on_resubscription_failed: called with the subscription and the error it was told.
        on_token_expired: called with an AuthenticationRequiredError when Kuzzle says the
            token expired (the subscriptions are lost), or refuses to subscribe them again
            with it (it expired while the socket was down), once per token: log in again
            there (:meth:`login`), the subscriptions are then restored. Runs in a thread of
            its own.
        connect: connect now (default) rather than at the first query.

    Each hook runs in the reader thread, the restoring one or (for a node leaving) the
    thread of the query it refused: keep it quick and make no query there, except in
    ``on_token_expired``; each event is also logged once (INFO or WARNING).
    """

    _logger = log

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        timeout: float = 10.0,
        jwt: str | None = None,
        retry: RetryCaller | None = None,
        on_notification: Notification | None = None,
        on_unmatched_error: UnmatchedError | None = None,
        ping_interval: float | None = 20.0,
        max_frame_bytes: int | None = DEFAULT_MAX_FRAME_BYTES,
        frame_timeout: float | None = None,
        reconnect: RetryCaller | None = RECONNECT,
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
        self._connect_lock = threading.Lock()  # held briefly: close() never waits on a connect
        self._attempt: _Attempt | None = None
        self._restore_thread: threading.Thread | None = None
        if connect:
            self.connect()

    def connect(self) -> None:
        """Open the socket if it is not open (queries do this on their own)."""
        self._connection()

    def _renew(self) -> None:
        # First use in a forked child: the socket is the parent's connection, its reader
        # thread is gone, the locks may be held by the parent's threads. Nothing of it is
        # reused or closed politely (a close frame would end the parent's connection).
        conn, self._conn, self._attempt = self._conn, None, None
        self._connect_lock = threading.Lock()
        if conn is not None:
            conn.forget()
        self._forked_streams("a stream of the parent process")

    def _connection(self) -> _Connection:
        self._fork.check(self._renew)
        with self._connect_lock:
            if self._closed:
                raise failures.closed_error()
            if self.connected:
                return self._conn  # type: ignore[no-any-return]
            attempt, leader = self._attempt, self._attempt is None
            if attempt is None:
                attempt = self._attempt = _Attempt(self)
        if not leader:  # another thread is connecting: share its outcome
            return attempt.outcome(self.timeout + 1.0)
        try:
            conn = _Connection(self, attempt)
            with self._connect_lock:
                closed = self._closed
                if not closed:
                    self._conn = conn
            if closed:  # closed while connecting: this socket is nobody's
                conn.close(0.0)
                raise failures.closed_error()
            attempt.conn = conn
        except KuzzleError as exc:
            attempt.error = exc
            self._rotate()
            raise
        finally:
            with self._connect_lock:
                self._attempt = None
            attempt.done.set()
        self._opened()
        return conn

    def query(
        self,
        request: Mapping[str, Any],
        *,
        idempotent: bool | None = None,
        strict: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """Send one Kuzzle API request and return its ``result``.

        ``request`` holds ``controller``, ``action`` and any other argument. Raises the
        parsed :class:`~kuzzle_errors.KuzzleError` on an error answer,
        :class:`~kuzzle_errors.ConnectionLostError` if the connection fails or drops,
        :class:`~kuzzle_errors.RequestTimeoutError` if no answer comes within ``timeout``
        (default: the client's). ``idempotent`` tells the retry policy whether a request
        that may have run can be replayed (None, the default: the action's replay safety,
        :data:`kuzzle_errors.hints.ACTIONS`: reads, replacing writes and ``auth:login`` yes,
        ``create``, ``mCreate``, ``bulk:import`` no; your True or False wins); ``strict``
        makes a result holding ``errors`` raise a PartialError (client side).
        """
        return self._call(self._query_once, request, idempotent, strict=strict, timeout=timeout)

    def _query_once(
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
                conn = self._connection()
                entry = conn.request(payload, data, wait, answered)
                try:
                    return entry.result(strict)
                except KuzzleError as exc:
                    if exc.matches(*SHUTTING_DOWN_IDS):
                        self._node_leaving(conn, exc)
                    raise
                finally:
                    if conn.leaving:
                        conn.retire_if_idle()
        raise failures.lost_error(
            self.url, payload, "before the request was sent", failures.CONNECT_FAILED
        )

    def subscribe(
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
        """Subscribe to the documents of ``index``/``collection`` matching ``filters`` (Koncorde)
        and keep the subscription across reconnects; see :class:`Subscription`.

        ``options`` are ``realtime:subscribe``'s (``scope``, ``users``, ``volatile``,
        ``subscribeToSelf``...). ``on_notification`` (with ``on_error``, required with it) is
        called from the reader thread; without, iterate the subscription. Raises the error of
        the subscribe request (through the retry policy: subscribing twice is harmless).
        """
        sub = Subscription(
            self, index, collection, filters, options, on_notification, on_error, max_queued
        )
        try:
            # Through the retry policy (subscribing twice is harmless); the channel is known
            # in the reader, before the frame after the answer.
            once, answered = self._query_once, self._answered(sub)
            result = self._call(once, sub.request(), True, answered=answered)
        except BaseException:
            sub._abandon()
            raise
        self._subscribed_now(sub, result)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        room = self._leave(sub)
        if room is None:
            return
        conn = self._conn
        if conn is not None and conn.reading():
            # From a callback in the reader: the answer could only be read by this thread,
            # which would wait for it until the timeout. Sent from a thread of its own.
            name = "kuzzle-ws-unsubscribe"
            threading.Thread(
                target=self._unsubscribe_room, args=(room,), name=name, daemon=True
            ).start()
            return
        self.query(unsubscribe_request(room), idempotent=True)

    def _unsubscribe_room(self, room: str) -> None:
        try:
            self.query(unsubscribe_request(room), idempotent=True)
        except KuzzleError as exc:  # nobody waits for it: said, never raised
            log.warning("could not unsubscribe: %s", exc)

    def _restore_soon(self) -> None:
        if self._restore_begin():
            name = f"kuzzle-ws-resubscribe {failures.shown_url(self.url)}"
            thread = threading.Thread(target=self._restore_loop, name=name, daemon=True)
            self._restore_thread = thread
            thread.start()

    def _in_restorer(self) -> bool:
        return threading.current_thread() is self._restore_thread

    def _restore_loop(self) -> None:
        while True:
            try:
                (self.reconnect or RECONNECT_ONCE).call(self._restore_once, idempotent=True)
            except Exception as exc:  # never let the restoring die silently
                self._gave_up(exc)
            if not self._restore_end():
                return

    def _restore_once(self) -> None:
        """One attempt: connect, subscribe each lost subscription again."""
        if self._closed:
            return
        self._restore_attempt_begins()
        self._connection()
        for sub in self._to_restore():
            try:
                answered = self._answered(sub)
                orphan = self._restored(sub, self._query_once(sub.request(), answered=answered))
            except KuzzleError as exc:
                self._not_restored(sub, exc)  # raises it to try again on another connection
                continue
            if orphan is not None:  # unsubscribed while Kuzzle subscribed it again
                try:
                    self._query_once(unsubscribe_request(orphan))
                except KuzzleError as exc:
                    log.warning("could not unsubscribe from a room left meanwhile: %s", exc)

    def _after_token_expired(self, error: KuzzleError) -> None:
        def run() -> None:
            self._hook("on_token_expired", self.on_token_expired, error)
            self._restore_waiting()  # after a login there, or a token set by hand

        threading.Thread(target=run, name="kuzzle-ws-token-expired", daemon=True).start()

    def notifications(self, *, max_queued: int = 1000) -> NotificationStream:
        """An iterator of the realtime notifications received from now on, blocking.

        ``for notification in kuzzle.notifications(): ...`` (in a thread of its own, as a
        rule); see :class:`NotificationStream`. Independent of ``on_notification`` (both
        get them).
        """
        return NotificationStream(self._streams, max_queued)

    def close(self) -> None:
        """Close the socket; pending queries fail with ConnectionLostError, streams end.

        Idempotent. Never waits on a connect in progress in another thread: that one is cut
        short.
        """
        with self._connect_lock:
            self._closed = True
            conn, self._conn = self._conn, None
            attempt = self._attempt
        if attempt is not None:
            attempt.stop("the client was closed")
        if conn is not None:
            conn.close()
        self._end_streams(None, None)
