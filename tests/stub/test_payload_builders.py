"""``kuzzle_errors.testing`` payload builders and ``responses`` helpers (no server)."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from kuzzle_errors import (
    KuzzleError,
    MultipleErrorsError,
    PartialError,
    PluginImplementationError,
    ServiceUnavailableError,
    SizeLimitError,
    catalog,
    error_class,
    parse_response,
)
from kuzzle_errors.testing import (
    STUB_NODE,
    add_error,
    add_proxy_error,
    add_response,
    make_error,
    make_notification,
    make_response,
)

ENVELOPE_KEYS = {
    "action",
    "controller",
    "error",
    "headers",
    "node",
    "requestId",
    "result",
    "status",
    "volatile",
}


def test_make_error_has_kuzzles_keys_in_kuzzles_order() -> None:
    error = make_error("api.process.overloaded")
    assert list(error) == ["code", "id", "message", "props", "status"]
    assert error == {
        "code": 0x02020002,
        "id": "api.process.overloaded",
        "message": "Request discarded: Kuzzle Server is temporarily overloaded.",
        "props": [],
        "status": 503,
    }


def test_make_error_formats_the_template_and_exposes_args_as_props() -> None:
    error = make_error("services.storage.not_found", "d1", "idx", "col")
    assert error["message"] == 'Document "d1" not found in "idx":"col".'
    assert error["props"] == ["d1", "idx", "col"]


def test_make_error_includes_stack_only_when_given() -> None:
    error = make_error("api.process.overloaded", stack="ServiceUnavailableError: ...")
    assert list(error) == ["code", "id", "message", "props", "stack", "status"]


def test_partial_and_multiple_errors_carry_errors_and_count() -> None:
    partial = make_error("services.storage.incomplete_delete", errors=["a", "b"])
    assert list(partial)[-2:] == ["errors", "count"]
    assert partial["count"] == 2
    assert partial["status"] == 206
    multiple = make_error("api.process.incomplete_multiple_request", "mCreate")
    assert list(multiple)[-2:] == ["count", "errors"]
    assert (multiple["count"], multiple["errors"]) == (0, [])
    assert multiple["message"] == "At least one of the mCreate actions failed."


def test_plugin_implementation_errors_get_kuzzles_suffix() -> None:
    spec = next(iter(catalog.find(class_name="PluginImplementationError")))
    error = make_error(spec.id, "x", "y", "z")
    assert error["message"].endswith("a problem with a plugin implementation.")
    assert isinstance(parse_response(make_response(error=error)), PluginImplementationError)


def test_unknown_ids_need_an_explicit_status() -> None:
    with pytest.raises(ValueError, match="unknown Kuzzle error id"):
        make_error("app.custom.boom")
    error = make_error("app.custom.boom", status=418, message="I am a teapot")
    assert (error["status"], error["message"], error["code"]) == (418, "I am a teapot", 0)


def test_fields_override_and_extend() -> None:
    error = make_error("api.process.overloaded", message="custom", extra=1)
    assert error["message"] == "custom"
    assert error["extra"] == 1


def test_v1_errors_have_no_props() -> None:
    error = make_error("services.storage.incomplete_create", version=1, errors=[{"reason": "x"}])
    assert list(error) == ["message", "status", "id", "code", "errors", "count"]
    assert error["status"] == 206


def test_make_response_envelope() -> None:
    body = make_response(result={"a": 1}, request_id="r1")
    assert set(body) == ENVELOPE_KEYS
    assert (body["status"], body["error"], body["requestId"], body["node"]) == (
        200,
        None,
        "r1",
        STUB_NODE,
    )
    assert parse_response(body) is None


def test_make_response_omits_index_and_collection_when_none_and_adds_room_when_given() -> None:
    body = make_response(error="api.process.overloaded", index="i", collection="c", room="r")
    assert set(body) == ENVELOPE_KEYS | {"index", "collection", "room"}
    assert body["status"] == 503
    assert body["error"]["id"] == "api.process.overloaded"


def test_make_response_generates_request_ids() -> None:
    assert make_response()["requestId"] != make_response()["requestId"]


@pytest.mark.parametrize("spec", list(catalog.all_specs(version=2)), ids=lambda s: s.id)
def test_every_catalogued_error_parses_back_to_its_class(spec: catalog.ErrorSpec) -> None:
    body = make_response(error=make_error(spec.id), request_id="r1")
    error = parse_response(json.dumps(body), http_status=body["status"])
    assert isinstance(error, error_class(spec.id))
    assert (error.id, error.status, error.code, error.request_id) == (
        spec.id,
        spec.status,
        spec.code,
        "r1",
    )


def test_notifications_parse_as_no_error() -> None:
    note = make_notification("channel-1", request_id="mine")
    assert (note["room"], note["requestId"], note["type"], note["status"]) == (
        "channel-1",
        "mine",
        "document",
        200,
    )
    assert "error" not in note
    assert parse_response(note) is None


def test_add_error_registers_an_envelope_with_kuzzles_headers() -> None:
    with responses.RequestsMock() as rsps:
        body = add_error(rsps, "POST", "http://kuzzle/_query", "api.process.overloaded")
        resp = requests.post("http://kuzzle/_query", json={}, timeout=2)
    assert resp.status_code == 503
    assert resp.headers["X-Kuzzle-Request-Id"] == body["requestId"]
    assert resp.headers["X-Kuzzle-Node"] == STUB_NODE
    assert resp.headers["Content-Type"] == "application/json"
    error = parse_response(resp.content, http_status=resp.status_code, headers=resp.headers)
    assert isinstance(error, ServiceUnavailableError)
    assert error.request_id == body["requestId"]


def test_add_error_bare_has_no_envelope_and_no_request_id() -> None:
    with responses.RequestsMock() as rsps:
        add_error(rsps, "POST", "http://kuzzle/_query", "network.http.request_too_large", bare=True)
        resp = requests.post("http://kuzzle/_query", json={}, timeout=2)
    assert resp.status_code == 413
    assert "X-Kuzzle-Request-Id" not in resp.headers
    assert set(resp.json()) == {"code", "id", "message", "props", "status"}
    assert isinstance(parse_response(resp.content, http_status=413), SizeLimitError)


def test_add_error_partial_keeps_the_result() -> None:
    with responses.RequestsMock() as rsps:
        add_error(
            rsps,
            "POST",
            "http://kuzzle/_query",
            "services.storage.incomplete_delete",
            errors=[make_error("security.profile.not_found", "bar")],
            result=["foo"],
        )
        resp = requests.post("http://kuzzle/_query", json={}, timeout=2)
    error = parse_response(resp.content, http_status=resp.status_code)
    assert resp.status_code == 206
    assert isinstance(error, PartialError)
    assert not isinstance(error, MultipleErrorsError)
    assert error.result == ["foo"]
    assert len(error) == 1


def test_add_response_and_add_proxy_error() -> None:
    with responses.RequestsMock() as rsps:
        add_response(rsps, "GET", "http://kuzzle/_now", {"now": 1}, request_id="r9")
        add_proxy_error(rsps, "GET", "http://kuzzle/down", status=502, retry_after=3)
        ok = requests.get("http://kuzzle/_now", timeout=2)
        down = requests.get("http://kuzzle/down", timeout=2)
    assert ok.json()["result"] == {"now": 1}
    assert ok.headers["X-Kuzzle-Request-Id"] == "r9"
    assert down.status_code == 502
    assert down.headers["Retry-After"] == "3"
    assert "<title>502 Bad Gateway</title>" in down.text
    error = parse_response(down.content, http_status=502, headers=down.headers)
    assert isinstance(error, KuzzleError)
    assert error.status == 502
    assert error.retry_after == 3.0
