"""What the clients have alike: the retry policy scoped to their host, login, closing and the
context managers (``ClientBase``, and its twin ``AsyncClientBase``), and what both WebSocket
clients share (``WebSocketClient``: their options, their state, their notification streams).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

from kuzzle_errors._protocol.failures import lost_error, shown_url
from kuzzle_errors._protocol.queries import jwt_from_login, login_request
from kuzzle_errors._protocol.websocket import NotificationQueue, Routed, log_unmatched
from kuzzle_errors._redact import one_line, shown

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

    def query(self, request: Mapping[str, Any]) -> Any:
        """Send one Kuzzle API request and return its ``result`` (see the clients)."""
        raise NotImplementedError

    def _call(
        self, once: Callable[..., Any], request: Mapping[str, Any], idem: bool, **kw: Any
    ) -> Any:
        """``once(request, **kw)``: one attempt, through the retry policy when one is set."""
        if self.retry is None:
            return once(dict(request), **kw)
        return self.retry.call(once, dict(request), idempotent=idem, **kw)

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

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClientBase(_Base[AsyncRetryCaller]):
    """The async twin of :class:`ClientBase`: ``await close()`` (or ``aclose()``), and
    ``async with``."""

    jwt: str | None

    async def query(self, request: Mapping[str, Any]) -> Any:
        """Send one Kuzzle API request and return its ``result`` (see the clients)."""
        raise NotImplementedError

    async def _call(
        self, once: Callable[..., Awaitable[Any]], request: Mapping[str, Any], idem: bool, **kw: Any
    ) -> Any:
        """``await once(request, **kw)``, through the retry policy's ``acall`` when one is set."""
        if self.retry is None:
            return await once(dict(request), **kw)
        return await self.retry.acall(once, dict(request), idempotent=idem, **kw)

    async def login(
        self,
        credentials: Mapping[str, Any],
        strategy: str = "local",
        *,
        expires_in: str | None = None,
    ) -> str:
        """Log in with ``auth:login``, keep the token for the next queries and return it."""
        self.jwt = jwt_from_login(
            await self.query(login_request(credentials, strategy, expires_in))
        )
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
        bounds = {
            "ping_interval": ping_interval,
            "max_frame_bytes": max_frame_bytes,
            "frame_timeout": frame_timeout,
        }
        for name, value in {"timeout": timeout, **bounds}.items():
            if (value is not None or name == "timeout") and not (value is not None and value > 0):
                raise ValueError(f"{name} must be positive (None: no bound), not {value!r}")
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
        return self._conn is not None and not self._conn.dead

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def pending(self) -> int:
        """How many queries wait for their answer."""
        return len(self._conn.router.pending) if self._conn is not None else 0

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
