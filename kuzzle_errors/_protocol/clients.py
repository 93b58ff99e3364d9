"""What the clients have alike: the retry policy scoped to their host, their validated
``timeout``, login, closing and the context managers (``ClientBase``, and its twin
``AsyncClientBase``), what tells them they run in a forked child (``ForkGuard``), and what both
WebSocket clients share (``WebSocketClient``: their options, their state, their notification
streams).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Generic, Protocol, TypeVar, overload
from urllib.parse import urlsplit

from kuzzle_errors._protocol.failures import lost_error, shown_url
from kuzzle_errors._protocol.queries import jwt_from_login, login_request
from kuzzle_errors._protocol.websocket import NotificationQueue, Routed, log_unmatched
from kuzzle_errors._redact import one_line, shown
from kuzzle_errors.hints import replay_safe

_T = TypeVar("_T")
_P = TypeVar("_P")  # a retry policy, sync or async
_C = TypeVar("_C", bound="ClientBase")
_A = TypeVar("_A", bound="AsyncClientBase")


class RetryCaller(Protocol):
    """What the sync clients need from :class:`kuzzle_errors.retry.RetryPolicy`."""

    def call(
        self, fn: Callable[..., _T], /, *args: Any, idempotent: bool = ..., **kwargs: Any
    ) -> _T: ...


class AsyncRetryCaller(Protocol):
    """What the async clients need from :class:`kuzzle_errors.retry.RetryPolicy`."""

    async def acall(
        self, fn: Callable[..., Awaitable[_T]], /, *args: Any, idempotent: bool = ..., **kwargs: Any
    ) -> _T: ...


_DEFAULT_PORTS: Final = {"http": 80, "ws": 80, "https": 443, "wss": 443}

#: The longest wait a client accepts, in seconds (a week): every wait it makes (locks,
#: sockets, the event loop's timers) can hold it, and no Kuzzle call needs more.
MAX_SECONDS: Final = 7 * 24 * 3600


@overload
def check_seconds(name: str, value: object) -> float: ...
@overload
def check_seconds(name: str, value: object, *, none: bool) -> float | None: ...
def check_seconds(name: str, value: object, *, none: bool = False) -> float | None:
    """``value``, a number of seconds a client can wait: above 0, at most :data:`MAX_SECONDS`;
    None too where ``none`` (no bound). Anything else (None, inf, nan, a bool, a string...) is
    refused here with a ValueError, never met later as a TypeError or an OverflowError."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        ok = False
    else:
        ok = 0 < value <= MAX_SECONDS  # False for nan
    if not ok:
        also = ", or None (no bound)" if none else ""
        raise ValueError(
            f"{name} must be a number of seconds above 0 and at most {MAX_SECONDS} (a week)"
            f"{also}, not {repr(value)[:60]}"
        )
    return value  # type: ignore[return-value]  # an int or a float: checked above


