"""What ``requests`` lacks for :class:`kuzzle_errors.http.KuzzleHTTP`: a total deadline per call,
and a body read in bounded chunks.

``requests`` applies its read timeout to each read of the socket: a server dripping its head or
body a byte at a time is never timed out. Here every connection made through
:class:`DeadlineAdapter` registers with the call in progress on its thread, and a timer shuts
its socket down when the call's deadline passes, so the blocked read fails at once (one
watchdog thread serves every call).
"""

from __future__ import annotations

import contextlib
import heapq
import io
import socket
import threading
import time
from typing import Any, Final

import requests
import urllib3
import urllib3.connection

from kuzzle_errors._adapters import set_pool_classes
from kuzzle_errors._protocol.http import BoundedBody

__all__ = ["Call", "DeadlineAdapter", "read_body"]

_current = threading.local()


class Call:
    """One call's total deadline; use as a context manager around the whole call."""

    __slots__ = ("_conn", "_lock", "_sock", "deadline", "done", "expired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = 0.0
        self.expired = False
        self.done = False
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
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Call]] = []
        self._count = 0
        self._active = 0
        self._thread: threading.Thread | None = None

    def release(self, call: Call) -> None:
        """The call ended: its entry is dropped lazily, or now when finished ones pile up."""
        with call._lock:
            call.done = True
        with self._cond:
            self._active -= 1
            if len(self._heap) > 2 * self._active + 256:
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)

    def watch(self, call: Call) -> None:
        with self._cond:
            self._count += 1
            self._active += 1
            heapq.heappush(self._heap, (call.deadline, self._count, call))
            if self._thread is None or not self._thread.is_alive():  # first use, or forked
                self._thread = threading.Thread(
                    target=self._run, name="kuzzle-http-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is call:
                self._cond.notify()  # the earliest deadline changed

    def _run(self) -> None:
        while True:
            due: list[Call] = []
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
                if not due:
                    self._cond.wait(self._heap[0][0] - now)
                    continue
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
    """An ``HTTPAdapter`` whose connections a :class:`Call` can cut at its deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        set_pool_classes(self.poolmanager, _POOLS)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if type(manager) is urllib3.ProxyManager:  # SOCKS managers keep their own pools
            set_pool_classes(manager, _POOLS)
        return manager


def read_body(resp: requests.Response, limit: int | None, deadline: float) -> None:
    """Read the body of a streamed ``resp``, decoded and capped at ``limit`` bytes, by ``deadline``.

    Sets it as ``resp.content``. Raises :class:`~kuzzle_errors._transport.BodyTooLarge` past
    the cap (``resp.content`` then holds what was kept), ``zlib.error`` for a broken
    compressed body, ``urllib3``/``OSError`` failures as they come.
    """
    encoding = resp.headers.get("Content-Encoding")
    ours = BoundedBody.decodes(encoding)
    body = BoundedBody(encoding, limit)
    try:
        while True:
            chunk = resp.raw.read(65536, decode_content=not ours)
            # Checked after an end of file too: past the deadline it may be the watchdog's
            # cut, not the end of a body that ends when the connection closes.
            if time.monotonic() > deadline:
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
        _keep(resp, getattr(exc, "data", b""))  # what was read stays reachable
        raise
    resp.raw.release_conn()
    _keep(resp, data)


def _keep(resp: requests.Response, data: bytes) -> None:
    """Make ``data`` the ``content`` of ``resp``, whose body was read from ``resp.raw``.

    ``Response.content`` reads the body from ``raw`` on first use: a file holding what was read
    (decoded, within the cap) takes the place of the spent urllib3 stream.
    """
    resp.raw = io.BytesIO(data)
