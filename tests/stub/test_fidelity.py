"""The stub answers like Kuzzle 2.56.0: every exchange recorded from a real node, replayed.

``kuzzle-transcripts/transcripts.jsonl`` holds 128 request/answer exchanges recorded from an
unmodified Kuzzle 2.56.0 node with its default limits (``kuzzle-transcripts/README.md``: how
they were recorded, what was normalised and how to compare). They are replayed in file order
against one stub with its default options, on the same transport and connection labels, with
bursts, waits and ``<jwt:LABEL>`` bound to the tokens the stub itself answers; a line with
``limits`` goes to a fresh stub started with those limits under Kuzzle's configuration names.
Each exchange then compares, as the README says: the status, the error (id, status, message
with placeholders; an envelope stays an envelope, a bare error a bare error), the result
(present or absent, same keys, JSON types, list lengths and booleans) and, over HTTP, the
``Content-Type`` and ``X-Kuzzle-Request-Id`` headers.

The rate-limit windows run on a frozen clock (``clock=``): the recorded "3 requests in one
second" were sent within one of Kuzzle's 1-second windows, and a real clock could split them.
Token expiry runs on real time (the recorded 2.5 s wait).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket

from kuzzle_errors.testing import StubKuzzle

DATA = Path(__file__).resolve().parent / "kuzzle-transcripts"
EXCHANGES: list[dict[str, Any]] = [
    json.loads(line) for line in (DATA / "transcripts.jsonl").read_text("utf-8").splitlines()
]
TIMEOUT = 5.0
# Placeholders matching any value, and those matching any value of one JSON type.
ANY = {"<ts>", "<jwt>", "<id>", "<uuid>", "<node>", "<json-error>"}
TYPED: dict[str, tuple[type, ...]] = {
    "<string>": (str,),
    "<number>": (int, float),
    "<boolean>": (bool,),
    "<object>": (dict,),
    "<array>": (list,),
}
JWT_REF = re.compile(r"<jwt:([^>]+)>")
PLACEHOLDER = re.compile(r"<[a-z-]+>")


def frozen_clock() -> float:
    return 0.0


@dataclass
class Answer:
    """What the stub answered to one exchange (``failure``: why there is no answer)."""

    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    failure: str | None = None


class Replay:
    """The replay's stubs, WebSocket connections and tokens, in file order."""

    def __init__(self) -> None:
        self.stubs: dict[str, StubKuzzle] = {}
        self.sockets: dict[str, websocket.WebSocket] = {}
        self.tokens: dict[str, str] = {}

    def stub_for(self, exchange: dict[str, Any]) -> StubKuzzle:
        limits = exchange.get("limits")
        key = json.dumps(limits, sort_keys=True)
        if key not in self.stubs:
            options: dict[str, Any] = {"clock": frozen_clock}
            if limits is not None:
                options["config"] = {"limits": limits}
            self.stubs[key] = StubKuzzle(**options).start()
        return self.stubs[key]

    def close(self) -> None:
        for ws in self.sockets.values():
            ws.close(timeout=1)
            ws.shutdown()  # type: ignore[no-untyped-call]  # a lost connection's close() leaves it open
        for stub in self.stubs.values():
            stub.stop()

    def bind(self, value: Any) -> Any:
        """``value`` with every ``<jwt:LABEL>`` replaced by the token bound to LABEL."""
        if isinstance(value, str):
            return JWT_REF.sub(lambda m: self.tokens.get(m.group(1), m.group(0)), value)
        if isinstance(value, dict):
            return {k: self.bind(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.bind(v) for v in value]
        return value

    def play(self, exchange: dict[str, Any]) -> Answer:
        if exchange.get("wait_before"):
            threading.Event().wait(exchange["wait_before"])
        request = exchange["request"]
        try:
            stub = self.stub_for(exchange)
            if exchange["transport"] == "http":
                answer = (
                    self._burst(stub, exchange)
                    if "burst" in exchange
                    else self._http(stub, request)
                )
            else:
                answer = self._websocket(stub, request)
        except Exception as exc:  # a missing answer is a mismatch, reported by name
            return Answer(failure=f"no answer: {type(exc).__name__}: {exc}")
        self._remember_token(exchange, answer)
        return answer

    def _http(self, stub: StubKuzzle, request: dict[str, Any]) -> Answer:
        headers = self.bind(request.get("headers", {}))
        data: bytes | None = None
        if "raw" in request:
            data = request["raw"].encode()
        elif "body" in request and request["body"] is not None:
            body = self.bind(request["body"])
            if "pad" in request:
                body = {**body, request["pad"]["field"]: "x" * request["pad"]["size"]}
            data = json.dumps(body).encode()
        resp = requests.request(
            request["method"],
            stub.url + request["path"],
            data=data,
            headers=headers,
            timeout=TIMEOUT,
        )
        return Answer(
            resp.status_code, resp.json(), {k.lower(): v for k, v in resp.headers.items()}
        )

    def _burst(self, stub: StubKuzzle, exchange: dict[str, Any]) -> Answer:
        """``burst`` copies at once, one connection each; the answer kept is one with the
        recorded status (the first answer when none has it)."""
        answers: list[Answer] = []
        start = threading.Barrier(exchange["burst"])

        def one() -> None:
            start.wait(TIMEOUT)
            answers.append(self._http(stub, exchange["request"]))

        threads = [threading.Thread(target=one) for _ in range(exchange["burst"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 2)
        wanted = [a for a in answers if a.status == exchange["response"]["status"]]
        return (wanted or answers or [Answer(failure="no answer at all")])[0]

    def _websocket(self, stub: StubKuzzle, request: dict[str, Any]) -> Answer:
        label = request["connection"]
        if label not in self.sockets:
            self.sockets[label] = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
        ws = self.sockets[label]
        if "raw" in request:
            ws.send(request["raw"])
            return Answer(*_status_and_body(json.loads(ws.recv())))
        frame = self.bind(request["frame"])
        ws.send(json.dumps(frame))
        while True:  # notifications may come first: the answer is the frame of this request
            message = json.loads(ws.recv())
            if message.get("requestId") == frame.get("requestId") and "type" not in message:
                return Answer(*_status_and_body(message))

    def _remember_token(self, exchange: dict[str, Any], answer: Answer) -> None:
        result = answer.body.get("result") if isinstance(answer.body, dict) else None
        if not (isinstance(result, dict) and isinstance(result.get("jwt"), str)):
            return
        request = exchange["request"]
        body = request.get("frame", {}).get("body") if "frame" in request else request.get("body")
        label = exchange.get("token_as") or (body or {}).get("username")
        if label:
            self.tokens[label] = result["jwt"]


def _status_and_body(message: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
    status = message.get("status")
    return (status if isinstance(status, int) else None), message


def text_matches(recorded: str, actual: object) -> bool:
    """A recorded message against the stub's: a placeholder in it matches any text."""
    if not isinstance(actual, str):
        return False
    parts = PLACEHOLDER.split(recorded)
    pattern = ".*".join(re.escape(part) for part in parts)
    return re.fullmatch(pattern, actual, re.S) is not None


def shape_mismatches(recorded: Any, actual: Any, where: str) -> list[str]:
    """Where ``actual`` differs from ``recorded`` in keys, JSON types, list lengths or
    booleans (other strings and numbers are not compared)."""
    if isinstance(recorded, str) and recorded in ANY:
        return []
    if isinstance(recorded, str) and recorded in TYPED:
        ok = isinstance(actual, TYPED[recorded]) and not (
            recorded == "<number>" and isinstance(actual, bool)
        )
        return [] if ok else [f"{where}: {actual!r} is not a {recorded}"]
    if isinstance(recorded, bool) or recorded is None:
        return [] if actual is recorded else [f"{where}: {actual!r}, Kuzzle {recorded!r}"]
    if isinstance(recorded, (int, float)):
        ok = isinstance(actual, (int, float)) and not isinstance(actual, bool)
        return [] if ok else [f"{where}: {actual!r} is not a number"]
    if isinstance(recorded, str):
        return [] if isinstance(actual, str) else [f"{where}: {actual!r} is not a string"]
    if isinstance(recorded, list):
        if not isinstance(actual, list):
            return [f"{where}: {type(actual).__name__}, Kuzzle a list"]
        if len(actual) != len(recorded):
            return [f"{where}: {len(actual)} items, Kuzzle {len(recorded)}"]
        out: list[str] = []
        for i, (r, a) in enumerate(zip(recorded, actual, strict=True)):
            out += shape_mismatches(r, a, f"{where}[{i}]")
        return out
    if not isinstance(actual, dict):
        return [f"{where}: {type(actual).__name__}, Kuzzle an object"]
    if set(actual) != set(recorded):
        return [f"{where}: keys {sorted(actual)}, Kuzzle {sorted(recorded)}"]
    out = []
    for key in recorded:
        out += shape_mismatches(recorded[key], actual[key], f"{where}.{key}")
    return out


def is_envelope(body: Any) -> bool:
    return isinstance(body, dict) and "requestId" in body and "error" in body


def mismatches(exchange: dict[str, Any], answer: Answer) -> list[str]:
    """How the stub's answer differs from Kuzzle's, as the README compares them."""
    if answer.failure is not None:
        return [answer.failure]
    recorded = exchange["response"]
    out: list[str] = []
    if answer.status != recorded["status"]:
        out.append(f"status {answer.status}, Kuzzle {recorded['status']}")
    want, got = recorded["body"], answer.body
    if is_envelope(want) != is_envelope(got):
        kind = "an envelope" if is_envelope(want) else "a bare error"
        return [*out, f"Kuzzle answers {kind}: {json.dumps(got)[:300]}"]
    want_error = want.get("error") if is_envelope(want) else want
    got_error = got.get("error") if is_envelope(got) else got
    if (want_error is None) != (got_error is None):
        return [*out, f"error {json.dumps(got_error)[:300]}, Kuzzle {json.dumps(want_error)[:300]}"]
    if want_error is not None:
        for key in ("id", "status"):
            if got_error.get(key) != want_error.get(key):
                out.append(f"error {key} {got_error.get(key)!r}, Kuzzle {want_error.get(key)!r}")
        if not text_matches(want_error["message"], got_error.get("message")):
            out.append(f"message {got_error.get('message')!r}, Kuzzle {want_error['message']!r}")
    if is_envelope(want):
        if ("result" in want) != ("result" in got):
            out.append(
                "result " + ("missing" if "result" in want else "present") + ", as Kuzzle's is not"
            )
        elif "result" in want:
            out += shape_mismatches(want["result"], got["result"], "result")
    if exchange["transport"] == "http":
        if not answer.headers.get("content-type", "").startswith("application/json"):
            out.append(f"content-type {answer.headers.get('content-type')!r}")
        has_id = "x-kuzzle-request-id" in answer.headers
        if has_id != ("x-kuzzle-request-id" in recorded["headers"]):
            out.append("X-Kuzzle-Request-Id " + ("sent" if has_id else "missing"))
    return out


@pytest.fixture(scope="module")
def replayed() -> Iterator[dict[str, list[str]]]:
    """Every exchange replayed once, in order: its mismatches by name."""
    replay = Replay()
    try:
        yield {
            exchange["name"]: mismatches(exchange, replay.play(exchange)) for exchange in EXCHANGES
        }
    finally:
        replay.close()


def test_every_exchange_is_replayed_once() -> None:
    names = [exchange["name"] for exchange in EXCHANGES]
    assert len(names) == len(set(names)) == 128
    assert {e["transport"] for e in EXCHANGES} == {"http", "websocket"}


@pytest.mark.parametrize("name", [e["name"] for e in EXCHANGES])
def test_the_stub_answers_like_kuzzle(replayed: dict[str, list[str]], name: str) -> None:
    assert replayed[name] == []


def test_the_comparison_can_fail() -> None:
    """The rules catch what they must: a wrong status, id, message, result shape."""
    exchange = next(e for e in EXCHANGES if e["name"] == "document:get a missing document")
    recorded = exchange["response"]
    good = Answer(
        recorded["status"],
        recorded["body"],
        {"content-type": "application/json", "x-kuzzle-request-id": "r"},
    )
    assert mismatches(exchange, good) == []
    wrong_message = json.loads(json.dumps(recorded["body"]))
    wrong_message["error"]["message"] = "Document not found."
    assert mismatches(exchange, Answer(404, wrong_message, good.headers))
    assert mismatches(exchange, Answer(500, recorded["body"], good.headers))
    assert mismatches(exchange, Answer(404, recorded["body"]["error"], good.headers))
    created = next(
        e for e in EXCHANGES if e["name"] == "document:create d1 (POST /shop/orders/d1/_create)"
    )
    body = json.loads(json.dumps(created["response"]["body"]))
    del body["result"]["_source"]["_kuzzle_info"]
    assert mismatches(created, Answer(200, body, good.headers))
    assert text_matches("Unable to parse <json-error>.", "Unable to parse x at 3.")
    assert not text_matches("Unable to parse <json-error>.", "Unable to read x.")
