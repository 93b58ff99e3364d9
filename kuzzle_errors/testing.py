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

from kuzzle_errors._stub.payloads import (
    STUB_NODE,
    make_error,
    make_notification,
    make_response,
    proxy_html,
)
from kuzzle_errors._stub.state import Answer, Drop, ProxyError, RecordedRequest, StubState

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
    """The limits of a :class:`StubKuzzle`, all optional, Kuzzle 2.56's defaults unless
    given; :meth:`StubKuzzle.configure` changes them while it runs. A value out of range
    raises ValueError.

    Each is one of Kuzzle's configuration settings, which ``config`` also takes under
    Kuzzle's own names, as a ``.kuzzlerc`` would (``{"limits": {"documentsWriteCount":
    10}}``; a name the stub does not play raises ValueError):

    ========================= =================================== ==============
    option                    Kuzzle's configuration               default
    ========================= =================================== ==============
    ``documents_write_count`` ``limits.documentsWriteCount``        200
    ``documents_fetch_count`` ``limits.documentsFetchCount``        10 000
    ``max_request_size``      ``server.maxRequestSize`` (bytes)     1 MiB ("1mb")
    ``logins_per_second``     ``limits.loginsPerSecond``            1
    ``concurrent_requests``   ``limits.concurrentRequests``         100
    ``requests_buffer_size``  ``limits.requestsBufferSize``         50 000
    ``ws_rate_limit``         ``server.protocols.websocket.rateLimit`` off
    ``token_ttl``             ``security.authToken.expiresIn``     3600 s ("1h")
    ========================= =================================== ==============

    ``logins_per_second`` counts per connection, as Kuzzle does: a WebSocket, or one HTTP
    request (so HTTP logins never meet it). ``concurrent_requests=None`` removes the
    concurrency limit; ``logins_per_second`` and ``ws_rate_limit`` are off at None or 0.
    ``token_ttl`` is in seconds (None: tokens never expire).

    Per-user rate limits are the profiles' ``rateLimit``, as in Kuzzle (``admin`` 0, i.e.
    unlimited; once ``security:createFirstAdmin`` resets rights, ``default`` 10 and
    ``anonymous`` 200 requests a second); ``rate_limit`` gives every user one limit instead
    (0: none), None (the default) keeps the profiles'.

    ``security=True`` (default) checks tokens and rights as Kuzzle does (see
    :class:`StubKuzzle`); ``security=False`` is the open stub: every login succeeds, tokens
    are not checked and every user may run every action.

    ``version=2`` (default) answers as Kuzzle 2.x; ``version=1`` makes ``document:mCreate``
    partial failures a 206 PartialError as Kuzzle 1.x did.
    """

    version: int
    max_request_size: int
    concurrent_requests: int | None
    requests_buffer_size: int
    documents_write_count: int
    documents_fetch_count: int
    rate_limit: int | None
    ws_rate_limit: int | None
    logins_per_second: int | None
    token_ttl: float | None
    security: bool
    config: Mapping[str, Any]


class StubOptions(StubLimits, total=False):
    """The keyword options of :class:`StubKuzzle`, all optional: the :class:`StubLimits`,
    ``node``, the node id in answers (default :data:`STUB_NODE`; None sends none, as Kuzzle
    2.56 does: no ``node`` field and ``X-Kuzzle-Node: undefined``), and ``clock``, which drives
    the fixed 1-second rate-limit windows (default :func:`time.monotonic`; tests may pass
    their own).
    """

    node: str | None
    clock: Callable[[], float]


# The close codes an endpoint may send (RFC 6455 7.4, and the IANA registry's 1012-1014).
_CLOSE_CODES: Final = frozenset({1000, 1001, 1002, 1003, *range(1007, 1015)})


def _check_times(times: int | None) -> None:
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError(f"times: a whole number >= 1, or None for always; not {times!r}")


