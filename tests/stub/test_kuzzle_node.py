"""The stub's node beyond the recorded exchanges: its limits under Kuzzle's names, the query
language subset, tokens and rights, the m* and bulk shapes, realtime scopes, the open stub."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

import kuzzle_errors
from kuzzle_errors import PartialError, parse_response
from kuzzle_errors.testing import StubKuzzle

TIMEOUT = 5.0
ORDERS = {"index": "shop", "collection": "orders"}


def query(stub: StubKuzzle, payload: dict[str, Any], jwt: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {jwt}"} if jwt else {}
    answer = requests.post(f"{stub.url}/_query", json=payload, headers=headers, timeout=TIMEOUT)
    body = answer.json()
    assert isinstance(body, dict)
    return body


def doc(action: str, **extra: Any) -> dict[str, Any]:
    return {"controller": "document", "action": action, **ORDERS, **extra}


def login(stub: StubKuzzle, username: str, password: str = "pw") -> str:
    body = {"username": username, "password": password}
    answer = query(
        stub, {"controller": "auth", "action": "login", "strategy": "local", "body": body}
    )
    jwt = answer["result"]["jwt"]
    assert isinstance(jwt, str)
    return jwt


@pytest.fixture
def shop() -> Iterator[StubKuzzle]:
    with StubKuzzle() as stub:
        stub.add_collection("shop", "orders")
        yield stub


# -- limits, under Kuzzle's configuration names ------------------------------------------------


def test_limits_are_set_under_kuzzles_configuration_names() -> None:
    config = {
        "limits": {"documentsWriteCount": 2, "documentsFetchCount": 3},
        "server": {"maxRequestSize": "1kb"},
    }
    with StubKuzzle(config=config) as stub:
        stub.add_collection("shop", "orders")
        documents = [{"body": {"n": n}} for n in range(3)]
        written = query(stub, doc("mCreate", body={"documents": documents}))
        fetched = query(stub, doc("mGet", body={"ids": ["a", "b", "c", "d"]}))
        searched = query(stub, doc("search", size=4, body={}))
        paged = query(stub, doc("search", **{"from": 2, "size": 4}, body={}))  # size - from
        big = requests.post(f"{stub.url}/_query", json={"pad": "x" * 2000}, timeout=TIMEOUT)
    assert written["error"]["id"] == "services.storage.write_limit_exceeded"
    assert (
        fetched["error"]["id"] == searched["error"]["id"] == "services.storage.get_limit_exceeded"
    )
    assert paged["status"] == 200
    assert (big.status_code, big.json()["id"]) == (413, "network.http.request_too_large")


def test_kuzzles_defaults_are_the_stubs() -> None:
    with StubKuzzle() as stub:
        state = stub._state
        assert (state.documents_write_count, state.documents_fetch_count) == (200, 10_000)
        assert (state.concurrent_requests, state.requests_buffer_size) == (100, 50_000)
        assert (state.logins_per_second, state.max_request_size) == (1, 1024 * 1024)
        assert state.token_ttl == 3600


# -- document:search and count: the query language subset ------------------------------------


@pytest.fixture
def catalog(shop: StubKuzzle) -> StubKuzzle:
    items = {
        "a": {"name": "red apple", "price": 3, "tags": ["fruit"], "stock": {"n": 5}},
        "b": {"name": "green apple", "price": 1, "tags": ["fruit", "green"]},
        "c": {"name": "carrot", "price": 2, "tags": ["vegetable"], "stock": {"n": 0}},
    }
    for doc_id, body in items.items():
        shop.add_document("shop", "orders", doc_id, body)
    return shop


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ({}, ["a", "b", "c"]),
        ({"query": {"match_all": {}}}, ["a", "b", "c"]),
        ({"query": {"match": {"name": "APPLE pie"}}}, ["a", "b"]),
        ({"query": {"match_phrase": {"name": "green apple"}}}, ["b"]),
        ({"query": {"term": {"tags": "green"}}}, ["b"]),
        ({"query": {"terms": {"tags": ["vegetable", "green"]}}}, ["b", "c"]),
        ({"query": {"ids": {"values": ["c", "a", "x"]}}}, ["a", "c"]),
        ({"query": {"range": {"price": {"gte": 2, "lt": 3}}}}, ["c"]),
        ({"query": {"exists": {"field": "stock.n"}}}, ["a", "c"]),
        ({"query": {"prefix": {"name": "car"}}}, ["c"]),
        ({"query": {"wildcard": {"name": "*een*"}}}, ["b"]),
        (
            {
                "query": {
                    "bool": {
                        "must": [{"term": {"tags": "fruit"}}],
                        "must_not": {"range": {"price": {"lt": 2}}},
                    }
                }
            },
            ["a"],
        ),
        (
            {"query": {"bool": {"should": [{"term": {"price": 1}}, {"term": {"price": 2}}]}}},
            ["b", "c"],
        ),
        ({"query": {"match_all": {}}, "sort": [{"price": "desc"}]}, ["a", "c", "b"]),
        ({"query": {"match_all": {}}, "sort": "price"}, ["b", "c", "a"]),
    ],
)
def test_search_evaluates_the_query_subset(
    catalog: StubKuzzle, search: dict[str, Any], found: list[str]
) -> None:
    answer = query(catalog, doc("search", body=search))
    assert answer["status"] == 200, answer["error"]
    ids = [hit["_id"] for hit in answer["result"]["hits"]]
    assert ids == found if "sort" in search else sorted(ids) == found
    assert answer["result"]["total"] == len(found)
    counted = query(catalog, doc("count", body={k: v for k, v in search.items() if k != "sort"}))
    assert counted["result"] == {"count": len(found)}


def test_search_pages_with_from_and_size(catalog: StubKuzzle) -> None:
    answer = query(catalog, doc("search", **{"from": 1, "size": 1}, body={"sort": "price"}))
    assert [hit["_id"] for hit in answer["result"]["hits"]] == ["c"]
    assert answer["result"]["total"] == 3
    over_http = requests.get(
        f"{catalog.url}/shop/orders/_search",
        params={"searchBody": json.dumps({"query": {"term": {"price": 3}}})},
        timeout=TIMEOUT,
    )
    assert [hit["_id"] for hit in over_http.json()["result"]["hits"]] == ["a"]


@pytest.mark.parametrize(
    ("search", "error_id", "status"),
    [
        ({"query": {"equals": {"name": "x"}}}, "services.storage.unknown_query_keyword", 400),
        ({"query": {"geo_distance": {}}}, "core.fatal.unexpected_error", 500),
        ({"query": {"match": {"a": 1, "b": 2}}}, "services.storage.unexpected_bad_request", 400),
        ({"script": {}}, "services.storage.invalid_search_query", 400),
    ],
)
def test_a_query_outside_the_subset_is_answered_never_guessed(
    catalog: StubKuzzle, search: dict[str, Any], error_id: str, status: int
) -> None:
    answer = query(catalog, doc("search", body=search))
    assert (answer["status"], answer["error"]["id"]) == (status, error_id)
    if status == 500:
        assert "geo_distance" in answer["error"]["message"]  # the stub says what it lacks


# -- tokens and rights ------------------------------------------------------------------------


def forged(kuid: str) -> str:
    """A well-formed HS256 JWT signed with a secret the stub does not have."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(b'{"alg":"HS256","typ":"JWT"}')
    claims = b64(json.dumps({"_id": kuid, "iat": 1, "exp": 99999999999}).encode())
    signature = b64(
        hmac.new(b"not the secret", f"{head}.{claims}".encode(), hashlib.sha256).digest()
    )
    return f"kauth-{head}.{claims}.{signature}"


