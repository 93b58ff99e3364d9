"""Kuzzle errors over WebSocket with ``websocket-client`` (install the ``websocket`` extra).

* :func:`error_from_message`: the :class:`~kuzzle_errors.KuzzleError` one frame carries;
* :class:`KuzzleWebSocket`: a thread-safe client on one socket. A reader thread routes each
  answer to its caller by ``room`` (Kuzzle sets it to the request id of an answer; realtime
  notifications carry a channel id there, and may carry one of our request ids in
  ``requestId``), hands notifications to a callback, fails every pending query at once when
  the connection drops, and fails the queries refused by Kuzzle's per-socket rate limit
  (whose answer names no request) when the refused one is known for certain.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import websocket as _wsc  # type: ignore[import-untyped, unused-ignore]  # old releases: untyped

from kuzzle_errors._adapters import RecvHook
from kuzzle_errors._protocol import failures, queries
from kuzzle_errors._protocol import websocket as protocol
from kuzzle_errors._protocol.clients import call_with_retry, scope_retry
from kuzzle_errors._protocol.failures import (
    CONNECT_FAILED,
    CONNECTION_LOST,
    NOT_RETRYABLE,
    shown_url,
)
from kuzzle_errors._protocol.queries import jwt_from_login, login_request
from kuzzle_errors._protocol.websocket import error_from_message, handshake_refusal
from kuzzle_errors.exceptions import KuzzleError

if TYPE_CHECKING:
    from kuzzle_errors._protocol.clients import RetryCaller

__all__ = ["KuzzleWebSocket", "error_from_message"]

log: logging.Logger = logging.getLogger(__name__)

Notification = Callable[[dict[str, Any]], None]
UnmatchedError = Callable[[KuzzleError], None]


class _Pending:
    """One query waiting for its answer; ``outcome`` is the answer dict or an exception."""

    __slots__ = ("cond", "outcome", "request", "request_id")

    def __init__(self, request_id: str, request: Mapping[str, Any], lock: threading.Lock) -> None:
        self.request_id = request_id
        self.request = request
        self.cond = threading.Condition(lock)
        self.outcome: protocol.Outcome | None = None


def _settle(entry: _Pending, outcome: protocol.Outcome) -> None:
    entry.outcome = outcome  # the router is called under the lock of entry.cond
    entry.cond.notify()


class _BoundedWebSocket(RecvHook, _wsc.WebSocket):  # type: ignore[misc, unused-ignore]
    """websocket-client's socket, each message bounded in size and time by a FrameClock.

    UTF-8 is not validated (pure Python in websocket-client, seconds for a 10 MB answer): the
    reader decodes with ``replace`` anyway.
    """

    def __init__(self, clock: protocol.FrameClock) -> None:
        super().__init__(skip_utf8_validation=True)
        self.clock = clock

    def received(self, data: bytes) -> None:
        self.clock.feed(data, time.monotonic())


def _shutdown(ws: Any) -> None:
    """Shut ``ws``'s socket down (from any thread, never blocks): its reads fail at once."""
    sock = getattr(ws, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # not connected yet, or already closed: its reader notices anyway
            log.debug("socket shutdown failed", exc_info=True)


class _Attempt:
    """One connect in progress: other threads wait for its outcome, ``close()`` cancels it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._ws: Any = None
        self.stopped: str | None = None  # why the attempt was cut short
        self.conn: _Connection | None = None
        self.error: KuzzleError | None = None

    def started(self, ws: Any) -> None:
        with self._lock:
            self._ws = ws

    def stop(self, why: str) -> None:
        """Cut the handshake short: its reads fail at once (from any thread, never blocks)."""
        with self._lock:
            if self.stopped is None:
                self.stopped = why
            ws = self._ws
        _shutdown(ws)

    def finish(self, conn: _Connection | None, error: KuzzleError | None) -> None:
        self.conn, self.error = conn, error
        self._done.set()

    def outcome(self, url: str, wait: float) -> _Connection:
        """The connection another thread opened, or (a copy of) the error it met."""
        if self._done.wait(wait) and self.conn is not None:
            return self.conn
        if self.error is not None:
            raise copy.copy(self.error)
        raise failures.ws_connect_error(
            url, "another thread's attempt did not succeed", CONNECT_FAILED
        )


def _open(client: KuzzleWebSocket, attempt: _Attempt) -> Any:
    """A connected websocket-client socket; the whole connect is bounded by ``client.timeout``.

    websocket-client bounds each read of the handshake, not the handshake: a server dripping
    its 101 answer a byte at a time would hold it for ever. A timer cuts it at the deadline.
    """
    clock = protocol.FrameClock(client.max_frame_bytes, client.frame_timeout or client.timeout)
    ws: Any = _BoundedWebSocket(clock)
    attempt.started(ws)
    watchdog = threading.Timer(
        client.timeout, attempt.stop, (f"no handshake within {client.timeout:g} s",)
    )
    watchdog.daemon = True
    watchdog.start()
    failure: BaseException | None = None
    try:
        ws.connect(client.url, timeout=client.timeout)
    except Exception as exc:  # refused, DNS, handshake: nothing was sent
        failure = exc
    finally:
        watchdog.cancel()
    if failure is None and attempt.stopped is None:
        return ws
    with contextlib.suppress(Exception):  # a half-open socket: closing it may fail
        ws.shutdown()
    error = _connect_error(client, failure, attempt.stopped)
    if isinstance(failure, _wsc.WebSocketBadStatusException) or failure is None:
        # websocket-client's text of a refused handshake holds the response headers
        # (Set-Cookie...): it is not chained; what matters is parsed into the error.
        raise error
    raise error from failures.safe_cause(failure)


def _connect_error(
    client: KuzzleWebSocket, exc: BaseException | None, stopped: str | None
) -> KuzzleError:
    url = client.url
    if stopped is not None:
        closed = client.closed
        hint = NOT_RETRYABLE if closed else CONNECT_FAILED
        return failures.ws_connect_error(url, "the client was closed" if closed else stopped, hint)
    if isinstance(exc, _wsc.WebSocketBadStatusException):
        return handshake_refusal(
            url, exc.status_code, exc.resp_headers or {}, exc.resp_body, "websocket"
        )
    assert exc is not None
    hint = NOT_RETRYABLE if isinstance(exc, (ValueError, TypeError)) else CONNECT_FAILED
    return failures.ws_connect_error(url, exc, hint)


class _Connection:
    """One socket, its reader thread and its pending queries; dead for good once it drops."""

    def __init__(self, client: KuzzleWebSocket, attempt: _Attempt) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # taken before _lock, never the other way
        self._router = protocol.FrameRouter(_settle, time.monotonic())
        self.dead = False
        self._closing = False
        poll = client.timeout
        if client.ping_interval:
            poll = min(poll, client.ping_interval)
        self._ws: Any = _open(client, attempt)
        # Reads wake up every `poll` seconds to ping an idle connection; sends share it.
        self._ws.settimeout(poll)
        self._reader = threading.Thread(
            target=self._read_loop, name=f"kuzzle-ws-reader {shown_url(client.url)}", daemon=True
        )
        self._reader.start()

    # -- the caller's side ---------------------------------------------------------------

    def request(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``payload`` (which has a fresh ``requestId``) and wait for its answer."""
        entry = _Pending(payload["requestId"], payload, self._lock)
        text = queries.ws_text(payload)
        try:
            with self._send_lock:  # the router needs frames in the order they hit the wire
                with self._lock:
                    if self.dead:
                        raise protocol.Stale
                    self._router.sending(entry)
                self._ws.send(text)
        except protocol.Stale:
            raise
        except Exception as exc:
            with self._lock:
                self._router.unsent(entry)
                never_sent = self.dead or isinstance(exc, (TypeError, ValueError))
            # A failed send may have left half a frame on the wire: the socket is unusable.
            self.abort()
            hint = CONNECT_FAILED if never_sent else CONNECTION_LOST
            raise failures.ws_lost_error(
                self._client.url, payload, f"send failed: {exc}", hint
            ) from exc
        return self._wait(entry, time.monotonic() + timeout, timeout)

    def _wait(self, entry: _Pending, deadline: float, timeout: float) -> dict[str, Any]:
        with self._lock:
            while entry.outcome is None:
                now = time.monotonic()
                if now >= deadline:
                    entry.outcome = self._router.expire(entry, timeout)
                    break
                entry.cond.wait(deadline - now)
        outcome = entry.outcome
        if isinstance(outcome, KuzzleError):
            raise outcome
        assert outcome is not None
        return outcome

    # -- the reader's side ---------------------------------------------------------------

    def _read_loop(self) -> None:
        why = "the connection dropped"
        try:
            while True:
                try:
                    opcode, data = self._ws.recv_data()
                except _wsc.WebSocketTimeoutException:
                    self._ws.clock.check(time.monotonic())  # gone quiet in the middle of a frame
                    if self._closing:
                        break  # the server did not answer our close frame: stop anyway
                    if not self._idle():
                        why = "no answer to a ping: the server is unreachable"
                        break
                    continue
                with self._lock:
                    self._router.last_received = time.monotonic()
                if opcode == _wsc.ABNF.OPCODE_CLOSE:
                    why = _describe_close(data)
                    break
                if opcode == _wsc.ABNF.OPCODE_TEXT and isinstance(data, bytes):
                    self._dispatch(data.decode("utf-8", "replace"))  # validated by the library
                elif opcode in (_wsc.ABNF.OPCODE_TEXT, _wsc.ABNF.OPCODE_BINARY):
                    self._dispatch(data)
        except protocol.FrameLimit as exc:  # a hostile or broken frame: the socket is unusable
            why = f"the connection was dropped: {exc}"
        except Exception as exc:  # the socket failed or was aborted: report, never raise
            if not self._closing:
                why = protocol.dropped_by(exc)
        finally:
            self._drop(why if not self._closing else "the client was closed")

    def _idle(self) -> bool:
        """Ping an idle connection; False once a ping stayed unanswered for a whole interval."""
        interval = self._client.ping_interval
        if not interval or self._closing:
            return True
        now = time.monotonic()
        with self._lock:
            due = self._router.ping_due(now, interval)
        if due.send:
            self._send_control(protocol.PING, lambda: self._router.ping_sent(now))
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
                routed = self._router.route(routed)
        if routed.pong:
            self._send_control(protocol.PONG, self._router.pong_sent)
        elif routed.notification is not None:
            self._notify(routed.notification)
        elif routed.unmatched is not None:
            self._unmatched(routed.unmatched, routed.what)

    def _notify(self, msg: dict[str, Any]) -> None:
        callback = self._client.on_notification
        if callback is None:
            log.debug("notification without a callback: room %s", msg.get("room"))
            return
        try:
            callback(msg)
        except Exception:  # a failing callback must not kill the reader
            log.exception("on_notification callback failed")

    def _unmatched(self, error: KuzzleError, what: str) -> None:
        protocol.log_unmatched(log, error, what)
        callback = self._client.on_unmatched_error
        if callback is not None:
            try:
                callback(error)
            except Exception:  # a failing callback must not kill the reader
                log.exception("on_unmatched_error callback failed")

    def _drop(self, why: str) -> None:
        """Fail every pending query at once and mark the connection dead."""
        with self._lock:
            self.dead = True
            self._router.drop(self._client.url, why)
        try:
            self._ws.shutdown()
        except Exception:  # pragma: no cover - closing a broken socket may fail: ignore
            log.debug("socket shutdown failed", exc_info=True)

    # -- closing -------------------------------------------------------------------------

    def abort(self) -> None:
        """Drop the connection now: the reader wakes up and fails pending queries."""
        _shutdown(self._ws)

    def close(self, wait: float = 1.0) -> None:
        """Close politely (close frame), then forcibly if the server does not answer."""
        self._closing = True
        if not self.dead:
            try:
                self._ws.send_close()
            except Exception:  # already broken: the abort below handles it
                log.debug("sending the close frame failed", exc_info=True)
        if threading.current_thread() is self._reader:
            return  # closed from a callback: the reader ends after this message
        self._reader.join(wait)
        if self._reader.is_alive():
            self.abort()
            self._reader.join(wait)


def _describe_close(data: bytes) -> str:
    if len(data) >= 2:
        (code,) = struct.unpack("!H", data[:2])
        reason = data[2:].decode("utf-8", "replace")
        return f"closed by the server (code {code}{': ' + reason if reason else ''})"
    return "closed by the server"


class KuzzleWebSocket:
    """A thread-safe Kuzzle WebSocket client: ``query(request)`` returns ``result`` or raises.

    One socket serves every thread; each answer goes to its caller (matched by ``room``).
    When the connection drops, every pending query fails at once with
    :class:`~kuzzle_errors.ConnectionLostError`; the next query reconnects.

    Args:
        url: ``ws://host:7512``.
        timeout: seconds the whole connect (TCP, TLS, handshake) may take, and the default
            time a query waits for its answer.
        jwt: an authentication token added to every request; :meth:`login` sets one.
        retry: a :class:`kuzzle_errors.retry.RetryPolicy`; each query then goes through
            ``retry.call(...)`` with its ``idempotent`` flag. A policy with ``for_host`` (as
            ``RetryPolicy`` has) is replaced by ``retry.for_host("host:port")`` of ``url``,
            here and when ``retry`` is assigned later, so every client of one server (HTTP
            ones included) shares one retry budget; a budget set explicitly is kept.
        on_notification: called with each realtime notification (a dict), from the reader
            thread: keep it quick.
        on_unmatched_error: called, from the reader thread, with the error of an answer that
            matches no pending query (a rate-limit refusal, a garbage frame...). Such errors
            are logged at WARNING level either way.
        rate_limit_grace: ignored, kept for compatibility. A per-socket rate-limit refusal
            names no request: it fails a query (replay-safe) as soon as every other query it
            could belong to has been answered, and never otherwise (a query it cannot be
            pinned on waits for its answer or times out, not replay-safe).
        ping_interval: seconds of silence after which the client sends Kuzzle's ``{"p":1}``
            (Kuzzle closes idle sockets after 60 s by default); a ping unanswered for a whole
            interval drops the connection. None disables pings.
        max_frame_bytes: the largest frame accepted (256 MiB by default); a larger one drops
            the connection (pending queries fail with ConnectionLostError, the next query
            reconnects), as Kuzzle does with an oversized message.
        frame_timeout: seconds one frame may take to arrive once it has begun (default:
            ``timeout``); a slower one drops the connection likewise.
        connect: connect now (default) rather than at the first query.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        jwt: str | None = None,
        retry: RetryCaller | None = None,
        on_notification: Notification | None = None,
        on_unmatched_error: UnmatchedError | None = None,
        rate_limit_grace: float = 0.5,
        ping_interval: float | None = 20.0,
        max_frame_bytes: int = protocol.DEFAULT_MAX_FRAME_BYTES,
        frame_timeout: float | None = None,
        connect: bool = True,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        if not rate_limit_grace >= 0:
            raise ValueError(f"rate_limit_grace must be >= 0, not {rate_limit_grace!r}")
        if ping_interval is not None and not ping_interval > 0:
            raise ValueError(f"ping_interval must be positive or None, not {ping_interval!r}")
        if not max_frame_bytes > 0:
            raise ValueError(f"max_frame_bytes must be positive, not {max_frame_bytes!r}")
        if frame_timeout is not None and not frame_timeout > 0:
            raise ValueError(f"frame_timeout must be positive or None, not {frame_timeout!r}")
        self.url = url
        self.timeout = timeout
        self.jwt = jwt
        self._retry: RetryCaller | None = None
        self.retry = retry
        self.on_notification = on_notification
        self.on_unmatched_error = on_unmatched_error
        self.rate_limit_grace = rate_limit_grace
        self.ping_interval = ping_interval
        self.max_frame_bytes = max_frame_bytes
        self.frame_timeout = frame_timeout
        self._connect_lock = threading.Lock()
        self._conn: _Connection | None = None
        self._attempt: _Attempt | None = None
        self._closed = False
        if connect:
            self.connect()

    @property
    def retry(self) -> RetryCaller | None:
        """The retry policy of the queries, scoped to this client's host (None: no retry)."""
        return self._retry

    @retry.setter
    def retry(self, policy: RetryCaller | None) -> None:
        self._retry = scope_retry(policy, self.url)

    @property
    def connected(self) -> bool:
        """True while the socket is open."""
        conn = self._conn
        return conn is not None and not conn.dead

    def connect(self) -> None:
        """Open the socket if it is not open (queries do this on their own)."""
        self._connection()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def _connection(self) -> _Connection:
        with self._connect_lock:  # held briefly: close() never waits on a connect
            if self._closed:
                raise failures.ws_closed_error()
            conn = self._conn
            if conn is not None and not conn.dead:
                return conn
            attempt = self._attempt
            leader = attempt is None
            if attempt is None:
                attempt = self._attempt = _Attempt()
        if not leader:  # another thread is connecting: share its outcome
            return attempt.outcome(self.url, self.timeout + 1.0)
        try:
            conn = _Connection(self, attempt)
        except BaseException as exc:
            with self._connect_lock:
                self._attempt = None
            attempt.finish(None, exc if isinstance(exc, KuzzleError) else None)
            raise
        with self._connect_lock:
            self._attempt = None
            closed = self._closed
            if not closed:
                self._conn = conn
        if closed:  # closed while connecting: this socket is nobody's
            conn.close(0.0)
            error = failures.ws_closed_error()
            attempt.finish(None, error)
            raise error
        attempt.finish(conn, None)
        return conn

    def query(
        self,
        request: Mapping[str, Any],
        *,
        idempotent: bool = False,
        strict: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """Send one Kuzzle API request and return its ``result``.

        ``request`` holds ``controller``, ``action`` and any other argument. Raises the
        parsed :class:`~kuzzle_errors.KuzzleError` on an error answer,
        :class:`~kuzzle_errors.ConnectionLostError` if the connection fails or drops,
        :class:`~kuzzle_errors.RequestTimeoutError` if no answer comes within ``timeout``
        (default: the client's). ``idempotent`` tells the retry policy whether a request
        that may have run can be replayed; ``strict`` makes a result holding ``errors``
        raise a PartialError (client side).
        """
        return call_with_retry(
            self.retry,
            self._query_once,
            dict(request),
            idempotent=idempotent,
            strict=strict,
            timeout=timeout,
        )

    def _query_once(
        self, request: dict[str, Any], *, strict: bool = False, timeout: float | None = None
    ) -> Any:
        payload = queries.ws_payload(request, self.jwt)  # a fresh requestId on every attempt
        wait = self.timeout if timeout is None else timeout
        try:
            answer = self._connection().request(payload, wait)
        except protocol.Stale:  # it dropped before our send: nothing was sent, reconnect once
            try:
                answer = self._connection().request(payload, wait)
            except protocol.Stale as exc:
                raise failures.stale_error(self.url, payload) from exc
        return protocol.ws_result(answer, strict)

    def login(
        self,
        credentials: Mapping[str, Any],
        strategy: str = "local",
        *,
        expires_in: str | None = None,
    ) -> str:
        """Log in with ``auth:login``, keep the token for the next queries and return it."""
        self.jwt = jwt_from_login(self.query(login_request(credentials, strategy, expires_in)))
        return self.jwt

    def close(self) -> None:
        """Close the socket; pending queries fail with ConnectionLostError. Idempotent.

        Never waits on a connect in progress in another thread: that one is cut short.
        """
        with self._connect_lock:
            self._closed = True
            conn, self._conn = self._conn, None
            attempt = self._attempt
        if attempt is not None:
            attempt.stop("the client was closed")
        if conn is not None:
            conn.close()

    def __enter__(self) -> KuzzleWebSocket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("connected" if self.connected else "idle")
        return f"KuzzleWebSocket({shown_url(self.url)!r}, {state})"
