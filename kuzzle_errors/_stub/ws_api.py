"""Kuzzle's WebSocket protocol in the stub, on ``websockets``' sans-I/O server protocol.

An HTTP connection whose request asks for an upgrade is handed over here; each message is
answered as Kuzzle's WebSocket entry point does (``room``, ``{"p":1}`` pings, per-socket rate
limit, invalid requests), through the same funnel as HTTP.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from kuzzle_errors._stub.funnel import Funnel, invalid_request
from kuzzle_errors._stub.payloads import (
    decode_json,
    decode_json_or_none,
    encode_json,
    make_error,
    make_notification,
    str_or_none,
)
from kuzzle_errors._stub.realtime import SERVER_CHANNEL
from kuzzle_errors._stub.request import Call
from kuzzle_errors._stub.security import Token
from kuzzle_errors._stub.state import RecordedRequest, StubState

if TYPE_CHECKING:
    from websockets.server import ServerProtocol

    from kuzzle_errors._aio import TaskSet
    from kuzzle_errors._stub.http_wire import HttpWire


#: Kuzzle's notification to a connection whose token expired (``lib/core/realtime/notifier.js``).
TOKEN_EXPIRED: Final = {
    "status": 200,
    "info": "This is an automated server notification",
    "message": "Authentication Token Expired",
    "type": "TokenExpired",
    "room": SERVER_CHANNEL,
}


class WsConn:
    """One open WebSocket: its sans-I/O protocol and the writer that carries its bytes.

    ``id`` numbers the TCP connection (the request log's), ``kuzzle_id`` is Kuzzle's
    connection id (a UUID, as in ``core.realtime.not_subscribed`` messages).
    """

    def __init__(self, ident: int, protocol: ServerProtocol, writer: asyncio.StreamWriter):
        self.id = ident
        self.kuzzle_id = str(uuid.uuid4())
        self.protocol = protocol
        self.writer = writer
        self.closed: bool = False

    def flush(self) -> bool:
        """Write what the protocol produced; False once it asks for the TCP side to end."""
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.writer.write(chunk)
            else:
                return False
        return True

    @property
    def open(self) -> bool:
        # By name: websockets is imported on the first upgrade, not with this module.
        return not self.closed and self.protocol.state.name == "OPEN"

    def send(self, data: str | bytes) -> None:
        if not self.open:
            return
        if isinstance(data, str):
            self.protocol.send_text(data.encode())
        else:
            self.protocol.send_binary(data)
        self.flush()

    def send_json(self, data: object) -> None:
        self.send(encode_json(data).decode())  # a text frame, as Kuzzle's answers are

    def drop(self, code: int | None, reason: str) -> None:
        """Abort the TCP connection, or send a close frame with ``code`` and hang up."""
        if self.closed:
            return
        if code is None or not self.open:
            self.writer.transport.abort()
        else:
            self.protocol.send_close(code, reason)
            self.flush()
            self.writer.close()
        self.closed = True

    def end(self) -> None:
        """End the TCP connection without a close frame, what is written flushed first (a
        node's process exiting)."""
        if not self.closed:
            self.writer.close()
            self.closed = True


class WebSocketApi:
    """Every open WebSocket of one stub, and the answers to their messages."""

    def __init__(self, state: StubState, funnel: Funnel, tasks: TaskSet) -> None:
        self.state = state
        self.funnel = funnel
        self._tasks = tasks  # the message handlers, cancelled when the stub stops
        self.sockets: set[WsConn] = set()
        self._by_kuzzle_id: dict[str, WsConn] = {}
        state.realtime.send = self.send_to
        state.security.on_expiry = self.token_expired

    def send_to(self, connection: str, frame: dict[str, Any]) -> None:
        """Send one frame to the WebSocket with Kuzzle connection id ``connection``."""
        ws = self._by_kuzzle_id.get(connection)
        if ws is not None:
            ws.send_json(frame)

    def token_expired(self, token: Token) -> None:
        """Kuzzle's ``notifyTokenExpired``: tell each linked connection, then forget its
        subscriptions (the socket stays open)."""
        for connection in list(token.connections):
            self.send_to(connection, dict(TOKEN_EXPIRED))
            self.state.realtime.remove_connection(connection)

    def end_all(self) -> None:
        for ws in list(self.sockets):
            ws.end()

    def drop_all(self, code: int | None, reason: str) -> int:
        sockets = list(self.sockets)
        for ws in sockets:
            ws.drop(code, reason)
        return len(sockets)

    def broadcast(self, data: str | bytes) -> int:
        sockets = [ws for ws in self.sockets if not ws.closed]
        for ws in sockets:
            ws.send(data)
        return len(sockets)

    async def serve(self, wire: HttpWire, conn: int) -> None:
        """Complete the WebSocket handshake of the request ``wire`` just read, then serve it."""
        try:
            from websockets.exceptions import PayloadTooBig
            from websockets.frames import Frame, Opcode
            from websockets.http11 import Request
            from websockets.server import ServerProtocol
        except ImportError:  # pragma: no cover - the "stub" extra is missing
            body = b"WebSocket needs the 'websockets' package (the 'stub' extra)\n"
            wire.respond(501, [("Connection", "close")], body, "Not Implemented")
            return
        protocol = ServerProtocol(max_size=self.state.max_request_size)
        protocol.receive_data(wire.upgrade_bytes())
        events = protocol.events_received()
        if not events or not isinstance(events[0], Request):
            return
        protocol.send_response(protocol.accept(events[0]))
        ws = WsConn(conn, protocol, wire.writer)
        if not ws.flush() or not ws.open:
            return
        self.sockets.add(ws)
        self._by_kuzzle_id[ws.kuzzle_id] = ws
        fragments: list[bytes] = []  # the frames of a fragmented message
        try:
            while not ws.closed:
                data = await wire.reader.read(65536)
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
                        self._tasks.spawn(self._on_message(ws, message), "request handler")
                if isinstance(protocol.parser_exc, PayloadTooBig):
                    # uWebSockets drops an oversized message's socket without a close frame.
                    ws.drop(None, "")
                    return
                if not ws.flush() or not data:
                    return
        finally:
            ws.closed = True
            self.sockets.discard(ws)
            self._by_kuzzle_id.pop(ws.kuzzle_id, None)
            with self.state.lock:  # Kuzzle's connection:remove: its rooms, its token link
                self.state.realtime.remove_connection(ws.kuzzle_id)
                self.state.security.unlink(ws.kuzzle_id)

    async def _on_message(self, ws: WsConn, data: bytes) -> None:
        if not data:
            return  # Kuzzle ignores an empty message
        state = self.state
        if not state.socket_allowed(ws.id):
            # Refused before parsing: a random request id and no room, as Kuzzle does.
            parsed = decode_json_or_none(data)
            payload = parsed if isinstance(parsed, dict) else None
            self._refuse(ws, payload, make_error("network.websocket.ratelimit_exceeded"))
            return
        try:
            parsed = decode_json(data)
        except ValueError as exc:
            self._refuse(ws, None, make_error("network.websocket.unexpected_error", str(exc)))
            return
        if isinstance(parsed, dict) and list(parsed) == ["p"] and _is_one(parsed["p"]):
            ws.send('{"p":2}')
            return
        payload = parsed if isinstance(parsed, dict) else {}
        raw_id = payload.get("requestId")
        invalid = invalid_request(parsed)
        if invalid is not None:
            # The client's requestId is echoed (Kuzzle >= 2.17.1) but there is still no room.
            self._refuse(ws, payload, invalid, raw_id or None)
            return
        record = state.record(_recorded(ws.id, payload))
        request_id = raw_id if isinstance(raw_id, str) and raw_id else str(uuid.uuid4())
        record.request_id = request_id

        call = Call(payload, "websocket", request_id, ws.kuzzle_id)
        envelope, effects = await self.funnel.execute(call)
        if envelope is None:
            drop = effects.drop
            self.drop_all(drop.code if drop else None, drop.reason if drop else "")
            return
        if effects.interleave_room is not None:
            ws.send_json(
                make_notification(
                    effects.interleave_room,
                    request_id=request_id,
                    index=str_or_none(payload.get("index")) or "index",
                    collection=str_or_none(payload.get("collection")) or "collection",
                )
            )
        if effects.garbage is not None:
            ws.send(effects.garbage)
        envelope["room"] = request_id
        record.status = envelope["status"]
        ws.send_json(envelope)

    def _refuse(
        self,
        ws: WsConn,
        payload: dict[str, Any] | None,
        error: dict[str, Any],
        request_id: object = None,
    ) -> None:
        """Record and answer a message refused before the funnel: no room, no context."""
        record = self.state.record(_recorded(ws.id, payload))
        record.status = error["status"]
        ws.send_json(self.state.envelope({}, request_id, error=error))


def _is_one(value: object) -> bool:
    # Kuzzle's ping test is JavaScript's `p === 1`: 1.0 is 1, true is not.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 1


def _recorded(conn: int, payload: dict[str, Any] | None) -> RecordedRequest:
    fields: Mapping[str, Any] = payload or {}
    return RecordedRequest(
        "websocket",
        str_or_none(fields.get("controller")),
        str_or_none(fields.get("action")),
        str_or_none(fields.get("requestId")),
        payload,
        jwt=str_or_none(fields.get("jwt")),
        connection=conn,
    )
