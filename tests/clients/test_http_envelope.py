"""KuzzleHTTP.query: a 2xx answer of /_query that is not Kuzzle's envelope is not a result."""

from __future__ import annotations

import json
from typing import Any

import kuzzle_echo
import pytest
import requests
import responses

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP, error_from_response
from kuzzle_errors.parser import RAW_COPY_LIMIT
from kuzzle_errors.retry import RetryPolicy

BASE = "http://127.0.0.1:7512"
QUERY = f"{BASE}/_query"
GET = {"controller": "document", "action": "get", "index": "i", "collection": "c", "_id": "d"}


@pytest.fixture
def client() -> Any:
    with KuzzleHTTP(BASE) as kuzzle:
        yield kuzzle


def invalid(client: KuzzleHTTP) -> kuzzle_errors.InvalidResponseError:
    with pytest.raises(kuzzle_errors.InvalidResponseError) as info:
        client.query(GET)
    return info.value


@responses.activate
def test_a_200_html_page_is_an_invalid_response(client: KuzzleHTTP) -> None:
    page = "<html><title>Wi-Fi portal</title>portal</html>"
    responses.add(
        responses.POST,
        QUERY,
        body=page,
        status=200,
        content_type="text/html",
        headers={"X-Portal": "yes"},
    )
    error = invalid(client)
    assert error.http_status == 200
    assert error.headers["X-Portal"] == "yes"
    assert error.raw == page.encode()
    assert error.problem is not None
    assert "not JSON (text/html)" in error.problem
    assert "not Kuzzle's answer" in error.problem
    assert error.transport == "http"
    assert (error.controller, error.action, error.index) == ("document", "get", "i")
    sent = responses.calls[0].request.headers["X-Kuzzle-Request-Id"]
    assert error.request_id == sent
    assert not error.retryable


@responses.activate
def test_foreign_json_under_200_is_an_invalid_response(client: KuzzleHTTP) -> None:
    responses.add(responses.POST, QUERY, json={"foo": 1}, status=200)
    error = invalid(client)
    assert error.http_status == 200
    assert json.loads(error.raw) == {"foo": 1}
    assert error.problem is not None
    assert "without a Kuzzle envelope" in error.problem
    # the context of the request, volatile included, as on a transport error
    with pytest.raises(kuzzle_errors.InvalidResponseError) as info:
        client.query({**GET, "volatile": {"trace": "t-1"}})
    assert info.value.volatile == {"trace": "t-1"}
    assert (info.value.transport, info.value.controller) == ("http", "document")


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42", "null"])
@responses.activate
def test_json_that_is_not_an_object_is_an_invalid_response(client: KuzzleHTTP, body: str) -> None:
    responses.add(responses.POST, QUERY, body=body, status=200, content_type="application/json")
    assert invalid(client).raw == body.encode()


@responses.activate
def test_an_empty_200_is_an_invalid_response(client: KuzzleHTTP) -> None:
    responses.add(responses.POST, QUERY, body=b"", status=200)
    error = invalid(client)
    assert error.raw == b""
    assert error.problem is not None
    assert "empty body" in error.problem


@responses.activate
def test_the_raw_copy_is_bounded(client: KuzzleHTTP) -> None:
    page = "<html>" + "x" * (RAW_COPY_LIMIT * 2) + "</html>"
    responses.add(responses.POST, QUERY, body=page, status=200, content_type="text/html")
    error = invalid(client)
    assert len(error.raw) == RAW_COPY_LIMIT
    assert error.problem is not None
    assert f"kept the first {RAW_COPY_LIMIT}" in error.problem


@responses.activate
def test_an_envelope_is_still_a_result(client: KuzzleHTTP) -> None:
    kuzzle_echo.answer(QUERY, {"status": 200, "error": None, "result": {"a": 1}, "requestId": ""})
    kuzzle_echo.answer(QUERY, {"status": 200, "error": None, "requestId": ""})  # no result
    assert client.query(GET) == {"a": 1}
    assert client.query(GET) is None


@pytest.mark.parametrize(
    "body",
    [
        {"status": 200, "result": {"a": 1}},  # no requestId, no error: not Kuzzle's envelope
        {"status": "UP"},  # a health page
        {"status": "error", "message": "upstream unavailable"},  # a gateway's JSend
        {"status": 200, "error": None, "result": 1, "requestId": 7},  # a requestId not a string
        {"status": True, "error": None, "result": 1, "requestId": "r"},  # a status not a number
    ],
    ids=["partial", "health", "jsend", "id-type", "status-type"],
)
@responses.activate
def test_json_that_only_looks_like_an_envelope_is_an_invalid_response(
    client: KuzzleHTTP, body: dict[str, Any]
) -> None:
    # Issue 19: a status key no longer makes a result (document:create returned None).
    kuzzle_echo.answer(QUERY, body)  # a string requestId becomes ours
    error = invalid(client)
    assert "another request" not in error.message  # not taken for someone else's either
    assert json.loads(error.raw)["status"] == body["status"]


@responses.activate
def test_an_envelope_naming_another_request_is_an_invalid_response(client: KuzzleHTTP) -> None:
    envelope = {"status": 200, "error": None, "result": {"a": 1}, "requestId": "theirs"}
    responses.add(responses.POST, QUERY, json=envelope)
    error = invalid(client)
    assert "another request (theirs)" in error.message
    assert not error.retryable


@responses.activate
def test_a_plugin_raw_result_echoing_our_request_id_is_returned(client: KuzzleHTTP) -> None:
    def echo(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        headers = {"X-Kuzzle-Request-Id": request.headers["X-Kuzzle-Request-Id"]}
        return 200, headers, json.dumps({"foo": 1})

    responses.add_callback(responses.POST, QUERY, callback=echo, content_type="application/json")
    assert client.query({"controller": "plugin", "action": "raw"}) == {"foo": 1}


@responses.activate
def test_someone_elses_request_id_does_not_make_it_kuzzle(client: KuzzleHTTP) -> None:
    responses.add(responses.POST, QUERY, json={"foo": 1}, headers={"X-Kuzzle-Request-Id": "other"})
    invalid(client)


@responses.activate
def test_the_core_parser_still_accepts_raw_results() -> None:
    responses.add(responses.POST, f"{BASE}/_plugin/x", body="<html>portal</html>", status=200)
    responses.add(responses.POST, f"{BASE}/_plugin/y", json={"foo": 1}, status=200)
    assert error_from_response(requests.post(f"{BASE}/_plugin/x", timeout=5)) is None
    assert error_from_response(requests.post(f"{BASE}/_plugin/y", timeout=5)) is None


@responses.activate
def test_an_invalid_response_is_not_retried() -> None:
    responses.add(responses.POST, QUERY, body="<html>portal</html>", content_type="text/html")
    policy = RetryPolicy(attempts=5, budget=None, sleep=lambda _: None)
    with (
        KuzzleHTTP(BASE, retry=policy) as kuzzle,
        pytest.raises(kuzzle_errors.InvalidResponseError) as info,
    ):
        kuzzle.query(GET, idempotent=True)
    assert info.value.attempts == 1
    assert len(responses.calls) == 1
