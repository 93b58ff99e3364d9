"""A loopback TCP server whose every connection runs a test's script: hostile peers on demand.

Used to drip a WebSocket handshake or a frame a byte at a time, or an HTTP head or body,
which no well-behaved server library will do.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

Script = Callable[[socket.socket, int], None]  # (connection, its number from 0)

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class RawServer:
    """Accepts connections on 127.0.0.1 and runs ``script(conn, n)`` for each in a thread."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.02)  # how often the accept loop looks for close()
        self.port: int = self._sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            n = self.connections
            self.connections += 1
            self._conns.append(conn)
            thread = threading.Thread(target=self._run, args=(conn, n), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, conn: socket.socket, n: int) -> None:
        with contextlib.suppress(OSError), conn:
            self.script(conn, n)

    def close(self) -> None:
        self._stop.set()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        for thread in self._threads:
            thread.join(5)
        self._sock.close()


def unused_port() -> int:
    """A loopback port nobody listens on (bound, then released): connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.contextmanager
def raw_server(script: Script) -> Iterator[RawServer]:
    server = RawServer(script)
    try:
        yield server
    finally:
        server.close()


def read_head(conn: socket.socket) -> bytes:
    """The request head (up to the blank line), bounded."""
    data = b""
    conn.settimeout(5)
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def replying(data: bytes) -> Script:
    """A script that reads the request head, sends ``data`` as the whole answer, and hangs up."""

    def script(conn: socket.socket, n: int) -> None:
        read_head(conn)
        conn.sendall(data)

    return script


def read_body(conn: socket.socket, head: bytes) -> bytes:
    """The body of a request whose head is ``head`` (Content-Length only)."""
    top, _, rest = head.partition(b"\r\n\r\n")
    length = 0
    for line in top.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return rest[:length]


def handshake_answer(head: bytes) -> bytes:
    """The 101 answer to the WebSocket upgrade request ``head``."""
    key = b""
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


def text_frame(text: str) -> bytes:
    """One unmasked text frame (server to client)."""
    data = text.encode()
    if len(data) < 126:
        head = struct.pack("!BB", 0x81, len(data))
    elif len(data) < 65536:
        head = struct.pack("!BBH", 0x81, 126, len(data))
    else:
        head = struct.pack("!BBQ", 0x81, 127, len(data))
    return head + data


def read_frame(conn: socket.socket) -> str | None:
    """One masked client text frame (None when the client goes)."""

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    try:
        b1, b2 = exactly(2)
        length = b2 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", exactly(8))
        mask = exactly(4) if b2 & 0x80 else b"\0\0\0\0"
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(exactly(length)))
    except (EOFError, OSError):
        return None
    if b1 & 0x0F == 0x8:  # close
        return None
    return payload.decode("utf-8", "replace")


def echo_kuzzle(conn: socket.socket) -> None:
    """Answer every query on an accepted WebSocket with its body, Kuzzle style."""
    while True:
        text = read_frame(conn)
        if text is None:
            return
        msg: dict[str, Any] = json.loads(text)
        if msg == {"p": 1}:
            conn.sendall(text_frame('{"p":2}'))
            continue
        answer = {
            "status": 200,
            "error": None,
            "result": msg.get("body"),
            "requestId": msg["requestId"],
            "room": msg["requestId"],
        }
        conn.sendall(text_frame(json.dumps(answer)))


def drip(conn: socket.socket, data: bytes, every: float, stop: Callable[[], bool]) -> None:
    """Send ``data`` one byte every ``every`` seconds until done or ``stop()``."""
    for byte in data:
        if stop():
            return
        conn.sendall(bytes([byte]))
        time.sleep(every)
