"""WebSocket helpers the stub's tests share (a plain module on pytest's ``pythonpath``):
Kuzzle requests as frames, answers as dicts, a hang-up that always frees the socket."""

from __future__ import annotations

import json
from typing import Any

import websocket


def send(
    ws: websocket.WebSocket, request_id: str, controller: str, action: str, **extra: Any
) -> None:
    ws.send(
        json.dumps({"controller": controller, "action": action, "requestId": request_id, **extra})
    )


def recv(ws: websocket.WebSocket) -> dict[str, Any]:
    message = json.loads(ws.recv())
    assert isinstance(message, dict)
    return message


def hang_up(ws: websocket.WebSocket) -> None:
    """Close the client side, even when the server already cut the connection (a lost
    connection's close() alone leaves the socket open)."""
    ws.close(timeout=1)
    ws.shutdown()  # type: ignore[no-untyped-call]
