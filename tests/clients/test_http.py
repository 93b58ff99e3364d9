"""kuzzle_errors.http: responses of every shape, transport failures, the session hook."""

from __future__ import annotations

import json
import tracemalloc
import uuid
import zlib
from typing import Any

import kuzzle_echo
import pytest
import requests
import responses
import urllib3.exceptions
from raw_server import unused_port

import kuzzle_errors
from kuzzle_errors import catalog
from kuzzle_errors.http import KuzzleHTTP, error_from_response, install, raise_for_kuzzle, uninstall
from kuzzle_errors.retry import RetryPolicy

BASE = "http://127.0.0.1:7512"
QUERY = f"{BASE}/_query"


def err(error_id: str, *args: str) -> dict[str, Any]:
    spec = catalog.get(error_id)
    assert spec is not None
    return {
        "code": spec.code,
        "id": spec.id,
        "message": spec.format(*args),
        "props": list(args),
        "status": spec.status,
    }


def envelope(
    *, error: dict[str, Any] | None = None, result: Any = None, status: int | None = None
) -> dict[str, Any]:
    return {
        "action": "get",
        "collection": "c",
        "controller": "document",
        "error": error,
        "headers": {},
        "index": "i",
        "node": "knode-1",
        "requestId": "r-1",
        "result": result,
        "status": status if status is not None else (error["status"] if error else 200),
        "volatile": None,
    }


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    content_type = "application/json" if not isinstance(body, str) else "text/html"
    kuzzle_echo.answer(QUERY, body, status, headers, content_type=content_type)


def body_of(request: requests.PreparedRequest) -> Any:
    assert request.body is not None
    return json.loads(request.body)


@pytest.fixture
def client() -> Any:
    with KuzzleHTTP(BASE) as kuzzle:
        yield kuzzle


# -- the request ---------------------------------------------------------------------------


@responses.activate
def test_query_posts_the_request_and_returns_result(client: KuzzleHTTP) -> None:
    reply(200, envelope(result={"_id": "d1", "_source": {"a": 1}}))
    client.jwt = "tok"
    request = {"controller": "document", "action": "get", "index": "i", "collection": "c"}
    assert client.query({**request, "_id": "d1"}) == {"_id": "d1", "_source": {"a": 1}}
    sent = responses.calls[0].request
    assert sent.method == "POST"
    assert sent.url == QUERY
    assert body_of(sent) == {**request, "_id": "d1"}
    assert sent.headers["Authorization"] == "Bearer tok"
    assert sent.headers["Content-Type"] == "application/json"
    assert uuid.UUID(sent.headers["X-Kuzzle-Request-Id"]).version == 4


@responses.activate
def test_each_query_has_its_own_request_id(client: KuzzleHTTP) -> None:
    reply(200, envelope(result=1))
    reply(200, envelope(result=2))
    assert [client.query({"controller": "server", "action": "now"}) for _ in range(2)] == [1, 2]
    ids = {call.request.headers["X-Kuzzle-Request-Id"] for call in responses.calls}
    assert len(ids) == 2


@responses.activate
def test_jwt_in_the_request_wins_and_stays_out_of_the_body(client: KuzzleHTTP) -> None:
    reply(200, envelope(result=None))
    client.jwt = "old"
    client.query({"controller": "auth", "action": "checkToken", "jwt": "new"})
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer new"
    assert "jwt" not in body_of(sent)


@responses.activate
def test_login_keeps_the_token(client: KuzzleHTTP) -> None:
    reply(200, envelope(result={"jwt": "j.w.t", "_id": "u"}))
    reply(200, envelope(result=True))
    assert client.login({"username": "u", "password": "p"}) == "j.w.t"
    client.query({"controller": "server", "action": "now"})
    login, after = (call.request for call in responses.calls)
    assert body_of(login)["strategy"] == "local"
    assert after.headers["Authorization"] == "Bearer j.w.t"


# -- error answers ---------------------------------------------------------------------------


@responses.activate
def test_not_found_raises_its_id_class_with_context(client: KuzzleHTTP) -> None:
    reply(
        404,
        envelope(error=err("services.storage.not_found", "d1", "i", "c")),
        headers={"X-Kuzzle-Request-Id": "r-1", "X-Kuzzle-Node": "knode-1"},
    )
    with pytest.raises(kuzzle_errors.error_class("services.storage.not_found")) as info:
        client.query({"controller": "document", "action": "get", "_id": "d1"})
    error = info.value
    assert isinstance(error, kuzzle_errors.NotFoundError)
    assert (error.status, error.http_status, error.transport) == (404, 404, "http")
    sent = responses.calls[0].request.headers["X-Kuzzle-Request-Id"]  # echoed, as Kuzzle does
    assert (error.request_id, error.node, error.index) == (sent, "knode-1", "i")
    assert not error.retryable


