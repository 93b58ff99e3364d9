"""The stub's network side: one asyncio server speaking HTTP and WebSocket on one port.

Like Kuzzle (uWebSockets on 7512), each connection starts as HTTP: the request head is read
here; a WebSocket upgrade is handed to the sans-I/O ``websockets`` protocol, anything else is
answered as Kuzzle's HTTP API would. The loop runs in a daemon thread; the public facade
(``kuzzle_errors.testing.StubKuzzle``) talks to it through thread-safe calls.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import threading
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

from kuzzle_errors._transport import new_request_id, opt_str
from kuzzle_errors.stub.payloads import (
    make_error,
    make_notification,
    make_response,
    proxy_html,
    reason_phrase,
)
from kuzzle_errors.stub.routes import route
from kuzzle_errors.stub.state import Effects, RecordedRequest, StubState

if TYPE_CHECKING:
    from websockets.server import ServerProtocol

T = TypeVar("T")
_log = logging.getLogger("kuzzle_errors.testing")

_HEAD_LIMIT: Final = 64 * 1024  # bytes of request line + headers accepted
_DRAIN_LIMIT: Final = 16 * 1024 * 1024  # unread body bytes we swallow to keep the socket usable
_IO_TIMEOUT: Final = 10.0  # a stalled client never pins a handler forever
_ALLOWED_TYPES: Final = (
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
)
_ALLOW_HEADERS: Final = (
    "Content-Type, Access-Control-Allow-Headers, Authorization, X-Requested-With, "
    "Content-Encoding, Content-Length, X-Kuzzle-Volatile"
)
_ALLOW_METHODS: Final = "GET,POST,PUT,PATCH,DELETE,OPTIONS,HEAD"

_BAD_VOLATILE: Final = object()  # marks an X-Kuzzle-Volatile header that is not a JSON object
_VERBS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def dumps(data: object, pretty: bool = False) -> bytes:
    """JSON as Kuzzle's ``JSON.stringify`` writes it (compact, UTF-8)."""
    if pretty:
        return json.dumps(data, ensure_ascii=False, indent=2).encode()
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class _Head:
    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def content_length(self) -> int:
        """``Content-Length`` as a count of bytes; 0 when absent or not a number."""
        raw = self.headers.get("content-length") or ""
        return int(raw) if raw.strip().isdigit() else 0


class _HttpReply(Exception):
    """Raised by the body reader to answer with a bare pre-routing error."""

    def __init__(self, error: dict[str, Any], drain: int = 0) -> None:
        super().__init__(error.get("id"))
        self.error = error
        self.drain = drain


def _parse_head(raw: bytes) -> _Head | None:
    try:
        text = raw.decode("latin-1")
        lines = text.split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            return None
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    split = urllib.parse.urlsplit(target)
    query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
    return _Head(method.upper(), target, split.path or "/", query, headers)


class _WsConn:
    """One open WebSocket: its sans-I/O protocol and the writer that carries its bytes."""

    def __init__(self, ident: int, protocol: ServerProtocol, writer: asyncio.StreamWriter):
        self.id = ident
        self.protocol = protocol
        self.writer = writer
        self.closed = False

    def flush(self) -> bool:
        """Write what the protocol produced; False once it asks for the TCP side to end."""
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.writer.write(chunk)
            else:
                return False
        return True

    def send(self, data: str | bytes) -> None:
        from websockets.protocol import State

        if self.closed or self.protocol.state is not State.OPEN:
            return
        if isinstance(data, str):
            self.protocol.send_text(data.encode())
        else:
            self.protocol.send_binary(data)
        self.flush()

    def send_json(self, data: object) -> None:
        self.send(dumps(data).decode())

    def drop(self, code: int | None, reason: str) -> None:
        """Abort the TCP connection, or send a close frame with ``code`` and hang up."""
        if self.closed:
            return
        self.closed = True
        from websockets.protocol import State

        if code is None or self.protocol.state is not State.OPEN:
            self.writer.transport.abort()
            return
        self.protocol.send_close(code, reason)
        self.flush()
        self.writer.close()


