"""What the clients have alike: the retry policy scoped to their host, login, closing and the
context managers (``ClientBase``, and its twin ``AsyncClientBase``), and what both WebSocket
clients share (``WebSocketClient``: their options, their state, their notification streams).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Final, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

from kuzzle_errors._protocol.failures import lost_error, shown_url
from kuzzle_errors._protocol.queries import jwt_from_login, login_request
from kuzzle_errors._protocol.websocket import NotificationQueue, check_options
from kuzzle_errors.exceptions import KuzzleError

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


class _Base(Generic[_P]):
    """The retry policy scoped to the client's host, and how a client shows itself."""

    jwt: str | None
    _retry: _P | None = None

    def _where(self) -> str:
        """The URL of the server: it keys the retry budget, ``repr`` shows it redacted."""
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
        # Not ``self.retry = ...`` in the constructors: the documentation tools would take
        # that for an attribute of the subclass, hiding the property.
        self._retry = scope_retry(policy, self._where())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({shown_url(self._where())!r}{self._state()})"


class ClientBase(_Base[RetryCaller]):
    """What the sync clients have alike: retry scoping, login, ``close`` and ``with``."""

    def query(self, request: Mapping[str, Any]) -> Any:
        """Send one Kuzzle API request and return its ``result`` (see the clients)."""
        raise NotImplementedError

    def _call(
        self, once: Callable[..., Any], request: Mapping[str, Any], idempotent: bool, **kw: Any
    ) -> Any:
        """``once(request, **kw)``: one attempt, through the retry policy when one is set."""
        policy = self.retry
        if policy is None:
            return once(dict(request), **kw)
        return policy.call(once, dict(request), idempotent=idempotent, **kw)

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
        """Release what the client holds (see the clients). Idempotent."""
        raise NotImplementedError

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClientBase(_Base[AsyncRetryCaller]):
    """The async twin of :class:`ClientBase`: ``await close()`` (or ``aclose()``), and
    ``async with``."""

    async def query(self, request: Mapping[str, Any]) -> Any:
        """Send one Kuzzle API request and return its ``result`` (see the clients)."""
        raise NotImplementedError

    async def _call(
        self,
        once: Callable[..., Awaitable[Any]],
        request: Mapping[str, Any],
        idempotent: bool,
        **kw: Any,
    ) -> Any:
        """``await once(request, **kw)``, through the retry policy's ``acall`` when one is set."""
        policy = self.retry
        if policy is None:
            return await once(dict(request), **kw)
        return await policy.acall(once, dict(request), idempotent=idempotent, **kw)

    async def login(
        self,
        credentials: Mapping[str, Any],
        strategy: str = "local",
        *,
        expires_in: str | None = None,
    ) -> str:
        """Log in with ``auth:login``, keep the token for the next queries and return it."""
        result = await self.query(login_request(credentials, strategy, expires_in))
        self.jwt = jwt_from_login(result)
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

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class WebSocketClient:
    """The options and the state both WebSocket clients share; each keeps its own I/O."""

    jwt: str | None
    #: The connection now or last open: its ``dead`` flag and its ``router``.
    _conn: Any = None
    _closed = False

    def _configure(
        self,
        url: str,
        timeout: float,
        jwt: str | None,
        on_notification: Callable[[dict[str, Any]], Any] | None,
        on_unmatched_error: Callable[[KuzzleError], Any] | None,
        ping_interval: float | None,
        max_frame_bytes: int | None,
        frame_timeout: float | None,
    ) -> None:
        check_options(timeout, ping_interval, max_frame_bytes, frame_timeout)
        self.url = url
        self.timeout = timeout
        self.jwt = jwt
        self.on_notification = on_notification
        self.on_unmatched_error = on_unmatched_error
        self.ping_interval = ping_interval
        self.max_frame_bytes = max_frame_bytes
        self.frame_timeout = frame_timeout
        self._streams: set[NotificationQueue] = set()

    def _where(self) -> str:
        return self.url

    def _state(self) -> str:
        return ", closed" if self._closed else (", connected" if self.connected else ", idle")

    @property
    def connected(self) -> bool:
        """True while the socket is open."""
        conn = self._conn
        return conn is not None and not conn.dead

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def pending(self) -> int:
        """How many queries wait for their answer."""
        conn = self._conn
        return len(conn.router.pending) if conn is not None and not conn.dead else 0

    def _publish(self, msg: dict[str, Any]) -> bool:
        """Queue a notification in every stream; False if there is none."""
        streams = list(self._streams)
        for stream in streams:
            stream.put(msg)
        return bool(streams)

    def _end_streams(self, conn: Any, why: str | None) -> None:
        """End every stream: the client closed (``why`` None), or ``conn`` dropped ``why``."""
        if why is not None and (conn is not self._conn or self._closed):
            return  # an older connection, or closing: close() ends the streams, once
        for stream in list(self._streams):
            stream.put(None if why is None else lost_error(self.url, {}, why))
