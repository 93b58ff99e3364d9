"""The stub's realtime frames are Kuzzle 2.56.0's: ``kuzzle-transcripts/realtime-frames.jsonl``
replayed, case by case, frame by frame.

The file is the time-ordered log of a real node's realtime exchanges (README there): frames
sent and received on raw WebSocket connections, HTTP writes, a token expiring, a SIGTERM with
requests in flight. It is replayed in order against one stub started with ``node=None`` (Kuzzle
2.56 sends no node id); each frame a connection received is read from the same connection
of the stub, in that connection's order, and compared:

- the same keys, at every level (the keys of ``realtime:list``'s rooms included), the same
  booleans, nulls and list lengths, the same strings and numbers, except: timestamps
  (``timestamp``, ``createdAt``, ``updatedAt``, ``expiresAt``, ``now``) are numbers, a UUID
  (a generated request or connection id) is any string, ``<jwt>`` any token, and a room id
  (64 hex digits) is bound to the stub's on first sight, so the same room stays the same
  room and a channel keeps its three digits;
- a ``_kuzzle_info`` may hold more than recorded: the recording's Elasticsearch stand-in
  replaced it on a partial update, where Elasticsearch (and the stub) merge it.

The Elasticsearch freeze of the shutdown case is played with :meth:`StubKuzzle.slow` on the
requests it held, the SIGTERM with :meth:`StubKuzzle.shutdown`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket

from kuzzle_errors.testing import StubKuzzle

EVENTS: list[dict[str, Any]] = [
    json.loads(line)
    for line in (Path(__file__).resolve().parent / "kuzzle-transcripts" / "realtime-frames.jsonl")
    .read_text("utf-8")
    .splitlines()
]
CASES = list(dict.fromkeys(event["case"] for event in EVENTS))
TIMEOUT = 5.0
PASSWORD = "pw"  # the recording's "<password>"
TIMESTAMPS = {"timestamp", "createdAt", "updatedAt", "expiresAt", "now"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ROOM = re.compile(r"[0-9a-f]{64}")


class FrameReplay:
    """The stub, the connections by label, their tokens, and the room ids seen."""

    def __init__(self) -> None:
        self.stub = StubKuzzle(node=None).start()
        self.sockets: dict[str, websocket.WebSocket] = {}
        self.tokens: dict[str, str] = {}
        self.rooms: dict[str, str] = {}  # recorded room id: the stub's
        self.http_answer: requests.Response | None = None
        self.sent = 0  # requests sent so far

    def close(self) -> None:
        for ws in self.sockets.values():
            ws.close(timeout=1)
            ws.shutdown()  # type: ignore[no-untyped-call]  # a lost connection's close() leaves it open
        self.stub.stop()

    def socket(self, label: str) -> websocket.WebSocket:
        if label not in self.sockets:
            self.sockets[label] = websocket.create_connection(self.stub.ws_url, timeout=TIMEOUT)
        return self.sockets[label]

    def fill(self, value: Any, label: str) -> Any:
        """A recorded frame to send: its ``<jwt>`` is this connection's token, its password
        ours, its room ids the stub's."""
        if value == "<jwt>":
            return self.tokens.get(label, value)
        if value == "<password>":
            return PASSWORD
        if isinstance(value, str) and ROOM.fullmatch(value):
            return self.rooms.get(value, value)
        if isinstance(value, dict):
            return {k: self.fill(v, label) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v, label) for v in value]
        return value

    def play(self, event: dict[str, Any]) -> list[str]:
        """Play one event; what differs from the recording (nothing for most events)."""
        kind, label = event["dir"], event["conn"]
        if kind == "ws-open":
            self.socket(label)
        elif kind == "ws->":
            self.sent += 1
            self.socket(label).send(json.dumps(self.fill(event["frame"], label)))
        elif kind == "ws<-":
            frame = json.loads(self.socket(label).recv())
            result = frame.get("result")
            if isinstance(result, dict) and isinstance(result.get("jwt"), str):
                self.tokens[label] = result["jwt"]
            return self.compare(event["frame"], frame, f"{label}")
        elif kind == "ws-close->":
            self.sockets.pop(label).close()
        elif kind == "ws-eof":
            return self.eof(label)
        elif kind == "http->":
            self.sent += 1
            request = event["frame"]
            body = self.fill(request["body"], label)
            self.http_answer = requests.request(
                request["method"], self.stub.url + request["path"], json=body, timeout=TIMEOUT
            )
        elif kind == "http<-":
            answer, self.http_answer = self.http_answer, None
            if answer is None:
                return ["no HTTP answer"]
            out = [] if answer.status_code == event["status"] else [f"status {answer.status_code}"]
            return out + self.compare(event["frame"], answer.json(), "http")
        elif kind == "signal":
            self.signal(event)
        return []  # notes, node logs and close acknowledgements: nothing to play

    def signal(self, event: dict[str, Any]) -> None:
        if event["signal"] == "SIGSTOP":  # the storage freezes: the next three reads wait
            self.stub.slow("document", "get", 1.0, times=3)
        elif event["signal"] == "SIGTERM":
            # The recorded SIGTERM came once the node had the requests sent before it.
            self.stub.wait_for_requests(self.sent, TIMEOUT)
            self.stub.shutdown()

    def eof(self, label: str) -> list[str]:
        ws = self.sockets.pop(label)
        try:
            frame = ws.recv()
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return []
        finally:
            ws.close(timeout=1)
            ws.shutdown()  # type: ignore[no-untyped-call]
        return [f"{label}: {frame!r}, Kuzzle ends the connection without a close frame"]

    def room(self, recorded: str, actual: object) -> bool:
        """Bind a recorded room id to the stub's (once), then hold the stub to it."""
        if not isinstance(actual, str) or not ROOM.fullmatch(actual):
            return False
        return self.rooms.setdefault(recorded, actual) == actual

    def text(self, recorded: str, actual: object) -> bool:
        if not isinstance(actual, str):
            return False
        if recorded in ("<jwt>", "<password>") or UUID.fullmatch(recorded):
            return True
        parts = re.split(f"({UUID.pattern}|{ROOM.pattern})", recorded)
        pattern = ""
        for part in parts:
            if UUID.fullmatch(part):
                pattern += UUID.pattern
            elif ROOM.fullmatch(part):
                pattern += (
                    re.escape(self.rooms[part]) if part in self.rooms else f"({ROOM.pattern})"
                )
            else:
                pattern += re.escape(part)
        match = re.fullmatch(pattern, actual)
        if match is None:
            return False
        rooms = iter(match.groups())
        return all(
            self.room(part, next(rooms))
            for part in parts
            if ROOM.fullmatch(part) and part not in self.rooms
        )

    def compare(self, recorded: Any, actual: Any, where: str) -> list[str]:
        if isinstance(recorded, dict):
            if not isinstance(actual, dict):
                return [f"{where}: {actual!r}, Kuzzle an object"]
            keys = {}
            for key in recorded:
                if ROOM.fullmatch(key):
                    bound = [k for k in actual if self.rooms.get(key, k) == k and ROOM.fullmatch(k)]
                    found = self.rooms.get(key) or (bound[0] if len(bound) == 1 else None)
                    if found is None or not self.room(key, found):
                        return [f"{where}: no room for {key[:8]}… in {sorted(actual)}"]
                    keys[key] = found
                else:
                    keys[key] = key
            if where.endswith("_kuzzle_info"):
                missing = set(keys.values()) - set(actual)
                if missing:
                    return [f"{where}: keys {sorted(actual)}, Kuzzle {sorted(recorded)}"]
            elif set(keys.values()) != set(actual):
                return [f"{where}: keys {sorted(actual)}, Kuzzle {sorted(recorded)}"]
            out: list[str] = []
            for key, value in recorded.items():
                out += self.compare(value, actual[keys[key]], f"{where}.{key}")
            return out
        if isinstance(recorded, list):
            if not isinstance(actual, list) or len(actual) != len(recorded):
                return [f"{where}: {actual!r}, Kuzzle {recorded!r}"]
            out = []
            for i, (r, a) in enumerate(zip(recorded, actual, strict=True)):
                out += self.compare(r, a, f"{where}[{i}]")
            return out
        if isinstance(recorded, str):
            return (
                [] if self.text(recorded, actual) else [f"{where}: {actual!r}, Kuzzle {recorded!r}"]
            )
        if where.rsplit(".", 1)[-1] in TIMESTAMPS and isinstance(recorded, (int, float)):
            ok = isinstance(actual, (int, float)) and not isinstance(actual, bool)
            return [] if ok else [f"{where}: {actual!r} is not a timestamp"]
        same = actual == recorded and type(actual) is type(recorded)
        return [] if same else [f"{where}: {actual!r}, Kuzzle {recorded!r}"]