def test_forged_revoked_and_good_tokens(shop: StubKuzzle) -> None:
    shop.add_user("alice", "pw")
    good = login(shop, "alice")
    now = {"controller": "server", "action": "now"}
    assert query(shop, now, good)["status"] == 200
    assert query(shop, now, forged("alice"))["error"]["id"] == "security.token.invalid"
    checked = query(shop, {"controller": "auth", "action": "checkToken", "body": {"token": good}})
    assert checked["result"]["valid"] is True
    assert checked["result"]["kuid"] == "alice"
    assert query(shop, {"controller": "auth", "action": "logout"}, good)["status"] == 200
    revoked = query(shop, now, good)
    assert (revoked["status"], revoked["error"]["message"]) == (401, "Invalid token.")
    wrong = query(
        shop,
        {
            "controller": "auth",
            "action": "login",
            "strategy": "local",
            "body": {"username": "alice", "password": "nope"},
        },
    )
    assert (wrong["status"], wrong["error"]["id"]) == (401, "plugin.strategy.missing_user")
    assert wrong["error"]["message"] == "wrong username or password"


def test_rights_follow_profiles_roles_and_restrictions(shop: StubKuzzle) -> None:
    admin = {"content": {}, "credentials": {"local": {"username": "root", "password": "pw"}}}
    first = query(
        shop,
        {
            "controller": "security",
            "action": "createFirstAdmin",
            "_id": "root",
            "reset": True,
            "body": admin,
        },
    )
    assert first["status"] == 200
    root = login(shop, "root")
    role = {"controllers": {"document": {"actions": {"get": True, "search": True}}}}
    assert (
        query(
            shop,
            {"controller": "security", "action": "createRole", "_id": "reader", "body": role},
            root,
        )["status"]
        == 200
    )
    policies = [
        {"roleId": "reader", "restrictedTo": [{"index": "shop", "collections": ["orders"]}]}
    ]
    assert (
        query(
            shop,
            {
                "controller": "security",
                "action": "createProfile",
                "_id": "shopper",
                "body": {"policies": policies},
            },
            root,
        )["status"]
        == 200
    )
    shop.add_user("sam", "pw", profile_ids=["shopper"])
    shop.add_collection("shop", "secrets")
    shop.add_document("shop", "orders", "o1", {"n": 1})
    sam = login(shop, "sam")
    assert query(shop, doc("get", _id="o1"), sam)["status"] == 200
    elsewhere = query(shop, {**doc("get", _id="o1"), "collection": "secrets"}, sam)
    assert (elsewhere["status"], elsewhere["error"]["id"]) == (403, "security.rights.forbidden")
    assert query(shop, doc("create", body={}), sam)["status"] == 403
    anonymous = query(shop, doc("get", _id="o1"))
    assert (anonymous["status"], anonymous["error"]["id"]) == (401, "security.rights.unauthorized")