def _check_close(code: int | None, reason: str) -> None:
    if code is not None and (
        isinstance(code, bool)
        or not isinstance(code, int)
        or not (code in _CLOSE_CODES or 3000 <= code <= 4999)
    ):
        raise ValueError(
            f"code: a close code a server may send (1000-1003, 1007-1014, 3000-4999) or None "
            f"for no close frame; not {code!r}"
        )
    if len(reason.encode()) > 123:
        raise ValueError("reason: at most 123 bytes (it must fit a close frame)")
    if code is None and reason:
        raise ValueError("reason: only a close frame carries one (give a code)")


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
    """A Kuzzle stand-in on loopback: Kuzzle's HTTP API and WebSocket protocol on one port,
    answering as a fresh Kuzzle 2.56 node with its default limits does.

    ``port=0`` picks a free port; the keyword options are :class:`StubOptions` (a misspelt
    one raises TypeError, a wrong value ValueError).

    It performs Kuzzle's actions on an in-memory node: ``index:*``, ``collection:*``,
    ``document:*`` (the ``m*`` ones, ``search``/``count`` over a subset of Elasticsearch's
    query language, ``from``/``size`` and the fetch limit), ``bulk:import``/``write``,
    ``realtime:*`` (rooms, notifications, Koncorde filters), ``auth:*`` (the ``local``
    strategy, tokens), ``security:*`` users, profiles and roles, ``server:*`` checks;
    docs/guides/testing.md lists them. An action Kuzzle has and the stub lacks answers a 500
    naming it; an unknown one Kuzzle's 404. :meth:`respond` and :meth:`fail` script answers.

    Security is Kuzzle's: tokens are checked (a malformed, forged, expired or revoked one is
    401 ``security.token.invalid``) and, like a fresh node, every user (anonymous included)
    may do everything until ``security:createFirstAdmin`` with ``reset`` applies Kuzzle's
    standard roles: anonymous requests then get 401 ``security.rights.unauthorized``, users
    of the ``default`` profile 403 ``security.rights.forbidden``. Rights are checked before
    the controller is looked up. ``security=False`` keeps the open stub.
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
        """Start serving (in a background thread); returns self. Idempotent.

        After a :meth:`shutdown` halted it, it restarts on the same port like a restarted
        node: its indexes, documents, users and tokens kept, no subscription.
        """
        previous = self._server
        if previous is not None and previous.running:
            return self
        from kuzzle_errors._stub.server import StubServer

        port = self._port
        if previous is not None:
            # A halted node may still be ending its connections: wait for it, so that the
            # new one starts from a clean slate (and its own stop() has nothing left over).
            previous.stop()
            port = previous.port
        with self._state.lock:
            self._state.shutting_down = False
        server = StubServer(self._state, self.host, port)
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
    def node(self) -> str | None:
        """The node id sent in ``node`` and ``X-Kuzzle-Node`` (None: none, as Kuzzle 2.56)."""
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
        _check_times(times)
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
        _check_times(times)
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
        with ``concurrent_requests``. A negative delay (or an empty range) raises ValueError.
        """
        _check_times(times)
        low, high = seconds if isinstance(seconds, tuple) else (seconds, seconds)
        if not 0 <= low <= high:
            raise ValueError(f"seconds: >= 0 (a range: low <= high), not {seconds!r}")
        self._state.add_script("slow", controller, action, seconds, times)

    def overload(self, times: int | None = None) -> None:
        """Refuse the next ``times`` API requests with 503 ``api.process.overloaded``.

        ``times=None`` refuses until :meth:`recover`; ``GET /_ready`` answers 503 meanwhile.
        """
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 0
        ):
            raise ValueError(f"times: a whole number >= 0, or None for always; not {times!r}")
        with self._state.lock:
            self._state.overload_left = math.inf if times is None else times

    def shutdown(self, *, halt: bool = True) -> None:
        """Shut down as a Kuzzle 2.56 node does on SIGTERM.

        From now on new HTTP requests get 503 ``api.process.shutting_down``, new WebSocket
        requests 503 ``network.entrypoint.shutting_down`` and ``GET /_ready`` 503; every
        subscription is forgotten without a frame; requests in flight still get their
        answers. Then, with ``halt`` (default), once no request is in flight the stub halts:
        every connection ends without a close frame and the port stops accepting, as when
        the node's process exits (:meth:`start` restarts it on the same port). With
        ``halt=False`` it stays in the draining state, refusing requests, until
        :meth:`recover`.
        """
        with self._state.lock:
            self._state.shutting_down = True
            self._state.realtime.forget()
        server = self._server
        if halt and server is not None and server.running:
            server.call(server.halt_when_idle)

    def recover(self) -> None:
        """End an :meth:`overload`, and a :meth:`shutdown` that has not halted."""
        with self._state.lock:
            self._state.shutting_down = False
            self._state.overload_left = 0

    def configure(self, **limits: Unpack[StubLimits]) -> None:
        """Change :class:`StubLimits` while running; a misspelt name raises TypeError, a wrong
        value ValueError (and changes nothing). None turns off ``concurrent_requests``,
        ``logins_per_second``, ``ws_rate_limit`` and ``token_ttl``, and gives ``rate_limit``
        back to the profiles."""
        _check(limits, StubLimits, "StubKuzzle.configure")
        self._state.configure(limits)

    def reset(self) -> None:
        """Forget every script, limit toggle, index, document, user, token and subscription:
        a fresh node again (the request log stays)."""
        self._state.reset()

    def add_collection(
        self, index: str, collection: str, mappings: Mapping[str, Any] | None = None
    ) -> None:
        """Create a collection (and its index), as ``collection:create`` does; existing, its
        mappings are updated."""
        with self._state.lock:
            config = {"mappings": dict(mappings)} if mappings is not None else {}
            self._state.storage.create_collection(index, collection, config)

    def add_document(self, index: str, collection: str, _id: str, body: Mapping[str, Any]) -> None:
        """Store a document as given, creating its index and collection if need be (like
        ``bulk:write``: no ``_kuzzle_info`` is added); ``document:mCreate`` of the same id
        then fails as a duplicate."""
        with self._state.lock:
            storage = self._state.storage
            if collection not in storage.indexes.get(index, {}):
                storage.create_collection(index, collection, {})
            storage.put(index, collection, _id, dict(body))

    def add_user(
        self,
        kuid: str,
        password: str,
        *,
        profile_ids: Iterable[str] = ("default",),
        **content: Any,
    ) -> None:
        """Create a user with ``local`` credentials (username ``kuid``), as
        ``security:createUser`` does; with the ``admin`` profile it is a first admin that
        resets no rights (``security:createFirstAdmin`` with ``reset`` applies Kuzzle's
        standard roles)."""
        with self._state.lock:
            self._state.security.create_user(
                kuid,
                list(profile_ids),
                content,
                {"local": {"username": kuid, "password": password}},
            )

    def expire_tokens(self, kuid: str | None = None) -> int:
        """Expire every token (of ``kuid`` only, if given) now, as if their time was up:
        connections they are linked to get Kuzzle's ``TokenExpired`` notification and lose
        their subscriptions; the next request with one gets 401 ``security.token.invalid``.
        Returns how many expired."""
        server = self._running_server()

        def expire() -> int:
            with self._state.lock:
                tokens = [t for t in self._state.security.tokens.values() if kuid in (None, t.kuid)]
                for token in tokens:
                    self._state.security.expire(token)
                return len(tokens)

        return server.call(expire)

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
        ``Retry-After`` when given; WebSocket upgrades are not affected. A status outside
        100-599 raises ValueError.
        """
        _check_times(times)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"status: an HTTP status (100-599), not {status!r}")
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
        ran: bool = False,
    ) -> None:
        """When a matching request arrives, answer nothing and drop connections instead.

        ``ran=False`` (default): the request never runs. ``ran=True``: it runs (its writes
        happen, its notifications go out) and only its answer is lost, the case a client
        cannot tell from the first one and must not blindly replay.

        Over WebSocket every open socket is dropped (pending requests included); over HTTP
        the request's own connection is aborted (``code`` and ``reason`` are WebSocket
        close frame fields, unused there). ``code=None`` aborts the TCP connection without a
        close frame; ``code=1011`` closes like Kuzzle's forced termination. A code a server
        may not send, or a reason without a code, raises ValueError.
        """
        _check_times(times)
        _check_close(code, reason)
        self._state.add_script("drop", controller, action, Drop(code, reason, ran), times)

    def drop_connections(self, code: int | None = None, reason: str = "") -> int:
        """Drop every open WebSocket connection now (``code``: as for :meth:`drop`); returns
        how many were open."""
        _check_close(code, reason)
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
        _check_times(times)
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
