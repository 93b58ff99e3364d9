"""The stub's HTTP side, driven with plain ``requests``: the wire facts Kuzzle 2.x shows."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from typing import Any

import pytest
import requests
from fresh_python import run

from kuzzle_errors import (
    BadRequestError,
    MultipleErrorsError,
    NotFoundError,
    PartialError,
    ServiceUnavailableError,
    SizeLimitError,
    TooManyRequestsError,
    parse_response,
)
from kuzzle_errors.testing import STUB_NODE, StubKuzzle

TIMEOUT = 5.0
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
BARE_KEYS = {"code", "id", "message", "props", "status"}


class FakeClock:
    """A settable clock for the fixed 1-second rate-limit windows."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def query(stub: StubKuzzle, payload: dict[str, Any], **kwargs: Any) -> requests.Response:
    return requests.post(f"{stub.url}/_query", json=payload, timeout=TIMEOUT, **kwargs)


def parsed(resp: requests.Response) -> Any:
    return parse_response(
        resp.content, http_status=resp.status_code, headers=resp.headers, transport="http"
    )


def test_query_answers_an_envelope_with_kuzzles_headers_and_a_bare_status_line(
    stub: StubKuzzle,
) -> None:
    with socket.create_connection(("127.0.0.1", stub.port), timeout=TIMEOUT) as sock:
        body = b'{"controller":"server","action":"now"}'
        sock.sendall(
            b"POST /_query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Kuzzle-Request-Id: mine-1\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        raw = b""
        while b"\r\n\r\n" not in raw:
            chunk = sock.recv(65536)
            assert chunk
            raw += chunk
    assert raw.startswith(b"HTTP/1.1 200\r\n")  # no reason phrase, as uWebSockets writes it

    resp = query(
        stub, {"controller": "server", "action": "now"}, headers={"X-Kuzzle-Request-Id": "r-1"}
    )
    assert resp.status_code == 200
    assert resp.reason == ""
    assert resp.headers["X-Kuzzle-Request-Id"] == "r-1"
    assert resp.headers["X-Kuzzle-Node"] == STUB_NODE
    assert resp.headers["Content-Type"] == "application/json"
    assert "Connection" not in resp.headers  # kept alive, as Kuzzle's uWebSockets does
    body_json = resp.json()
    assert set(body_json) == ENVELOPE_KEYS
    assert body_json["requestId"] == "r-1"
    assert (body_json["controller"], body_json["action"]) == ("server", "now")
    assert isinstance(body_json["result"]["now"], int)
    assert parsed(resp) is None


def test_request_id_is_generated_when_not_sent(stub: StubKuzzle) -> None:
    resp = query(stub, {"controller": "server", "action": "now"})
    request_id = resp.headers["X-Kuzzle-Request-Id"]
    assert uuid.UUID(request_id)
    assert resp.json()["requestId"] == request_id


def test_unknown_url_is_a_404_envelope(stub: StubKuzzle) -> None:
    resp = requests.get(f"{stub.url}/no/such/url/here", timeout=TIMEOUT)
    assert resp.status_code == 404
    body = resp.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["error"]["id"] == "network.http.url_not_found"
    assert (body["controller"], body["action"]) == (None, None)
    assert "X-Kuzzle-Request-Id" in resp.headers
    assert isinstance(parsed(resp), NotFoundError)


def test_invalid_json_is_a_bare_400_with_the_body_start_in_props(stub: StubKuzzle) -> None:
    text = "{not json" + "x" * 80
    resp = requests.post(
        f"{stub.url}/_query",
        data=text,
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert resp.status_code == 400
    body = resp.json()
    assert set(body) == BARE_KEYS
    assert body["id"] == "network.http.body_parse_failed"
    assert body["props"] == [text[:50]]
    assert "X-Kuzzle-Request-Id" not in resp.headers
    assert "Connection" not in resp.headers
    error = parsed(resp)
    assert isinstance(error, BadRequestError)
    assert error.id == "network.http.body_parse_failed"
    assert error.request_id is None


def test_too_large_and_bad_content_type_are_bare_errors() -> None:
    with StubKuzzle(max_request_size=100) as stub, requests.Session() as session:
        big = session.post(f"{stub.url}/_query", data=b"{" + b" " * 200 + b"}", timeout=TIMEOUT)
        typed = session.post(
            f"{stub.url}/_query",
            data=b"<a/>",
            headers={"Content-Type": "text/xml"},
            timeout=TIMEOUT,
        )
        # The connection survives bare errors (no "Connection: close"): a normal query follows.
        ok = session.post(
            f"{stub.url}/_query", json={"controller": "server", "action": "now"}, timeout=TIMEOUT
        )
    assert big.status_code == 413
    assert big.json()["id"] == "network.http.request_too_large"
    assert isinstance(parsed(big), SizeLimitError)
    assert typed.status_code == 400
    assert typed.json()["id"] == "network.http.unsupported_content"
    assert typed.json()["props"] == ["text/xml"]
    assert ok.status_code == 200


def test_rest_routes_reach_the_document_store(stub: StubKuzzle) -> None:
    no_index = requests.get(f"{stub.url}/idx/col/d1", timeout=TIMEOUT)
    assert no_index.status_code == 412
    assert no_index.json()["error"]["id"] == "services.storage.unknown_index"
    assert requests.put(f"{stub.url}/idx/col", json={}, timeout=TIMEOUT).status_code == 200
    missing = requests.get(f"{stub.url}/idx/col/d1", timeout=TIMEOUT)
    assert missing.status_code == 404
    error = parsed(missing)
    assert isinstance(error, NotFoundError)
    assert error.id == "services.storage.not_found"
    assert (error.index, error.collection) == ("idx", "col")

    created = requests.put(f"{stub.url}/idx/col/d1", json={"a": 1}, timeout=TIMEOUT)
    assert created.status_code == 200
    got = requests.get(f"{stub.url}/idx/col/d1", timeout=TIMEOUT)
    source = got.json()["result"]["_source"]
    assert source.pop("_kuzzle_info")["author"] == "-1"  # Kuzzle's metadata, anonymous's id
    assert source == {"a": 1}
    assert (got.json()["index"], got.json()["collection"]) == ("idx", "col")
    actions = ["get", "create", "get", "createOrReplace", "get"]
    assert [r.action for r in stub.requests] == actions


def test_ready_and_healthcheck(stub: StubKuzzle) -> None:
    assert requests.get(f"{stub.url}/_healthcheck", timeout=TIMEOUT).status_code == 200
    assert requests.get(f"{stub.url}/_ready", timeout=TIMEOUT).status_code == 200
    stub.overload()
    ready = requests.get(f"{stub.url}/_ready", timeout=TIMEOUT)
    assert ready.status_code == 503
    assert isinstance(parsed(ready), ServiceUnavailableError)
    stub.recover()
    assert requests.get(f"{stub.url}/_ready", timeout=TIMEOUT).status_code == 200


def test_fail_times_then_normal_answers_and_attempts_are_recorded(stub: StubKuzzle) -> None:
    stub.fail("server", "now", "api.process.overloaded", times=2)
    statuses = [
        query(stub, {"controller": "server", "action": "now"}).status_code for _ in range(3)
    ]
    assert statuses == [503, 503, 200]
    assert stub.count("server", "now") == 3
    assert [r.status for r in stub.requests] == [503, 503, 200]


def test_respond_scripts_a_result(stub: StubKuzzle) -> None:
    stub.respond("collection", "list", {"collections": []})
    resp = query(stub, {"controller": "collection", "action": "list", "index": "i"})
    assert resp.json()["result"] == {"collections": []}
    unknown = query(stub, {"controller": "collection", "action": "nope"})
    assert unknown.json()["error"]["id"] == "api.process.action_not_found"
    no_controller = query(stub, {"controller": "nope", "action": "nope"})
    assert no_controller.json()["error"]["id"] == "api.process.controller_not_found"


def test_overload_times(stub: StubKuzzle) -> None:
    stub.overload(times=1)
    first = query(stub, {"controller": "server", "action": "now"})
    second = query(stub, {"controller": "server", "action": "now"})
    assert first.status_code == 503
    assert parsed(first).id == "api.process.overloaded"
    assert second.status_code == 200


def test_shutdown_over_http_is_api_process_shutting_down(stub: StubKuzzle) -> None:
    stub.shutdown(halt=False)
    resp = query(stub, {"controller": "server", "action": "now"})
    assert resp.status_code == 503
    assert resp.json()["error"]["id"] == "api.process.shutting_down"
    assert requests.get(f"{stub.url}/_ready", timeout=TIMEOUT).status_code == 503


def test_concurrency_limit_and_buffer_answer_overloaded() -> None:
    with StubKuzzle(concurrent_requests=1, requests_buffer_size=1) as stub:
        stub.slow("server", "now", 0.4)
        results: list[int] = []
        lock = threading.Lock()

        def call() -> None:
            code = query(stub, {"controller": "server", "action": "now"}).status_code
            with lock:
                results.append(code)

        threads = [threading.Thread(target=call) for _ in range(3)]
        for count, thread in enumerate(threads, 1):
            thread.start()  # one at a time, so that arrival order is known
            stub.wait_for_requests(count)
        ready_while_buffered = requests.get(f"{stub.url}/_ready", timeout=TIMEOUT).status_code
        for thread in threads:
            thread.join(TIMEOUT)
    assert sorted(results) == [200, 200, 503]
    assert ready_while_buffered == 503


def test_per_user_rate_limit_fixed_window() -> None:
    clock = FakeClock()
    with StubKuzzle(rate_limit=2, clock=clock) as stub:
        stub.add_user("alice", "pw")
        now = {"controller": "server", "action": "now"}
        anonymous = [query(stub, now).status_code for _ in range(3)]
        login = {"controller": "auth", "action": "login", "strategy": "local"}
        token = query(stub, {**login, "body": {"username": "alice", "password": "pw"}})
        alice = {"Authorization": "Bearer " + token.json()["result"]["jwt"]}
        authenticated = [query(stub, now, headers=alice).status_code for _ in range(3)]
        logout = query(stub, {"controller": "auth", "action": "logout"}, headers=alice)
        refused = query(stub, now)
        clock.now += 1.0  # the next window
        again = query(stub, now)
    assert anonymous == [200, 200, 429]
    assert authenticated == [200, 200, 429]
    assert logout.status_code == 200  # auth:logout is never limited for authenticated users
    error = parsed(refused)
    assert isinstance(error, TooManyRequestsError)
    assert error.id == "api.process.too_many_requests"
    assert again.status_code == 200
    assert token.json()["result"]["jwt"] in {r.jwt for r in stub.requests}


def mcreate(stub: StubKuzzle, query_string: str = "") -> requests.Response:
    documents = [{"_id": "d1", "body": {"n": 1}}, {"_id": "d2", "body": {"n": 2}}]
    return requests.post(
        f"{stub.url}/idx/col/_mCreate{query_string}",
        json={"documents": documents},
        timeout=TIMEOUT,
    )


def test_mcreate_v2_default_is_200_with_successes_and_errors(stub: StubKuzzle) -> None:
    stub.add_document("idx", "col", "d1", {"old": True})
    resp = mcreate(stub)
    assert resp.status_code == 200
    result = resp.json()["result"]
    assert [s["_id"] for s in result["successes"]] == ["d2"]
    assert result["errors"] == [
        {
            "document": {"_id": "d1", "body": {"n": 1}},
            "reason": "document already exists",
            "status": 400,
        }
    ]
    assert parsed(resp) is None
    strict = parse_response(resp.content, http_status=200, strict=True)
    assert isinstance(strict, PartialError)


def test_mcreate_strict_is_a_400_multiple_errors_error(stub: StubKuzzle) -> None:
    stub.add_document("idx", "col", "d1", {"old": True})
    resp = mcreate(stub, "?strict=true")
    assert resp.status_code == 400
    body = resp.json()
    assert body["result"] is None
    assert body["error"]["id"] == "api.process.incomplete_multiple_request"
    assert body["error"]["props"] == ["mCreate"]
    assert body["error"]["count"] == 1
    assert body["error"]["errors"][0]["document"]["_id"] == "d1"
    error = parsed(resp)
    assert isinstance(error, MultipleErrorsError)
    assert len(error) == 1
    # Kuzzle writes the successful documents before checking ``strict``.
    assert requests.get(f"{stub.url}/idx/col/d2", timeout=TIMEOUT).status_code == 200


def test_mcreate_v1_is_a_206_partial_error_with_the_result() -> None:
    with StubKuzzle(version=1) as stub:
        stub.add_document("idx", "col", "d1", {"old": True})
        resp = mcreate(stub)
    assert resp.status_code == 206
    body = resp.json()
    assert "node" not in body  # Kuzzle 1 envelopes had no node nor headers
    assert body["error"]["id"] == "services.storage.incomplete_create"
    assert body["result"]["total"] == 1
    error = parsed(resp)
    assert isinstance(error, PartialError)
    assert not isinstance(error, MultipleErrorsError)
    assert error.result == body["result"]
    assert len(error) == 1


def test_proxy_error_is_html_with_retry_after(stub: StubKuzzle) -> None:
    stub.proxy_error(502, times=1, retry_after=7)
    resp = query(stub, {"controller": "server", "action": "now"})
    assert resp.status_code == 502
    assert resp.reason == "Bad Gateway"
    assert resp.headers["Content-Type"] == "text/html"
    assert resp.headers["Retry-After"] == "7"
    assert "<html>" in resp.text
    error = parsed(resp)
    assert error.status == 502
    assert error.retry_after == 7.0
    assert query(stub, {"controller": "server", "action": "now"}).status_code == 200


def test_scripted_drop_aborts_the_http_connection(stub: StubKuzzle) -> None:
    stub.drop("server", "now")
    with pytest.raises(requests.ConnectionError):
        query(stub, {"controller": "server", "action": "now"})
    assert query(stub, {"controller": "server", "action": "now"}).status_code == 200


def test_pretty_and_options(stub: StubKuzzle) -> None:
    pretty = requests.get(f"{stub.url}/_now?pretty", timeout=TIMEOUT)
    assert pretty.text.startswith('{\n  "action": "now"')
    options = requests.options(
        f"{stub.url}/_query", headers={"Origin": "http://app"}, timeout=TIMEOUT
    )
    assert options.status_code == 200
    assert options.headers["Access-Control-Allow-Origin"] == "http://app"


def test_request_log_is_thread_safe(stub: StubKuzzle) -> None:
    def burst() -> None:
        with requests.Session() as session:
            for _ in range(4):
                session.post(
                    f"{stub.url}/_query",
                    json={"controller": "server", "action": "now"},
                    timeout=TIMEOUT,
                )

    threads = [threading.Thread(target=burst) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert stub.count("server", "now", transport="http") == 20
    assert len({r.request_id for r in stub.requests}) == 20


def test_jwt_in_query_body_wins_over_the_header(stub: StubKuzzle) -> None:
    query(
        stub,
        {"controller": "server", "action": "now", "jwt": "body-token"},
        headers={"Authorization": "Bearer header-token"},
    )
    assert stub.requests[-1].jwt == "body-token"
    assert json.loads(json.dumps(stub.requests[-1].payload))["jwt"] == "body-token"


def test_kuzzles_route_table_and_public_api(stub: StubKuzzle) -> None:
    api = requests.get(f"{stub.url}/_publicApi", timeout=TIMEOUT).json()["result"]
    assert {
        "verb": "POST",
        "path": "/:index/:collection/_mCreate",
        "url": "/:index/:collection/_mCreate",
    } in (api["document"]["mCreate"]["http"])
    search = requests.post(f"{stub.url}/idx/col/_search", json={}, timeout=TIMEOUT)
    assert search.status_code == 412  # the route reached document:search, the index is missing
    assert (search.json()["controller"], search.json()["action"]) == ("document", "search")
    assert search.json()["error"]["id"] == "services.storage.unknown_index"
    stub.respond("document", "search", {"hits": [], "total": 0}, times=1)
    found = requests.post(f"{stub.url}/idx/col/_search?from=0", json={}, timeout=TIMEOUT)
    assert found.json()["result"] == {"hits": [], "total": 0}
    assert stub.requests[-1].payload is not None
    assert stub.requests[-1].payload["from"] == "0"
    again = requests.post(f"{stub.url}/idx/col/_search", json={}, timeout=TIMEOUT)
    assert again.status_code == 412  # the scripted answer was used up


def test_volatile_header_and_head(stub: StubKuzzle) -> None:
    ok = requests.get(f"{stub.url}/_now", headers={"X-Kuzzle-Volatile": '{"a":1}'}, timeout=TIMEOUT)
    assert ok.json()["volatile"] == {"a": 1}
    bad = requests.get(f"{stub.url}/_now", headers={"X-Kuzzle-Volatile": "{"}, timeout=TIMEOUT)
    assert bad.status_code == 400
    assert bad.json()["error"]["id"] == "network.http.volatile_parse_failed"
    head = requests.head(f"{stub.url}/", timeout=TIMEOUT)
    assert head.status_code == 200
    assert head.content == b""


def test_reset_configure_and_request_log_helpers(stub: StubKuzzle) -> None:
    stub.fail(None, None, "api.process.overloaded")
    stub.shutdown(halt=False)
    stub.reset()
    assert query(stub, {"controller": "server", "action": "now"}).status_code == 200
    stub.configure(rate_limit=1)
    codes = [query(stub, {"controller": "server", "action": "now"}).status_code for _ in range(3)]
    assert 429 in codes
    stub.configure(rate_limit=None)
    assert len(stub.wait_for_requests(4, timeout=1.0)) == 4
    stub.clear_requests()
    assert stub.requests == []


def test_importing_the_helpers_stays_light() -> None:
    code = (
        "import sys\n"
        "from kuzzle_errors.testing import StubKuzzle, make_error\n"
        "make_error('api.process.overloaded')\n"
        "light = [m for m in ('websockets', 'requests', 'asyncio') if m in sys.modules]\n"
        "with StubKuzzle() as stub:\n"
        "    import urllib.request\n"
        "    urllib.request.urlopen(stub.url + '/_healthcheck', timeout=5).read()\n"
        "    print(light, 'websockets' in sys.modules)\n"
    )
    # websockets is imported only once a WebSocket client connects.
    assert run(code) == "[] False"


def test_logins_per_second_is_per_connection() -> None:
    clock = FakeClock()
    with StubKuzzle(logins_per_second=1, clock=clock) as stub, requests.Session() as session:
        stub.add_user("bob", "pw")
        login = {
            "controller": "auth",
            "action": "login",
            "strategy": "local",
            "body": {"username": "bob", "password": "pw"},
        }
        first = session.post(f"{stub.url}/_query", json=login, timeout=TIMEOUT)
        # Kuzzle counts logins per connection, and makes one per HTTP request: two logins
        # over one kept-alive TCP connection are both allowed.
        second = session.post(f"{stub.url}/_query", json=login, timeout=TIMEOUT)
    assert first.json()["result"]["_id"] == "bob"
    assert second.json()["result"]["jwt"].startswith("kauth-")  # Kuzzle's token prefix
    assert second.status_code == 200


def test_a_misspelt_stub_option_is_refused() -> None:
    with pytest.raises(TypeError, match="rate_limt"):
        StubKuzzle(rate_limt=1)  # type: ignore[call-arg]