@responses.activate
def test_an_error_under_206_is_an_error_and_keeps_the_result(client: KuzzleHTTP) -> None:
    partial = err("services.storage.incomplete_delete")
    partial["errors"] = [err("security.profile.not_found", "bar")]
    partial["count"] = 1
    reply(206, envelope(error=partial, result=["foo", "baz"]))
    with pytest.raises(kuzzle_errors.PartialError) as info:
        client.query({"controller": "security", "action": "mDeleteProfiles"})
    assert info.value.result == ["foo", "baz"]
    assert len(info.value) == 1
    assert info.value.http_status == 206


@responses.activate
def test_bare_pre_routing_error_gets_the_request_id_we_sent(client: KuzzleHTTP) -> None:
    reply(413, err("network.http.request_too_large"))  # no envelope, no X-Kuzzle-Request-Id
    with pytest.raises(kuzzle_errors.SizeLimitError) as info:
        client.query({"controller": "document", "action": "create", "body": {"x": "y"}})
    sent_id = responses.calls[0].request.headers["X-Kuzzle-Request-Id"]
    assert info.value.id == "network.http.request_too_large"
    assert info.value.request_id == sent_id


@responses.activate
def test_bare_body_parse_failure(client: KuzzleHTTP) -> None:
    reply(400, err("network.http.body_parse_failed", "{oops"))
    with pytest.raises(kuzzle_errors.error_class("network.http.body_parse_failed")) as info:
        client.query({"controller": "server", "action": "now"})
    assert info.value.props == ["{oops"]


@responses.activate
def test_html_502_from_a_proxy_with_retry_after(client: KuzzleHTTP) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 200_000 + "</body>"
    reply(502, page, headers={"Retry-After": "7"})
    with pytest.raises(kuzzle_errors.KuzzleError) as info:
        client.query({"controller": "server", "action": "now"})
    error = info.value
    assert error.http_status == 502
    assert "502 Bad Gateway" in error.message
    assert error.retry_after == 7.0
    assert error.retry_hint.retryable
    assert not error.retry_hint.replay_safe  # a gateway failure: the request may have run
    assert error.retry_hint.delay >= 7.0
    assert isinstance(error.raw, bytes)
    assert len(error.raw) < len(page)  # a bounded copy


@responses.activate
def test_html_503_with_retry_after_is_a_refusal(client: KuzzleHTTP) -> None:
    reply(503, "<html><title>Service Unavailable</title></html>", headers={"Retry-After": "3"})
    with pytest.raises(kuzzle_errors.ServiceUnavailableError) as info:
        client.query({"controller": "server", "action": "now"})
    hint = info.value.retry_hint
    assert (hint.retryable, hint.replay_safe, hint.delay) == (True, True, 3.0)


@responses.activate
def test_overload_hint_and_node_header(client: KuzzleHTTP) -> None:
    reply(
        503,
        envelope(error=err("api.process.overloaded")),
        headers={"X-Kuzzle-Node": "knode-7"},
    )
    with pytest.raises(kuzzle_errors.ServiceUnavailableError) as info:
        client.query({"controller": "server", "action": "now"})
    assert info.value.retry_hint.replay_safe
    assert info.value.retry_hint.other_node
    assert info.value.node == "knode-1"  # the envelope's node wins over the header


@responses.activate
def test_strict_turns_a_result_with_errors_into_a_partial_error(client: KuzzleHTTP) -> None:
    result = {
        "successes": [{"_id": "a", "_source": {}, "status": 201}],
        "errors": [{"document": {"_id": "b", "body": {}}, "reason": "exists", "status": 400}],
    }
    reply(200, envelope(result=result))
    reply(200, envelope(result=result))
    assert client.query({"controller": "document", "action": "mCreate"}) == result
    with pytest.raises(kuzzle_errors.PartialError) as info:
        client.query({"controller": "document", "action": "mCreate"}, strict=True)
    assert [item.id for item in info.value.items] == ["b"]


@responses.activate
def test_a_plugin_raw_non_json_result_is_returned_as_text(client: KuzzleHTTP) -> None:
    # Kuzzle's raw format sends a plugin's result as is, but still with its own headers.
    responses.add(
        responses.POST,
        QUERY,
        body="pong",
        status=200,
        content_type="text/plain",
        headers={"X-Kuzzle-Node": "knode-1"},
    )
    assert client.query({"controller": "plugin", "action": "raw"}) == "pong"


