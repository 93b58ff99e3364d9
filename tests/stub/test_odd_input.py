"""Never silent on odd input: any JSON a client can send (escapes, lone surrogates, deep
nesting, huge numbers, invalid UTF-8, Kuzzle requests with odd arguments) gets an answer
Kuzzle would give, over HTTP and WebSocket, and the request log records what was answered.

"An answer Kuzzle would give": a Kuzzle envelope or bare error whose status is the HTTP
status (the ``status`` field over WebSocket), whose error is a catalogued id or one of the
id-less errors Kuzzle throws while building a request, and that the library parses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kuzzle_errors import catalog, parse_response
from kuzzle_errors.testing import StubKuzzle

TIMEOUT = 5.0
DEEP = "[" * 250 + "]" * 250  # past the stub's 200 levels
# The errors Kuzzle throws with a message and no id (its Request constructor's checks).
ID_LESS = (
    "Input request data must be a non-null object",
    'Attribute body must be of type "object" or "array"',
    'Attribute volatile must be of type "object"',
    'Attribute jwt must be of type "string"',
    'Attribute controller must be of type "string"',
    'Attribute action must be of type "string"',
    'Attribute requestId must be of type "string"',
    "Username required.",
    "Password required.",
)

# Text with every code point, lone surrogates and escapes included.
text = st.text(st.characters(exclude_categories=()), max_size=20)
numbers = st.one_of(
    st.integers(),  # unbounded: longer than a double holds
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324, 0.1, -0.0]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(text | st.sampled_from(["_id", "body", "query"]), inner, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def deep(draw: st.DrawFn) -> Any:
    """A value nested up to 300 levels, past what the stub decodes (200)."""
    value: Any = draw(scalars)
    for _ in range(draw(st.integers(min_value=0, max_value=300))):
        value = [value] if draw(st.booleans()) else {"a": value}
    return value


CONTROLLERS = ["document", "realtime", "collection", "index", "bulk", "auth", "security", "server"]
ACTIONS = [
    "create",
    "get",
    "search",
    "count",
    "mCreate",
    "mGet",
    "mDelete",
    "update",
    "upsert",
    "subscribe",
    "publish",
    "join",
    "import",
    "login",
    "checkToken",
    "createUser",
    "list",
    "exists",
    "now",
]


@st.composite
def kuzzle_requests(draw: st.DrawFn) -> Any:
    """A Kuzzle request, often a plausible one, with odd arguments and bodies."""
    request: dict[str, Any] = {
        "controller": draw(st.sampled_from(CONTROLLERS) | values),
        "action": draw(st.sampled_from(ACTIONS) | values),
    }
    for key in (
        "index",
        "collection",
        "_id",
        "body",
        "volatile",
        "jwt",
        "requestId",
        "strict",
        "size",
        "from",
    ):
        if draw(st.booleans()):
            request[key] = draw(
                st.sampled_from(["shop", "orders"]) if key in ("index", "collection") else values
            )
    if draw(st.booleans()):
        request["body"] = draw(values | deep())
    return request


payloads = st.one_of(values, deep(), kuzzle_requests())


def encode(value: Any, ascii_only: bool) -> bytes:
    """JSON text for ``value``; a huge or non-finite float becomes a literal JSON can carry
    (1e400), and without ``ascii_only`` a lone surrogate becomes invalid UTF-8."""

    def floats(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return 1e308
        if isinstance(item, dict):
            return {k: floats(v) for k, v in item.items()}
        if isinstance(item, list):
            return [floats(v) for v in item]
        return item

    raw = json.dumps(floats(value), ensure_ascii=ascii_only)
    return raw.encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def stub() -> Iterator[StubKuzzle]:
    with StubKuzzle() as running:
        running.add_collection("shop", "orders")
        running.add_document("shop", "orders", "o1", {"n": 1})
        yield running


def assert_kuzzle_answer(body: object, status: int) -> None:
    assert isinstance(body, dict), body
    assert body.get("status") == status, body
    error = body.get("error") if "requestId" in body else body if status >= 400 else None
    if error is not None:
        assert isinstance(error, dict)
        if error.get("id") is None:
            assert error.get("message") in ID_LESS, error
        else:
            assert catalog.get(error["id"]) is not None, error
            assert error["status"] == status
    parse_response(json.dumps(body))  # total: raises nothing


@settings(
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payload=payloads,
    ascii_only=st.booleans(),
    garbage=st.sampled_from([b"", b"x", b"\xff\xfe", b"]"]),
)
def test_every_http_body_gets_an_answer(
    stub: StubKuzzle, payload: Any, ascii_only: bool, garbage: bytes
) -> None:
    data = encode(payload, ascii_only) + garbage
    answer = requests.post(
        f"{stub.url}/_query",
        data=data,
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert_kuzzle_answer(answer.json(), answer.status_code)
    assert stub.requests[-1].status == answer.status_code  # the log says what was answered


@pytest.fixture(scope="module")
def socket(stub: StubKuzzle) -> Iterator[websocket.WebSocket]:
    ws = websocket.create_connection(stub.ws_url, timeout=TIMEOUT)
    yield ws
    ws.close(timeout=1)
    ws.shutdown()  # type: ignore[no-untyped-call]


@settings(
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=payloads, garbage=st.sampled_from(["", "x", "]", "\u00ff"]))
@example(payload=None, garbage="")
@example(payload={"p": 1.0}, garbage="")
@example(payload={"p": True}, garbage="")
@example(payload={"controller": "server", "action": "now", "requestId": 5}, garbage="")
@example(
    payload={
        "controller": "realtime",
        "action": "subscribe",
        "index": "i",
        "collection": "c",
        "body": {"and": [{"or": [{"not": {"nothing": {}}}]}]},
    },
    garbage="",
)
@example(payload={"controller": "server", "action": "now", "volatile": {"s": "\ud800"}}, garbage="")
@example(payload=json.loads(DEEP), garbage="")
def test_every_websocket_frame_gets_an_answer(
    stub: StubKuzzle, socket: websocket.WebSocket, payload: Any, garbage: str
) -> None:
    frame = encode(payload, ascii_only=True).decode() + garbage  # a text frame is UTF-8
    if isinstance(payload, dict) and isinstance(payload.get("requestId"), str):
        payload = {**payload, "requestId": "odd-" + payload["requestId"]}
        frame = json.dumps(payload) + garbage
    socket.send(frame)
    while True:  # answers only: a notification this request triggered may come first
        message = json.loads(socket.recv())
        if message.get("type") not in ("document", "user", "TokenExpired"):
            break
    if message == {"p": 2}:  # Kuzzle's pong: {"p": 1} (1.0 too, JavaScript's 1) is a ping
        return
    status = message.get("status")
    assert isinstance(status, int)
    assert_kuzzle_answer(message, status)
    if (
        message.get("type") is None
        and isinstance(payload, dict)
        and not garbage
        and "room" in message
    ):
        assert message["room"] == message["requestId"]
