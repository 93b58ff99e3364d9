"""What ``requests`` lacks for :class:`kuzzle_errors.http.KuzzleHTTP`: a total deadline per call,
and a body read in bounded chunks.

``requests`` applies its read timeout to each read of the socket: a server dripping its head or
body a byte at a time is never timed out. Here every connection made through
:class:`DeadlineAdapter` registers with the call in progress on its thread, and a timer shuts
its socket down when the call's deadline passes, so the blocked read fails at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any, Final

import requests
import urllib3
import urllib3.connection

from kuzzle_errors._transport import BoundedBody

__all__ = ["Call", "DeadlineAdapter", "read_body"]

_current = threading.local()


class Call:
    """One call's total deadline; use as a context manager around the whole call."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._conn: Any = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Call:
        _current.call = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _current.call = None

    def attach(self, conn: Any) -> None:
        """``conn`` now carries this call's request."""
        with self._lock:
            self._conn = conn
            expired = self.expired
        if expired:
            _cut(conn)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            conn = self._conn
        if conn is not None:
            _cut(conn)


def _cut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # already closed: the call is failing anyway
            sock.shutdown(socket.SHUT_RDWR)


def _attach(conn: Any) -> None:
    call = getattr(_current, "call", None)
    if call is not None:
        call.attach(conn)


class _HTTPConnection(urllib3.connection.HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override, unused-ignore]
        _attach(self)
        super().request(*args, **kwargs)


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override, unused-ignore]
        _attach(self)
        super().request(*args, **kwargs)


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS: Final = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """An ``HTTPAdapter`` whose connections a :class:`Call` can cut at its deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if type(manager) is urllib3.ProxyManager:  # SOCKS managers keep their own pools
            manager.pool_classes_by_scheme = _POOLS
        return manager


def read_body(resp: requests.Response, limit: int | None, deadline: float | None) -> bytes:
    """Read the body of a streamed ``resp``, decoded and capped at ``limit`` bytes.

    Sets it as ``resp.content``. Raises :class:`~kuzzle_errors._transport.BodyTooLarge` past
    the cap (``resp.content`` then holds what was kept), ``zlib.error`` for a broken
    compressed body, ``urllib3``/``OSError`` failures as they come.
    """
    encoding = resp.headers.get("Content-Encoding")
    ours = BoundedBody.decodes(encoding)
    body = BoundedBody(encoding if ours else None, limit)
    try:
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("the call's deadline passed while reading the body")
            chunk = resp.raw.read(65536, decode_content=not ours)
            if not chunk:
                break
            body.feed(chunk)
        data = body.finish()
    except BaseException as exc:
        kept = getattr(exc, "data", b"")
        resp._content = kept  # what was read stays reachable from the response
        resp._content_consumed = True  # type: ignore[attr-defined]
        resp.close()  # the rest was not read: the connection cannot be reused
        raise
    resp._content = data
    resp._content_consumed = True  # type: ignore[attr-defined]
    resp.raw.release_conn()
    return data