@responses.activate
def test_truncated_json_is_an_invalid_response(client: KuzzleHTTP) -> None:
    responses.add(
        responses.POST, QUERY, body='{"status": 20', status=200, content_type="application/json"
    )
    with pytest.raises(kuzzle_errors.InvalidResponseError):
        client.query({"controller": "server", "action": "now"})


# -- transport failures ----------------------------------------------------------------------


def test_connection_refused_is_replay_safe() -> None:
    with (
        KuzzleHTTP(f"http://127.0.0.1:{unused_port()}", timeout=2.0) as kuzzle,
        pytest.raises(kuzzle_errors.ConnectionLostError) as info,
    ):
        kuzzle.query({"controller": "document", "action": "create"})
    error = info.value
    assert isinstance(error.__cause__, requests.ConnectionError)
    assert error.retry_hint.retryable
    assert error.retry_hint.replay_safe
    assert (error.transport, error.controller, error.action) == ("http", "document", "create")
    assert error.request_id


@responses.activate
def test_read_timeout_is_retryable_but_not_replay_safe(client: KuzzleHTTP) -> None:
    responses.add(responses.POST, QUERY, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(kuzzle_errors.RequestTimeoutError) as info:
        client.query({"controller": "document", "action": "create"})
    assert isinstance(info.value.__cause__, requests.exceptions.ReadTimeout)
    assert info.value.retry_hint.retryable
    assert not info.value.retry_hint.replay_safe


@responses.activate
def test_connect_timeout_is_replay_safe(client: KuzzleHTTP) -> None:
    responses.add(responses.POST, QUERY, body=requests.exceptions.ConnectTimeout("syn lost"))
    with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
        client.query({"controller": "document", "action": "create"})
    assert info.value.retry_hint.replay_safe


@responses.activate
def test_dropped_after_sending_is_not_replay_safe(client: KuzzleHTTP) -> None:
    aborted = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError())
    responses.add(responses.POST, QUERY, body=requests.ConnectionError(aborted))
    with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
        client.query({"controller": "document", "action": "create"})
    assert info.value.retry_hint.retryable
    assert not info.value.retry_hint.replay_safe


@responses.activate
def test_a_transport_failure_without_text_says_so(client: KuzzleHTTP) -> None:
    responses.add(responses.POST, QUERY, body=requests.ConnectionError())
    with pytest.raises(kuzzle_errors.ConnectionLostError) as info:
        client.query({"controller": "document", "action": "create"})
    assert info.value.message.endswith(": ConnectionError: no detail")


def test_a_bad_url_is_not_retryable() -> None:
    with (
        KuzzleHTTP("nope://127.0.0.1") as kuzzle,
        pytest.raises(kuzzle_errors.ConnectionLostError) as info,
    ):
        kuzzle.query({"controller": "server", "action": "now"})
    assert not info.value.retryable


# -- retry wiring ------------------------------------------------------------------------------


@responses.activate
def test_retry_policy_replays_a_refused_request() -> None:
    reply(503, envelope(error=err("api.process.overloaded")))
    reply(200, envelope(result="ok"))
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=3, budget=None, sleep=sleeps.append, random=lambda: 0.5)
    with KuzzleHTTP(BASE, retry=policy) as kuzzle:
        assert kuzzle.query({"controller": "document", "action": "create"}) == "ok"
    assert len(responses.calls) == 2
    assert len(sleeps) == 1
    ids = {call.request.headers["X-Kuzzle-Request-Id"] for call in responses.calls}
    assert len(ids) == 2  # each attempt is its own request


@responses.activate
def test_retry_policy_does_not_replay_a_timeout_unless_idempotent() -> None:
    responses.add(responses.POST, QUERY, body=requests.exceptions.ReadTimeout("slow"))
    policy = RetryPolicy(attempts=3, budget=None, sleep=lambda _: None)
    with KuzzleHTTP(BASE, retry=policy) as kuzzle:
        with pytest.raises(kuzzle_errors.RequestTimeoutError):
            kuzzle.query({"controller": "document", "action": "create"})
        assert len(responses.calls) == 1
        with pytest.raises(kuzzle_errors.RequestTimeoutError):
            kuzzle.query({"controller": "document", "action": "get"}, idempotent=True)
        assert len(responses.calls) == 4  # 1, then 3 attempts


# -- error_from_response, raise_for_kuzzle, install -------------------------------------------


def make_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Any:
    resp = requests.Response()
    resp.status_code = status
    resp._content = body
    resp.headers.update(headers or {})
    return resp


