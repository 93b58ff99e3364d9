"""The parser: every payload Kuzzle (v1, v2) sends, and everything else, becomes a KuzzleError."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from reference_samples import MDELETE_PROFILES_206, STRICT_MCREATE, STRICT_MGET

from kuzzle_errors import (
    BadRequestError,
    ExternalServiceError,
    ForbiddenError,
    GatewayTimeoutError,
    InternalError,
    InvalidResponseError,
    KuzzleError,
    MultipleErrorsError,
    NotFoundError,
    PartialError,
    ServiceUnavailableError,
    SizeLimitError,
    TooManyRequestsError,
    UnauthorizedError,
    error_class,
    parse_error,
    parse_response,
    raise_for_response,
)
from kuzzle_errors.parser import FOREIGN_CODES, RAW_COPY_LIMIT, parse_response_and_body

# -- the real v2 payloads of the protocol reference (§2.4) --------------------------------

WS_OVERLOADED = (
    b'{"action":"create","collection":"c","controller":"document","error":{"code":33685506,'
    b'"id":"api.process.overloaded","message":"Request discarded: Kuzzle Server is temporarily '
    b'overloaded.","props":[],"status":503},"headers":{},"index":"i","node":"knode-test-1",'
    b'"requestId":"req-42","result":null,"status":503,"volatile":null,"room":"req-42"}'
)

BARE_BODY_PARSE = (
    b'{"code":50397196,"id":"network.http.body_parse_failed","message":"Unable to convert the '
    b'HTTP body to JSON: {oops","props":["{oops"],"status":400}'
)
BARE_TOO_LARGE = (
    b'{"code":50397185,"id":"network.http.request_too_large","message":"Maximum HTTP request '
    b'size exceeded.","props":[],"status":413}'
)
INVALID_REQUEST_WS = (
    b'{"action":null,"controller":null,"error":{"message":"Attribute volatile must be of type '
    b'\\"object\\"","status":400},"requestId":"req-60","result":null,"status":400}'
)
URL_NOT_FOUND = {
    "requestId": "abc",
    "status": 404,
    "error": {
        "id": "network.http.url_not_found",
        "code": 0x0301000A,
        "message": "API URL not found: /foo.",
        "props": ["/foo"],
        "status": 404,
    },
    "controller": None,
    "action": None,
    "result": None,
}


def test_websocket_overloaded_envelope() -> None:
    error = parse_response(WS_OVERLOADED, transport="websocket")
    assert type(error) is error_class("api.process.overloaded")
    assert isinstance(error, ServiceUnavailableError)
    assert error.status == 503
    assert error.request_id == "req-42"
    assert error.node == "knode-test-1"
    assert (error.controller, error.action, error.index, error.collection) == (
        "document",
        "create",
        "i",
        "c",
    )
    assert error.transport == "websocket"
    assert error.props == []
    assert error.raw["id"] == "api.process.overloaded"
    assert error.response["room"] == "req-42"
    assert error.retry_hint.retryable and error.retry_hint.replay_safe
    assert error.retry_hint.other_node


def test_206_partial_error_with_result_and_nested_stack() -> None:
    error = parse_response(
        json.dumps(MDELETE_PROFILES_206), http_status=206, headers={"X-Kuzzle-Node": "hdr-node"}
    )
    assert isinstance(error, PartialError)
    assert type(error) is error_class("services.storage.incomplete_delete")
    assert error.status == error.http_status == 206
    assert error.node == "knode-1"  # the envelope's node wins over the header
    assert error.count == 1 == len(error)
    assert error.successes == ["foo", "baz"]
    assert error.result == ["foo", "baz"]
    (item,) = error.items
    assert isinstance(item.error, NotFoundError)
    assert type(item.error) is error_class("security.profile.not_found")
    assert item.error.stack == "NotFoundError: Profile ..."
    assert item.status == 404
    assert item.reason == 'Profile "bar" not found.'
    assert item.raw == MDELETE_PROFILES_206["error"]["errors"][0]  # type: ignore[index]
    assert "1 failed" in str(error)


def test_strict_multiple_errors_error_is_a_partial_error() -> None:
    error = parse_response(STRICT_MCREATE, http_status=400)
    assert isinstance(error, MultipleErrorsError)
    assert isinstance(error, PartialError)
    assert isinstance(error, BadRequestError)
    assert error.props == ["mCreate"]
    (item,) = error.items
    assert (item.id, item.status, item.reason) == ("d1", 400, "document already exists")
    assert item.document == {"_id": "d1", "body": {"a": 1}}
    # Kuzzle sent no successes, yet the items that did not fail were written: unknown, not
    # an empty list (issue 22: an empty list read as "nothing was written").
    assert error.successes is None
    (item_hint,) = [item.retry_hint for item in error.items]
    assert not item_hint.retryable
    assert error.items[0].error_id == "services.storage.document_already_exists"
    mget = parse_response(STRICT_MGET)
    assert isinstance(mget, MultipleErrorsError)
    assert [item.id for item in mget.items] == ["missing-1", "missing-2"]


@pytest.mark.parametrize(
    "body,cls,error_id,status",
    [
        (BARE_BODY_PARSE, BadRequestError, "network.http.body_parse_failed", 400),
        (BARE_TOO_LARGE, SizeLimitError, "network.http.request_too_large", 413),
    ],
)
def test_bare_pre_routing_errors(
    body: bytes, cls: type[KuzzleError], error_id: str, status: int
) -> None:
    error = parse_response(body, http_status=status, headers={"Content-Type": "application/json"})
    assert isinstance(error, cls)
    assert error.id == error_id
    assert error.status == status
    assert error.request_id is None
    assert error.response == json.loads(body)


def test_invalid_request_without_id_code_or_props() -> None:
    error = parse_response(INVALID_REQUEST_WS, transport="websocket")
    assert type(error) is BadRequestError
    assert (error.id, error.code, error.props, error.spec) == (None, None, None, None)
    assert error.request_id == "req-60"
    assert error.message == 'Attribute volatile must be of type "object"'


def test_url_not_found() -> None:
    error = parse_response(URL_NOT_FOUND, http_status=404)
    assert type(error) is error_class("network.http.url_not_found")
    assert error.controller is None


# -- v1 ------------------------------------------------------------------------------------


def test_v1_error_without_props_and_with_stack() -> None:
    body = {
        "requestId": "r",
        "status": 404,
        "error": {
            "message": 'Document "x" not found',
            "status": 404,
            "stack": "NotFoundError: ...",
            "id": "services.storage.not_found",
            "code": 16842763,
        },
        "controller": "document",
        "action": "get",
        "collection": "c",
        "index": "i",
        "volatile": None,
        "result": None,
    }
    error = parse_response(body)
    assert type(error) is error_class("services.storage.not_found")
    assert error.props is None
    assert error.stack == "NotFoundError: ..."


def test_v1_error_without_id_and_code() -> None:
    error = parse_response(
        {"room": "r1", "status": 503, "error": {"message": "Kuzzle is shutting down"}}
    )
    assert type(error) is ServiceUnavailableError
    assert error.id is None
    assert error.retry_hint.retryable


def test_v1_206_partial_with_hits() -> None:
    body = {
        "status": 206,
        "error": {
            "message": "some documents failed",
            "status": 206,
            "id": "services.storage.incomplete_create",
            "code": 0x0101000A,
            "errors": [{"document": {"_id": "a", "body": {}}, "reason": "exists", "status": 400}],
            "count": 1,
        },
        "result": {"hits": [{"_id": "b"}], "total": 1},
    }
    error = parse_response(body, http_status=206)
    assert type(error) is error_class("services.storage.incomplete_create")
    assert error.successes == [{"_id": "b"}]


def test_v1_mget_partial_with_empty_errors() -> None:
    body = {
        "status": 206,
        "error": {
            "message": "x",
            "status": 206,
            "id": "services.storage.incomplete_fetch",
            "code": 0x01010008,
            "errors": [],
            "count": 0,
        },
        "result": {"hits": [], "total": 0},
    }
    error = parse_response(body)
    assert isinstance(error, PartialError)
    assert len(error) == 0 and error.items == []


def test_v1_parse_error_class_by_status() -> None:
    error = parse_response({"status": 400, "error": {"message": "bad", "status": 400}})
    assert type(error) is BadRequestError


# -- successes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"requestId":"r","status":200,"error":null,"result":{"_id":"x"}}',
        {"status": 200, "error": None, "result": None},
        {"status": 200, "result": 1},
        {"requestId": "r", "result": []},
        {"room": "channel", "status": 200, "type": "document", "result": {}},
    ],
)
def test_successes_return_none(body: Any) -> None:
    assert parse_response(body) is None
    raise_for_response(body)


def test_v2_multi_success_with_errors_is_none_unless_strict() -> None:
    body = {
        "status": 200,
        "error": None,
        "action": "mCreate",
        "result": {
            "successes": [{"_id": "a", "status": 201}],
            "errors": [{"document": {"_id": "b", "body": {}}, "reason": "boom", "status": 400}],
        },
    }
    assert parse_response(body) is None
    error = parse_response(body, strict=True, http_status=200)
    assert type(error) is PartialError
    assert error.count == 1 and len(error) == 1
    assert error.successes == [{"_id": "a", "status": 201}]
    assert error.items[0].id == "b"
    assert str(error).startswith("1 of 2 mCreate items failed")
    with pytest.raises(PartialError):
        raise_for_response(body, strict=True)
    empty = {"status": 200, "result": {"successes": [1], "errors": []}}
    assert parse_response(empty, strict=True) is None


# -- error under a 2xx, statuses that disagree ---------------------------------------------


def test_error_under_200_http_status_is_still_an_error() -> None:
    body = {"status": 503, "error": {"id": "api.process.overloaded", "status": 503, "message": "m"}}
    error = parse_response(body, http_status=200)
    assert isinstance(error, ServiceUnavailableError)
    assert (error.status, error.http_status) == (503, 200)


def test_body_status_wins_over_http_status_and_both_are_kept() -> None:
    body = {
        "status": 404,
        "error": {"id": "services.storage.not_found", "status": 404, "message": "m"},
    }
    error = parse_response(body, http_status=500)
    assert isinstance(error, NotFoundError)
    assert (error.status, error.http_status) == (404, 500)
    assert "HTTP 500" in str(error)


def test_error_status_without_error_object() -> None:
    error = parse_response({"status": 500, "error": None, "requestId": "r"})
    assert type(error) is InternalError
    assert error.problem == "error status without an error object"


# -- bodies that are not Kuzzle's ----------------------------------------------------------

HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad</h1></body></html>"


def test_html_502_from_a_proxy() -> None:
    error = parse_response(HTML_502, http_status=502, headers={"Content-Type": "text/html"})
    assert type(error) is InvalidResponseError
    assert error.status == error.http_status == 502
    assert error.message == "HTTP 502: 502 Bad Gateway"
    assert error.raw == HTML_502
    assert error.problem == "not a Kuzzle response: an HTML page"
    assert error.retry_hint.retryable and not error.retry_hint.replay_safe


def test_html_504_and_503_pages_get_the_status_class() -> None:
    gateway = parse_response(b"<html><title>504 Gateway Time-out</title></html>", http_status=504)
    assert type(gateway) is GatewayTimeoutError
    assert not gateway.retry_hint.replay_safe
    unavailable = parse_response(
        b"Service Unavailable", http_status=503, headers={"Retry-After": "7"}
    )
    assert type(unavailable) is ServiceUnavailableError
    assert unavailable.message == "HTTP 503: Service Unavailable"
    assert unavailable.retry_after == 7.0
    assert unavailable.retry_hint.delay == 7.0


@pytest.mark.parametrize(
    "body,problem",
    [
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (None, "empty body"),
        (b'{"status": 503, "error": {"id": "api.pro', "truncated or invalid JSON"),
        (b"[1, 2", "truncated or invalid JSON"),
        (b"plain text", "not a Kuzzle response: the body is not JSON"),
        (b'{"foo": 1}', "JSON of an unknown shape"),
        (b"[1, 2, 3]", "JSON of an unknown shape"),
        (b"42", "JSON of an unknown shape"),
        (b"null", "JSON of an unknown shape"),
    ],
)
def test_unusable_bodies_over_websocket(body: Any, problem: str) -> None:
    error = parse_response(body, transport="websocket")
    assert type(error) is InvalidResponseError
    assert error.problem is not None and error.problem.startswith(problem)
    assert error.status is None
    assert str(error)


def test_unusable_bodies_under_an_error_status_keep_the_status_class() -> None:
    error = parse_response(b'{"status": 4', http_status=429)
    assert type(error) is TooManyRequestsError
    assert error.raw == b'{"status": 4'


def test_raw_non_json_success_is_not_an_error() -> None:
    assert (
        parse_response(b"a,b\n1,2\n", http_status=200, headers={"Content-Type": "text/csv"}) is None
    )
    assert parse_response(b'{"any": "json"}', http_status=200) is None
    assert parse_response(b"", http_status=204) is None


def test_truncated_json_under_200_is_an_error() -> None:
    error = parse_response(
        b'{"status":200,"result":{"hits":[',
        http_status=200,
        headers={"content-type": "application/json"},
    )
    assert type(error) is InvalidResponseError


# -- wrong types ---------------------------------------------------------------------------


def test_status_as_string_and_code_as_hex_string() -> None:
    error = parse_response(
        {
            "error": {
                "id": "api.process.overloaded",
                "status": "503",
                "code": "0x02020002",
                "message": "m",
            }
        }
    )
    assert isinstance(error, ServiceUnavailableError)
    assert (error.status, error.code) == (503, 0x02020002)
    assert error.problem is None


@pytest.mark.parametrize(
    "error_object",
    [
        {"id": 42, "status": {"a": 1}, "code": [1], "message": ["not", "text"], "props": "p"},
        {"id": None, "status": True, "code": "zz", "message": None},
        {"id": "x" * 10_000, "status": 1e300, "code": -5, "message": 3.5, "stack": {"s": 1}},
    ],
)
def test_wrong_types_never_crash_and_keep_everything(error_object: dict[str, Any]) -> None:
    error = parse_response({"error": error_object, "status": 400})
    assert isinstance(error, KuzzleError)
    assert error.raw is error_object
    assert error.status == 400
    assert error.problem
    assert isinstance(error.message, str)
    str(error), repr(error), error.to_dict()


def test_error_that_is_a_string() -> None:
    error = parse_response({"error": "Bad Gateway", "status": 502})
    assert type(error) is InvalidResponseError
    assert error.message == "Bad Gateway"
    assert error.status == 502


def test_unknown_future_id_keeps_everything() -> None:
    body = {
        "status": 503,
        "error": {
            "id": "api.process.brand_new",
            "code": 0x020200FF,
            "status": 503,
            "message": "new",
            "props": ["a"],
            "extra": {"nested": True},
        },
    }
    error = parse_response(body)
    assert type(error) is ServiceUnavailableError
    assert (error.id, error.code, error.spec) == ("api.process.brand_new", 0x020200FF, None)
    assert error.raw["extra"] == {"nested": True}
    assert error.retryable


def test_plugin_error_with_a_colliding_code_uses_id_then_status() -> None:
    # An application error whose code collides with services.storage.not_found (0x0101000b).
    error = parse_response(
        {"error": {"id": "app.billing.quota", "code": 0x0101000B, "status": 403, "message": "q"}}
    )
    assert type(error) is ForbiddenError
    assert error.spec is None


def test_custom_status_application_error() -> None:
    error = parse_response({"error": {"id": "app.x.teapot", "status": 418, "message": "t"}})
    assert type(error) is KuzzleError
    assert error.status == 418


def test_unknown_partial_shape_without_id() -> None:
    error = parse_response({"error": {"message": "m", "status": 400, "errors": ["a"], "count": 1}})
    assert type(error) is MultipleErrorsError
    other = parse_response({"error": {"message": "m", "status": 206, "errors": ["a"]}})
    assert type(other) is PartialError


# -- the foreign format of seed 004 --------------------------------------------------------


@pytest.mark.parametrize("code", sorted(FOREIGN_CODES))
def test_foreign_error_format(code: int) -> None:
    body = {"error_code": code, "error_message": "Something failed", "details": {"field": "x"}}
    error = parse_response(json.dumps(body), http_status=422)
    expected, _ = FOREIGN_CODES[code]
    assert type(error) is expected
    assert error.message == "Something failed"
    assert error.status == 422
    assert error.raw == body
    assert error.props == [{"field": "x"}]
    assert error.problem is not None and f"error_code {code}" in error.problem
    assert error.code is None  # never confused with a Kuzzle code


def test_foreign_mapping_is_sensible() -> None:
    assert FOREIGN_CODES[0][0] is InternalError
    assert issubclass(FOREIGN_CODES[6][0], UnauthorizedError)
    assert FOREIGN_CODES[9][0] is ForbiddenError
    assert FOREIGN_CODES[10][0] is NotFoundError
    assert FOREIGN_CODES[11][0] is ExternalServiceError


def test_foreign_unknown_code_and_sample_body() -> None:
    error = parse_response(
        b'{"error_code": 0, "error_message": "Unknown server side error occurred", "details": null}'
    )
    assert type(error) is InternalError
    assert error.status == 500
    assert error.props is None
    odd = parse_response({"error_code": 99, "error_message": "?"}, http_status=404)
    assert type(odd) is NotFoundError


# -- pathological input --------------------------------------------------------------------


def test_multi_megabyte_message_is_parsed_quickly() -> None:
    message = "m" * 5_000_000
    body = json.dumps(
        {
            "status": 500,
            "error": {"id": "core.fatal.unexpected_error", "status": 500, "message": message},
        }
    ).encode()
    started = time.perf_counter()
    error = parse_response(body)
    text = str(error)
    assert time.perf_counter() - started < 5  # generous: a sanity bound, not a benchmark
    assert error is not None and error.message == message
    assert len(text) < 1000


def test_deep_nesting_is_refused_with_a_bounded_copy() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    error = parse_response(body)
    assert type(error) is InvalidResponseError
    assert error.problem is not None and error.problem.startswith("JSON nested too deeply")
    assert isinstance(error.raw, bytes) and len(error.raw) == RAW_COPY_LIMIT
    deep_object = b'{"error":' * 50_000 + b"1" + b"}" * 50_000
    assert type(parse_response(deep_object)) is InvalidResponseError


def test_invalid_utf8_is_replaced_and_reported() -> None:
    body = b'{"status":404,"error":{"id":"services.storage.not_found","status":404,"message":"bad \xff\xfe"}}'
    error = parse_response(body)
    assert isinstance(error, NotFoundError)
    assert error.message == "bad \ufffd\ufffd"
    assert error.problem == "invalid UTF-8 in the body (replaced)"
    garbage = parse_response(b"\xff\xfe\x00garbage")
    assert type(garbage) is InvalidResponseError
    assert garbage.raw == b"\xff\xfe\x00garbage"


def test_a_big_success_is_a_success() -> None:
    # A 70 MB mGet answer (well inside Kuzzle's documentsFetchCount): no size rule in the
    # parser turns it into an error; bounding what is read is the transport's business.
    doc = {"_id": "d", "_source": {"text": "x" * 7000}}
    body = json.dumps({"status": 200, "error": None, "result": {"hits": [doc] * 10_000}})
    data = body.encode()
    assert len(data) > 70_000_000
    assert parse_response(data, http_status=200) is None
    assert parse_response(body) is None
    error, decoded, is_json = parse_response_and_body(data, http_status=200)
    assert error is None and is_json and len(decoded["result"]["hits"]) == 10_000


def test_the_parser_leaves_the_garbage_collector_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # The collector's state is the process's, not a library's to switch (another thread
    # may have its reasons): even a big body is decoded without touching it.
    import gc

    calls: list[str] = []
    monkeypatch.setattr(gc, "disable", lambda: calls.append("disable"))
    monkeypatch.setattr(gc, "enable", lambda: calls.append("enable"))
    items = [
        {"document": {"_id": f"d{i}"}, "reason": "exists", "status": 400} for i in range(20_000)
    ]
    error = {"id": "api.process.incomplete_multiple_request", "message": "m", "status": 400}
    body = json.dumps({"status": 400, "error": {**error, "count": 20_000, "errors": items}})
    parsed = parse_response(body.encode())
    assert isinstance(parsed, PartialError) and len(parsed.items) == 20_000
    assert calls == []


def test_unsupported_body_types() -> None:
    error = parse_response(object())
    assert type(error) is InvalidResponseError
    assert parse_response(memoryview(b'{"status":200,"result":1}')) is None
    assert parse_response(bytearray(WS_OVERLOADED)) is not None


def test_headers_of_any_shape() -> None:
    error = parse_response(BARE_TOO_LARGE, headers=[("X-Kuzzle-Node", "n2")])  # type: ignore[arg-type]
    assert error is not None and error.node == "n2"
    broken = parse_response(BARE_TOO_LARGE, headers=42)  # type: ignore[arg-type]
    assert broken is not None and broken.headers == {}


def test_request_id_from_header_when_the_body_has_none() -> None:
    error = parse_response(BARE_TOO_LARGE, headers={"x-kuzzle-request-id": "hdr-1"})
    assert error is not None and error.request_id == "hdr-1"


def test_parse_error_takes_the_bare_error_object() -> None:
    error = parse_error(
        {"id": "security.token.expired", "status": 401, "message": "Token expired"},
        envelope={"requestId": "r-7", "controller": "auth", "action": "checkToken"},
        transport="http",
    )
    assert type(error) is error_class("security.token.expired")
    assert isinstance(error, UnauthorizedError)
    assert (error.request_id, error.controller, error.transport) == ("r-7", "auth", "http")
    assert not error.retryable
    weird = parse_error("nope")
    assert type(weird) is InvalidResponseError


def test_unknown_id_reported_by_kuzzle_as_unexpected_error() -> None:
    # kerror.get() with an id it doesn't know answers core.fatal.unexpected_error (RUN sample).
    error = parse_response(
        {
            "status": 500,
            "error": {
                "code": 1,
                "id": "core.fatal.unexpected_error",
                "message": "Caught an unexpected error: foo.bar.baz.",
                "props": ["foo.bar.baz"],
                "status": 500,
            },
        }
    )
    assert type(error) is error_class("core.fatal.unexpected_error")
    assert isinstance(error, InternalError)
    assert not error.retryable


def test_server_notification_is_not_an_error() -> None:
    notification = {
        "status": 200,
        "info": "This is an automated server notification",
        "message": "Authentication Token Expired",
        "type": "TokenExpired",
        "node": "knode-1",
        "room": "kuzzle:notification:server",
    }
    assert parse_response(notification, transport="websocket") is None


def test_bare_error_without_id_needs_an_error_status() -> None:
    error = parse_response({"message": "Payload too large", "status": 413})
    assert type(error) is SizeLimitError
    assert parse_response({"message": "hello", "status": 200}, http_status=200) is None


class Hostile:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def test_objects_whose_repr_raises_do_not_escape() -> None:
    error = parse_response(Hostile())
    assert type(error) is InvalidResponseError
    assert "unrepresentable Hostile" in str(error.raw)
    nested = parse_response({"error": {"message": Hostile(), "status": 400}})
    assert type(nested) is BadRequestError
    assert "unrepresentable" in nested.message
    item_error = parse_response(
        {"error": {"message": "m", "status": 206, "errors": [{"reason": Hostile()}]}}
    )
    assert isinstance(item_error, PartialError)
    assert "unrepresentable" in (item_error.items[0].reason or "")
    str(nested), repr(nested), nested.to_dict()


@pytest.mark.parametrize(
    "body,expected",
    [
        (b'  {"status":200,"result":1}\r\n', None),
        ('\ufeff{"status":200,"result":1}', None),
        (b'\xef\xbb\xbf{"status":200,"result":1}', None),
        (
            b'{"status":404,"error":{"id":"services.storage.not_found","status":404,"message":"m"}}\n',
            NotFoundError,
        ),
        (b'{"status":200,"result":1} trailing', InvalidResponseError),
        (b'{"status":200,"result":1}{"status":200}', InvalidResponseError),
        (b"NaN", InvalidResponseError),
    ],
)
def test_decoding_edge_cases_agree_with_json_loads(
    body: Any, expected: type[KuzzleError] | None
) -> None:
    error = parse_response(body, transport="websocket")
    if expected is None:
        assert error is None
    else:
        assert isinstance(error, expected)


def test_parse_response_and_body_hands_back_the_decoded_body() -> None:
    from kuzzle_errors.parser import parse_response_and_body

    error, body, is_json = parse_response_and_body(
        b'{"status":200,"result":{"_id":"a"}}', http_status=200
    )
    assert (error, body, is_json) == (None, {"status": 200, "result": {"_id": "a"}}, True)
    error, body, is_json = parse_response_and_body(
        b"a,b", http_status=200, headers={"Content-Type": "text/csv"}
    )
    assert (error, body, is_json) == (None, None, False)
    error, body, is_json = parse_response_and_body(b"null", http_status=200)
    assert (error, body, is_json) == (None, None, True)
    error, body, is_json = parse_response_and_body(WS_OVERLOADED)
    assert isinstance(error, ServiceUnavailableError)
    assert body["room"] == "req-42" and is_json


def test_the_request_id_sent_fills_in_only_when_the_response_names_none() -> None:
    bare = (
        b'{"message": "Invalid request JSON", "status": 400, "id": "api.assert.body_parse_failed"}'
    )
    error, _, _ = parse_response_and_body(bare, http_status=400, request_id="sent-1")
    assert error is not None and error.request_id == "sent-1"
    named = b'{"status": 503, "requestId": "r-9", "error": {"id": "api.process.overloaded"}}'
    error, _, _ = parse_response_and_body(named, http_status=503, request_id="sent-1")
    assert error is not None and error.request_id == "r-9"
    headed = {"X-Kuzzle-Request-Id": "from-header"}
    error, _, _ = parse_response_and_body(bare, headers=headed, request_id="sent-1")
    assert error is not None and error.request_id == "from-header"
