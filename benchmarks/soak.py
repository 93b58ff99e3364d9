"""A soak: 10,000 calls through the four clients with faults mixed in; threads, file
descriptors and memory must stay flat.

    python benchmarks/soak.py                 # 10,000 calls, a table every 1,000, the verdicts
    python benchmarks/soak.py --calls 2000    # shorter

One in ten calls meets a fault, from a peer on loopback that runs in a process of its own (so
that its threads and sockets are not counted): no answer, a hang-up, a TCP reset, an answer
naming another request, a body or frame dripped a byte at a time, a 1 GiB answer announced, a
Kuzzle error; or, on the client's side, a request that cannot be encoded and a timeout refused.
The calls go round the four clients (``KuzzleHTTP``, ``AsyncKuzzleHTTP``, ``KuzzleWebSocket``,
``AsyncKuzzleWebSocket``), each outcome checked against the one its fault must give. After
every 1,000 calls the process's threads, open file descriptors and resident memory (RSS) are
printed; the verdicts compare the last figures with those after the first 1,000 calls (the
warm-up: pools, caches and the allocator fill up first): threads and descriptors no more,
RSS within 16 MiB. Linux only (``/proc``). Not a timed test: nothing here runs in the suite.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import math
import os
import random
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.httpx import AsyncKuzzleHTTP
from kuzzle_errors.websocket import KuzzleWebSocket
from kuzzle_errors.websockets import AsyncKuzzleWebSocket

TIMEOUT = 0.3
MiB = 1024 * 1024
#: The faults the peer plays (``fault`` in the request's body), and those of the client side.
PEER_FAULTS = ("stall", "drop", "reset", "crossed", "drip", "huge", "notfound")
CLIENT_FAULTS = ("surrogate", "bad_timeout")
FAULT_RATE = 0.1
RSS_BOUND = 16 * MiB


# -- the peer (a process of its own) -------------------------------------------------------------


def _read_exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("the client went")
        data += chunk
    return data


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionResetError("the client went")
        data += chunk
    return data


def _envelope(request_id: str, result: Any, error: Any = None, status: int = 200) -> dict[str, Any]:
    return {"status": status, "error": error, "requestId": request_id, "result": result}


_NOT_FOUND = {"id": "services.storage.not_found", "status": 404, "message": "Document not found"}


def _drip(conn: socket.socket, data: bytes) -> None:
    for byte in data:
        conn.sendall(bytes([byte]))
        time.sleep(0.05)


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class _HTTPPeer(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn = self.request
        with contextlib.suppress(OSError):
            while True:
                head = _read_head(conn)
                top, _, rest = head.partition(b"\r\n\r\n")
                headers = {}
                for line in top.split(b"\r\n")[1:]:
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                body = json.loads(rest + _read_exactly(conn, length - len(rest)))
                request_id = headers.get("x-kuzzle-request-id", "")
                if not self._answer(conn, body, request_id):
                    return

    @staticmethod
    def _answer(conn: socket.socket, body: dict[str, Any], request_id: str) -> bool:
        fault = body.get("fault", "ok")
        if fault == "stall":
            while conn.recv(65536):  # until the client's deadline closes it
                pass
            return False
        if fault == "drop":
            return False
        if fault == "reset":
            _reset(conn)
            return False
        if fault == "huge":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            conn.sendall(b"Content-Length: 1073741824\r\n\r\n")
            for _ in range(4):
                conn.sendall(b" " * MiB)
            return False
        status, answer_id, error = 200, request_id, None
        if fault == "crossed":
            answer_id = "another-request"
        elif fault == "notfound":
            status, error = 404, _NOT_FOUND
        payload = json.dumps(_envelope(answer_id, body.get("body"), error, status)).encode()
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"X-Kuzzle-Request-Id: {answer_id}\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        if fault == "drip":
            conn.sendall(head)
            _drip(conn, payload)
            return False
        conn.sendall(head + payload)
        return True


def _frame(data: bytes, opcode: int = 0x1) -> bytes:
    n = len(data)
    if n < 126:
        return struct.pack("!BB", 0x80 | opcode, n) + data
    if n < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, n) + data
    return struct.pack("!BBQ", 0x80 | opcode, 127, n) + data


class _WSPeer(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn = self.request
        with contextlib.suppress(OSError):
            head = _read_head(conn)
            key = b""
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"sec-websocket-key":
                    key = value.strip()
            guid = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
            accept = base64.b64encode(hashlib.sha1(key + guid).digest())
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            while (msg := self._read(conn)) is not None:
                if not self._answer(conn, msg):
                    return

    @staticmethod
    def _read(conn: socket.socket) -> dict[str, Any] | None:
        b1, b2 = _read_exactly(conn, 2)
        length = b2 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", _read_exactly(conn, 2))
        elif length == 127:
            (length,) = struct.unpack("!Q", _read_exactly(conn, 8))
        mask = _read_exactly(conn, 4)
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(_read_exactly(conn, length)))
        if b1 & 0x0F == 0x8:
            return None
        if b1 & 0x0F != 0x1:
            return {}
        msg: dict[str, Any] = json.loads(data)
        return msg

    @staticmethod
    def _answer(conn: socket.socket, msg: dict[str, Any]) -> bool:
        if msg == {"p": 1}:
            conn.sendall(_frame(b'{"p":2}'))
            return True
        if "requestId" not in msg:
            return True
        fault, request_id = msg.get("fault", "ok"), msg["requestId"]
        if fault == "stall":
            return True  # this one is never answered; the connection goes on
        if fault == "drop":
            return False
        if fault == "reset":
            _reset(conn)
            return False
        if fault == "huge":
            conn.sendall(struct.pack("!BBQ", 0x81, 127, 1 << 30))
            return True  # the client drops the connection
        answer_id, error, status = request_id, None, 200
        if fault == "crossed":
            answer_id = "another-request"
        elif fault == "notfound":
            error, status = _NOT_FOUND, 404
        answer = {**_envelope(answer_id, msg.get("body"), error, status), "room": request_id}
        data = _frame(json.dumps(answer).encode())
        if fault == "drip":
            _drip(conn, data)
            return False
        conn.sendall(data)
        return True


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def peer() -> None:
    """Serve HTTP and WebSocket on two loopback ports until stdin closes."""
    http = _Server(("127.0.0.1", 0), _HTTPPeer)
    ws = _Server(("127.0.0.1", 0), _WSPeer)
    for server in (http, ws):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"{http.server_address[1]} {ws.server_address[1]}", flush=True)
    sys.stdin.read()  # the soak closes it when done


# -- the soak ------------------------------------------------------------------------------------


def _expected(fault: str, ws: bool) -> type[BaseException] | None:
    """The exception a fault must give (None: the call's own result)."""
    return {
        "ok": None,
        "stall": kuzzle_errors.RequestTimeoutError,
        "drop": kuzzle_errors.ConnectionLostError,
        "reset": kuzzle_errors.ConnectionLostError,
        "crossed": kuzzle_errors.InvalidResponseError,
        # WebSocket: frame_timeout (TIMEOUT / 2) drops the connection before the query's timeout.
        "drip": kuzzle_errors.ConnectionLostError if ws else kuzzle_errors.RequestTimeoutError,
        "huge": kuzzle_errors.ConnectionLostError if ws else kuzzle_errors.InvalidResponseError,
        "notfound": kuzzle_errors.NotFoundError,
        "surrogate": kuzzle_errors.BadRequestError,
        "bad_timeout": ValueError,
    }[fault]


def _request(n: int, fault: str) -> dict[str, Any]:
    body = {"n": n, "name": "caf\ud83d" if fault == "surrogate" else "café"}
    request = {"controller": "document", "action": "create", "index": "i", "collection": "c"}
    return {**request, "body": body, "fault": fault}


def _call_sync(client: Any, request: dict[str, Any], fault: str, ws: bool) -> Any:
    if fault == "bad_timeout":
        if ws:
            return client.query(request, timeout=math.inf)
        client.timeout = math.inf  # refused: the client keeps its timeout
    return client.query(request)


async def _call_async(client: Any, request: dict[str, Any], fault: str, ws: bool) -> Any:
    if fault == "bad_timeout":
        if ws:
            return await client.query(request, timeout=math.inf)
        client.timeout = math.inf
    return await client.query(request)


def _figures() -> tuple[int, int, int]:
    """Threads, open file descriptors, resident bytes of this process."""
    with open("/proc/self/statm") as statm:
        resident = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return threading.active_count(), len(os.listdir("/proc/self/fd")), resident


def soak(calls: int, seed: int) -> int:
    child = subprocess.Popen(
        [sys.executable, __file__, "--peer"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    assert child.stdin is not None
    http_port, ws_port = map(int, child.stdout.readline().split())
    loop = asyncio.new_event_loop()
    http_url, ws_url = f"http://127.0.0.1:{http_port}", f"ws://127.0.0.1:{ws_port}"
    bounds: dict[str, Any] = {
        "max_frame_bytes": MiB,
        "frame_timeout": TIMEOUT / 2,
        "connect": False,
    }
    clients: list[tuple[str, Any, bool, bool]] = [
        ("KuzzleHTTP", KuzzleHTTP(http_url, timeout=TIMEOUT, max_body_bytes=MiB), False, True),
        (
            "AsyncKuzzleHTTP",
            AsyncKuzzleHTTP(http_url, timeout=TIMEOUT, max_body_bytes=MiB),
            False,
            False,
        ),
        ("KuzzleWebSocket", KuzzleWebSocket(ws_url, timeout=TIMEOUT, **bounds), True, True),
        (
            "AsyncKuzzleWebSocket",
            AsyncKuzzleWebSocket(ws_url, timeout=TIMEOUT, **bounds),
            True,
            False,
        ),
    ]
    rng = random.Random(seed)
    faults = PEER_FAULTS + CLIENT_FAULTS
    outcomes: Counter[str] = Counter()
    unexpected: list[str] = []
    rows: list[tuple[int, float, int, int, int]] = []
    started = time.monotonic()
    print(f"{'calls':>6} {'seconds':>8} {'threads':>8} {'fds':>5} {'RSS MiB':>8}  faults so far")
    try:
        for n in range(calls):
            name, client, ws, sync = clients[n % len(clients)]
            fault = rng.choice(faults) if rng.random() < FAULT_RATE else "ok"
            request = _request(n, fault)
            try:
                if sync:
                    result = _call_sync(client, request, fault, ws)
                else:
                    result = loop.run_until_complete(_call_async(client, request, fault, ws))
                error: BaseException | None = None
            except (kuzzle_errors.KuzzleError, ValueError) as exc:
                result, error = None, exc
            expected = _expected(fault, ws)
            if expected is None:
                good = error is None and result == request["body"]
            else:
                good = isinstance(error, expected)
            outcomes[fault] += 1
            if not good:
                unexpected.append(f"call {n} {name} {fault}: {error!r} {result!r}"[:300])
            if (n + 1) % 1000 == 0 or n + 1 == calls:
                threads, fds, rss = _figures()
                rows.append((n + 1, time.monotonic() - started, threads, fds, rss))
                done = sum(count for fault, count in outcomes.items() if fault != "ok")
                print(
                    f"{n + 1:>6} {rows[-1][1]:>8.1f} {threads:>8} {fds:>5} "
                    f"{rss / MiB:>8.1f}  {done}"
                )
        pending = sum(client.pending for _, client, _, _ in clients)
    finally:
        for _, client, _, sync in clients:
            if sync:
                client.close()
            else:
                loop.run_until_complete(client.close())
        loop.close()
        child.stdin.close()
        child.wait(10)
    return _verdicts(rows, outcomes, unexpected, pending)


def _verdicts(
    rows: list[tuple[int, float, int, int, int]],
    outcomes: Counter[str],
    unexpected: list[str],
    pending: int,
) -> int:
    print("faults met:", ", ".join(f"{fault} {count}" for fault, count in sorted(outcomes.items())))
    warm, last = rows[0], rows[-1]
    verdicts = [
        (
            f"threads flat: {warm[2]} after {warm[0]} calls, {last[2]} at the end",
            last[2] <= warm[2],
        ),
        (
            f"file descriptors flat: {warm[3]} after {warm[0]} calls, {last[3]} at the end",
            last[3] <= warm[3],
        ),
        (
            f"RSS flat: {warm[4] / MiB:.1f} MiB after {warm[0]} calls, {last[4] / MiB:.1f} MiB "
            f"at the end ({(last[4] - warm[4]) / MiB:+.1f} MiB; bound {RSS_BOUND // MiB} MiB)",
            last[4] - warm[4] <= RSS_BOUND,
        ),
        (f"nothing pending at the end: {pending}", pending == 0),
        (f"every outcome the one its fault must give: {len(unexpected)} not", not unexpected),
    ]
    for line in unexpected[:10]:
        print("  unexpected:", line)
    for text, met in verdicts:
        print(("met:    " if met else "MISSED: ") + text)
    return 0 if all(met for _, met in verdicts) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        peer()
        return 0
    return soak(args.calls, args.seed)


if __name__ == "__main__":
    sys.exit(main())