def test_error_from_response_on_a_hand_made_response() -> None:
    body = json.dumps(envelope(error=err("api.process.too_many_requests"))).encode()
    error = error_from_response(make_response(429, body, {"x-kuzzle-node": "n2"}))
    assert isinstance(error, kuzzle_errors.TooManyRequestsError)
    assert error.retry_hint.delay >= 1.0
    assert error_from_response(make_response(200, json.dumps(envelope()).encode())) is None
    with pytest.raises(kuzzle_errors.TooManyRequestsError):
        raise_for_kuzzle(make_response(429, body))
    raise_for_kuzzle(make_response(200, b'{"status": 200, "result": 1, "error": null}'))


def test_status_without_reason_phrase_and_empty_body() -> None:
    error = error_from_response(make_response(503, b""))
    assert isinstance(error, kuzzle_errors.ServiceUnavailableError)
    assert error.problem and "empty body" in error.problem


@responses.activate
def test_install_makes_a_session_raise() -> None:
    url = f"{BASE}/i/c/d1"
    responses.add(
        responses.GET, url, json=envelope(error=err("services.storage.not_found", "d1", "i", "c"))
    )
    responses.add(responses.GET, f"{BASE}/ok", json=envelope(result=1))
    responses.add(responses.GET, f"{BASE}/moved", status=302, headers={"Location": "/ok"})
    responses.calls.reset()
    session = install(install(requests.Session()))
    assert sum(1 for hook in session.hooks["response"]) == 1  # installing twice: one hook
    responses.replace(
        responses.GET,
        url,
        json=envelope(error=err("services.storage.not_found", "d1", "i", "c")),
        status=404,
    )
    with pytest.raises(kuzzle_errors.NotFoundError):
        session.get(url)
    assert session.get(f"{BASE}/ok").json()["result"] == 1
    assert session.get(f"{BASE}/moved").status_code == 200  # redirects are not errors
    uninstall(session)
    assert session.get(url).status_code == 404
    session.close()


@responses.activate
def test_install_raises_on_206_and_strict() -> None:
    partial = err("services.storage.incomplete_delete")
    partial.update(errors=[], count=0)
    responses.add(responses.GET, f"{BASE}/p", json=envelope(error=partial), status=206)
    result = {"successes": [], "errors": ["missing-1"]}
    responses.add(responses.GET, f"{BASE}/m", json=envelope(result=result))
    with requests.Session() as session:
        install(session)
        with pytest.raises(kuzzle_errors.PartialError):
            session.get(f"{BASE}/p")
        assert session.get(f"{BASE}/m").status_code == 200
        install(session, strict=True)
        with pytest.raises(kuzzle_errors.PartialError):
            session.get(f"{BASE}/m")
        responses.add(
            responses.GET, f"{BASE}/file", body=b"\x00\x01", status=206, content_type="video/mp4"
        )
        assert session.get(f"{BASE}/file").content == b"\x00\x01"  # a range download


def test_a_caller_session_is_not_closed() -> None:
    session = requests.Session()
    closed: list[bool] = []
    session.close = lambda: closed.append(True)  # type: ignore[method-assign]
    with KuzzleHTTP(BASE, session=session) as kuzzle:
        assert kuzzle.session is session
    assert closed == []


@responses.activate
def test_install_reads_only_the_start_of_a_huge_error_body() -> None:
    body = b'{"status":500,"error":{"id":"core.fatal.unexpected_error","message":"' + b"x" * (
        3 * 1024 * 1024
    )
    responses.add(responses.GET, f"{BASE}/x", body=body, status=500, content_type="text/plain")
    with requests.Session() as session:
        install(session)
        with pytest.raises(kuzzle_errors.InternalError) as info:
            session.get(f"{BASE}/x")
    assert "first 1048576 bytes" in (info.value.problem or "")


@responses.activate
def test_install_inflates_no_more_of_an_error_body_than_it_reads() -> None:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1024 * 1024)
    bomb = b"".join(squeeze.compress(zeros) for _ in range(64)) + squeeze.flush()  # 64 MiB
    headers = {"Content-Encoding": "gzip"}
    responses.add(
        responses.GET, f"{BASE}/x", body=bomb, status=502, headers=headers, content_type="text/html"
    )
    with requests.Session() as session:
        install(session)
        tracemalloc.start()
        try:
            with pytest.raises(kuzzle_errors.KuzzleError) as info:
                session.get(f"{BASE}/x")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert info.value.http_status == 502
    assert peak < 16 * 1024 * 1024  # the hook read the whole body as requests decodes it: 64 MiB


@responses.activate
def test_install_lets_a_success_envelope_under_an_error_status_through_with_its_body() -> None:
    body = b'{"status":200,"result":{"ok":true}}'  # as the httpx hook does
    responses.add(
        responses.GET, f"{BASE}/x", body=body, status=404, content_type="application/json"
    )
    with requests.Session() as session:
        install(session)
        assert session.get(f"{BASE}/x").json()["result"] == {"ok": True}
