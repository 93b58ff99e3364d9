"""Test helpers: Kuzzle payload builders, ``responses`` helpers and an embedded Kuzzle stub.

Build payloads without a server::

    >>> from kuzzle_errors.testing import make_error, make_response
    >>> body = make_response(error=make_error("api.process.overloaded"), request_id="r1")
    >>> body["status"], body["error"]["code"]
    (503, 33685506)

Or run a real server speaking Kuzzle's HTTP API and WebSocket protocol on one loopback
port, scripted from the test::

    with StubKuzzle() as kuzzle:
        kuzzle.fail("document", "create", "api.process.overloaded", times=2)
        kuzzle.respond("server", "now", {"now": 0})
        ...  # point a client at kuzzle.url (HTTP) or kuzzle.ws_url (WebSocket)
        assert kuzzle.count("document", "create") == 3

The stub needs the ``websockets`` package (extra ``stub``) for WebSocket clients only; it is
imported when the first WebSocket connection arrives, never by ``import kuzzle_errors``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypedDict

from kuzzle_errors._stub.builtins import Answer
from kuzzle_errors._stub.payloads import (
    STUB_NODE,
    make_error,
    make_notification,
    make_response,
    proxy_html,
)
from kuzzle_errors._stub.state import ProxyError, RecordedRequest, StubState

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

    from kuzzle_errors._stub.server import StubServer

__all__ = [
    "STUB_NODE",
    "RecordedRequest",
    "StubKuzzle",
    "StubLimits",
    "StubOptions",
    "add_error",
    "add_proxy_error",
    "add_response",
    "make_error",
    "make_notification",
    "make_response",
    "serve",
]

_GARBAGE: Final = "}{ this is not JSON"


class StubLimits(TypedDict, total=False):
    """The limits of a :class:`StubKuzzle`, all optional; :meth:`StubKuzzle.configure` changes
    them while it runs.

    ``version=2`` (default) answers as Kuzzle 2.x; ``version=1`` makes ``document:mCreate``
    partial failures a 206 PartialError as Kuzzle 1.x did. ``max_request_size`` is Kuzzle's
    ``server.maxRequestSize`` (bytes, default 1 MiB); ``concurrent_requests`` and
    ``requests_buffer_size`` are ``limits.concurrentRequests`` (default None: no limit) and
    ``limits.requestsBufferSize`` (default 50 000); ``rate_limit`` is the per-user
    requests-per-second limit (profiles' ``rateLimit``), ``ws_rate_limit`` the per-socket
    WebSocket limit (``server.protocols.websocket.rateLimit``), ``logins_per_second`` Kuzzle's
    ``limits.loginsPerSecond``; None (the default) or 0 turns these three off.
    """

    version: int
    max_request_size: int
    concurrent_requests: int | None
    requests_buffer_size: int
    rate_limit: int | None
    ws_rate_limit: int | None
    logins_per_second: int | None


class StubOptions(StubLimits, total=False):
    """The keyword options of :class:`StubKuzzle`, all optional: the :class:`StubLimits`,
    ``node``, the node id in answers (default :data:`STUB_NODE`), and ``clock``, which drives
    the fixed 1-second rate-limit windows (default :func:`time.monotonic`; tests may pass
    their own).
    """

    node: str
    clock: Callable[[], float]


def _check(options: Mapping[str, object], known: type, what: str) -> None:
    # A misspelt option must not pass silently: a TypeError, as a signature would raise.
    unknown = options.keys() - known.__annotations__.keys()
    if unknown:
        raise TypeError(f"unexpected {what} option(s): {', '.join(sorted(unknown))}")


def _add_json(
    rsps: Any,
    method: str,
    url: str,
    body: dict[str, Any],
    headers: Mapping[str, str] | None,
    *,
    enveloped: bool = True,
) -> dict[str, Any]:
    """Add one JSON answer to a ``responses`` mock, with Kuzzle's headers when ``enveloped``;
    returns the body registered."""
    kuzzle: dict[str, str] = {}
    if enveloped:
        kuzzle = {"X-Kuzzle-Node": body["node"], "X-Kuzzle-Request-Id": body["requestId"]}
    rsps.add(
        method,
        url,
        body=json.dumps(body),
        status=body["status"],
        headers={**kuzzle, **(headers or {})},
        content_type="application/json",
    )
    return body


def add_error(
    rsps: Any,
    method: str,
    url: str,
    error_id: str,
    *args: object,
    bare: bool = False,
    request_id: str | None = None,
    controller: str | None = None,
    action: str | None = None,
    result: Any = None,
    headers: Mapping[str, str] | None = None,
    node: str = STUB_NODE,
    **fields: Any,
) -> dict[str, Any]:
    """Register a Kuzzle error answer on a ``responses`` mock; return the body registered.

    ``rsps`` is the ``responses`` module or a ``responses.RequestsMock``. The error is
    :func:`make_error` ``(error_id, *args, **fields)``; the HTTP status is the error's
    status, as Kuzzle sends it. With ``bare=True`` the body is the bare error object with no
    request id, as Kuzzle sends errors raised before routing (invalid JSON, too large...).
    """
    error = make_error(error_id, *args, **fields)
    if bare:
        return _add_json(rsps, method, url, error, headers, enveloped=False)
    body = make_response(
        error=error,
        result=result,
        request_id=request_id,
        controller=controller,
        action=action,
        node=node,
    )
    return _add_json(rsps, method, url, body, headers)


def add_response(
    rsps: Any,
    method: str,
    url: str,
    result: Any = None,
    *,
    status: int = 200,
    request_id: str | None = None,
    controller: str | None = None,
    action: str | None = None,
    headers: Mapping[str, str] | None = None,
    node: str = STUB_NODE,
) -> dict[str, Any]:
    """Register a successful Kuzzle answer (``result`` in an envelope) on a ``responses`` mock."""
    body = make_response(
        result=result,
        status=status,
        request_id=request_id,
        controller=controller,
        action=action,
        node=node,
    )
    return _add_json(rsps, method, url, body, headers)


def add_proxy_error(
    rsps: Any,
    method: str,
    url: str,
    *,
    status: int = 502,
    retry_after: str | int | None = None,
    body: str | None = None,
) -> str:
    """Register a proxy's HTML error page (not Kuzzle JSON) on a ``responses`` mock."""
    text = body if body is not None else proxy_html(status)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    rsps.add(method, url, body=text, status=status, headers=headers, content_type="text/html")
    return text


class StubKuzzle:
    """A Kuzzle stand-in on loopback: Kuzzle's HTTP API and WebSocket protocol on one port.

    ``port=0`` picks a free port; the keyword options are :class:`StubOptions` (a misspelt
    one raises TypeError).

    Built-in actions: ``server:now/info/publicApi/healthCheck``, ``auth:login/logout/checkToken``,
    ``document:create/createOrReplace/get/exists/delete/mCreate`` on an in-memory store,
    ``realtime:subscribe/unsubscribe``. Anything else answers 404 like Kuzzle for an unknown
    action, unless scripted with :meth:`respond` or :meth:`fail`.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, **options: Unpack[StubOptions]
    ) -> None:
        self.host = host
        self._port = port
        _check(options, StubOptions, "StubKuzzle")
        self._state = StubState(options)
        self._server: StubServer | None = None

    def start(self) -> StubKuzzle:
        """Start serving (in a background thread); returns self. Idempotent."""
        if self._server is not None and self._server.running:
            return self
        from kuzzle_errors._stub.server import StubServer

        server = StubServer(self._state, self.host, self._port)
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop serving, close every connection the stub accepted (kept-alive HTTP and
        WebSocket ones included) and return once their sockets are closed. Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> StubKuzzle:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Async code: start and stop in a worker thread, so the event loop never blocks on them.
    async def __aenter__(self) -> StubKuzzle:
        import asyncio  # only for async users: keeps `import kuzzle_errors.testing` light

        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        import asyncio

        await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<StubKuzzle {where}>"

    @property
    def running(self) -> bool:
        """True while the server thread runs."""
        return self._server is not None and self._server.running

    @property
    def port(self) -> int:
        """The port served (the ephemeral one picked when started with ``port=0``)."""
        return self._server.port if self._server is not None else self._port

    @property
    def url(self) -> str:
        """The HTTP base URL, ``http://127.0.0.1:PORT``."""
        return f"http://{self._netloc()}"

    @property
    def ws_url(self) -> str:
        """The WebSocket URL, ``ws://127.0.0.1:PORT`` (same port as HTTP, as in Kuzzle)."""
        return f"ws://{self._netloc()}"

    @property
    def node(self) -> str:
        """The node id sent in ``node`` and ``X-Kuzzle-Node``."""
        return self._state.node

    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def _running_server(self) -> StubServer:
        if self._server is None or not self._server.running:
            raise RuntimeError("the Kuzzle stub is not running: call start() first")
        return self._server

    def respond(
        self, controller: str, action: str, result: Any, *, times: int | None = None
    ) -> None:
        """Answer ``controller:action`` with ``result`` (``times`` times, or until replaced)."""
        self._state.add_script("respond", controller, action, Answer(result=result), times)

    def fail(
        self,
        controller: str | None,
        action: str | None,
        error_id: str,
        *args: object,
        times: int | None = None,
        result: Any = None,
        **fields: Any,
    ) -> None:
        """Answer ``controller:action`` with the error :func:`make_error` builds.

        ``times=None`` fails forever, else the next ``times`` matching requests fail and
        later ones get their normal answer. None for ``controller``/``action`` matches any.
        ``result`` goes beside the error (as Kuzzle's 206 answers carry one). Failures
        scripted first are used first.
        """
        answer = Answer(make_error(error_id, *args, **fields), result)
        self._state.add_script("fail", controller, action, answer, times)

    def slow(
        self,
        controller: str | None,
        action: str | None,
        seconds: float | tuple[float, float],
        *,
        times: int | None = None,
    ) -> None:
        """Delay the answers to ``controller:action`` by ``seconds`` (or uniformly in a range).

        A slow request holds its concurrency slot, so it fills the buffer of a stub started
        with ``concurrent_requests``.
        """
        self._state.add_script("slow", controller, action, seconds, times)

    def overload(self, times: int | None = None) -> None:
        """Refuse the next ``times`` API requests with 503 ``api.process.overloaded``.

        ``times=None`` refuses until :meth:`recover`; ``GET /_ready`` answers 503 meanwhile.
        """
        with self._state.lock:
            self._state.overload_left = math.inf if times is None else times

    def shutdown(self) -> None:
        """Act as a node shutting down: HTTP requests get 503 ``api.process.shutting_down``,
        WebSocket ones 503 ``network.entrypoint.shutting_down``; ``/_ready`` answers 503."""
        with self._state.lock:
            self._state.shutting_down = True

    def recover(self) -> None:
        """End a :meth:`shutdown` and an :meth:`overload`."""
        with self._state.lock:
            self._state.shutting_down = False
            self._state.overload_left = 0

    def configure(self, **limits: Unpack[StubLimits]) -> None:
        """Change :class:`StubLimits` while running (None turns a limit off); a misspelt name
        raises TypeError."""
        _check(limits, StubLimits, "StubKuzzle.configure")
        with self._state.lock:
            for name, value in limits.items():
                setattr(self._state, name, value)

    def reset(self) -> None:
        """Forget every script, limit toggle and stored document (the request log stays)."""
        self._state.reset()

    def add_document(self, index: str, collection: str, _id: str, body: Mapping[str, Any]) -> None:
        """Store a document (``document:mCreate`` of the same id then fails as a duplicate)."""
        with self._state.lock:
            self._state.documents.setdefault((index, collection), {})[_id] = dict(body)

    def proxy_error(
        self,
        status: int = 502,
        *,
        times: int | None = 1,
        retry_after: str | int | None = None,
        body: str | None = None,
    ) -> None:
        """Answer the next ``times`` HTTP requests like a proxy with its upstream down.

        The answer is an HTML page (``Content-Type: text/html``) with a reason phrase and
        ``Retry-After`` when given; WebSocket upgrades are not affected.
        """
        retry = str(retry_after) if retry_after is not None else None
        value = ProxyError(status, retry, body or proxy_html(status))
        self._state.add_script("proxy", None, None, value, times)

    def drop(
        self,
        controller: str | None = None,
        action: str | None = None,
        *,
        code: int | None = None,
        reason: str = "",
        times: int | None = 1,
    ) -> None:
        """When a matching request arrives, answer nothing and drop connections instead.

        Over WebSocket every open socket is dropped (pending requests included); over HTTP
        the request's own connection is. ``code=None`` aborts the TCP connection without a
        close frame; ``code=1011`` closes like Kuzzle's forced termination.
        """
        self._state.add_script("drop", controller, action, (code, reason), times)

    def drop_connections(self, code: int | None = None, reason: str = "") -> int:
        """Drop every open WebSocket connection now; returns how many were open."""
        server = self._running_server()
        return server.call(lambda: server.websocket.drop_all(code, reason))

    def garbage(
        self,
        controller: str | None = None,
        action: str | None = None,
        *,
        data: str | bytes = _GARBAGE,
        times: int | None = 1,
    ) -> None:
        """Send a non-JSON frame (text, or binary for bytes) before a matching WebSocket answer."""
        self._state.add_script("garbage", controller, action, data, times)

    def send(self, message: Mapping[str, Any] | str | bytes) -> int:
        """Send a frame to every open WebSocket (a mapping is sent as JSON); returns the count."""
        server = self._running_server()
        data: str | bytes = (
            json.dumps(message, separators=(",", ":")) if isinstance(message, Mapping) else message
        )
        return server.call(lambda: server.websocket.broadcast(data))

    def send_garbage(self, data: str | bytes = _GARBAGE) -> int:
        """Send a non-JSON frame to every open WebSocket now; returns the count."""
        return self.send(data)

    def notify(
        self,
        room: str = "stub-channel",
        *,
        result: Any = None,
        request_id: str | None = None,
        action: str = "create",
        controller: str = "document",
        index: str | None = "index",
        collection: str | None = "collection",
    ) -> dict[str, Any]:
        """Send a realtime document notification on channel ``room`` to every WebSocket.

        ``request_id`` may be one of a client's own request ids (Kuzzle puts the id of the
        request that triggered the change there). Returns the notification sent.
        """
        message = make_notification(
            room,
            result=result,
            request_id=request_id,
            action=action,
            controller=controller,
            index=index,
            collection=collection,
            node=self.node,
        )
        self.send(message)
        return message

    def interleave_notifications(self, room: str | None = "stub-channel") -> None:
        """Before each WebSocket answer, send a notification on ``room`` carrying the
        request's own ``requestId`` (None turns it off): clients must route by ``room``."""
        with self._state.lock:
            self._state.interleave_room = room

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, oldest first (refused ones included)."""
        with self._state.lock:
            return list(self._state.requests)

    def count(
        self,
        controller: str | None = None,
        action: str | None = None,
        *,
        transport: str | None = None,
    ) -> int:
        """How many requests matched (None matches anything)."""
        return sum(
            controller in (None, r.controller)
            and action in (None, r.action)
            and transport in (None, r.transport)
            for r in self.requests
        )

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._state.lock:
            self._state.requests.clear()

    def wait_for_requests(self, count: int, timeout: float = 2.0) -> list[RecordedRequest]:
        """Wait (bounded) until at least ``count`` requests were received; return the log."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.requests
            if len(snapshot) >= count or time.monotonic() >= deadline:
                return snapshot
            time.sleep(0.005)

    async def await_requests(self, count: int, timeout: float = 2.0) -> list[RecordedRequest]:
        """:meth:`wait_for_requests` for async tests: waits without blocking the event loop."""
        import asyncio

        return await asyncio.to_thread(self.wait_for_requests, count, timeout)


def serve(
    host: str = "127.0.0.1",
    port: int = 7512,
    *,
    setup: Callable[[StubKuzzle], Iterable[str]] | None = None,
    **options: Unpack[StubOptions],
) -> None:
    """Run a :class:`StubKuzzle` in the foreground until interrupted (Ctrl-C).

    ``options`` are :class:`StubKuzzle`'s keyword arguments. ``setup`` scripts the stub
    before its first client (``stub.overload()``, ``stub.fail(...)``...) and returns lines
    saying what it set, printed under the address. Any Kuzzle client can connect, over HTTP
    or (with the ``websockets`` package) WebSocket, to the printed address.
    """
    stub = StubKuzzle(host, port, **options)
    notes = list(setup(stub)) if setup is not None else []
    stub.start()
    try:  # from here: a Ctrl-C as early as the banner stops the stub cleanly too
        if importlib.util.find_spec("websockets") is not None:
            print(f"Kuzzle stub listening on {stub.url} (HTTP) and {stub.ws_url} (WebSocket)")
        else:  # an upgrade would get a 501: do not advertise it
            print(f"Kuzzle stub listening on {stub.url} (HTTP; WebSocket needs 'websockets')")
        for note in notes:
            print(f"  {note}")
        print("Press Ctrl-C to stop.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stub.stop()
