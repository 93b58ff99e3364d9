"""HTTP/1.1 framing for the stub: h11's sans-I/O connection over one asyncio stream.

h11 parses request heads, ``Content-Length`` and chunked bodies, keep-alive and pipelining;
this module only moves bytes between it and the socket and bounds what a client may make
the stub hold. What Kuzzle answers is decided in :mod:`kuzzle_errors._stub.http_api`.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from dataclasses import dataclass
from typing import Final

import h11

HEAD_LIMIT: Final = 64 * 1024  # bytes of request line + headers (or of a chunk-size line)
_DRAIN_LIMIT: Final = 16 * 1024 * 1024  # unread body bytes swallowed to keep the socket usable
_IO_TIMEOUT: Final = 10.0  # a client stalled mid-request never pins a handler forever
_READ_SIZE: Final = 16 * 1024  # small reads keep h11's head limit (checked between reads) tight
_LINGER_LIMIT: Final = 1024 * 1024  # bytes swallowed after the last answer before closing
_LINGER_TIME: Final = 1.0


@dataclass
class HttpHead:
    """A request line and its headers (names in lower case, repeated ones joined by ", ")."""

    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]

    def content_length(self) -> int:
        return int(self.headers.get("content-length", 0))  # h11 checked it is digits


class FramingError(Exception):
    """The client broke HTTP/1.1 framing (``status``: h11's advice); the connection cannot
    carry another request."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.status = status


def _head(event: h11.Request) -> HttpHead:
    headers: dict[str, str] = {}
    for raw_name, raw_value in event.headers:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    target = event.target.decode("latin-1")
    split = urllib.parse.urlsplit(target)
    query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
    method = event.method.decode("latin-1").upper()
    return HttpHead(method, target, split.path or "/", query, headers)


class HttpWire:
    """One TCP connection's HTTP/1.1 exchanges, request after request (keep-alive)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=HEAD_LIMIT)
        self._request: h11.Request | None = None
        self._head: HttpHead | None = None

    async def _next_event(self, timeout: float | None) -> object:
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                # h11 keeps the offending bytes in its message: an error id's props stay short.
                raise FramingError(str(exc)[:100], exc.error_status_hint) from None
            if event is not h11.NEED_DATA:
                return event
            read = self.reader.read(_READ_SIZE)
            self._h11.receive_data(await asyncio.wait_for(read, timeout) if timeout else await read)

    async def next_request(self) -> HttpHead | None:
        """The next request's head; None once the client has closed the connection."""
        if self._request is not None:
            if self._h11.our_state is not h11.DONE or self._h11.their_state is not h11.DONE:
                return None  # a side asked to close, or left its message unfinished
            self._h11.start_next_cycle()
            self._request = self._head = None
        event = await self._next_event(None)  # an idle keep-alive connection may wait forever
        if not isinstance(event, h11.Request):
            return None
        self._request, self._head = event, _head(event)
        return self._head

    async def read_body(self, limit: int) -> bytes | None:
        """The whole body (chunked or not); None once it outgrows ``limit`` bytes (Kuzzle
        enforces the limit while streaming too: the rest is not kept)."""
        if self._h11.they_are_waiting_for_100_continue:  # curl, for one, waits before a body
            self.writer.write(
                self._h11.send(h11.InformationalResponse(status_code=100, headers=[]))
            )
        body = bytearray()
        while True:
            event = await self._next_event(_IO_TIMEOUT)
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > limit:
                    return None
            elif isinstance(event, h11.EndOfMessage):
                return bytes(body)
            else:  # ConnectionClosed mid-body
                raise ConnectionResetError("the client closed the connection mid-request")

    async def drain(self) -> bool:
        """Swallow the rest of an unread body so the answer is not lost to a TCP reset.

        False when it is too large to be worth reading (the connection must then close).
        """
        if self._h11.their_state is not h11.SEND_BODY:
            return self._h11.their_state is h11.DONE
        length = self._head.content_length() if self._head is not None else 0
        if self._h11.they_are_waiting_for_100_continue or length > _DRAIN_LIMIT:
            return False  # the client did not send it yet, or it is too big to swallow
        seen = 0
        while True:
            try:
                event = await self._next_event(_IO_TIMEOUT)
            except FramingError:
                return False
            if isinstance(event, h11.Data):
                seen += len(event.data)
                if seen > _DRAIN_LIMIT:
                    return False
            else:
                return isinstance(event, h11.EndOfMessage)

    def respond(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        reason: str = "",
        *,
        head_only: bool = False,
    ) -> None:
        """Write one complete answer (``head_only``: the head of a HEAD request's answer)."""
        response = h11.Response(
            status_code=status,
            headers=[*headers, ("Content-Length", str(len(body)))],
            reason=reason.encode("latin-1"),
        )
        data = self._h11.send(response)
        if not reason:
            # uWebSockets writes the status line with no reason phrase: "HTTP/1.1 503".
            data = data.replace(b" \r\n", b"\r\n", 1)
        if body and not head_only:
            data += self._h11.send(h11.Data(data=body))
        self.writer.write(data + self._h11.send(h11.EndOfMessage()))

    async def linger(self) -> None:
        """Half-close, then swallow what the client still sends (bounded) before closing.

        Closing a socket with unread bytes makes the kernel send a reset, which can destroy
        the answer just written before the client reads it (an oversized or broken body).
        """
        if self.writer.transport.is_closing():
            return
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError, RuntimeError, OSError):
            await asyncio.wait_for(self._swallow(), _LINGER_TIME)

    async def _swallow(self) -> None:
        await self.writer.drain()
        if self.writer.can_write_eof():
            self.writer.write_eof()
        seen = 0
        while seen < _LINGER_LIMIT:
            data = await self.reader.read(_READ_SIZE)
            if not data:
                return
            seen += len(data)

    def upgrade_bytes(self) -> bytes:
        """The upgrade request as received, then any bytes the client sent after it."""
        request = self._request
        assert request is not None
        lines = [b"%s %s HTTP/%s" % (request.method, request.target, request.http_version)]
        lines += [b"%s: %s" % pair for pair in request.headers.raw_items()]
        trailing, _closed = self._h11.trailing_data
        return b"\r\n".join(lines) + b"\r\n\r\n" + trailing