class ForkGuard:
    """Tells a client when it is first used in a process forked after it was made.

    A forked child inherits the client's sockets (a pooled keep-alive connection, the
    WebSocket), its threads' state but not the threads, and its locks in whatever state they
    were: reused, the parent's and the child's requests and answers would mix on one socket.
    :meth:`check` runs the client's ``renew`` once in each child, before its first use there,
    under a lock made afresh in the child (``os.register_at_fork``).
    """

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        _GUARDS.add(self)

    def check(self, renew: Callable[[], None]) -> None:
        """Call ``renew`` if this is the first use in a forked child (cheap otherwise)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                renew()
                self._pid = os.getpid()


_GUARDS: Final[weakref.WeakSet[ForkGuard]] = weakref.WeakSet()


def _after_fork() -> None:
    # In the child only the forking thread runs: a lock another thread held stays held.
    for guard in list(_GUARDS):
        guard._lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork)


def host_key(url: str) -> str:
    """``host:port`` of ``url`` (the scheme's default port when none is given), lowercased.

    HTTP and WebSocket URLs of one server give the same key (Kuzzle serves both on one port),
    so their clients share one retry budget.
    """
    parts = urlsplit(url if "//" in url else f"//{url}")
    try:
        port = parts.port
    except ValueError:  # an invalid port: the client will fail on it, any key will do
        port = None
    if port is None:
        port = _DEFAULT_PORTS.get(parts.scheme.lower())
    host = (parts.hostname or parts.netloc or url).lower()
    if ":" in host:  # IPv6 literal: bracket it again so the port stays unambiguous
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


def scope_retry(policy: _P | None, url: str) -> _P | None:
    """``policy.for_host(host_key(url))`` when the policy has ``for_host``, else ``policy``.

    Sync or async (``call`` or ``acall``): every client of one server, HTTP or WebSocket,
    then shares one budget.
    """
    for_host = getattr(policy, "for_host", None)
    if policy is not None and callable(for_host):
        scoped: _P = for_host(host_key(url))
        return scoped
    return policy


def idempotent_of(request: Mapping[str, Any], idempotent: object) -> bool:
    """Whether a query of ``request`` may be replayed after it may have run: the caller's
    ``idempotent`` when given, else the replay safety of its action
    (:func:`kuzzle_errors.hints.replay_safe`). Anything but None or a bool: a TypeError."""
    if idempotent is None:
        return replay_safe(request)
    if not isinstance(idempotent, bool):
        raise TypeError(
            f"idempotent must be True, False or None (the action's default), "
            f"not {repr(idempotent)[:40]}"
        )
    return idempotent


class _Base(Generic[_P]):
    """The retry policy scoped to the client's host, the timeout, and how a client shows
    itself."""

    jwt: str | None
    _retry: _P | None = None
    _timeout: Any

    @property
    def timeout(self) -> Any:
        """The client's timeout (see the client). Assigning a value the client cannot honour
        raises a ValueError, as the constructor does."""
        return self._timeout

    @timeout.setter
    def timeout(self, value: Any) -> None:
        self._timeout = self._checked_timeout(value)

    def _checked_timeout(self, value: object) -> Any:
        """``value`` as a valid timeout of this client, or a ValueError."""
        raise NotImplementedError

    def _where(self) -> str:
        """The URL of the server: it keys the retry budget; ``repr`` shows it redacted."""
        raise NotImplementedError

    def _state(self) -> str:
        return ""

    @property
    def retry(self) -> _P | None:
        """The retry policy of the queries, scoped to this client's host (None: no retry).

        A policy with ``for_host`` (as ``RetryPolicy`` has) is replaced by
        ``retry.for_host("host:port")``, here and when ``retry`` is assigned, so every client
        of one server, HTTP or WebSocket, sync or async, shares one retry budget (a budget
        set explicitly on the policy is kept).
        """
        return self._retry

    @retry.setter
    def retry(self, policy: _P | None) -> None:
        self._set_retry(policy)

    def _set_retry(self, policy: _P | None) -> None:
        # The constructors call this, not ``self.retry = ...``: documentation tools would
        # take that for an attribute of the subclass, hiding the property.
        self._retry = scope_retry(policy, self._where())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({shown_url(self._where())!r}{self._state()})"


class ClientBase(_Base[RetryCaller]):
    """What the sync clients have alike: retry scoping, login, ``close`` and ``with``."""

    jwt: str | None

    def query(self, request: Mapping[str, Any], *, idempotent: bool | None = None) -> Any:
        """Send one Kuzzle API request and return its ``result`` (see the clients)."""
        raise NotImplementedError

    def _call(
        self, once: Callable[..., Any], request: Mapping[str, Any], idem: bool | None, **kw: Any
    ) -> Any:
        """``once(request, **kw)``: one attempt, through the retry policy when one is set;
        ``idem`` None: the action's replay safety decides."""
        idempotent = idempotent_of(request, idem)
        if self.retry is None:
            return once(dict(request), **kw)
        return self.retry.call(once, dict(request), idempotent=idempotent, **kw)

    def login(
        self,
        credentials: Mapping[str, Any],
        strategy: str = "local",
        *,
        expires_in: str | int | None = None,
        idempotent: bool | None = None,
    ) -> str:
        """Log in with ``auth:login``, keep the token for the next queries and return it.

        ``credentials`` first, then the strategy: ``login({"username": ..., "password": ...})``
        (the official SDKs' ``login(strategy, credentials)`` order, or an argument of another
        type, raises a TypeError naming this signature, before anything is sent).
        ``expires_in``: Kuzzle's ``expiresIn`` (``"1h"``, or milliseconds). ``idempotent``:
        as for :meth:`query`; by default ``auth:login``'s replay safety (safe: a replay
        issues another token), so a retry policy replays a login whose answer was lost.
        """
        request = login_request(credentials, strategy, expires_in)
        self.jwt = jwt_from_login(self.query(request, idempotent=idempotent))
        return self.jwt

    def close(self) -> None:
        """Release what the client holds (see the clients). Idempotent."""
        raise NotImplementedError

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClientBase(_Base[AsyncRetryCaller]):
    """The async twin of :class:`ClientBase`: ``await close()`` (or ``aclose()``), and
    ``async with``."""

    jwt: str | None

    async def query(self, request: Mapping[str, Any], *, idempotent: bool | None = None) -> Any:
        """Send one Kuzzle API request and return its ``result`` (see the clients)."""
        raise NotImplementedError

    async def _call(
        self,
        once: Callable[..., Awaitable[Any]],
        request: Mapping[str, Any],
        idem: bool | None,
        **kw: Any,
    ) -> Any:
        """``await once(request, **kw)``, through the retry policy's ``acall`` when one is set;
        ``idem`` None: the action's replay safety decides."""
        idempotent = idempotent_of(request, idem)
        if self.retry is None:
            return await once(dict(request), **kw)
        return await self.retry.acall(once, dict(request), idempotent=idempotent, **kw)

    async def login(
        self,
        credentials: Mapping[str, Any],
        strategy: str = "local",
        *,
        expires_in: str | int | None = None,
        idempotent: bool | None = None,
    ) -> str:
        """Log in with ``auth:login``, keep the token for the next queries and return it.

        The sync clients' arguments: ``credentials`` first (the SDKs' ``login(strategy,
        credentials)`` order raises a TypeError naming the signature), ``expires_in``
        (``"1h"``, or milliseconds), ``idempotent`` (by default ``auth:login``'s: safe).
        """
        request = login_request(credentials, strategy, expires_in)
        self.jwt = jwt_from_login(await self.query(request, idempotent=idempotent))
        return self.jwt

    async def close(self) -> None:
        """Release what the client holds (see the clients). Idempotent."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """The same as :meth:`close`, under the name ``contextlib.aclosing`` and httpx use."""
        await self.close()

    async def _enter(self) -> None:
        """What entering ``async with`` does before the client is returned: nothing here."""

    async def __aenter__(self: _A) -> _A:
        await self._enter()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class WebSocketClient:
    """The options and the state both WebSocket clients share; each keeps its own I/O."""

    jwt: str | None
    _conn: Any = None  # the connection now or last open: its ``dead`` flag and ``router``
    _closed = False

    def _configure(
        self,
        url: str,
        timeout: float,
        jwt: str | None,
        on_notification: Any,
        on_unmatched_error: Any,
        ping_interval: float | None,
        max_frame_bytes: int | None,
        frame_timeout: float | None,
    ) -> None:
        self._timeout = self._checked_timeout(timeout)
        ping_interval = check_seconds("ping_interval", ping_interval, none=True)
        frame_timeout = check_seconds("frame_timeout", frame_timeout, none=True)
        if max_frame_bytes is not None and (
            isinstance(max_frame_bytes, bool)
            or not isinstance(max_frame_bytes, int)
            or max_frame_bytes <= 0
        ):
            raise ValueError(
                f"max_frame_bytes must be a positive number of bytes (None: no bound), "
                f"not {repr(max_frame_bytes)[:60]}"
            )
        self.url = url
        self.jwt = jwt
        self.on_notification = on_notification
        self.on_unmatched_error = on_unmatched_error
        self.ping_interval = ping_interval
        self.max_frame_bytes = max_frame_bytes
        self.frame_timeout = frame_timeout
        self._streams: set[NotificationQueue] = set()
        self._fork = ForkGuard()

    def _checked_timeout(self, value: object) -> float:
        return check_seconds("timeout", value)

    def _call_timeout(self, timeout: float | None) -> float:
        """How long one query waits: ``timeout`` (validated at the call), or the client's."""
        return check_seconds("timeout", self._timeout if timeout is None else timeout)

    def _where(self) -> str:
        return self.url

    def _state(self) -> str:
        return ", closed" if self._closed else (", connected" if self.connected else ", idle")

    @property
    def connected(self) -> bool:
        """True while the socket is open (never for one inherited from a parent process)."""
        self._fork.check(self._renew)
        return self._conn is not None and not self._conn.dead

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def pending(self) -> int:
        """How many queries wait for their answer."""
        self._fork.check(self._renew)
        return len(self._conn.router.pending) if self._conn is not None else 0

    def _renew(self) -> None:
        """Forget what was inherited from the parent process (see :class:`ForkGuard`)."""
        raise NotImplementedError

    def _forked_streams(self, why: str) -> None:
        """In a forked child: end the inherited streams (their subscriptions belong to the
        parent's socket) with the error of a lost connection."""
        streams, self._streams = list(self._streams), set()
        for stream in streams:
            stream.forked()
            stream.put(lost_error(self.url, {}, f"{why}: subscribe again"))

    def _deliver(self, routed: Routed, logger: logging.Logger) -> None:
        """Hand a notification to the streams and the callback, an unmatched error to its."""
        if routed.notification is not None:
            streams = list(self._streams)
            for stream in streams:
                stream.put(routed.notification)
            self._invoke(self.on_notification, routed.notification, logger, bool(streams))
        elif routed.unmatched is not None:
            log_unmatched(logger, routed.unmatched, routed.what)
            self._invoke(self.on_unmatched_error, routed.unmatched, logger, True)

    def _invoke(self, callback: Any, arg: Any, logger: logging.Logger, streamed: bool) -> Any:
        """``callback(arg)``, what it returns; a failing callback must not kill the reader."""
        name = "on_notification" if isinstance(arg, dict) else "on_unmatched_error"
        if callback is None:
            if not streamed:
                room = one_line(shown(arg.get("room")) or "")  # the server's: one safe line
                logger.debug("notification without a callback nor a stream: %s", room)
            return None
        try:
            return callback(arg)
        except Exception:
            logger.exception("%s callback failed", name)
            return None

    def _end_streams(self, conn: Any, why: str | None) -> None:
        """End every stream: the client closed (``why`` None), or ``conn`` dropped ``why``."""
        if why is not None and (conn is not self._conn or self._closed):
            return  # an older connection, or closing: close() ends the streams, once
        for stream in list(self._streams):
            stream.put(None if why is None else lost_error(self.url, {}, why))