def test_a_profile_rate_limit_applies_to_its_users(shop: StubKuzzle) -> None:
    shop.configure(rate_limit=None)
    shop._state.clock = lambda: 0.0  # one 1-second window for the whole test
    root = {"policies": [{"roleId": "admin"}], "rateLimit": 1}
    query(shop, {"controller": "security", "action": "createProfile", "_id": "slow", "body": root})
    shop.add_user("lim", "pw", profile_ids=["slow"])
    lim = login(shop, "lim")
    now = {"controller": "server", "action": "now"}
    assert [query(shop, now, lim)["status"] for _ in range(2)] == [200, 429]
    assert query(shop, now)["status"] == 200  # anonymous has its own counter (and no limit)


def test_the_open_stub_checks_nothing() -> None:
    with StubKuzzle(security=False) as stub:
        token = login(stub, "whoever", "anything")
        now = {"controller": "server", "action": "now"}
        assert query(stub, now, token)["status"] == 200
        assert query(stub, now, "made-up")["status"] == 200
        query(
            stub,
            {
                "controller": "security",
                "action": "createFirstAdmin",
                "_id": "a",
                "reset": True,
                "body": {"credentials": {"local": {"username": "a", "password": "b"}}},
            },
        )
        assert (
            query(stub, {"controller": "index", "action": "create", "index": "i"})["status"] == 200
        )


# -- the m* and bulk shapes -------------------------------------------------------------------


def test_m_update_upsert_and_delete(shop: StubKuzzle) -> None:
    shop.add_document("shop", "orders", "o1", {"n": 1, "deep": {"a": 1}})
    updated = query(
        shop,
        doc(
            "mUpdate",
            body={
                "documents": [
                    {"_id": "o1", "body": {"deep": {"b": 2}}},
                    {"_id": "ghost", "body": {"n": 0}},
                    {"body": {}},
                ]
            },
        ),
    )
    result = updated["result"]
    assert result["successes"][0]["_source"]["deep"] == {"a": 1, "b": 2}  # merged, as ES does
    assert [(e["reason"], e["status"]) for e in result["errors"]] == [
        ("document not found", 404),
        ("document _id must be a string", 400),
    ]
    upserted = query(
        shop,
        doc(
            "mUpsert",
            body={
                "documents": [
                    {"_id": "o2", "changes": {"n": 2}, "default": {"new": True}},
                    {"_id": "o1", "changes": []},
                ]
            },
        ),
    )
    assert upserted["result"]["successes"][0]["created"] is True
    assert upserted["result"]["errors"][0]["reason"] == "document changes must be an object"
    deleted = query(shop, doc("mDelete", body={"ids": ["o1", "o2", "nope", 5]}))
    assert deleted["result"]["successes"] == ["o1", "o2"]
    assert [e["_id"] for e in deleted["result"]["errors"]] == [5, "nope"]


