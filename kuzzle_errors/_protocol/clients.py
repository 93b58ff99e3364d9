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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Generic, Protocol, TypeVar, overload
from urllib.parse import urlsplit

from kuzzle_errors._protocol.failures import SUBSCRIPTIONS_LOST, lost_error, shown_url
from kuzzle_errors._protocol.queries import jwt_from_login, login_request
from kuzzle_errors._protocol.realtime import (
    NO_REFUSAL,
    is_token_expired,
    token_expired_error,
    verdict,
)
from kuzzle_errors._protocol.websocket import NotificationQueue, Routed, log_unmatched
from kuzzle_errors._redact import one_line, shown
from kuzzle_errors.exceptions import KuzzleError
from kuzzle_errors.hints import replay_safe

_T = TypeVar("_T")
_P = TypeVar("_P")  # a retry policy, sync or async
_U = TypeVar("_U")  # a URL as given, whatever its type (checked where it is used)
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


def checked_url(url: _U) -> _U:
    """``url``, unless an ``@`` follows its host: then a password holding an unencoded ``/``,
    ``?`` or ``#`` ended the authority early, and the rest of it would be shown (in ``repr``,
    in errors) as a path. Refused with a ValueError that does not show the URL."""
    if isinstance(url, str):
        try:
            parts = urlsplit(url)
        except ValueError:  # an unbalanced IPv6 bracket: the client fails on it, redacted
            return url
        if "@" not in parts.netloc and "@" in parts.path + parts.query + parts.fragment:
            raise ValueError(
                "the URL has an '@' after its host: a password holding '/', '?' or '#' must "
                "be percent-encoded (the URL is not shown, as it may hold one)"
            )
    return url


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
    (:func:`kuzzle_errors.hints.replay_safe`). Anything but None or a bool, or a request
    that is not a mapping: a TypeError."""
    if not isinstance(request, Mapping):
        raise TypeError(
            "query(request, *, idempotent=None, ...): request must be a mapping "
            '({"controller": ..., "action": ..., ...}), '
            f"not {type(request).__name__} {one_line(shown(repr(request), 40) or '')}"
        )
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
        The request carries no token: an expired one would get it refused (401).
        """
        request = {**login_request(credentials, strategy, expires_in), "jwt": None}
        self.jwt = jwt_from_login(self.query(request, idempotent=idempotent))
        self._logged_in()
        return self.jwt

    def _logged_in(self) -> None:
        """A login succeeded (the WebSocket clients restore what waited for it)."""

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
        The request carries no token: an expired one would get it refused (401).
        """
        request = {**login_request(credentials, strategy, expires_in), "jwt": None}
        self.jwt = jwt_from_login(await self.query(request, idempotent=idempotent))
        self._logged_in()
        return self.jwt

    def _logged_in(self) -> None:
        """A login succeeded (the WebSocket clients restore what waited for it)."""

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
    """The options and the state both WebSocket clients share; each keeps its own I/O.

    The subscriptions the client owns (``subscribe()``) are kept here, I/O-free: which
    notification goes to which, what a drop, a node leaving or an expired token does to them,
    what a resubscription's outcome means; each client sends, waits and runs the restoring.
    """

    jwt: str | None
    _conn: Any = None  # the connection now or last open: its ``dead`` flag and ``router``
    _closed = False
    _logger: logging.Logger = logging.getLogger("kuzzle_errors.websocket")

    def _configure(
        self,
        url: str | Sequence[str],
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
        urls = (url,) if isinstance(url, str) else tuple(url)
        if not urls or not all(isinstance(each, str) for each in urls):
            raise ValueError(f"url must be a URL or a sequence of URLs, not {repr(url)[:60]}")
        #: Every URL given: after a node leaves (or cannot be reached) the next one is used.
        self.urls: tuple[str, ...] = tuple(checked_url(each) for each in urls)
        self.url = urls[0]
        self.jwt = jwt
        self.on_notification = on_notification
        self.on_unmatched_error = on_unmatched_error
        self.ping_interval = ping_interval
        self.max_frame_bytes = max_frame_bytes
        self.frame_timeout = frame_timeout
        self._streams: set[NotificationQueue] = set()
        self._fork = ForkGuard()

    def _configure_realtime(
        self,
        reconnect: Any,
        on_disconnect: Any,
        on_reconnect: Any,
        on_resubscribed: Any,
        on_resubscription_failed: Any,
        on_token_expired: Any,
    ) -> None:
        self.reconnect = reconnect
        self.on_disconnect = on_disconnect
        self.on_reconnect = on_reconnect
        self.on_resubscribed = on_resubscribed
        self.on_resubscription_failed = on_resubscription_failed
        self.on_token_expired = on_token_expired
        self._subs: set[NotificationQueue] = set()  # the live Subscription objects
        self._rt_lock = threading.Lock()  # their state: the reader and callers change it
        self._logins = 0
        self._expiry_told: object = NO_REFUSAL  # the token on_token_expired was last told of
        self._was_lost = False  # a connection was lost: the next one opened is a reconnect
        self._restoring = False
        self._restore_again = False
        self._restore_attempt = 0  # the restoring's attempt under way, from 1 (0: none)
        self._loss: KuzzleError | None = None  # what lost the subscriptions last

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
        """True while the socket is open (never for one inherited from a parent process, nor
        for one whose node said it is shutting down)."""
        self._fork.check(self._renew)
        conn = self._conn
        return conn is not None and not conn.dead and not conn.leaving

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def pending(self) -> int:
        """How many queries wait for their answer."""
        self._fork.check(self._renew)
        return len(self._conn.router.pending) if self._conn is not None else 0

    @property
    def subscriptions(self) -> list[Any]:
        """The subscriptions made with ``subscribe()`` and not ended."""
        return list(self._subs)

    def _renew(self) -> None:
        """Forget what was inherited from the parent process (see :class:`ForkGuard`)."""
        raise NotImplementedError

    def _rotate(self) -> None:
        """Use the next URL (failover): this node is leaving, or could not be reached."""
        if len(self.urls) > 1:
            at = self.urls.index(self.url) if self.url in self.urls else -1
            self.url = self.urls[(at + 1) % len(self.urls)]

    def _forked_streams(self, why: str) -> None:
        """In a forked child: end the inherited streams (their subscriptions belong to the
        parent's socket) with the error of a lost connection."""
        streams, self._streams = list(self._streams), set()
        subs, self._subs = list(self._subs), set()
        self._rt_lock = threading.Lock()  # a parent's thread may have held it
        self._restoring = self._restore_again = False  # the parent's restoring does not run here
        self._restore_attempt = 0
        for stream in streams + subs:
            stream.forked()
            stream.put(lost_error(self.url, {}, f"{why}: subscribe again", SUBSCRIPTIONS_LOST))

    def _deliver(self, routed: Routed, logger: logging.Logger) -> None:
        """Hand a notification to the streams, the subscriptions of its channel and the
        callback, an unmatched error to its callback."""
        notification = routed.notification
        if notification is not None:
            if is_token_expired(notification):
                self._token_expired(notification)
            room = notification.get("room")
            subs = [sub for sub in list(self._subs) if sub.channel == room]  # type: ignore[attr-defined]
            for sub in subs:
                if sub.on_notification is not None:  # type: ignore[attr-defined]
                    self._hook("on_notification", sub.on_notification, notification)  # type: ignore[attr-defined]
                else:
                    sub.put(notification)
            streams = list(self._streams)
            for stream in streams:
                stream.put(notification)
            self._invoke(self.on_notification, notification, logger, bool(streams or subs))
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
        return self._hook(name, callback, arg)

    def _hook(self, name: str, callback: Any, *args: Any) -> Any:
        """``callback(*args)`` if set, what it returns; a failing one is logged, never raised
        (it runs in the reader, or while restoring)."""
        if callback is None:
            return None
        try:
            return callback(*args)
        except Exception:
            self._logger.exception("%s callback failed", name)
            return None

    def _end_streams(self, conn: Any, why: str | None) -> None:
        """End every stream: the client closed (``why`` None), or ``conn`` dropped ``why``."""
        if why is None:
            for stream in list(self._streams):
                stream.put(None)
            with self._rt_lock:
                subs = list(self._subs)
                for sub in subs:
                    sub.state = "ended"  # type: ignore[attr-defined]
            for sub in subs:
                sub.put(None)
            return
        if conn is not self._conn or self._closed or conn.leaving or conn.reported:
            return  # an older connection, closing, a node that said it leaves, or told already
        conn.reported = True  # the sync client's reader and an abort may both end it
        self._lost(
            lost_error(self.url, {}, why, SUBSCRIPTIONS_LOST), f"the connection dropped: {why}"
        )

    def _node_leaving(self, conn: Any, error: KuzzleError) -> None:
        """``conn``'s node answered that it shuts down: it deleted every subscription and will
        exit. Nothing more is sent there (the next query connects again, to the next URL if
        several were given); its queries in flight still get their answers."""
        if conn.leaving or conn is not self._conn or self._closed:
            return
        conn.leaving = True
        why = f"the node is shutting down ({error.id})"
        ended = lost_error(self.url, {}, why, SUBSCRIPTIONS_LOST)
        self._rotate()
        self._lost(ended, why, error, f"; next: {shown_url(self.url)}")

    def _lost(
        self, ended: KuzzleError, why: str, told: KuzzleError | None = None, then: str = ""
    ) -> None:
        """Kuzzle forgot this connection's subscriptions: ``ended`` ends the streams, ``told``
        (the node's refusal, by default ``ended``) goes to ``on_disconnect``."""
        for stream in list(self._streams):
            stream.put(ended)
        cause = told or ended
        with self._rt_lock:
            self._was_lost = True
            self._loss = cause
            lost = [sub for sub in list(self._subs) if sub._lost(why)]  # type: ignore[attr-defined]
        self._log(
            logging.WARNING,
            "disconnect",
            cause,
            None,
            "%s%s; %d subscription(s) to restore",
            ended.message,
            then,
            len(lost),
        )
        self._hook("on_disconnect", self.on_disconnect, told or ended)
        if lost and self.reconnect is not None:
            self._restore_soon()

    def _opened(self) -> None:
        """A new connection is open: a reconnect if one was lost; restore what was lost."""
        with self._rt_lock:
            again, self._was_lost = self._was_lost, False
        if again:
            self._log(
                logging.INFO,
                "reconnect",
                self._loss,
                None,
                "reconnected to %s",
                shown_url(self.url),
            )
            self._hook("on_reconnect", self.on_reconnect, self.url)
        # The restorer's own connection: it restores there itself. Asking it to run once more
        # would start its reconnect policy afresh each time it gave up, for ever.
        if not self._in_restorer() and self._to_restore():
            self._restore_soon()

    def _in_restorer(self) -> bool:
        """True when called by the restoring (its thread, or its task)."""
        raise NotImplementedError

    def _token_expired(self, notification: Mapping[str, Any]) -> None:
        """Kuzzle said the token expired and dropped the subscriptions: each is told."""
        error = token_expired_error(self.url, notification)
        with self._rt_lock:
            lost = [sub for sub in list(self._subs) if sub._lost("the token expired")]  # type: ignore[attr-defined]
            for sub in lost:
                sub._refused_jwt = self._auth()  # type: ignore[attr-defined]
            self._loss = error
        self._log(
            logging.WARNING,
            "token_expired",
            error,
            None,
            "the token expired: %d subscription(s) lost until a login",
            len(lost),
        )
        for sub in lost:
            self._tell(sub, error, final=False)
        self._expired(error)

    def _expired(self, error: KuzzleError) -> None:
        """The client's token is refused (Kuzzle said it expired, or refused a resubscription
        with it): ``on_token_expired`` is told once per token, whichever Kuzzle said first (a
        token that expired while the socket was down is only refused, 401, on the restore)."""
        with self._rt_lock:
            if self._expiry_told == self._auth():
                return
            self._expiry_told = self._auth()
        self._after_token_expired(error)

    def _after_token_expired(self, error: KuzzleError) -> None:
        """Call ``on_token_expired`` away from the reader, then restore (see the clients)."""
        raise NotImplementedError

    def _restore_soon(self) -> None:
        """Start restoring the lost subscriptions, unless it is under way (then once more)."""
        raise NotImplementedError

    def _auth(self) -> tuple[int, str | None]:
        """What a token refusal is held against: the logins made and the token (a login in
        the same second may give the same token again)."""
        return self._logins, self.jwt

    def _logged_in(self) -> None:
        self._logins += 1
        self._restore_waiting()

    def _restore_waiting(self) -> None:
        """Restore the lost subscriptions a login (or a token set by hand) lets through."""
        if self._to_restore():
            self._restore_soon()

    def _to_restore(self) -> list[Any]:
        """The lost subscriptions to subscribe again: not those refused for a token that is
        still the client's (they wait for a login)."""
        with self._rt_lock:
            return [
                sub
                for sub in list(self._subs)
                if sub.state == "lost"  # type: ignore[attr-defined]
                and (sub._refused_jwt is NO_REFUSAL or sub._refused_jwt != self._auth())  # type: ignore[attr-defined]
            ]

    def _gone(self, conn: Any) -> bool:
        """Whether ``conn`` (a subscribe answer came on it) can no longer send its
        notifications: dropped, replaced, or its node leaving (a subscription marked active
        there would be lost in silence)."""
        return conn is None or conn is not self._conn or conn.dead or conn.leaving

    def _orphan(self, sub: Any, result: object) -> str | None:
        """``sub`` ended (unsubscribed) while Kuzzle subscribed it: the room to unsubscribe
        from, if the connection the answer came on still holds it and no other subscription
        of this client shares it (else Kuzzle would keep notifying a room nobody reads).
        Called under ``_rt_lock``."""
        room = result.get("roomId") if isinstance(result, Mapping) else None
        if not isinstance(room, str) or self._closed or self._gone(sub._answered_on):
            return None
        shared = any(
            other is not sub and other.state == "active" and other.room_id == room  # type: ignore[attr-defined]
            for other in list(self._subs)
        )
        return None if shared else room

    def _restored(self, sub: Any, result: object) -> str | None:
        """Kuzzle answered ``sub``'s resubscription: it is active again, unless the connection
        the answer came on went meanwhile (then a failed attempt: raises, the restoring tries
        again within its reconnect policy's bounds). Returns the room to unsubscribe from if
        ``sub`` was unsubscribed meanwhile (see :meth:`_orphan`)."""
        with self._rt_lock:
            if sub.state == "ended":  # unsubscribed meanwhile: nothing was sent then
                return self._orphan(sub, result)
            if sub.state != "lost":
                return None
            if self._gone(sub._answered_on):
                sub.channel = None
                why = "the connection dropped as it subscribed again"
                raise lost_error(self.url, {}, why, SUBSCRIPTIONS_LOST)
            gap = sub._subscribed(result)
            sub._refused_jwt = NO_REFUSAL
        lasted = "" if gap is None or gap.seconds is None else f" after {gap.seconds:.3g} s"
        self._log(
            logging.INFO, "resubscribed", self._loss, sub, "resubscribed to %s%s", sub.shown, lasted
        )
        self._hook("on_resubscribed", self.on_resubscribed, sub, gap)
        return None

    def _not_restored(self, sub: Any, error: KuzzleError, *, gave_up: bool = False) -> None:
        """Subscribing ``sub`` again failed with ``error``: raises it to try again on another
        connection; else ``sub`` is told (ended, if Kuzzle refused the subscription itself)."""
        kind = verdict(error)
        if kind == "retry" and not gave_up:
            raise error
        if kind == "login":
            sub._refused_jwt = self._auth()
        if gave_up:
            attempts = self._restore_attempt
            plural = "s" if attempts != 1 else ""
            self._log(
                logging.WARNING,
                "gave_up",
                error,
                sub,
                "gave up restoring %s after %d attempt%s: %s",
                sub.shown,
                attempts,
                plural,
                error,
            )
        else:
            self._log(
                logging.WARNING,
                "resubscription_failed",
                error,
                sub,
                "could not subscribe again to %s: %s",
                sub.shown,
                error,
            )
        self._tell(sub, error, final=kind == "final")
        self._hook("on_resubscription_failed", self.on_resubscription_failed, sub, error)
        if kind == "login":
            self._expired(error)  # where the application logs in again: then it is restored

    def _gave_up(self, error: Exception) -> None:
        """Restoring failed for good (``error``: the last failure): each lost one is told."""
        if self._closed:
            return
        if not isinstance(error, KuzzleError):  # a bug: said, never silent
            self._logger.error("restoring the subscriptions failed", exc_info=error)
            error = lost_error(self.url, {}, f"restoring failed: {error!r}", SUBSCRIPTIONS_LOST)
        for sub in self._to_restore():
            self._not_restored(sub, error, gave_up=True)

    def _log(
        self,
        level: int,
        event: str,
        error: KuzzleError | None,
        sub: Any,
        message: str,
        *args: object,
    ) -> None:
        """Log a lifecycle ``event`` once, on one line, with the ``extra`` fields
        docs/guides/logging.md lists: ``error`` its cause, ``sub`` the subscription it is
        about (None: the connection's)."""
        if not self._logger.isEnabledFor(level):
            return
        extra = {
            "kuzzle_event": event,
            "kuzzle_error": error,
            "kuzzle_error_id": error.id
            if error is not None and isinstance(error.id, str)
            else None,
            # The restoring's attempt while it runs: a loss or a reconnect outside it has none.
            "kuzzle_attempt": self._restore_attempt or None,
            "kuzzle_url": shown_url(self.url),  # never its password
            "kuzzle_subscription": sub.shown if sub is not None else None,
            "kuzzle_channel": sub.channel if sub is not None else None,
            "kuzzle_room": sub.room_id if sub is not None else None,
        }
        self._logger.log(level, one_line(message % args), extra=extra)

    def _restore_attempt_begins(self) -> None:
        """One more attempt of the restoring (its log records say which)."""
        self._restore_attempt += 1

    def _tell(self, sub: Any, error: KuzzleError, *, final: bool) -> None:
        """Tell ``sub``'s consumer ``error`` (its ``on_error``, or its iterator); ``final``:
        the subscription ends."""
        sub.error = error
        if final:
            with self._rt_lock:
                sub.state = "ended"
        if sub.on_error is not None:
            self._hook("on_error", sub.on_error, error)
            if final:
                sub.put(None)
        elif final:
            sub.put(error)
        else:
            sub.warn(error)

    def _restore_begin(self) -> bool:
        """True if the caller is to run the restoring; else it runs already (and will once
        more)."""
        with self._rt_lock:
            if self._restoring:
                self._restore_again = True
                return False
            self._restoring = True
            self._restore_attempt = 0
            return True

    def _restore_end(self) -> bool:
        """The restoring ended: True to run it once more (asked for meanwhile)."""
        with self._rt_lock:
            self._restore_attempt = 0  # a run once more counts its attempts afresh
            if self._restore_again and not self._closed:
                self._restore_again = False
                return True
            self._restoring = False
            return False

    def _answered(self, sub: Any) -> Callable[[Any, dict[str, Any]], None]:
        """What the reader of a connection does with ``sub``'s subscribe answer: its channel
        is known at once (a notification may come right after the answer, before the caller
        runs again), and the connection it came on (whether that one still holds it)."""

        def answered(conn: Any, frame: dict[str, Any]) -> None:
            result = frame.get("result")
            if frame.get("error") not in (None, False) or not isinstance(result, Mapping):
                return
            channel = result.get("channel")
            with self._rt_lock:
                sub._answered_on = conn
                if isinstance(channel, str) and sub.state in ("new", "lost"):
                    sub.channel = channel

        return answered

    def _subscribed_now(self, sub: Any, result: object) -> None:
        """``subscribe()`` got its answer: ``sub`` is active, unless the connection it came
        on went meanwhile (then it is lost, and restored)."""
        with self._rt_lock:
            sub._subscribed(result)
            lost = self._gone(sub._answered_on) and sub._lost(
                "the connection dropped as it subscribed"
            )
        if lost:
            self._restore_soon()

    def _leave(self, sub: Any) -> str | None:
        """End ``sub``; the room id to unsubscribe from, if Kuzzle has it and no other
        subscription of this client shares its room (Kuzzle unsubscribes a socket from a
        whole room)."""
        with self._rt_lock:
            room = sub.room_id if sub.state == "active" and self.connected else None
            sub.state = "ended"
            shared = any(
                other is not sub and other.state == "active" and other.room_id == room  # type: ignore[attr-defined]
                for other in list(self._subs)
            )
        sub.put(None)
        return None if shared else room


def unsubscribe_request(room_id: str) -> dict[str, Any]:
    """The ``realtime:unsubscribe`` request of a room."""
    return {"controller": "realtime", "action": "unsubscribe", "body": {"roomId": room_id}}
