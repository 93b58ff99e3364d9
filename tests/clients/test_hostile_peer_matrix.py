"""Every client against every hostile or broken peer: one matrix.

Each scenario is a peer on loopback (a raw server scripted byte by byte, see tests/raw_server.py)
and the outcome each of the four clients must give: the exception class, ``retryable``,
``replay_safe`` and a time bound (the client's timeout + 1 s at most); then nothing may be left
behind: no thread, no socket (file descriptor), no pending entry. A scenario that cannot apply
to a transport is skipped, its reason saying why; where the twins of one transport must differ,
the scenario says so and why.

The same scenario code drives the four clients: the sync ones from the test's thread (and
worker threads), the async ones on an event loop running in a thread of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import json
import math
import os
import signal
import socket
import struct
import threading
import time
import tracemalloc
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from raw_server import Script, drip, handshake_answer, raw_server, read_body, read_head, unused_port

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.httpx import AsyncKuzzleHTTP
from kuzzle_errors.retry import RetryBudget, RetryPolicy
from kuzzle_errors.websocket import KuzzleWebSocket
from kuzzle_errors.websockets import AsyncKuzzleWebSocket

#: The timeout of most clients here; a scenario's bound is at most its timeout + 1 s.
TIMEOUT = 1.0
#: How long a peer goes on misbehaving at most (it stops when the test closes the server).
PEER_LIFE = 10.0
#: The upper bound of every other wait of the harness.
WAIT = 10.0
MiB = 1024 * 1024

GET = {"controller": "document", "action": "get", "index": "i", "collection": "c", "_id": "d1"}
CREATE = {
    "controller": "document",
    "action": "create",
    "index": "i",
    "collection": "c",
    "body": {"name": "café"},
}

ConnectionLost = kuzzle_errors.ConnectionLostError
Timeout = kuzzle_errors.RequestTimeoutError
Invalid = kuzzle_errors.InvalidResponseError


# -- the four clients ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    cls: type[Any]
    ws: bool
    sync: bool


KINDS = (
    Kind("KuzzleHTTP", KuzzleHTTP, ws=False, sync=True),
    Kind("AsyncKuzzleHTTP", AsyncKuzzleHTTP, ws=False, sync=False),
    Kind("KuzzleWebSocket", KuzzleWebSocket, ws=True, sync=True),
    Kind("AsyncKuzzleWebSocket", AsyncKuzzleWebSocket, ws=True, sync=False),
)


@dataclass(frozen=True)
class Fails:
    """The call raises ``cls`` with these retry hints, within ``within`` seconds."""

    cls: type[BaseException]
    retryable: bool | None = None  # None: not a KuzzleError, it has no hint
    replay_safe: bool | None = None
    within: float = TIMEOUT + 1.0
    said: str | None = None  # a piece of its message


@dataclass(frozen=True)
class Returns:
    """The call returns ``value`` within ``within`` seconds."""

    value: Any
    within: float = TIMEOUT + 1.0


class Driver:
    """One client kind, driven the same way whichever it is (see the module's docstring)."""

    def __init__(self, kind: Kind, loop: asyncio.AbstractEventLoop) -> None:
        self.kind = kind
        self.ws = kind.ws
        self.sync = kind.sync
        self.loop = loop
        self.clients: list[Any] = []
        self._threads: list[threading.Thread] = []

    def url(self, port: int) -> str:
        return f"{'ws' if self.ws else 'http'}://127.0.0.1:{port}"

    def open(self, port: int, **options: Any) -> Any:
        """A client of the peer on ``port``; a WebSocket one connects at its first query."""
        options.setdefault("timeout", TIMEOUT)
        if self.ws:
            options.setdefault("connect", False)
        client = self.kind.cls(self.url(port), **options)
        self.clients.append(client)
        return client

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(...)``; for an async client, awaited on the loop."""
        if self.sync:
            return fn(*args, **kwargs)
        return asyncio.run_coroutine_threadsafe(fn(*args, **kwargs), self.loop).result(WAIT)

    def query(self, client: Any, request: dict[str, Any] = GET, **kwargs: Any) -> Any:
        return self.run(client.query, request, **kwargs)

    def submit(
        self, client: Any, request: dict[str, Any] = GET, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        """``query`` in the background: a sync client's in a thread, an async one's as a task."""
        if not self.sync:
            return asyncio.run_coroutine_threadsafe(client.query(request, **kwargs), self.loop)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def work() -> None:
            try:
                future.set_result(client.query(request, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        thread = threading.Thread(target=work, name="matrix-caller", daemon=True)
        self._threads.append(thread)
        thread.start()
        return future

    def expect(self, call: Callable[[], Any], outcome: Fails | Returns) -> Any:
        """Make the call, check its outcome; returns the exception raised or the value."""
        started = time.monotonic()
        try:
            value: Any = call()
            error: BaseException | None = None
        except (Exception, KeyboardInterrupt, asyncio.CancelledError) as exc:
            error = exc
        elapsed = time.monotonic() - started
        assert elapsed <= outcome.within, f"took {elapsed:.2f} s, bound {outcome.within} s"
        return check(error, value if error is None else None, outcome)

    def settle(self, future: concurrent.futures.Future[Any], outcome: Fails | Returns) -> Any:
        """Check the outcome of a call :meth:`submit` started (already under way)."""
        try:
            value = future.result(outcome.within)
            error: BaseException | None = None
        except concurrent.futures.TimeoutError:
            raise AssertionError(f"no outcome within {outcome.within} s") from None
        except BaseException as exc:
            error, value = exc, None
        return check(error, value, outcome)

    def finish(self) -> None:
        """Every client has nothing pending, then is closed; the callers' threads end."""
        try:
            for client in self.clients:
                assert client.pending == 0, f"{client!r} left {client.pending} pending"
        finally:
            for client in self.clients:
                with contextlib.suppress(Exception):
                    self.run(client.close)
            for thread in self._threads:
                thread.join(WAIT)


def check(error: BaseException | None, value: Any, outcome: Fails | Returns) -> Any:
    if isinstance(outcome, Returns):
        if error is not None:
            raise AssertionError(f"expected {outcome.value!r}, got {error!r}") from error
        assert value == outcome.value
        return value
    if error is None:
        raise AssertionError(f"expected {outcome.cls.__name__}, got the value {value!r}")
    if not isinstance(error, outcome.cls):
        raise AssertionError(f"expected {outcome.cls.__name__}, got {error!r}") from error
    if isinstance(error, kuzzle_errors.KuzzleError):
        hint = error.retry_hint
        assert (hint.retryable, hint.replay_safe) == (outcome.retryable, outcome.replay_safe), (
            error,
            hint,
        )
    else:
        assert outcome.retryable is None and outcome.replay_safe is None
    if outcome.said is not None:
        assert outcome.said in str(error), (outcome.said, str(error))
    return error


# -- nothing left behind -------------------------------------------------------------------------


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


#: Process-wide threads a client starts once and keeps (not per client, so not a leak).
_SINGLETONS = ("kuzzle-http-deadlines",)


@dataclass
class Baseline:
    threads: set[threading.Thread]
    fds: int

    @classmethod
    def take(cls) -> Baseline:
        return cls(set(threading.enumerate()), _fds())

    def left(self) -> tuple[list[str], int]:
        threads = [
            t.name
            for t in threading.enumerate()
            if t not in self.threads and t.is_alive() and t.name not in _SINGLETONS
        ]
        return threads, _fds() - self.fds

    def nothing_left(self) -> None:
        deadline = time.monotonic() + 3.0
        threads, fds = self.left()
        while (threads or fds > 0) and time.monotonic() < deadline:
            # A socket an exception's traceback still reaches (a cycle) is garbage, not a leak.
            gc.collect()
            time.sleep(0.02)
            threads, fds = self.left()
        assert not threads, f"threads left: {threads}"
        assert fds <= 0, f"{fds} file descriptors left"


# -- peers: what they share ----------------------------------------------------------------------


def http_request(conn: socket.socket) -> tuple[dict[str, str], bytes] | None:
    """The next request on ``conn``: its headers (names in lower case) and body; None at EOF."""
    head = read_head(conn)
    if b"\r\n\r\n" not in head:
        return None
    return http_request_from(conn, head)


def http_answer(status: int, body: bytes, *headers: str, reason: str = "OK") -> bytes:
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{h}\r\n" for h in headers)
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def envelope(request_id: str, result: Any, status: int = 200) -> dict[str, Any]:
    """Kuzzle's answer (as its transcripts show it) to the request ``request_id``."""
    return {
        "action": "get",
        "controller": "document",
        "error": None,
        "headers": {},
        "requestId": request_id,
        "result": result,
        "status": status,
        "volatile": None,
    }


def kuzzle_http(headers: dict[str, str], result: Any) -> bytes:
    """Kuzzle's HTTP answer to the request whose headers are ``headers``."""
    request_id = headers.get("x-kuzzle-request-id", "")
    return http_answer(
        200,
        json.dumps(envelope(request_id, result)).encode(),
        "Content-Type: application/json",
        f"X-Kuzzle-Request-Id: {request_id}",
        "X-Kuzzle-Node: knode-1",
    )


def result_for(body: bytes) -> dict[str, Any]:
    """What the peers answer a query: the ``_id`` it asked for (so answers can be told apart)."""
    try:
        request = json.loads(body)
    except ValueError:
        request = {}
    return {"_id": request.get("_id"), "action": request.get("action")}


def serve_http(conn: socket.socket) -> None:
    """Answer every request on a keep-alive connection as Kuzzle would."""
    while (request := http_request(conn)) is not None:
        conn.sendall(kuzzle_http(request[0], result_for(request[1])))


def ws_accept(conn: socket.socket, extension: str | None = None) -> None:
    """Answer the handshake; with ``extension`` (permessage-deflate) if the client offers it."""
    head = read_head(conn)
    answer = handshake_answer(head)
    if extension is not None and extension.encode() in head:
        answer = answer[:-2] + f"Sec-WebSocket-Extensions: {extension}\r\n\r\n".encode()
    conn.sendall(answer)


def _exactly(conn: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:  # an OSError: a peer's thread ends quietly on it (see RawServer)
            raise ConnectionResetError("the client went")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def ws_read(conn: socket.socket) -> dict[str, Any] | None:
    """The next frame a client sends, decoded (None when it closes or goes)."""
    try:
        b1, b2 = _exactly(conn, 2)
        length = b2 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", _exactly(conn, 2))
        elif length == 127:
            (length,) = struct.unpack("!Q", _exactly(conn, 8))
        mask = _exactly(conn, 4) if b2 & 0x80 else b"\0\0\0\0"
        data = _exactly(conn, length)
    except OSError:
        return None
    if b1 & 0x0F == 0x8:
        return None
    keys = (mask * (length // 4 + 1))[:length]  # unmasked as one big XOR: 12 MB in no time
    payload = (int.from_bytes(data, "big") ^ int.from_bytes(keys, "big")).to_bytes(length, "big")
    try:
        msg = json.loads(payload)
    except ValueError:
        return {}
    return msg if isinstance(msg, dict) else {}


def frame(data: bytes, opcode: int = 0x1, *, fin: bool = True, rsv1: bool = False) -> bytes:
    """One unmasked frame (server to client)."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(data)
    if n < 126:
        return struct.pack("!BB", first, n) + data
    if n < 65536:
        return struct.pack("!BBH", first, 126, n) + data
    return struct.pack("!BBQ", first, 127, n) + data


def ws_answer(msg: dict[str, Any], result: Any = None, **changes: Any) -> bytes:
    """Kuzzle's answer frame to ``msg``: its envelope, with ``room`` = the request id."""
    answer = {**envelope(msg.get("requestId", ""), result), "room": msg.get("requestId")}
    return frame(json.dumps({**answer, **changes}).encode())


def serve_ws(conn: socket.socket) -> None:
    """Answer every query (and Kuzzle ping) on an accepted WebSocket as Kuzzle would."""
    while (msg := ws_read(conn)) is not None:
        if msg == {"p": 1}:
            conn.sendall(frame(b'{"p":2}'))
        elif "requestId" in msg:
            conn.sendall(ws_answer(msg, {"_id": msg.get("_id"), "action": msg.get("action")}))


def then_kuzzle(d: Driver, first: Callable[[socket.socket], None]) -> Script:
    """A peer whose first connection runs ``first``, every later one answering as Kuzzle."""

    def script(conn: socket.socket, n: int) -> None:
        if n == 0:
            first(conn)
        elif d.ws:
            ws_accept(conn)
            serve_ws(conn)
        else:
            serve_http(conn)

    return script


def _after_the_request(d: Driver, then: Callable[[socket.socket], None]) -> Script:
    """A first connection reading the request, then doing ``then``; later ones are Kuzzle."""

    def first(conn: socket.socket) -> None:
        if d.ws:
            ws_accept(conn)
            ws_read(conn)
        else:
            http_request(conn)
        then(conn)

    return then_kuzzle(d, first)


def http_instead(d: Driver, answer: bytes) -> Script:
    """A peer answering the request (WebSocket: its handshake) with the HTTP ``answer``, then
    hanging up; later connections answer as Kuzzle."""

    def first(conn: socket.socket) -> None:
        if d.ws:
            read_head(conn)
        else:
            http_request(conn)
        conn.sendall(answer)

    return then_kuzzle(d, first)


def hold(conn: socket.socket) -> None:
    """Keep ``conn`` open and silent (what the client sends is read and dropped) until the
    client goes, or the test ends."""
    conn.settimeout(PEER_LIFE)
    with contextlib.suppress(OSError):
        while conn.recv(65536):
            pass


def wait_until(predicate: Callable[[], bool], what: str, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.005)


def reset(conn: socket.socket) -> None:
    """Close ``conn`` with a TCP reset (RST), not a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def answers_own(d: Driver, client: Any, request: dict[str, Any] = GET) -> None:
    """The client works (again): its query gets its own answer."""
    expected = {"_id": request.get("_id"), "action": request["action"]}
    d.expect(lambda: d.query(client, request), Returns(expected))


# -- the matrix ----------------------------------------------------------------------------------

Play = Callable[[Driver], None]
SCENARIOS: dict[str, tuple[Play, dict[str, str]]] = {}


def scenario(*, http: str | None = None, ws: str | None = None) -> Callable[[Play], Play]:
    """Register a scenario; ``http``/``ws``: why it does not apply to that transport."""

    def register(play: Play) -> Play:
        skips = {key: why for key, why in (("http", http), ("ws", ws)) if why is not None}
        SCENARIOS[play.__name__.replace("_", "-")] = (play, skips)
        return play

    return register


def _cases() -> Iterator[Any]:
    for name, (play, skips) in SCENARIOS.items():
        for kind in KINDS:
            why = skips.get("ws" if kind.ws else "http")
            marks = [pytest.mark.skip(reason=why)] if why else []
            yield pytest.param(play, kind, id=f"{name}-{kind.name}", marks=marks)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The event loop of the async clients, in a thread of its own for the whole module."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="matrix-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(WAIT)
    loop.close()


# -- refusals ------------------------------------------------------------------------------------


@scenario()
def refused(d: Driver) -> None:
    client = d.open(unused_port())
    d.expect(lambda: d.query(client), Fails(ConnectionLost, True, True, within=1.0))


@scenario()
def refused_with_retry(d: Driver) -> None:
    # Every wait of the retry machinery stays within the policy's deadline.
    policy = RetryPolicy(attempts=1000, timeout=TIMEOUT, base=0.01, cap=0.05, budget=None)
    client = d.open(unused_port(), retry=policy)
    call = lambda: d.query(client, GET, idempotent=True)  # noqa: E731
    error = d.expect(call, Fails(ConnectionLost, True, True, within=TIMEOUT + 1.0))
    assert error.attempts > 1


@scenario()
def refused_with_an_empty_budget(d: Driver) -> None:
    # The retry budget is empty (the host is struggling): waiting for it (max_wait, 5 s) is
    # bounded by the policy's deadline too.
    budget = RetryBudget(capacity=0, overdraft=0, min_per_second=0.01, max_wait=5.0)
    policy = RetryPolicy(attempts=10, timeout=TIMEOUT, base=0.01, cap=0.05, budget=budget)
    client = d.open(unused_port(), retry=policy)
    call = lambda: d.query(client, GET, idempotent=True)  # noqa: E731
    d.expect(call, Fails(ConnectionLost, True, True, within=TIMEOUT + 1.0))


# -- answers that are not ours -------------------------------------------------------------------


def _many_gets(query: Callable[[dict[str, Any]], Any], who: str) -> dict[str, Any]:
    """240 ``document:get`` of ``who``'s own ids: how many answers were right, wrong, errors."""
    report = _Tally()
    for n in range(240):
        started = time.monotonic()
        try:
            report.got(n, query({**GET, "_id": f"{who}-{n}"}), who)
        except kuzzle_errors.KuzzleError as exc:
            report.failed(exc)
        finally:
            report.took(time.monotonic() - started)
        if report.enough():
            break
    return report.as_dict()


async def _many_gets_async(query: Callable[[dict[str, Any]], Any], who: str) -> dict[str, Any]:
    """:func:`_many_gets`, for an async client."""
    report = _Tally()
    for n in range(240):
        started = time.monotonic()
        try:
            report.got(n, await query({**GET, "_id": f"{who}-{n}"}), who)
        except kuzzle_errors.KuzzleError as exc:
            report.failed(exc)
        finally:
            report.took(time.monotonic() - started)
        if report.enough():
            break
    return report.as_dict()


class _Tally:
    def __init__(self) -> None:
        self.right = self.wrong = 0
        self.errors: list[str] = []
        self.slowest = 0.0

    def got(self, n: int, result: Any, who: str) -> None:
        if result == {"_id": f"{who}-{n}", "action": "get"}:
            self.right += 1
        else:
            self.wrong += 1

    def failed(self, exc: BaseException) -> None:
        self.errors.append(type(exc).__name__)

    def took(self, seconds: float) -> None:
        self.slowest = max(self.slowest, seconds)

    def enough(self) -> bool:
        # Three errors tell enough: a wedged client would take minutes to time out 240 times.
        return len(self.errors) >= 3

    def as_dict(self) -> dict[str, Any]:
        return {
            "right": self.right,
            "wrong": self.wrong,
            "errors": self.errors,
            "slowest": self.slowest,
        }


def _child(d: Driver, client: Any) -> dict[str, Any]:
    """What the forked child does with the client its parent used (no loop thread here)."""
    connected = client.connected if d.ws else None
    if d.sync:
        report = _many_gets(client.query, "child")
        client.close()
    else:

        async def main() -> dict[str, Any]:
            try:
                return await _many_gets_async(client.query, "child")
            finally:
                await client.close()

        report = asyncio.run(main())  # this process's own loop
    return {**report, "connected": connected}


@scenario()
def fork(d: Driver) -> None:
    # A client used before os.fork() (a module-level client, gunicorn --preload): parent and
    # child then query at the same time; nothing inherited may be shared or reused.
    def peer(conn: socket.socket, n: int) -> None:
        if d.ws:
            ws_accept(conn)
            serve_ws(conn)
        else:
            serve_http(conn)

    with raw_server(peer) as server:
        client = d.open(server.port)
        answers_own(d, client)  # the pooled socket, or the connection and its reader, exist
        readable, writable = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: forking with threads
            pid = os.fork()
        if pid == 0:  # the child: never back into pytest
            code = 1
            try:
                os.close(readable)
                os.write(writable, json.dumps(_child(d, client)).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(writable)
        try:
            if d.sync:
                parent = _many_gets(client.query, "parent")
            else:
                parent = d.run(_many_gets_async, client.query, "parent")
            child = _read_child(readable, pid)
        finally:
            os.close(readable)
        answers_own(d, client)  # the child left the parent's connection alone
    for report in (parent, child):
        assert (report["right"], report["wrong"], report["errors"]) == (240, 0, []), report
        assert report["slowest"] <= TIMEOUT + 1.0, report
    assert child["connected"] in (None, False)  # nothing inherited looks connected


def _read_child(readable: int, pid: int) -> dict[str, Any]:
    """The child's report, once it has ended (killed if it has not within WAIT seconds)."""
    deadline = time.monotonic() + WAIT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child did not end in time: it is wedged")
        time.sleep(0.02)
    assert os.waitstatus_to_exitcode(status) == 0, "the child failed"
    data = b""
    while chunk := os.read(readable, 65536):
        data += chunk
    report: dict[str, Any] = json.loads(data)
    return report


@scenario()
def crossed_answer(d: Driver) -> None:
    # The first answer names another request (a shared socket, a confused proxy): an error,
    # never a result; the connection is not trusted with the next query (HTTP).
    def peer(conn: socket.socket) -> None:
        if d.ws:
            ws_accept(conn)
            msg = ws_read(conn)
            assert msg is not None
            conn.sendall(ws_answer(msg, {"_id": "theirs"}, requestId="another-request"))
            serve_ws(conn)
        else:
            request = http_request(conn)
            assert request is not None
            conn.sendall(kuzzle_http({"x-kuzzle-request-id": "another-request"}, {"_id": "x"}))
            serve_http(conn)

    with raw_server(then_kuzzle(d, peer)) as server:
        client = d.open(server.port)
        d.expect(lambda: d.query(client, CREATE), Fails(Invalid, False, False, said="another"))
        answers_own(d, client)
        assert server.connections == (1 if d.ws else 2)  # HTTP: that connection was dropped


@scenario(ws="WebSocket frames have no headers: crossed-answer covers the frame's own ids")
def crossed_header(d: Driver) -> None:
    # A raw (non-envelope) answer is taken on Kuzzle's headers: one naming another request is
    # not ours.
    def peer(conn: socket.socket) -> None:
        http_request(conn)
        conn.sendall(
            http_answer(
                200,
                b"a raw plugin result",
                "Content-Type: text/plain",
                "X-Kuzzle-Request-Id: another-request",
                "X-Kuzzle-Node: knode-1",
            )
        )
        serve_http(conn)

    with raw_server(then_kuzzle(d, peer)) as server:
        client = d.open(server.port)
        d.expect(lambda: d.query(client, CREATE), Fails(Invalid, False, False, said="another"))
        answers_own(d, client)
        assert server.connections == 2


@scenario()
def foreign_status_up(d: Driver) -> None:
    # A health page's {"status":"UP"} in place of Kuzzle (a gateway's route, a misrouted URL);
    # WebSocket: the handshake answered by it.
    body = b'{"status":"UP"}'
    answer = http_answer(200, body, "Content-Type: application/json")
    with raw_server(http_instead(d, answer)) as server:
        client = d.open(server.port)
        error = d.expect(lambda: d.query(client, CREATE), Fails(Invalid, False, False))
        assert error.raw == body


@scenario()
def foreign_jsend_error(d: Driver) -> None:
    # A gateway's JSend error in place of Kuzzle's answer: a write reported done would be a lie.
    body = b'{"status":"error","message":"upstream unavailable"}'

    def peer(conn: socket.socket, n: int) -> None:
        if d.ws:  # over WebSocket, a frame naming no query: nobody's answer
            ws_accept(conn)
            while ws_read(conn) is not None:
                conn.sendall(frame(body))
        else:
            http_request(conn)
            conn.sendall(http_answer(200, body, "Content-Type: application/json"))

    with raw_server(peer) as server:
        client = d.open(server.port)
        if d.ws:
            d.expect(lambda: d.query(client, CREATE), Fails(Timeout, True, False))
        else:
            error = d.expect(lambda: d.query(client, CREATE), Fails(Invalid, False, False))
            assert error.raw == body


# -- messages and bodies that never end ----------------------------------------------------------


@scenario()
def fragment_drip(d: Driver) -> None:
    # WebSocket: a text frame without FIN, then a 2-byte continuation every 0.2 s; HTTP: the
    # same as 2-byte chunks. The bound holds for the whole message.
    def peer(conn: socket.socket) -> None:
        if d.ws:
            ws_accept(conn)
            ws_read(conn)
            conn.sendall(frame(b'{"', fin=False))
            piece = frame(b"xx", 0x0, fin=False)
        else:
            http_request(conn)
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            piece = b"2\r\nxx\r\n"
        deadline = time.monotonic() + PEER_LIFE
        while time.monotonic() < deadline:
            conn.sendall(piece)
            time.sleep(0.2)

    with raw_server(then_kuzzle(d, peer)) as server:
        if d.ws:
            client = d.open(server.port, frame_timeout=TIMEOUT / 2)
            outcome = Fails(ConnectionLost, True, False, said="frame_timeout")
        else:
            client = d.open(server.port)
            outcome = Fails(Timeout, True, False)
        d.expect(lambda: d.query(client), outcome)
        if d.ws:
            wait_until(lambda: not client.connected, "the connection dropped")
        answers_own(d, client)


@scenario()
def fragment_flood(d: Driver) -> None:
    # 96 MiB in 512 KiB continuations (or chunks) against a 1 MiB bound: nothing is buffered
    # past the bound.
    piece = b"x" * (512 * 1024)
    if d.ws:
        first, more = frame(piece, fin=False), frame(piece, 0x0, fin=False)
    else:
        first = more = b"%x\r\n" % len(piece) + piece + b"\r\n"

    def flood(conn: socket.socket) -> None:
        if not d.ws:
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
        conn.sendall(first)
        for _ in range(191):
            conn.sendall(more)

    with raw_server(_after_the_request(d, flood)) as server:
        if d.ws:
            client = d.open(server.port, max_frame_bytes=MiB)
            outcome = Fails(ConnectionLost, True, False, said="max_frame_bytes")
        else:
            client = d.open(server.port, max_body_bytes=MiB)
            outcome = Fails(Invalid, False, False)
        tracemalloc.start()
        try:
            d.expect(lambda: d.query(client), outcome)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 16 * MiB, f"{peak / MiB:.0f} MiB held for a 1 MiB bound"
        answers_own(d, client)


@scenario(http="HTTP has no control frames: a silent server is the stall scenario")
def control_pings(d: Driver) -> None:
    # A dead node behind a proxy that still answers (and sends) WebSocket control pings:
    # liveness comes from Kuzzle's {"p":1}/{"p":2} and its answers, never from control frames.
    def peer(conn: socket.socket) -> None:
        ws_accept(conn)
        conn.settimeout(0.1)
        deadline = time.monotonic() + PEER_LIFE
        while time.monotonic() < deadline:
            conn.sendall(frame(b"", 0x9))
            with contextlib.suppress(TimeoutError):
                if not conn.recv(65536):  # the client's frames, read, never answered
                    return

    with raw_server(then_kuzzle(d, peer)) as server:
        client = d.open(server.port, timeout=2.0, ping_interval=0.4)
        outcome = Fails(ConnectionLost, True, False, within=3.0, said="ping")
        d.expect(lambda: d.query(client), outcome)
        wait_until(lambda: not client.connected, "the connection dropped")
        answers_own(d, client)


# -- interrupted and unsendable requests ---------------------------------------------------------


def _interrupt(d: Driver, client: Any, request: dict[str, Any], when: threading.Event) -> Any:
    """Send ``request`` and interrupt it once ``when`` is set: Ctrl-C (SIGINT) for a sync
    caller, a cancellation for an async one; returns what the interrupted call raised."""
    if d.sync:
        assert threading.current_thread() is threading.main_thread()  # where SIGINT lands
        calling = threading.Event()

        def ctrl_c() -> None:
            if when.wait(WAIT) and calling.is_set():
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

        killer = threading.Thread(target=ctrl_c, name="matrix-ctrl-c", daemon=True)
        killer.start()
        calling.set()
        try:
            return d.expect(lambda: client.query(request), Fails(KeyboardInterrupt, within=WAIT))
        finally:
            calling.clear()
            killer.join(WAIT)

    async def cancelled() -> BaseException | None:
        task = asyncio.ensure_future(client.query(request))
        for _ in range(int(WAIT / 0.005)):
            if when.is_set() or task.done():
                break
            await asyncio.sleep(0.005)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as exc:
            return exc
        return None

    def call() -> Any:
        error = d.run(cancelled)
        if error is not None:
            raise error
        return None

    return d.expect(call, Fails(asyncio.CancelledError, within=WAIT))


@scenario()
def interrupted_send(d: Driver) -> None:
    # Ctrl-C (or a cancellation) while a 12 MB request is being sent. The sync WebSocket
    # client has half a frame on the shared socket: it aborts it, fails the other pending
    # queries at once (not replay-safe) and reconnects at the next call. The asyncio one hands
    # each frame to the loop whole, and an HTTP request owns its connection: the other query
    # goes on there.
    big = {**CREATE, "body": {"blob": "x" * (12 * MiB)}}
    held = threading.Event()  # the peer holds the small query's answer
    got_part = threading.Event()  # the peer has read 1 MiB of the big request
    interrupted = threading.Event()  # the test saw the interruption: answer the small query

    def ws_peer(conn: socket.socket, n: int) -> None:
        ws_accept(conn)
        if n:
            serve_ws(conn)
            return
        small = ws_read(conn)
        assert small is not None
        held.set()
        head = _exactly(conn, 14)  # the big frame's: 2 bytes, a 64-bit length, the mask
        _exactly(conn, MiB)
        got_part.set()
        interrupted.wait(WAIT)
        _exactly(conn, struct.unpack("!Q", head[2:10])[0] - MiB)  # sent whole, or cut
        conn.sendall(ws_answer(small, {"_id": small.get("_id"), "action": "get"}))
        serve_ws(conn)

    def http_peer(conn: socket.socket, n: int) -> None:
        while b"\r\n\r\n" in (head := read_head(conn)):
            if _length(head) > MiB:  # the big one
                got = len(head.partition(b"\r\n\r\n")[2])
                while got < MiB:
                    got += len(conn.recv(65536) or b"?" * MiB)
                got_part.set()
                hold(conn)
                return
            request = http_request_from(conn, head)
            held.set()
            interrupted.wait(WAIT)
            conn.sendall(kuzzle_http(request[0], result_for(request[1])))

    def peer(conn: socket.socket, n: int) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # sends block early
        (ws_peer if d.ws else http_peer)(conn, n)

    with raw_server(peer) as server:
        client = d.open(server.port, timeout=2 * TIMEOUT)
        small = d.submit(client, GET)
        assert held.wait(WAIT)
        _interrupt(d, client, big, got_part)
        interrupted.set()
        if d.ws and d.sync:
            d.settle(small, Fails(ConnectionLost, True, False, within=1.0))
        else:
            d.settle(small, Returns({"_id": "d1", "action": "get"}, within=2 * TIMEOUT + 1))
        answers_own(d, client)


def _length(head: bytes) -> int:
    for line in head.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def http_request_from(conn: socket.socket, head: bytes) -> tuple[dict[str, str], bytes]:
    """The request whose head is ``head`` (already read): its headers and body."""
    body = read_body(conn, head)
    headers = {}
    for line in head.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers, body


def _recording(d: Driver, seen: list[Any], delay: float = 0.0) -> Script:
    """A Kuzzle-like peer recording what it receives, each answer ``delay`` seconds late."""

    def script(conn: socket.socket, n: int) -> None:
        if d.ws:
            ws_accept(conn)
            while (msg := ws_read(conn)) is not None:
                if msg == {"p": 1}:
                    conn.sendall(frame(b'{"p":2}'))
                    continue
                seen.append(msg)
                time.sleep(delay)
                conn.sendall(ws_answer(msg, {"_id": msg.get("_id"), "action": msg.get("action")}))
        else:
            while (request := http_request(conn)) is not None:
                seen.append(request)
                time.sleep(delay)
                conn.sendall(kuzzle_http(request[0], result_for(request[1])))

    return script


BAD = {**CREATE, "body": {"name": "caf\ud83d"}}  # a JS-cut emoji, as Kuzzle may store it


@scenario()
def lone_surrogate(d: Driver) -> None:
    # A request that cannot be encoded fails alone, before anything is sent: the shared
    # socket stays, another caller's create in flight gets its answer.
    seen: list[Any] = []
    with raw_server(_recording(d, seen, delay=0.3)) as server:
        client = d.open(server.port, timeout=2 * TIMEOUT)
        other = d.submit(client, CREATE)
        wait_until(lambda: len(seen) == 1, "the first create reached the peer")
        outcome = Fails(kuzzle_errors.BadRequestError, False, False, within=0.5, said="encode")
        d.expect(lambda: d.query(client, BAD), outcome)
        d.settle(other, Returns({"_id": None, "action": "create"}))
        assert len(seen) == 1  # not a byte of the bad one
        if d.ws:
            assert client.connected
            assert server.connections == 1


@scenario()
def lone_surrogate_with_retry(d: Driver) -> None:
    # Not retryable: a retry policy makes one attempt, and nothing reaches the peer.
    seen: list[Any] = []
    with raw_server(_recording(d, seen)) as server:
        policy = RetryPolicy(attempts=5, base=0.01, cap=0.01, budget=None)
        client = d.open(server.port, retry=policy)
        outcome = Fails(kuzzle_errors.BadRequestError, False, False, within=0.5)
        d.expect(lambda: d.query(client, BAD, idempotent=True), outcome)
        assert (server.connections, seen) == (0, [])


#: Timeouts no client can honour: refused with a ValueError where they are given.
BAD_TIMEOUTS: list[Any] = [
    None,
    math.inf,
    -math.inf,
    math.nan,
    -1,
    0,
    "5",
    True,
    10**10,
    (None, 5),
    (5, None),
    (1, math.inf),
    (1, 2, 3),
    [1, 2],
]


@scenario()
def bad_timeouts(d: Driver) -> None:
    # Never a TypeError or OverflowError later, never a dead shared thread: a call after the
    # refusals is still bounded by its timeout.
    def peer(conn: socket.socket) -> None:
        if d.ws:
            ws_accept(conn)
            ws_read(conn)
        else:
            http_request(conn)
        hold(conn)

    with raw_server(then_kuzzle(d, peer)) as server:
        client = d.open(server.port)
        options = {"connect": False} if d.ws else {}
        for value in BAD_TIMEOUTS:
            with pytest.raises(ValueError, match="timeout"):
                d.kind.cls(d.url(server.port), timeout=value, **options)
            with pytest.raises(ValueError, match="timeout"):
                client.timeout = value
        assert client.timeout == TIMEOUT
        d.expect(lambda: d.query(client), Fails(Timeout, True, False))


@scenario(http="the HTTP clients take no timeout per call: bad-timeouts covers theirs")
def bad_call_timeouts(d: Driver) -> None:
    # A timeout given to one call is refused at that call, before anything is sent.
    seen: list[Any] = []
    with raw_server(_recording(d, seen)) as server:
        client = d.open(server.port)
        for value in [math.inf, math.nan, -1, 0, "5", True, 10**10]:
            with pytest.raises(ValueError, match="timeout"):
                d.query(client, CREATE, timeout=value)
            assert client.pending == 0
        assert seen == []
        answers_own(d, client)


# -- broken or odd framing -----------------------------------------------------------------------


@scenario()
def broken_framing(d: Driver) -> None:
    # An answer whose framing is broken (HTTP: two Content-Length; WebSocket: a reserved
    # opcode): the request was sent, so the error says so.
    def broken(conn: socket.socket) -> None:
        if d.ws:
            conn.sendall(frame(b"{}", 0x3))
        else:
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 2\r\nContent-Length: 7\r\n\r\n{}"
            )
        hold(conn)

    with raw_server(_after_the_request(d, broken)) as server:
        client = d.open(server.port)
        said = None if d.ws else "after the request was sent"
        d.expect(lambda: d.query(client, CREATE), Fails(ConnectionLost, True, False, said=said))
        answers_own(d, client)


@scenario()
def drip_head(d: Driver) -> None:
    # The answer's head (WebSocket: the handshake's 101) a byte every 0.2 s: the timeout
    # bounds the whole call, not each read.
    def peer(conn: socket.socket) -> None:
        if d.ws:
            drip(conn, handshake_answer(read_head(conn)), 0.2, lambda: False)
        else:
            request = http_request(conn)
            assert request is not None
            drip(conn, kuzzle_http(request[0], {}), 0.2, lambda: False)

    with raw_server(then_kuzzle(d, peer)) as server:
        client = d.open(server.port)
        # WebSocket: only the handshake was sent, replaying the query is safe.
        outcome = Fails(ConnectionLost, True, True) if d.ws else Fails(Timeout, True, False)
        d.expect(lambda: d.query(client, CREATE), outcome)
        answers_own(d, client)


@scenario()
def drip_body(d: Driver) -> None:
    # The answer's body (WebSocket: a 1 MiB frame) a byte every 0.2 s.
    def peer(conn: socket.socket) -> None:
        if d.ws:
            ws_accept(conn)
            ws_read(conn)
            conn.sendall(struct.pack("!BBQ", 0x81, 127, MiB))
            drip(conn, b"x" * MiB, 0.2, lambda: False)
        else:
            request = http_request(conn)
            assert request is not None
            top, _, body = kuzzle_http(request[0], {"ok": True}).partition(b"\r\n\r\n")
            conn.sendall(top + b"\r\n\r\n")
            drip(conn, body, 0.2, lambda: False)

    with raw_server(then_kuzzle(d, peer)) as server:
        if d.ws:
            client = d.open(server.port, frame_timeout=TIMEOUT / 2)
            outcome = Fails(ConnectionLost, True, False, said="frame_timeout")
        else:
            client = d.open(server.port)
            outcome = Fails(Timeout, True, False)
        d.expect(lambda: d.query(client, CREATE), outcome)
        answers_own(d, client)


@scenario(ws="a WebSocket message is always framed: drip-body is its twin")
def ends_at_close(d: Driver) -> None:
    # An answer with neither Content-Length nor chunks ends when the connection closes:
    # dripped, or never started. The end of file the deadline's cut makes is no end of body.
    for body in (b"a plugin's raw text result, dripped", b""):

        def peer(conn: socket.socket, body: bytes = body) -> None:
            http_request(conn)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Kuzzle-Node: knode-1\r\nConnection: close\r\n\r\n")
            if body:
                drip(conn, body, 0.2, lambda: False)
            hold(conn)

        with raw_server(then_kuzzle(d, peer)) as server:
            client = d.open(server.port)
            call = lambda client=client: d.query(client, CREATE)  # noqa: E731
            d.expect(call, Fails(Timeout, True, False))
            answers_own(d, client)


# -- bombs and huge answers ----------------------------------------------------------------------


def _deflated_zeros(mebibytes: int, wbits: int) -> bytes:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = b"\0" * MiB
    return b"".join(squeeze.compress(zeros) for _ in range(mebibytes)) + squeeze.flush()


@scenario()
def gzip_bomb(d: Driver) -> None:
    # 256 MiB of zeros in about 250 KB: HTTP gzip under a 502 (max_error_bytes 1 MiB), a
    # permessage-deflate message over WebSocket (max_frame_bytes 1 MiB; the sync client
    # offers no compression, so a compressed frame is a protocol error there).
    if d.ws:
        squeeze = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        parts = [squeeze.compress(b"\0" * MiB) for _ in range(256)]
        bomb = b"".join(parts) + squeeze.flush(zlib.Z_SYNC_FLUSH)
        bomb = bomb[:-4]  # permessage-deflate drops the sync flush's 00 00 ff ff
    else:
        bomb = _deflated_zeros(256, 31)

    def peer(conn: socket.socket) -> None:
        if d.ws:
            ws_accept(conn, "permessage-deflate")
            ws_read(conn)
            conn.sendall(frame(bomb, rsv1=True))
        else:
            http_request(conn)
            conn.sendall(
                http_answer(502, bomb, "Content-Encoding: gzip", "Content-Type: text/html")
            )
        hold(conn)

    with raw_server(then_kuzzle(d, peer)) as server:
        if d.ws:
            client = d.open(server.port, max_frame_bytes=MiB)
            outcome = Fails(ConnectionLost, True, False)
        else:
            client = d.open(server.port, max_error_bytes=MiB)
            outcome = Fails(kuzzle_errors.KuzzleError, True, False, said="502")
        tracemalloc.start()
        try:
            error = d.expect(lambda: d.query(client), outcome)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 16 * MiB, f"{peak / MiB:.0f} MiB inflated for a 1 MiB bound"
        if not d.ws:
            assert error.http_status == 502
            assert "cut at 1048576 bytes" in (error.problem or "")
            assert error.http_response.content == b"\0" * MiB  # what was read is kept
        answers_own(d, client)


@scenario()
def huge_announced(d: Driver) -> None:
    # A 1 GiB answer announced (HTTP: Content-Length, then bytes as fast as they go;
    # WebSocket: a frame header) against a 1 MiB bound: refused at once.
    def huge(conn: socket.socket) -> None:
        if d.ws:
            conn.sendall(struct.pack("!BBQ", 0x81, 127, 1 << 30))
        else:
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1073741824\r\n\r\n"
            )
            spaces = b" " * MiB
            for _ in range(32):
                conn.sendall(spaces)
        hold(conn)

    with raw_server(_after_the_request(d, huge)) as server:
        if d.ws:
            client = d.open(server.port, max_frame_bytes=MiB)
            outcome = Fails(ConnectionLost, True, False, within=1.0, said="max_frame_bytes")
        else:
            client = d.open(server.port, max_body_bytes=MiB)
            outcome = Fails(Invalid, False, False, within=1.0)
        error = d.expect(lambda: d.query(client), outcome)
        if not d.ws:
            assert len(error.http_response.content) == MiB  # what was kept, no more
        answers_own(d, client)


# -- resets, drops and stalls --------------------------------------------------------------------


@scenario()
def reset_after_request(d: Driver) -> None:
    with raw_server(_after_the_request(d, reset)) as server:
        client = d.open(server.port)
        d.expect(lambda: d.query(client, CREATE), Fails(ConnectionLost, True, False))
        answers_own(d, client)


@scenario()
def drop_after_request(d: Driver) -> None:
    # The peer hangs up (FIN) without answering.
    with raw_server(_after_the_request(d, lambda conn: None)) as server:
        client = d.open(server.port)
        d.expect(lambda: d.query(client, CREATE), Fails(ConnectionLost, True, False))
        answers_own(d, client)


@scenario(http="HTTP has no close frame: drop-after-request is its twin")
def close_frame(d: Driver) -> None:
    def close(conn: socket.socket) -> None:
        conn.sendall(frame(struct.pack("!H", 1011) + b"overloaded", 0x8))
        hold(conn)

    with raw_server(_after_the_request(d, close)) as server:
        client = d.open(server.port)
        d.expect(lambda: d.query(client, CREATE), Fails(ConnectionLost, True, False, said="1011"))
        answers_own(d, client)


@scenario()
def stall(d: Driver) -> None:
    # The request is read, never answered: Kuzzle has no timeout of its own, it may run. The
    # WebSocket stays up (later queries are answered); an HTTP connection is closed.
    with raw_server(_after_the_request(d, serve_ws if d.ws else hold)) as server:
        client = d.open(server.port)
        d.expect(lambda: d.query(client, CREATE), Fails(Timeout, True, False))
        answers_own(d, client)


@scenario()
def stall_while_sending(d: Driver) -> None:
    # The peer stops reading: a 12 MB request cannot leave. Cut while being sent, it never
    # reached the peer whole: replay-safe. The asyncio WebSocket client hands the frame to the
    # event loop whole, which may still send it after the timeout: not replay-safe there.
    done = threading.Event()

    def first(conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        if d.ws:
            ws_accept(conn)
        done.wait(WAIT)

    big = {**CREATE, "body": {"blob": "x" * (12 * MiB)}}
    try:
        with raw_server(then_kuzzle(d, first)) as server:
            client = d.open(server.port)
            safe = not (d.ws and not d.sync)
            d.expect(lambda: d.query(client, big), Fails(Timeout, True, safe))
            done.set()  # the peer hangs up
            if d.ws:  # the asyncio client's connection stayed up (the frame is queued)
                wait_until(lambda: not client.connected, "the hang-up seen")
            answers_own(d, client)
    finally:
        done.set()


@scenario()
def silent_after_accept(d: Driver) -> None:
    # Accepted, then nothing: no answer (HTTP), no handshake (WebSocket: only the handshake
    # was sent, replaying the query is safe).
    done = threading.Event()
    try:
        with raw_server(then_kuzzle(d, lambda conn: done.wait(WAIT) and None)) as server:
            client = d.open(server.port)
            outcome = Fails(ConnectionLost, True, True) if d.ws else Fails(Timeout, True, False)
            d.expect(lambda: d.query(client, CREATE), outcome)
            done.set()
            answers_own(d, client)
    finally:
        done.set()


@scenario()
def interim_flood(d: Driver) -> None:
    # Answers that are not the answer, for ever: HTTP 100 Continue, or WebSocket notifications
    # for another room every 20 ms (Kuzzle's: they keep the connection alive). The call's
    # deadline bounds them.
    def flood(conn: socket.socket) -> None:
        if d.ws:
            note = {"status": 200, "type": "document", "room": "other-room", "result": {}}
            piece = frame(json.dumps(note).encode())
        else:
            piece = b"HTTP/1.1 100 Continue\r\n\r\n"
        deadline = time.monotonic() + PEER_LIFE
        while time.monotonic() < deadline:
            conn.sendall(piece)
            time.sleep(0.02)

    with raw_server(_after_the_request(d, flood)) as server:
        client = d.open(server.port)
        d.expect(lambda: d.query(client, CREATE), Fails(Timeout, True, False))
        if d.ws:
            assert client.connected  # the frames are Kuzzle's: the connection is alive
        else:
            answers_own(d, client)


# -- answers from something else -----------------------------------------------------------------


@scenario()
def redirect_loop(d: Driver) -> None:
    # A 307 to itself. HTTP: Kuzzle never redirects /_query, and following would send the
    # request again: not followed. WebSocket: a handshake may be redirected (only handshakes
    # are sent, each library follows a few); a loop stays a loop: not retryable either way.
    count = [0]
    location = ["/_query"]

    def peer(conn: socket.socket, n: int) -> None:
        head = read_head(conn)
        count[0] += 1
        if not d.ws:
            read_body(conn, head)
        conn.sendall(http_answer(307, b"", f"Location: {location[0]}", reason="Redirect"))

    with raw_server(peer) as server:
        if d.ws:
            location[0] = d.url(server.port) + "/"
        client = d.open(server.port)
        if d.ws:
            d.expect(lambda: d.query(client, CREATE), Fails(ConnectionLost, False, False))
            assert 1 < count[0] <= 11  # websocket-client follows 3, websockets 10
        else:
            outcome = Fails(kuzzle_errors.KuzzleError, False, False)
            error = d.expect(lambda: d.query(client, CREATE), outcome)
            assert error.http_status == 307
            assert count[0] == 1  # sent once


@scenario()
def captive_portal(d: Driver) -> None:
    # A 200 HTML page (a captive portal, a proxy's login page) in place of Kuzzle.
    page = b"<html><body>Please log in</body></html>"
    with raw_server(http_instead(d, http_answer(200, page, "Content-Type: text/html"))) as server:
        client = d.open(server.port)
        error = d.expect(lambda: d.query(client, CREATE), Fails(Invalid, False, False))
        assert error.raw == page


@scenario()
def truncated_json(d: Driver) -> None:
    # JSON cut short: HTTP, with Kuzzle's headers; WebSocket, a frame naming no query.
    cut = b'{"status":200,"error":null,"res'

    def peer(conn: socket.socket) -> None:
        if d.ws:
            ws_accept(conn)
            while ws_read(conn) is not None:
                conn.sendall(frame(cut))
        else:
            request = http_request(conn)
            assert request is not None
            request_id = request[0]["x-kuzzle-request-id"]
            conn.sendall(
                http_answer(
                    200,
                    cut,
                    "Content-Type: application/json",
                    f"X-Kuzzle-Request-Id: {request_id}",
                    "X-Kuzzle-Node: knode-1",
                )
            )
            serve_http(conn)

    with raw_server(then_kuzzle(d, peer)) as server:
        client = d.open(server.port)
        outcome = Fails(Timeout, True, False) if d.ws else Fails(Invalid, False, False)
        d.expect(lambda: d.query(client, CREATE), outcome)


@scenario()
def invalid_utf8(d: Driver) -> None:
    # Kuzzle's envelope holding bytes that are not UTF-8 (Kuzzle never writes them):
    # WebSocket requires UTF-8 text (RFC 6455 8.1: fail the connection, as websockets does).
    def peer(conn: socket.socket) -> None:
        if d.ws:
            ws_accept(conn)
            msg = ws_read(conn)
            assert msg is not None
            answer = json.dumps({**envelope(msg["requestId"], "XX"), "room": msg["requestId"]})
            conn.sendall(frame(answer.encode().replace(b"XX", b"\xff\xfe")))
            hold(conn)
        else:
            request = http_request(conn)
            assert request is not None
            answer = kuzzle_http(request[0], "XX")
            conn.sendall(answer.replace(b'"XX"', b'"\xff\xfe"'))
            serve_http(conn)

    with raw_server(then_kuzzle(d, peer)) as server:
        client = d.open(server.port)
        outcome = Fails(ConnectionLost, True, False) if d.ws else Fails(Invalid, False, False)
        d.expect(lambda: d.query(client, CREATE), outcome)
        answers_own(d, client)


@scenario()
def endless_headers(d: Driver) -> None:
    # A head that never ends (WebSocket: the handshake's), a header line every millisecond.
    def peer(conn: socket.socket) -> None:
        if d.ws:
            read_head(conn)
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\n")
        else:
            http_request(conn)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
        line = b"X-Pad: " + b"x" * 1000 + b"\r\n"  # past every library's limit in 0.1 s
        deadline = time.monotonic() + PEER_LIFE
        while time.monotonic() < deadline:
            conn.sendall(line)
            time.sleep(0.001)

    with raw_server(then_kuzzle(d, peer)) as server:
        client = d.open(server.port)
        # WebSocket: only the handshake was sent.
        d.expect(lambda: d.query(client, CREATE), Fails(ConnectionLost, True, d.ws))
        answers_own(d, client)


@scenario()
def proxy_503(d: Driver) -> None:
    # A proxy's 503 page (WebSocket: refusing the handshake, so no request was sent). The peer
    # hangs up after it (keep-alive would race with its close).
    page = b"<html>Service Unavailable</html>"
    close = "Connection: close"
    answer = http_answer(503, page, "Content-Type: text/html", close, reason="Unavailable")
    with raw_server(http_instead(d, answer)) as server:
        client = d.open(server.port)
        # HTTP: a 503 page names no Kuzzle error, the request may have reached Kuzzle.
        outcome = Fails(kuzzle_errors.ServiceUnavailableError, True, d.ws)
        d.expect(lambda: d.query(client, CREATE), outcome)
        answers_own(d, client)


@scenario()
def repeated_answer(d: Driver) -> None:
    # Every answer sent twice: the copy is nobody's answer, never the next query's result.
    # httpx (h11) keeps bytes that came with an answer in its own buffer and reads them as the
    # next answer on that connection: the request id check makes that an error (the
    # connection is then dropped). requests drops such bytes, or sees them on the socket.
    def peer(conn: socket.socket, n: int) -> None:
        if d.ws:
            ws_accept(conn)
            while (msg := ws_read(conn)) is not None:
                answer = ws_answer(msg, {"_id": msg.get("_id"), "action": msg.get("action")})
                conn.sendall(answer + answer)
        else:
            while (request := http_request(conn)) is not None:
                answer = kuzzle_http(request[0], result_for(request[1]))
                conn.sendall(answer + answer)

    with raw_server(peer) as server:
        client = d.open(server.port)
        for n in range(4):
            request = {**GET, "_id": f"d{n}"}
            if d.kind.cls is AsyncKuzzleHTTP and n % 2:
                try:
                    result = d.query(client, request)
                except Invalid as error:
                    check(error, None, Fails(Invalid, False, False, said="another"))
                    continue
                assert result == {"_id": f"d{n}", "action": "get"}
            else:
                answers_own(d, client, request)


@scenario(http="HTTP has no notifications")
def notification_with_our_request_id(d: Driver) -> None:
    # Kuzzle's document notification carries the requestId of the write that caused it, ours
    # included, and comes before the answer (realtime-frames.jsonl): never taken for it.
    def peer(conn: socket.socket) -> None:
        ws_accept(conn)
        msg = ws_read(conn)
        assert msg is not None
        note = {
            "status": 200,
            "type": "document",
            "room": "channel-1",
            "requestId": msg["requestId"],
            "result": {"_id": "notified"},
            "error": None,
            "action": "create",
            "controller": "document",
        }
        conn.sendall(frame(json.dumps(note).encode()))
        conn.sendall(ws_answer(msg, {"_id": msg.get("_id"), "action": msg.get("action")}))
        serve_ws(conn)

    with raw_server(then_kuzzle(d, peer)) as server:
        client = d.open(server.port)
        answers_own(d, client)


# -- the test ------------------------------------------------------------------------------------


def test_the_matrix_is_large_enough() -> None:
    runs = {kind.name: 0 for kind in KINDS}
    for _, skips in SCENARIOS.values():
        for kind in KINDS:
            runs[kind.name] += ("ws" if kind.ws else "http") not in skips
    assert min(runs.values()) >= 30, runs


@pytest.mark.parametrize(("play", "kind"), list(_cases()))
def test_hostile_peer(play: Play, kind: Kind, loop: asyncio.AbstractEventLoop) -> None:
    baseline = Baseline.take()
    driver = Driver(kind, loop)
    try:
        play(driver)
    finally:
        driver.finish()
    baseline.nothing_left()
