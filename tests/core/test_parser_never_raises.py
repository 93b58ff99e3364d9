"""The parser is total: whatever it is given, a KuzzleError or None, never another exception."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kuzzle_errors import (
    KuzzleError,
    PartialError,
    PartialItem,
    parse_error,
    parse_response,
    parser,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)

KEYS = [
    "error",
    "status",
    "id",
    "code",
    "message",
    "props",
    "errors",
    "count",
    "result",
    "requestId",
    "room",
    "error_code",
    "error_message",
    "details",
    "stack",
    "node",
]
kuzzle_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=30)
    | st.sampled_from(
        ["api.process.overloaded", "0x02020002", "503", 206, 400, 503, "services.storage.not_found"]
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=6)
    ),
    max_leaves=25,
)
statuses = st.none() | st.integers(min_value=-5, max_value=1000) | st.sampled_from(["503", "x"])
headers = st.none() | st.dictionaries(
    st.sampled_from(["Retry-After", "X-Kuzzle-Node", "Content-Type", "X-Kuzzle-Request-Id"]),
    st.text(max_size=30),
)
transports = st.sampled_from([None, "http", "websocket"])


@pytest.fixture(autouse=True)
def no_safety_net(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser's last-resort ``except Exception`` must never be what makes it total."""

    def fail(raw: object, exc: BaseException, *args: object) -> None:
        raise AssertionError(f"the parser's safety net caught {exc!r}") from exc

    monkeypatch.setattr(parser, "_internal_failure", fail)


def check(result: object) -> None:
    assert result is None or isinstance(result, KuzzleError)
    if isinstance(result, KuzzleError):
        # Everything an error offers must work on it too.
        str(result), repr(result)
        json.dumps(result.to_dict())
        clone = pickle.loads(pickle.dumps(result))
        assert type(clone) is type(result)
        assert result.retry_hint.reason


@given(st.binary(max_size=300), statuses, headers, transports, st.booleans())
def test_arbitrary_bytes(body: bytes, status: Any, hdrs: Any, transport: Any, strict: bool) -> None:
    check(
        parse_response(body, http_status=status, headers=hdrs, transport=transport, strict=strict)
    )


@given(st.text(max_size=300), statuses, headers)
def test_arbitrary_text(body: str, status: Any, hdrs: Any) -> None:
    check(parse_response(body, http_status=status, headers=hdrs))


@given(json_values, statuses, st.booleans())
def test_arbitrary_json_values(value: Any, status: Any, strict: bool) -> None:
    check(parse_response(value, http_status=status, strict=strict))
    check(parse_response(json.dumps(value).encode(), http_status=status, strict=strict))


@given(kuzzle_like, statuses, headers, st.booleans())
def test_kuzzle_like_structures(value: Any, status: Any, hdrs: Any, strict: bool) -> None:
    check(parse_response(value, http_status=status, headers=hdrs, strict=strict))
    error = parse_error(value, http_status=status, headers=hdrs)
    check(error)
    assert error is not None
    if isinstance(error, PartialError):
        assert all(isinstance(item, PartialItem) for item in error.items)