def test_bulk_import_updates_and_deletes(shop: StubKuzzle) -> None:
    shop.add_document("shop", "orders", "b1", {"n": 1})
    bulk = [
        {"update": {"_id": "b1"}},
        {"doc": {"n": 2}},
        {"update": {"_id": "b9"}},
        {"doc": {}},
        {"delete": {"_id": "b1"}},
    ]
    result = query(shop, {**doc("import"), "controller": "bulk", "body": {"bulkData": bulk}})[
        "result"
    ]
    assert result["successes"] == [
        {"update": {"_id": "b1", "status": 200}},
        {"delete": {"_id": "b1", "status": 200}},
    ]
    assert result["errors"][0]["update"]["status"] == 404


@pytest.mark.parametrize(
    ("version", "strict", "status", "kind"),
    [(2, False, 200, None), (2, True, 400, "MultipleErrorsError"), (1, False, 206, "PartialError")],
)
def test_the_three_kinds_of_partial_mcreate_failure(
    version: int, strict: bool, status: int, kind: str | None
) -> None:
    with StubKuzzle(version=version) as stub:
        stub.add_document("shop", "orders", "dup", {"n": 0})
        documents = [{"_id": "new", "body": {"n": 1}}, {"_id": "dup", "body": {"n": 2}}]
        extra = {"strict": True} if strict else {}
        answer = requests.post(
            f"{stub.url}/_query",
            json=doc("mCreate", body={"documents": documents}, **extra),
            timeout=TIMEOUT,
        )
    error = parse_response(answer.content, http_status=answer.status_code, strict=True)
    assert answer.status_code == status
    assert isinstance(error, PartialError)
    assert [item.id for item in error.items] == ["dup"]
    if kind is not None:
        assert kind in {cls.__name__ for cls in type(error).__mro__}


# -- realtime scopes and silence --------------------------------------------------------------


def test_scope_in_out_and_silent_writes(shop: StubKuzzle) -> None:
    ws = websocket.create_connection(shop.ws_url, timeout=TIMEOUT)
    try:
        ws.send(
            json.dumps(
                {
                    "controller": "realtime",
                    "action": "subscribe",
                    **ORDERS,
                    "requestId": "s",
                    "body": {"equals": {"color": "red"}},
                    "scope": "out",
                }
            )
        )
        assert json.loads(ws.recv())["result"]["channel"].endswith("-313")
        requests.put(
            f"{shop.url}/shop/orders/d1", json={"color": "red"}, timeout=TIMEOUT
        )  # in: not told
        requests.put(f"{shop.url}/shop/orders/d1?silent", json={"color": "blue"}, timeout=TIMEOUT)
        requests.put(f"{shop.url}/shop/orders/d1", json={"color": "red"}, timeout=TIMEOUT)
        requests.patch(
            f"{shop.url}/shop/orders/d1/_update", json={"color": "green"}, timeout=TIMEOUT
        )
        note = json.loads(ws.recv())
    finally:
        ws.close()
    assert (note["action"], note["scope"], note["result"]["_updatedFields"]) == (
        "update",
        "out",
        ["color"],
    )
    assert "node" not in note
    assert note["volatile"] is None


def test_an_unimplemented_action_says_so(shop: StubKuzzle) -> None:
    answer = query(shop, {"controller": "ms", "action": "get", "_id": "k"})
    assert (answer["status"], answer["error"]["id"]) == (500, "core.fatal.unexpected_error")
    assert '"ms:get"' in answer["error"]["message"]
    assert (
        query(shop, {"controller": "ms", "action": "nope"})["error"]["id"]
        == "api.process.action_not_found"
    )
    assert isinstance(parse_response(json.dumps(answer)), kuzzle_errors.InternalError)