class StubServer:
    """The event loop, its thread, and every connection of one stub."""

    def __init__(self, state: StubState, host: str, port: int) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sockets: set[_WsConn] = set()
        self._ids = itertools.count(1)
        self._running = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    # -- lifecycle (any thread) -----------------------------------------------------------

    def start(self, timeout: float = 5.0) -> None:
        self._ready.clear()
        self._start_error = None
        self._thread = threading.Thread(target=self._run, name="kuzzle-stub", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the Kuzzle stub did not start in time")
        if self._start_error is not None:
            self._thread.join(timeout)
            self._thread = None
            raise self._start_error

    def stop(self, timeout: float = 5.0) -> None:
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if thread is None:
            return
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def call(self, fn: Callable[[], T], timeout: float = 5.0) -> T:
        """Run ``fn`` on the loop thread and return its result (so its effects happened)."""
        loop = self._loop
        if loop is None or not self.running:
            raise RuntimeError("the Kuzzle stub is not running")

        async def wrapper() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), loop).result(timeout)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # surfaced by start(); the thread must not die noisily
            if not self._ready.is_set():
                self._start_error = exc
                self._ready.set()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(
            self._on_connection, self.host, self.port, limit=_HEAD_LIMIT
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for ws in list(self._sockets):
                ws.drop(None, "")
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=2.0)
            await asyncio.wait_for(server.wait_closed(), 2.0)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A stub bug must be visible, not just a request that never gets its answer.
            _log.error("Kuzzle stub: request handler failed", exc_info=task.exception())

    # -- actions requested by tests (loop thread) -------------------------------------------

    def drop_all(self, code: int | None, reason: str) -> int:
        sockets = list(self._sockets)
        for ws in sockets:
            ws.drop(code, reason)
        return len(sockets)

    def broadcast(self, data: str | bytes) -> int:
        sockets = [ws for ws in self._sockets if not ws.closed]
        for ws in sockets:
            ws.send(data)
        return len(sockets)

    # -- connections --------------------------------------------------------------------------

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        conn_id = next(self._ids)
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except asyncio.LimitOverrunError:
                    writer.write(b"HTTP/1.1 431\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                    return
                head = _parse_head(raw)
                if head is None:
                    writer.write(b"HTTP/1.1 400\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                    return
                if head.method == "GET" and "websocket" in (head.header("upgrade") or "").lower():
                    await self._websocket(reader, writer, raw, conn_id)
                    return
                if not await self._http(reader, writer, head, conn_id):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass
        except asyncio.CancelledError:
            pass  # the stub is stopping
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            if task is not None:
                self._tasks.discard(task)

    # -- HTTP ---------------------------------------------------------------------------------

    async def _http(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: _Head, conn: int
    ) -> bool:
        """Answer one HTTP request; True when the connection may carry another one."""
        auth = head.header("authorization") or ""
        jwt = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        record = self.state.record(
            RecordedRequest(
                "http",
                None,
                None,
                head.header("x-kuzzle-request-id"),
                None,
                jwt=jwt,
                method=head.method,
                path=head.target,
                headers=dict(head.headers),
                connection=conn,
            )
        )
        proxy = self.state.take_proxy_error()
        if proxy is not None:
            await self._drain(reader, head)
            extra = [("Retry-After", proxy.retry_after)] if proxy.retry_after is not None else []
            headers = [("Server", "nginx"), ("Content-Type", "text/html"), *extra]
            headers.append(("Connection", "close"))
            body = (proxy.body or proxy_html(proxy.status)).encode()
            self._write_http(writer, proxy.status, body, headers, reason_phrase(proxy.status))
            record.status = proxy.status
            return False
        try:
            content = self._decode_body(head, await self._read_body(reader, writer, head))
        except _HttpReply as reply:
            # The body must be fully read for the connection to carry another request.
            keep_alive = not reply.drain or await self._drain(reader, head, reply.drain)
            self._bare(writer, head, reply.error)
            record.status = reply.error["status"]
            return keep_alive

        request_id = head.header("x-kuzzle-request-id") or new_request_id()
        record.request_id = request_id
        envelope = await self._routed(head, content, jwt, request_id, record)
        if envelope is None:
            writer.transport.abort()  # a scripted drop: no answer at all
            return False
        envelope["requestId"] = request_id
        record.status = envelope["status"]
        headers = [
            ("Connection", "close"),
            ("X-Kuzzle-Request-Id", request_id),
            ("X-Kuzzle-Node", self.state.node),
            ("Accept-Encoding", "identity"),
            ("Access-Control-Allow-Headers", _ALLOW_HEADERS),
            ("Access-Control-Allow-Methods", _ALLOW_METHODS),
            ("Content-Type", "application/json"),
            ("Access-Control-Allow-Credentials", "true"),
            ("Content-Encoding", "identity"),
            *_origin_headers(head),
        ]
        body = dumps(envelope, pretty="pretty" in head.query)
        self._write_http(writer, envelope["status"], body, headers, head_only=head.method == "HEAD")
        return False  # Kuzzle answers routed requests with "Connection: close"

    async def _routed(
        self,
        head: _Head,
        content: object,
        jwt: str | None,
        request_id: str,
        record: RecordedRequest,
    ) -> dict[str, Any] | None:
        """The envelope for a request past the pre-routing checks (None: drop, no answer)."""
        node = self.state.node
        if head.method == "GET" and head.path in ("/_ready", "/_healthcheck"):
            ready = head.path == "/_healthcheck" or self.state.is_ready()
            return make_response(request_id=request_id, status=200 if ready else 503, node=node)
        if head.method == "OPTIONS" or (head.method == "HEAD" and head.path == "/"):
            return make_response(result={}, request_id=request_id, node=node)
        if head.method not in _VERBS:
            error = make_error("network.http.unsupported_verb", head.method)
            return make_response(error=error, request_id=request_id, node=node)
        payload = self._http_payload(head, content, jwt)
        if payload is None:
            error = make_error("network.http.url_not_found", head.path)
            return make_response(error=error, request_id=request_id, node=node)
        record.payload = payload
        record.controller = opt_str(payload.get("controller"))
        record.action = opt_str(payload.get("action"))
        record.jwt = opt_str(payload.get("jwt"))
        if payload.get("volatile") is _BAD_VOLATILE:
            raw = head.header("x-kuzzle-volatile")
            error = make_error("network.http.volatile_parse_failed", raw)
            return make_response(error=error, request_id=request_id, node=node)
        invalid = _invalid_request(payload)
        if invalid is not None:
            return make_response(error=invalid, request_id=request_id, node=node)
        envelope, _effects = await self._execute(payload, "http", request_id, record.connection)
        return envelope

    def _http_payload(self, head: _Head, content: object, jwt: str | None) -> dict[str, Any] | None:
        """The Kuzzle request an HTTP request stands for; None for an unknown URL."""
        if head.method == "POST" and head.path.rstrip("/") == "/_query":
            payload = dict(content) if isinstance(content, Mapping) else {}
        else:
            routed = route(head.method, head.path)
            if routed is None:
                return None
            controller, action, params = routed
            payload = {**head.query, **params, "controller": controller, "action": action}
            payload.pop("pretty", None)
            if content is not None:
                payload["body"] = content
        volatile = head.header("x-kuzzle-volatile")
        if volatile and "volatile" not in payload:
            # Kuzzle reads volatile data from this header (the JS SDK sends it there).
            decoded = _loads(volatile.encode())
            payload["volatile"] = decoded if isinstance(decoded, dict) else _BAD_VOLATILE
        if jwt is not None and "jwt" not in payload:
            payload["jwt"] = jwt
        return payload

    async def _read_body(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: _Head
    ) -> bytes:
        limit = self.state.max_request_size
        length = head.content_length()
        if length > limit:
            raise _HttpReply(make_error("network.http.request_too_large"), drain=length)
        content_type = head.header("content-type")
        if content_type:
            base = content_type.split(";", 1)[0].strip()
            if base not in _ALLOWED_TYPES:
                raise _HttpReply(make_error("network.http.unsupported_content", base), length)
            charset = [
                p.split("=", 1)[1].strip()
                for p in content_type.split(";")[1:]
                if "charset=" in p.lower()
            ]
            if charset and charset[0].lower() != "utf-8":
                raise _HttpReply(
                    make_error("network.http.unsupported_charset", charset[0].lower()), length
                )
        if (head.header("expect") or "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits for it before a body
        if "chunked" in (head.header("transfer-encoding") or "").lower():
            return await self._read_chunked(reader, limit)
        if length == 0:
            return b""
        return await asyncio.wait_for(reader.readexactly(length), _IO_TIMEOUT)

    async def _read_chunked(self, reader: asyncio.StreamReader, limit: int) -> bytes:
        body = bytearray()
        while True:
            line = await asyncio.wait_for(reader.readuntil(b"\r\n"), _IO_TIMEOUT)
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                await asyncio.wait_for(reader.readuntil(b"\r\n"), _IO_TIMEOUT)
                return bytes(body)
            if len(body) + size > limit:
                # Kuzzle enforces the limit while streaming too; the rest cannot be skipped.
                raise _HttpReply(make_error("network.http.request_too_large"), drain=-1)
            body += await asyncio.wait_for(reader.readexactly(size + 2), _IO_TIMEOUT)
            del body[-2:]

    @staticmethod
    def _decode_body(head: _Head, body: bytes) -> object:
        if not body:
            return None
        content_type = head.header("content-type") or ""
        text = body.decode("utf-8", "replace")
        if "application/x-www-form-urlencoded" in content_type:
            return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
        if "multipart/form-data" in content_type:
            return {}  # not decoded by the stub
        try:
            return json.loads(text)
        except ValueError:
            raise _HttpReply(make_error("network.http.body_parse_failed", text[:50])) from None

    async def _drain(self, reader: asyncio.StreamReader, head: _Head, length: int = -2) -> bool:
        """Swallow an unread body so the answer is not lost to a TCP reset; False if too big."""
        if length == -2:
            length = head.content_length()
        if length < 0 or length > _DRAIN_LIMIT:
            return False
        with contextlib.suppress(asyncio.IncompleteReadError, asyncio.TimeoutError):
            while length > 0:
                chunk = await asyncio.wait_for(reader.read(min(length, 65536)), _IO_TIMEOUT)
                if not chunk:
                    return False
                length -= len(chunk)
        return length == 0

    def _bare(self, writer: asyncio.StreamWriter, head: _Head, error: dict[str, Any]) -> None:
        """Kuzzle's pre-routing answer: the bare error, a few headers, no request id."""
        headers = [
            ("Access-Control-Allow-Headers", _ALLOW_HEADERS),
            ("Access-Control-Allow-Methods", _ALLOW_METHODS),
            ("Content-Type", "application/json"),
            *_origin_headers(head),
        ]
        self._write_http(writer, error["status"], dumps(error), headers)

    @staticmethod
    def _write_http(
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        headers: list[tuple[str, str]],
        reason: str = "",
        *,
        head_only: bool = False,
    ) -> None:
        # uWebSockets writes the status line with no reason phrase: "HTTP/1.1 503".
        lines = [f"HTTP/1.1 {status} {reason}" if reason else f"HTTP/1.1 {status}"]
        lines += [f"{name}: {value}" for name, value in headers]
        lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        writer.write(head if head_only else head + body)

    # -- the API funnel (both transports) -----------------------------------------------------

    async def _execute(
        self,
        payload: Mapping[str, Any],
        transport: str,
        request_id: str,
        conn: int,
        before_answer: Callable[[Effects], Awaitable[None]] | None = None,
    ) -> tuple[dict[str, Any] | None, Effects]:
        """Kuzzle's funnel: throttle, concurrency, rate limit, then the (scripted) action.

        Returns the envelope, or None when a scripted drop means no answer is sent.
        """
        state = self.state
        no_effects = Effects()
        error = state.throttle_error(transport)
        if error is not None:
            return state.envelope(payload, request_id, error=error), no_effects
        if not await self._acquire():
            error = make_error("api.process.overloaded")
            return state.envelope(payload, request_id, error=error), no_effects
        try:
            controller = opt_str(payload.get("controller"))
            action = opt_str(payload.get("action"))
            jwt = opt_str(payload.get("jwt"))
            error = state.rate_error(controller, action, jwt, conn)
            if error is not None:
                return state.envelope(payload, request_id, error=error), no_effects
            effects = state.effects(controller, action)
            if effects.delay > 0:
                await asyncio.sleep(effects.delay)
            if effects.drop is not None:
                return None, effects
            if before_answer is not None:
                await before_answer(effects)
            return state.answer(payload, request_id, jwt), effects
        finally:
            self._release()

    async def _acquire(self) -> bool:
        """A concurrency slot (Kuzzle's ``limits.concurrentRequests``); False when refused."""
        limit = self.state.concurrent_requests
        if limit is None or self._running < limit:
            self._running += 1
            return True
        if len(self._waiters) >= self.state.requests_buffer_size:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self.state.buffered = len(self._waiters)
        try:
            await waiter  # the releasing request hands its slot over
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise
        finally:
            self.state.buffered = len(self._waiters)
        return True

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self.state.buffered = len(self._waiters)
                return
        self._running -= 1

    # -- WebSocket -----------------------------------------------------------------------------

    async def _websocket(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        raw_head: bytes,
        conn: int,
    ) -> None:
        try:
            from websockets.frames import Frame, Opcode
            from websockets.http11 import Request
            from websockets.server import ServerProtocol
        except ImportError:  # pragma: no cover - the "stub" extra is missing
            body = b"WebSocket needs the 'websockets' package: pip install kuzzle-errors[stub]\n"
            self._write_http(writer, 501, body, [("Connection", "close")], "Not Implemented")
            return

        protocol = ServerProtocol(max_size=self.state.max_request_size)
        protocol.receive_data(raw_head)
        events = protocol.events_received()
        if not events or not isinstance(events[0], Request):
            return
        protocol.send_response(protocol.accept(events[0]))
        ws = _WsConn(conn, protocol, writer)
        if not ws.flush() or protocol.state.name != "OPEN":
            return
        self._sockets.add(ws)
        fragments: list[bytes] = []  # the frames of a fragmented message
        try:
            while not ws.closed:
                data = await reader.read(65536)
                if data:
                    protocol.receive_data(data)
                else:
                    protocol.receive_eof()
                for event in protocol.events_received():
                    if not isinstance(event, Frame):
                        continue
                    if event.opcode in (Opcode.TEXT, Opcode.BINARY):
                        fragments = [bytes(event.data)]
                    elif event.opcode is Opcode.CONT:
                        fragments.append(bytes(event.data))
                    else:
                        continue  # ping/pong/close: the protocol answers them itself
                    if event.fin:
                        message = b"".join(fragments)
                        fragments = []
                        self._spawn(self._on_ws_message(ws, message))
                if (
                    protocol.parser_exc is not None
                    and "PayloadTooBig" in type(protocol.parser_exc).__name__
                ):
                    # uWebSockets drops an oversized message's socket without a close frame.
                    ws.drop(None, "")
                    return
                if not ws.flush() or not data:
                    return
        finally:
            ws.closed = True
            self._sockets.discard(ws)

    async def _on_ws_message(self, ws: _WsConn, data: bytes) -> None:
        if not data:
            return
        state = self.state
        if not state.socket_allowed(ws.id):
            # Refused before parsing: a random request id and no room, as Kuzzle does.
            parsed = _loads(data)
            payload = parsed if isinstance(parsed, dict) else None
            record = state.record(_ws_record(ws.id, payload))
            error = make_error("network.websocket.ratelimit_exceeded")
            record.status = 429
            ws.send_json(make_response(error=error, node=state.node))
            return
        try:
            parsed = json.loads(data.decode("utf-8", "replace"))
        except ValueError as exc:
            record = state.record(_ws_record(ws.id, None))
            record.status = 400
            error = make_error("network.websocket.unexpected_error", str(exc))
            ws.send_json(make_response(error=error, node=state.node))
            return
        if (
            isinstance(parsed, dict)
            and list(parsed) == ["p"]
            and type(parsed["p"]) is int
            and parsed["p"] == 1
        ):
            ws.send('{"p":2}')
            return
        payload = parsed if isinstance(parsed, dict) else {}
        record = state.record(_ws_record(ws.id, payload))
        raw_id = payload.get("requestId")
        invalid = _invalid_request(parsed)
        if invalid is not None:
            # The client's requestId is echoed (Kuzzle >= 2.17.1) but there is still no room.
            request_id = raw_id if isinstance(raw_id, str) else None
            record.status = 400
            ws.send_json(make_response(error=invalid, request_id=request_id, node=state.node))
            return
        request_id = raw_id if isinstance(raw_id, str) and raw_id else new_request_id()
        record.request_id = request_id

        async def before_answer(effects: Effects) -> None:
            room = state.interleave_room
            if room is not None:
                ws.send_json(
                    make_notification(
                        room,
                        request_id=request_id,
                        index=opt_str(payload.get("index")) or "index",
                        collection=opt_str(payload.get("collection")) or "collection",
                        node=state.node,
                    )
                )
            if effects.garbage is not None:
                ws.send(effects.garbage)

        envelope, effects = await self._execute(
            payload, "websocket", request_id, ws.id, before_answer
        )
        if envelope is None:
            code, reason = effects.drop or (None, "")
            self.drop_all(code, reason)
            return
        envelope["room"] = request_id
        record.status = envelope["status"]
        ws.send_json(envelope)


def _ws_record(conn: int, payload: dict[str, Any] | None) -> RecordedRequest:
    fields: Mapping[str, Any] = payload or {}
    return RecordedRequest(
        "websocket",
        opt_str(fields.get("controller")),
        opt_str(fields.get("action")),
        opt_str(fields.get("requestId")),
        payload,
        jwt=opt_str(fields.get("jwt")),
        connection=conn,
    )


def _loads(data: bytes) -> object:
    try:
        return json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        return None


def _invalid_request(parsed: object) -> dict[str, Any] | None:
    """Kuzzle's ``Request`` constructor checks: an error with no id, as Kuzzle sends it."""
    if not isinstance(parsed, dict):
        return {"message": "Request payload must be an object", "status": 400}
    for key in ("controller", "action", "index", "collection", "_id", "jwt", "requestId"):
        value = parsed.get(key)
        if value is not None and not isinstance(value, str):
            return {"message": f'Attribute {key} must be of type "string"', "status": 400}
    for key in ("volatile", "body"):
        value = parsed.get(key)
        if value is not None and not isinstance(value, dict):
            return {"message": f'Attribute {key} must be of type "object"', "status": 400}
    return None


def _origin_headers(head: _Head) -> list[tuple[str, str]]:
    origin = head.header("origin")
    return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")] if origin else []
