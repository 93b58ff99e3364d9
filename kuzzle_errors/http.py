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
import socket
import threading
import time
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import requests
import urllib3
import urllib3.connection
import urllib3.exceptions

from kuzzle_errors._adapters import set_pool_classes
from kuzzle_errors._protocol import http as protocol
from kuzzle_errors._protocol.clients import ClientBase
from kuzzle_errors._protocol.failures import safe_cause
from kuzzle_errors._protocol.queries import REQUEST_ID_HEADER

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
    sent = getattr(resp, "request", None)
    request_id = None if sent is None else sent.headers.get(REQUEST_ID_HEADER)
    return protocol.parse_http(resp.content, resp.status_code, resp.headers, strict, request_id)[0]


def raise_for_kuzzle(resp: requests.Response, *, strict: bool = False) -> None:
    """Raise the error :func:`error_from_response` finds in ``resp``; return on success."""
    error = error_from_response(resp, strict=strict)
    if error is not None:
        raise error


class _KuzzleHook(protocol.KuzzleHook):
    def __call__(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        # Redirects are followed before the hook sees them: 3xx pass.
        if self.parses(resp):
            raise_for_kuzzle(resp, strict=self.strict)


def install(session: requests.Session, *, strict: bool = False) -> requests.Session:
    """Make every response of ``session`` raise on a Kuzzle error; returns ``session``.

    Responses with a status of 400 or more are parsed, and JSON answers with status 206
    (with ``strict=True``, every JSON 2xx). Installing twice replaces the earlier hook.
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
            ``(connect, read)`` tuple whose sum bounds it; past it, a
            :class:`~kuzzle_errors.RequestTimeoutError` (not replay-safe). The total bound needs
            the session's adapter: a session passed in keeps ``requests``' per-read timeouts
            unless :class:`DeadlineAdapter` is mounted on it.
        jwt: an authentication token; :meth:`login` sets one.
        retry: a :class:`kuzzle_errors.retry.RetryPolicy` each query goes through, with its
            ``idempotent`` flag (see :attr:`retry`).
        max_error_bytes: the most of an error body (non-2xx) read, after decompression; past
            it the error of the status is raised, its ``problem`` saying the body was cut.
        max_body_bytes: the same for a success's body (None: no cap, the default); past it
            an :class:`~kuzzle_errors.InvalidResponseError` (not retryable).

    An error raised for an answer keeps the :class:`requests.Response` as ``http_response``
    (its ``content`` is what was read).
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
        self.base_url: str = base_url.rstrip("/")
        self.timeout: protocol.Timeout = protocol.check_timeout(timeout)
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

    def _where(self) -> str:
        return self.base_url

    def query(
        self, request: Mapping[str, Any], *, idempotent: bool = False, strict: bool = False
    ) -> Any:
        """Send one Kuzzle API request and return its ``result``.

        ``request`` holds ``controller``, ``action`` and any other argument (``index``,
        ``collection``, ``_id``, ``body``, ``volatile``, ``refresh``...). Raises the parsed
        :class:`~kuzzle_errors.KuzzleError` on an error answer, a
        :class:`~kuzzle_errors.ConnectionLostError` or
        :class:`~kuzzle_errors.RequestTimeoutError` on a transport failure. ``idempotent``
        tells the retry policy whether a request that may have run can be replayed;
        ``strict`` makes a result holding ``errors`` raise a PartialError (client side).
        """
        return self._call(self._query_once, request, idempotent, strict=strict)

    def close(self) -> None:
        """Close the session if this client created it. Idempotent."""
        if self._owns_session:
            self.session.close()

    def _query_once(self, request: dict[str, Any], *, strict: bool = False) -> Any:
        attempt = protocol.HTTPAttempt(request, self.jwt, strict=strict)
        call = Call(protocol.total_seconds(self.timeout))
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
                attempt.answered(resp)
                read_body(resp, attempt.body(self.max_body_bytes, self.max_error_bytes), call)
        except (protocol.BodyTooLarge, zlib.error) as exc:
            raise attempt.unreadable(exc) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if call.expired:  # the total deadline cut the call: the request was sent
                lost = attempt.failed(exc, "deadline", self.base_url, call.seconds)
            else:
                read = self.timeout[1] if isinstance(self.timeout, tuple) else self.timeout
                lost = attempt.failed(exc, _failure(exc), self.base_url, read)
            raise lost from safe_cause(exc)
        return attempt.result(resp.content, text=lambda: resp.text)


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
    """One call's total deadline; use as a context manager around the whole call."""

    __slots__ = ("_conn", "_lock", "_sock", "deadline", "done", "expired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds: float = seconds
        self.deadline: float = 0.0
        self.expired: bool = False
        self.done: bool = False
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
                    self._cond.wait(wake - now)
                    continue
                self._calls.difference_update(due)
            for call in due:
                call.expire()  # a call that ended meanwhile is left alone


_WATCHDOG: Final = _Watchdog()


def _cut(conn: Any, sent_on: Any) -> None:
    """Shut down the socket of ``conn``, and ``sent_on``, the one its request went out on."""
    for sock in (getattr(conn, "sock", None), sent_on):
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already closed: the call is failing anyway
                sock.shutdown(socket.SHUT_RDWR)


class _Attaching:
    """Mixed into a urllib3 connection: sending a request attaches it to the thread's call."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        call = getattr(_current, "call", None)
        if call is not None:
            call.attach(self)
        super().request(*args, **kwargs)  # type: ignore[misc]
        if call is not None:
            call.attach(self)  # sent: keep the socket the answer comes on


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
    ``call``'s deadline; it becomes ``resp.content``.

    Raises ``BodyTooLarge`` past the cap (``resp.content`` then holds what was kept),
    ``zlib.error`` for a broken compressed body, ``urllib3``/``OSError`` failures as they come.
    """
    data = b""
    try:
        while True:
            chunk = resp.raw.read(65536, decode_content=not body.raw)
            # Checked after an end of file too: past the deadline it may be the watchdog's
            # cut, not the end of a body that ends when the connection closes.
            if time.monotonic() > call.deadline:
                raise TimeoutError("the call's deadline passed while reading the body")
            if not chunk:
                break
            body.feed(chunk)
        data = body.finish()
        resp.raw.release_conn()
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
