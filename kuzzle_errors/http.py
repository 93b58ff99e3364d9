"""Kuzzle errors over HTTP with ``requests`` (install the ``http`` extra).

* :func:`error_from_response` / :func:`raise_for_kuzzle`: the :class:`~kuzzle_errors.KuzzleError`
  a :class:`requests.Response` carries, from its status, headers and body;
* :func:`install`: a response hook so that every response of a session raises on a Kuzzle error,
  the way ``raise_for_status`` users expect;
* :class:`KuzzleHTTP`: a thin client sending Kuzzle API requests to ``POST /_query``, returning
  ``result`` or raising, with transport failures mapped to :class:`~kuzzle_errors.TransportError`
  subclasses carrying honest retry hints.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import requests
import urllib3
import urllib3.connection
import urllib3.exceptions

from kuzzle_errors._adapters import set_pool_classes
from kuzzle_errors._protocol import http as protocol
from kuzzle_errors._protocol.clients import ClientBase, ForkGuard, checked_url
from kuzzle_errors._protocol.failures import safe_cause
from kuzzle_errors._protocol.queries import REQUEST_ID_HEADER
from kuzzle_errors.exceptions import InvalidResponseError

if TYPE_CHECKING:
    from kuzzle_errors._protocol.clients import RetryCaller
    from kuzzle_errors.exceptions import KuzzleError

__all__ = [
    "DeadlineAdapter",
    "KuzzleHTTP",
    "error_from_response",
    "install",
    "raise_for_kuzzle",
    "uninstall",
]


def error_from_response(resp: requests.Response, *, strict: bool = False) -> KuzzleError | None:
    """The Kuzzle error ``resp`` carries, or None for a success.

    Uses the HTTP status (an error under a 2xx, such as Kuzzle's 206, is still an error), the
    headers (``X-Kuzzle-Request-Id``, ``X-Kuzzle-Node``, a proxy's ``Retry-After``) and the
    body: Kuzzle's envelope, the bare error object sent for errors raised before routing, or
    anything else (a proxy's HTML page becomes the class of its status, with a bounded copy
    of the text in ``raw``). With ``strict=True`` a success whose ``result`` holds a non-empty
    ``errors`` list (v2 ``m*`` actions) is a :class:`~kuzzle_errors.PartialError`.
    """
    return _error_of(resp, resp.content, strict)


def _error_of(resp: requests.Response, content: bytes, strict: bool) -> KuzzleError | None:
    sent = getattr(resp, "request", None)
    request_id = None if sent is None else sent.headers.get(REQUEST_ID_HEADER)
    return protocol.parse_http(content, resp.status_code, resp.headers, strict, request_id)[0]


def raise_for_kuzzle(resp: requests.Response, *, strict: bool = False) -> None:
    """Raise the error :func:`error_from_response` finds in ``resp``; return on success."""
    error = error_from_response(resp, strict=strict)
    if error is not None:
        raise error


class _KuzzleHook(protocol.KuzzleHook):
    def __call__(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        # Redirects are followed before the hook sees them: 3xx pass.
        if not self.parses(resp):
            return
        if resp.status_code < 400:  # a 206, or strict: the caller gets the body if no error
            raise_for_kuzzle(resp, strict=self.strict)
            return
        # Of an error body, only the start is read (bounded after decompression: a gzip bomb
        # under a 502 stops at the bound).
        stream = resp.raw
        body = protocol.BoundedBody(resp.headers.get("Content-Encoding"), protocol.HOOK_ERROR_BYTES)
        cut = False
        try:
            _read(resp, body)
            stream.release_conn()
        except (protocol.BodyTooLarge, zlib.error, urllib3.exceptions.HTTPError, OSError):
            cut = True  # what was read is resp.content; the connection was closed
        content = resp.content
        error = _error_of(resp, content, self.strict)
        if error is None and cut:  # a success envelope under an error status, cut: trust
            error = _error_of(resp, b"", self.strict)  # the status (an empty body is its error)
        if error is not None:
            if cut:
                what = f"only the first {len(content)} bytes read"
                error = protocol.cut_note(error, what)
            raise error


def install(session: requests.Session, *, strict: bool = False) -> requests.Session:
    """Make every response of ``session`` raise on a Kuzzle error; returns ``session``.

    Responses with a status of 400 or more are parsed (of their body, only the first MiB,
    after decompression, is read), and JSON answers with status 206 (with ``strict=True``,
    every JSON 2xx). Installing twice replaces the earlier hook.
    """
    uninstall(session)
    session.hooks.setdefault("response", []).append(_KuzzleHook(strict))
    return session


def uninstall(session: requests.Session) -> requests.Session:
    """Remove the hook :func:`install` added, if any; returns ``session``."""
    hooks = session.hooks.get("response", [])
    hooks[:] = protocol.KuzzleHook.without(hooks)
    return session


class KuzzleHTTP(ClientBase):
    """A minimal Kuzzle HTTP client: ``query(request)`` returns ``result`` or raises.

    Requests go to ``POST {base_url}/_query`` (the generic route of Kuzzle 2) with
    ``Authorization: Bearer <jwt>`` when logged in and a fresh ``X-Kuzzle-Request-Id``. Sharing
    it between threads is as safe as sharing its :class:`requests.Session`. A 2xx that is not a
    Kuzzle envelope raises :class:`~kuzzle_errors.InvalidResponseError`, unless Kuzzle's headers
    show a plugin's raw result. :class:`kuzzle_errors.httpx.AsyncKuzzleHTTP` is its asyncio
    twin, with the same parameters.

    Args:
        base_url: ``http://host:7512`` (a path prefix is kept).
        session: a :class:`requests.Session` (closed by :meth:`close` only if created here).
        timeout: seconds the whole call may take (connect, send, headers and body), or a
            ``(connect, read)`` tuple whose sum bounds it: above 0, at most a week (None, inf
            or a ``None`` part are refused with a ValueError, here and when assigned); past
            it, a :class:`~kuzzle_errors.RequestTimeoutError` (not replay-safe once the whole
            request was sent). The total bound needs the session's adapter: a session passed
            in keeps ``requests``' per-read timeouts unless :class:`DeadlineAdapter` is
            mounted on it.
        jwt: an authentication token; :meth:`login` sets one.
        retry: a :class:`kuzzle_errors.retry.RetryPolicy` each query goes through, with its
            ``idempotent`` flag (see :attr:`retry`).
        max_error_bytes: the most of an error body (non-2xx) read, after decompression; past
            it the error of the status is raised, its ``problem`` saying the body was cut.
        max_body_bytes: the same for a success's body (None: no cap, the default); past it
            an :class:`~kuzzle_errors.InvalidResponseError` (not retryable).

    An error raised for an answer keeps the :class:`requests.Response` as ``http_response``
    (its ``content`` is what was read). An answer naming another request than the one sent
    (``X-Kuzzle-Request-Id``, the envelope's ``requestId``) is an InvalidResponseError, and
    its connection is not reused. Used in a process forked after it was (a module-level
    client, gunicorn ``--preload``), the client's first call there closes the session's pooled
    connections (this process's copies: the parent's stay open) and opens its own.
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        timeout: protocol.Timeout = 10.0,
        jwt: str | None = None,
        retry: RetryCaller | None = None,
        max_error_bytes: int | None = protocol.MAX_ERROR_BYTES,
        max_body_bytes: int | None = None,
    ) -> None:
        self.base_url: str = checked_url(base_url).rstrip("/")
        self.timeout = timeout
        self.jwt = jwt
        self._set_retry(retry)
        self.max_error_bytes = max_error_bytes
        self.max_body_bytes = max_body_bytes
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            adapter = DeadlineAdapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session: requests.Session = session
        self._calls: set[Call] = set()  # in progress (set.add/discard: safe between threads)
        self._fork = ForkGuard()

    def _where(self) -> str:
        return self.base_url

    def _checked_timeout(self, value: object) -> protocol.Timeout:
        return protocol.check_timeout(value)

    @property
    def pending(self) -> int:
        """How many queries wait for their answer."""
        return len(self._calls)

    def _renew(self) -> None:
        # First use in a forked child: the pooled connections are the parent's sockets.
        # Closing them closes this process's copies only (a close, no shutdown), so the
        # parent's connections stay as they are; the next request opens its own.
        for adapter in self.session.adapters.values():
            adapter.close()

    def query(
        self, request: Mapping[str, Any], *, idempotent: bool | None = None, strict: bool = False
    ) -> Any:
        """Send one Kuzzle API request and return its ``result``.

        ``request`` holds ``controller``, ``action`` and any other argument (``index``,
        ``collection``, ``_id``, ``body``, ``volatile``, ``refresh``...). Raises the parsed
        :class:`~kuzzle_errors.KuzzleError` on an error answer, a
        :class:`~kuzzle_errors.ConnectionLostError` or
        :class:`~kuzzle_errors.RequestTimeoutError` on a transport failure. ``idempotent``
        tells the retry policy whether a request that may have run can be replayed (None,
        the default: the action's replay safety, :data:`kuzzle_errors.hints.ACTIONS`: reads,
        replacing writes and ``auth:login`` yes, ``create``, ``mCreate``, ``bulk:import`` no;
        your True or False wins); ``strict`` makes a result holding ``errors`` raise a
        PartialError (client side).
        """
        return self._call(self._query_once, request, idempotent, strict=strict)

    def close(self) -> None:
        """Close the session if this client created it. Idempotent."""
        if self._owns_session:
            self.session.close()

    def _query_once(self, request: dict[str, Any], *, strict: bool = False) -> Any:
        self._fork.check(self._renew)
        attempt = protocol.HTTPAttempt(request, self.jwt, strict=strict)
        call = Call(protocol.total_seconds(self.timeout))
        self._calls.add(call)
        try:
            answer = self._exchange(attempt, call)
            try:
                return attempt.result(answer.resp.content, text=lambda: answer.resp.text)
            except InvalidResponseError:
                answer.drop()  # not Kuzzle's answer, or another request's: not reused
                raise
            finally:
                answer.release()
        finally:
            self._calls.discard(call)

    def _exchange(self, attempt: protocol.HTTPAttempt, call: Call) -> _Answer:
        """POST, then read the whole body (decompressed, capped) before the call's deadline."""
        try:
            with call:
                # Kuzzle never redirects /_query: a 3xx is an answer, and following it would
                # send the body again (a loop sent it 31 times).
                resp = self.session.post(
                    f"{self.base_url}/_query",
                    data=attempt.query.data,
                    headers=attempt.query.headers,
                    timeout=self.timeout,
                    stream=True,
                    allow_redirects=False,
                )
                call.phase = "reading"
                attempt.answered(resp)
                answer = _Answer(resp)
                try:
                    attempt.check_ours()  # a header naming another request: read no more
                except InvalidResponseError:
                    answer.drop()
                    raise
                read_body(resp, attempt.body(self.max_body_bytes, self.max_error_bytes), call)
                return answer
        except (protocol.BodyTooLarge, zlib.error) as exc:
            raise attempt.unreadable(exc) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if call.expired:  # the total deadline cut the call
                failure: protocol.Failure = "timeout"
                waited = call.seconds
            else:
                failure = _failure(exc)
                waited = self.timeout[1] if isinstance(self.timeout, tuple) else self.timeout
            # Another adapter (a mock): how far it went is not known, until an answer came.
            phase = call.phase if call.traced or call.phase == "reading" else None
            lost = attempt.failed(exc, failure, self.base_url, waited, phase)
            raise lost from safe_cause(exc)


class _Answer:
    """A response whose body was read, and the urllib3 stream still holding its connection."""

    __slots__ = ("resp", "stream")

    def __init__(self, resp: requests.Response) -> None:
        self.resp = resp
        self.stream = resp.raw  # read_body puts a file of what was read in resp.raw

    def drop(self) -> None:
        """Close the connection: it never goes back to the pool."""
        self.stream.close()

    def release(self) -> None:
        """Give the connection back to the pool (a closed one is reopened there)."""
        self.stream.release_conn()


# Failures that happen before a byte of the request is sent, and will happen again.
_PERMANENT: Final = (
    requests.exceptions.SSLError,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.URLRequired,
)


def _failure(exc: BaseException) -> protocol.Failure:
    # NewConnectionError (refused, DNS) subclasses ConnectTimeoutError in urllib3.
    return protocol.failure_of(
        exc,
        unsendable=_PERMANENT,
        connect=(requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError),
        timeout=(requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError),
    )


# -- a total deadline per call ---------------------------------------------------------------
# ``requests`` applies its read timeout to each read of the socket: a server dripping its head
# or body a byte at a time is never timed out. Every connection made through DeadlineAdapter
# registers with the call in progress on its thread, and one watchdog thread shuts its socket
# down when the call's deadline passes, so the blocked read fails at once.

_current = threading.local()


class Call:
    """One call's total deadline; use as a context manager around the whole call.

    ``phase`` says how far it went (:data:`kuzzle_errors._protocol.http.Phase`), as the
    connections made through :class:`DeadlineAdapter` and the client record it.
    """

    __slots__ = (
        "_conn",
        "_lock",
        "_sock",
        "cut",
        "deadline",
        "done",
        "expired",
        "phase",
        "seconds",
        "traced",
    )

    def __init__(self, seconds: float) -> None:
        self.seconds: float = seconds
        self.deadline: float = 0.0
        self.expired: bool = False
        self.done: bool = False
        self.phase: protocol.Phase = "connecting"
        self.traced: bool = False  # a connection of DeadlineAdapter carries it: phase known
        self.cut: bool = False  # a send of the request failed: it did not leave whole
        self._lock = threading.Lock()
        self._conn: Any = None
        self._sock: Any = None

    def __enter__(self) -> Call:
        _current.call = self
        self.deadline = time.monotonic() + self.seconds
        _WATCHDOG.watch(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _current.call = None
        _WATCHDOG.release(self)

    def attach(self, conn: Any) -> None:
        """``conn`` now carries this call's request; called again once it is sent.

        Its socket is kept from then: ``http.client`` lets go of ``conn.sock`` when the answer
        ends at the connection's close (``Connection: close``, or no length), and the answer is
        still read from that socket.
        """
        with self._lock:
            self._conn = conn
            self._sock = sock = getattr(conn, "sock", None)
            expired = self.expired
            self.traced = True
        if expired:
            _cut(conn, sock)

    def expire(self) -> None:
        """The deadline passed: cut the connection (from the watchdog thread)."""
        with self._lock:
            if self.done:  # ended meanwhile: its connection may serve another call now
                return
            self.expired = True
            conn, sock = self._conn, self._sock
        if conn is not None:
            _cut(conn, sock)


class _Watchdog:
    """One thread expiring every call's deadline (a thread per call would cost more)."""

    def __init__(self) -> None:
        self._forked()

    def _forked(self) -> None:
        """A fresh state: at start, and in a forked child (where the thread is gone, and the
        condition's lock may have been held by another thread of the parent)."""
        self._cond = threading.Condition()
        self._calls: set[Call] = set()
        self._thread: threading.Thread | None = None

    def watch(self, call: Call) -> None:
        with self._cond:
            self._calls.add(call)
            if self._thread is None or not self._thread.is_alive():  # first use, or forked
                name = "kuzzle-http-deadlines"
                self._thread = threading.Thread(target=self._run, name=name, daemon=True)
                self._thread.start()
            self._cond.notify()  # the earliest deadline may have changed

    def release(self, call: Call) -> None:
        with call._lock:
            call.done = True
        with self._cond:
            self._calls.discard(call)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [call for call in self._calls if call.deadline <= now]
                if not due:  # the calls in progress are few: a scan is cheaper than a heap
                    wake = min((call.deadline for call in self._calls), default=now + 3600)
                    self._cond.wait(min(wake - now, 3600.0))  # timeouts are at most a week
                    continue
                self._calls.difference_update(due)
            for call in due:
                call.expire()  # a call that ended meanwhile is left alone


_WATCHDOG: Final = _Watchdog()
if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_WATCHDOG._forked)


def _cut(conn: Any, sent_on: Any) -> None:
    """Shut down the socket of ``conn``, and ``sent_on``, the one its request went out on."""
    for sock in (getattr(conn, "sock", None), sent_on):
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already closed: the call is failing anyway
                sock.shutdown(socket.SHUT_RDWR)


class _Attaching:
    """Mixed into a urllib3 connection: sending a request attaches it to the thread's call,
    which learns how far it went (sending once a byte is written, waiting once all was)."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        call = getattr(_current, "call", None)
        if call is not None:
            call.attach(self)
        super().request(*args, **kwargs)  # type: ignore[misc]
        if call is not None:
            if not call.cut:  # urllib3 goes on to read an answer after a broken pipe
                call.phase = "waiting"
            call.attach(self)  # sent: keep the socket the answer comes on

    def send(self, data: Any) -> None:
        call = getattr(_current, "call", None)
        if call is not None:
            call.phase = "sending"
        try:
            super().send(data)  # type: ignore[misc]
        except BaseException:
            if call is not None:
                call.cut = True
            raise


class _HTTPConnection(_Attaching, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Attaching, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS: Final = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """An ``HTTPAdapter`` whose connections :class:`KuzzleHTTP` can cut at a call's deadline.

    Mount it on a session passed to :class:`KuzzleHTTP` for its ``timeout`` to bound the
    whole call (the session it creates has it already).
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        set_pool_classes(self.poolmanager, _POOLS)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if type(manager) is urllib3.ProxyManager:  # SOCKS managers keep their own pools
            set_pool_classes(manager, _POOLS)
        return manager


def read_body(resp: requests.Response, body: protocol.BoundedBody, call: Call) -> None:
    """Read the body of a streamed ``resp`` into ``body`` (decoded and capped) before
    ``call``'s deadline; it becomes ``resp.content``. The connection is not released (see
    :class:`_Answer`), unless the read failed: then it is closed.

    Raises ``BodyTooLarge`` past the cap (``resp.content`` then holds what was kept),
    ``zlib.error`` for a broken compressed body, ``urllib3``/``OSError`` failures as they come.
    """
    # Checked after an end of file too: past the deadline it may be the watchdog's cut, not
    # the end of a body that ends when the connection closes.
    _read(resp, body, lambda: time.monotonic() > call.deadline)


def _read(
    resp: requests.Response, body: protocol.BoundedBody, late: Callable[[], bool] | None = None
) -> None:
    """Feed ``resp``'s streamed body into ``body``, chunk by chunk, until its end; what was
    kept becomes ``resp.content``. ``late()`` true after a read: a TimeoutError."""
    data = b""
    try:
        while True:
            chunk = resp.raw.read(65536, decode_content=not body.raw)
            if late is not None and late():
                raise TimeoutError("the call's deadline passed while reading the body")
            if not chunk:
                break
            body.feed(chunk)
        data = body.finish()
    except BaseException as exc:
        # The rest was not read: the connection cannot be reused. Closed here, as
        # Response.close() skips it once the content is consumed (and an answer that ends at
        # close holds the only reference to its socket).
        resp.raw.close()
        resp.close()
        data = exc.data if isinstance(exc, protocol.BodyTooLarge) else b""
        raise
    finally:
        # Response.content reads ``raw`` on first use: a file holding what was read (decoded,
        # within the cap) takes the place of the spent urllib3 stream.
        resp.raw = io.BytesIO(data)