@pytest.fixture(scope="module")
def replayed() -> Iterator[dict[str, list[str]]]:
    """Every event played in order: each case's differences."""
    replay = FrameReplay()
    found: dict[str, list[str]] = {case: [] for case in CASES}
    try:
        for event in EVENTS:
            try:
                found[event["case"]] += replay.play(event)
            except Exception as exc:  # a missing frame is a difference, reported by case
                found[event["case"]].append(f"{event['conn']} {event['dir']}: {exc!r}")
        yield found
    finally:
        replay.close()


def test_every_case_is_replayed() -> None:
    assert len(CASES) == 17
    assert sum(event["dir"] == "ws<-" for event in EVENTS) == 84


@pytest.mark.parametrize("case", CASES)
def test_the_stub_sends_kuzzles_frames(replayed: dict[str, list[str]], case: str) -> None:
    assert replayed[case] == []


def test_the_frame_comparison_can_fail() -> None:
    replay = FrameReplay()
    try:
        room = "a" * 64
        assert replay.compare({"room": f"{room}-111"}, {"room": "b" * 64 + "-111"}, "x") == []
        assert replay.compare({"room": f"{room}-111"}, {"room": "c" * 64 + "-111"}, "x")
        assert replay.compare({"room": f"{room}-111"}, {"room": "b" * 64 + "-311"}, "x")
        assert replay.compare({"volatile": None}, {"volatile": {}}, "x")
        assert replay.compare({"a": 1}, {"a": 1, "node": "n"}, "x")
        assert replay.compare({"timestamp": 5}, {"timestamp": 7}, "x") == []
        assert replay.compare({"count": 2}, {"count": 3}, "x")
    finally:
        replay.close()
