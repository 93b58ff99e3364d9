"""Every multi-document action's failed items: their own hints, and the request rebuilt with
only the items worth sending again, against Kuzzle 2.56.0's real answers; the limits that
refuse a request, named, and batches that fit them.

The answers come from ``tests/stub/kuzzle-transcripts/transcripts.jsonl`` (recorded from a
real node: mCreateOrReplace, mGet, mDelete and bulk:import, strict or not, HTTP and WebSocket)
and from the samples of the protocol reference (``shared/reference/kuzzle-protocol.md`` §2.4:
a strict mCreate, a strict mGet, security:mDeleteProfiles' 206). The request each answers is
rebuilt as a client sends it to ``/_query`` (the REST route read with Kuzzle's route table),
attached the way the clients attach it, then given back with the failed items only.

The actions no recording or sample shows (mCreate without strict, mReplace, mUpdate, mUpsert,
mExists, bulk:mWrite, security:mDeleteUsers/mDeleteRoles) are covered by the answers of the
stub, which plays Kuzzle's code for them (tests/clients/test_partial_through_clients.py), and
here by answers in the shapes Kuzzle's code writes (the reference's §5 table).
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from reference_samples import MDELETE_PROFILES_206, STRICT_MCREATE, STRICT_MGET

from kuzzle_errors import PartialError, parse_response
from kuzzle_errors._protocol import queries
from kuzzle_errors.parser import parse_response_and_body
from kuzzle_errors.partial import MULTI_DOCUMENT_ACTIONS, batches

ROOT = Path(__file__).resolve().parents[2]
EXCHANGES: dict[str, dict[str, Any]] = {
    exchange["name"]: exchange
    for exchange in map(
        json.loads,
        (ROOT / "tests/stub/kuzzle-transcripts/transcripts.jsonl").read_text("utf-8").splitlines(),
    )
}


def sent_request(exchange: dict[str, Any]) -> dict[str, Any]:
    """The ``/_query`` request a client sends for the recorded one (as the router reads it)."""
    from kuzzle_errors._stub.routes import route

    recorded = exchange["request"]
    if "frame" in recorded:  # WebSocket: the frame, without what the client adds
        return {k: v for k, v in recorded["frame"].items() if k not in ("requestId", "jwt")}
    path, _, query = recorded["path"].partition("?")
    found = route(recorded["method"], path)
    assert found is not None, recorded["path"]
    controller, action, args = found
    request: dict[str, Any] = {"controller": controller, "action": action, **args}
    for key, value in urllib.parse.parse_qsl(query):
        request[key] = value
    if "body" in recorded:
        request["body"] = recorded["body"]
    return request


def answered(exchange: dict[str, Any]) -> tuple[PartialError, dict[str, Any]]:
    """The recorded answer as a client raises it (strict: a 200 holding errors raises too)."""
    request = sent_request(exchange)
    response = exchange["response"]
    error = parse_response_and_body(
        response["body"],
        http_status=response["status"] if exchange["transport"] == "http" else None,
        transport=exchange["transport"],
        strict=True,
        request=request,
    )[0]
    assert isinstance(error, PartialError), exchange["name"]
    return error, request


#: Recorded exchanges with failed items: (name, where the items are, the items replayed).
RECORDED: list[tuple[str, str, list[Any]]] = [
    (
        "document:mCreateOrReplace with a non-object body",
        "body.documents",
        [{"_id": "mr2", "body": 42}],
    ),
    (
        "document:mCreateOrReplace strict with a non-object body",
        "body.documents",
        [{"_id": "mr4", "body": []}],
    ),
    ("document:mGet with a missing id (POST /shop/orders/_mGet)", "body.ids", ["mg-ghost"]),
    ("document:mGet with ids in the query string (GET /shop/orders/_mGet)", "ids", "mg-ghost"),
    ("document:mGet strict with a missing id", "body.ids", ["mg-ghost"]),
    ("document:mGet with a missing id over WebSocket", "body.ids", ["mg-ghost"]),
    ("document:mDelete 201 ids", "body.ids", [f"big{n}" for n in range(201)]),
    (
        "bulk:import with a create of an existing id (POST /shop/orders/_bulk)",
        "body.bulkData",
        [{"create": {"_id": "b1"}}, {"n": 2}, {"delete": {"_id": "b-ghost"}}],
    ),
    (
        "bulk:import strict with a create of an existing id",
        "body.bulkData",
        [{"create": {"_id": "b1"}}, {"n": 3}],
    ),
]


def at(request: dict[str, Any], where: str) -> Any:
    value: Any = request
    for key in where.split("."):
        value = value[key]
    return value


def test_every_recorded_partial_failure_is_listed() -> None:
    with_items = set()
    for name, exchange in EXCHANGES.items():
        body = exchange["response"]["body"]
        result = body.get("result") if isinstance(body, dict) else None
        error = body.get("error") if isinstance(body, dict) else None
        if (isinstance(result, dict) and result.get("errors")) or (
            isinstance(error, dict) and error.get("errors")
        ):
            with_items.add(name)
    assert with_items == {name for name, _, _ in RECORDED}


@pytest.mark.parametrize(("name", "where", "replayed"), RECORDED, ids=[r[0] for r in RECORDED])
def test_a_recorded_partial_failure_gives_back_its_failed_items(
    name: str, where: str, replayed: list[Any]
) -> None:
    error, request = answered(EXCHANGES[name])
    assert error.request == request  # attached as the clients attach it
    assert f"{request['controller']}:{request['action']}" in MULTI_DOCUMENT_ACTIONS
    again = error.retry_request("all")
    assert again is not None
    assert at(again, where) == replayed
    # Everything else is the request as it was.
    for key, value in request.items():
        if key not in ("body", "ids"):
            assert again[key] == value
    if where.startswith("body.") and isinstance(request["body"], dict):
        rest = {k: v for k, v in request["body"].items() if k != where.split(".")[1]}
        assert {k: v for k, v in again["body"].items() if k != where.split(".")[1]} == rest
    # None of these items is worth sending again as is: invalid, missing, or existing.
    assert error.retry_request() is None
    assert not any(item.retryable for item in error.items)


def test_recorded_items_name_their_failure() -> None:
    invalid = answered(EXCHANGES["document:mCreateOrReplace with a non-object body"])[0]
    (item,) = invalid.items
    assert (item.id, item.status, item.error_id) == ("mr2", 400, None)
    assert item.retry_hint.reason == "the item is invalid: fix it"
    mget = answered(EXCHANGES["document:mGet strict with a missing id"])[0]
    assert [(i.id, i.error_id) for i in mget.items] == [("mg-ghost", "services.storage.not_found")]
    assert mget.successes is None  # strict: Kuzzle does not say
    plain = answered(EXCHANGES["document:mGet with a missing id (POST /shop/orders/_mGet)"])[0]
    assert [s["_id"] for s in plain.successes or []] == ["mg1"]
    bulk = answered(
        EXCHANGES["bulk:import with a create of an existing id (POST /shop/orders/_bulk)"]
    )[0]
    conflict, missing = bulk.items
    assert conflict.error_id == "services.storage.document_already_exists"
    assert conflict.matches("services.storage.document_already_*")
    assert not conflict.retryable and "earlier attempt" in conflict.retry_hint.reason
    assert (missing.action, missing.status, missing.error_id) == (
        "delete",
        404,
        "services.storage.not_found",
    )
    deleted = answered(EXCHANGES["document:mDelete 201 ids"])[0]
    assert {i.error_id for i in deleted.items} == {"services.storage.not_found"}


# -- the protocol reference's samples (§2.4) -----------------------------------------------------


def with_request(body: Any, request: dict[str, Any]) -> PartialError:
    error = parse_response_and_body(body, transport="http", request=request)[0]
    assert isinstance(error, PartialError)
    return error


def test_the_reference_strict_mcreate_and_mget() -> None:
    request = {
        "controller": "document",
        "action": "mCreate",
        "index": "i",
        "collection": "c",
        "strict": True,
        "body": {"documents": [{"_id": "d0", "body": {"a": 0}}, {"_id": "d1", "body": {"a": 1}}]},
    }
    error = with_request(STRICT_MCREATE, request)
    assert error.successes is None  # d0 was written, but Kuzzle does not say
    assert error.retry_request("all") == {
        **request,
        "body": {"documents": [request["body"]["documents"][1]]},
    }
    assert error.retry_request() is None  # it exists: never written again blindly
    ids = {"controller": "document", "action": "mGet", "index": "i", "collection": "c"}
    mget = with_request(STRICT_MGET, {**ids, "body": {"ids": ["here", "missing-1", "missing-2"]}})
    again = mget.retry_request("all")
    assert again is not None and again["body"] == {"ids": ["missing-1", "missing-2"]}
    beside = with_request(STRICT_MGET, {**ids, "ids": "missing-1,here,missing-2"})
    assert beside.retry_request("all") == {**ids, "ids": "missing-1,missing-2"}


def test_the_reference_mdelete_profiles_206() -> None:
    request = {
        "controller": "security",
        "action": "mDeleteProfiles",
        "body": {"ids": ["foo", "bar", "baz"]},
    }
    error = with_request(MDELETE_PROFILES_206, request)
    assert error.successes == ["foo", "baz"]
    (item,) = error.items
    assert (item.id, item.error_id) == ("bar", "security.profile.not_found")
    assert item.retry_hint is item.error.retry_hint  # type: ignore[union-attr]
    assert error.retry_request("all") == {**request, "body": {"ids": ["bar"]}}
    assert error.retry_request() is None


# -- the shapes Kuzzle's code writes, for the actions nothing recorded ------------------------------


def m_result(action: str, errors: list[Any], successes: list[Any] | None = None) -> dict[str, Any]:
    return {
        "status": 200,
        "error": None,
        "requestId": "r",
        "action": action,
        "result": {"errors": errors, "successes": successes or []},
    }


def test_items_refused_by_elasticsearch_are_sent_again_and_the_others_are_not() -> None:
    # _mExecute: an item Elasticsearch failed carries its internal {_id, _source} (with
    # Kuzzle's metadata) and ES's reason; a document sent without _id has none.
    documents = [
        {"body": {"n": 0}},
        {"_id": "a", "body": {"n": 1}},
        {"_id": "b", "body": {"n": 2}},
        {"body": {"n": 3}},
        {"_id": "c", "body": {"n": 4}},
    ]
    request = {
        "controller": "bulk",
        "action": "mWrite",
        "index": "i",
        "collection": "c",
        "refresh": "wait_for",
        "body": {"documents": documents},
    }
    rejected = "rejected execution of coordinating operation [...]"
    answer = m_result(
        "mWrite",
        [
            {
                "document": {"_source": {"n": 3, "_kuzzle_info": {"author": "-1"}}},
                "reason": rejected,
                "status": 429,
            },
            {"document": {"_id": "a", "_source": {"n": 1}}, "reason": rejected, "status": 429},
            {
                "document": {"_id": "c", "body": {"n": 4}},
                "reason": "document not found",
                "status": 404,
            },
            {
                "document": {"_id": "b", "_source": {"n": 2}},
                "reason": "[b]: version conflict, current version [3] is different than the one provided [2]",
                "status": 409,
            },
        ],
    )
    error = parse_response_and_body(answer, strict=True, request=request)[0]
    assert isinstance(error, PartialError)
    hints = [(i.error_id, i.retryable, i.retry_hint.replay_safe) for i in error.items]
    assert hints == [
        ("services.storage.too_many_operations", True, True),
        ("services.storage.too_many_operations", True, True),
        ("services.storage.not_found", False, False),
        ("services.storage.too_many_changes", True, True),
    ]
    again = error.retry_request()
    assert again is not None
    # In the request's order, as the request held them; every other argument kept.
    assert again["body"]["documents"] == [documents[1], documents[2], documents[3]]
    assert again["refresh"] == "wait_for"
    chosen = error.retry_request(lambda item: item.status == 404)
    assert chosen is not None and chosen["body"]["documents"] == [documents[4]]


def test_mupsert_and_mupdate_items() -> None:
    documents = [
        {"_id": "u1", "changes": {"n": 1}},
        {"_id": "u2", "changes": 5},
        {"_id": "u3", "changes": {"n": 3}},
    ]
    request = {
        "controller": "document",
        "action": "mUpsert",
        "index": "i",
        "collection": "c",
        "body": {"documents": documents},
    }
    answer = m_result(
        "mUpsert",
        [
            {
                "document": documents[1],
                "reason": "document changes must be an object",
                "status": 400,
            },
            {
                "document": {"_id": "u3", "body": {"n": 3}},
                "reason": "es_rejected_execution_exception: rejected execution",
                "status": 429,
            },
        ],
    )
    error = parse_response_and_body(answer, strict=True, request=request)[0]
    assert isinstance(error, PartialError)
    assert error.retry_request() == {**request, "body": {"documents": [documents[2]]}}
    assert error.retry_request("all") == {**request, "body": {"documents": documents[1:]}}


def test_mexists_and_the_security_mdeletes() -> None:
    request = {
        "controller": "document",
        "action": "mExists",
        "index": "i",
        "collection": "c",
        "body": {"ids": ["a", "b"]},
    }
    mexists = parse_response_and_body(
        m_result("mExists", ["b"], ["a"]), strict=True, request=request
    )[0]
    assert isinstance(mexists, PartialError)
    assert mexists.retry_request("all") == {**request, "body": {"ids": ["b"]}}
    for action, error_id in (
        ("mDeleteUsers", "security.user.not_found"),
        ("mDeleteRoles", "security.role.not_found"),
    ):
        answer = {
            **MDELETE_PROFILES_206,
            "action": action,
            "error": {
                **MDELETE_PROFILES_206["error"],  # type: ignore[dict-item]
                "errors": [
                    {"id": error_id, "status": 404, "message": "not found", "props": ["x2"]}
                ],
            },
            "result": ["x1"],
        }
        sent = {"controller": "security", "action": action, "body": {"ids": ["x1", "x2"]}}
        failed = with_request(answer, sent)
        assert failed.retry_request("all") == {**sent, "body": {"ids": ["x2"]}}


def test_a_request_that_does_not_match_is_refused() -> None:
    error, request = answered(EXCHANGES["document:mGet strict with a missing id"])
    other = {**request, "body": {"ids": ["someone-else"]}}
    with pytest.raises(ValueError, match="1 failed item matches none of the request's"):
        error.retry_request("all", request=other)
    with pytest.raises(ValueError, match="is no multi-document action"):
        error.retry_request("all", request={"controller": "document", "action": "get"})
    unknown = parse_response(STRICT_MGET)
    assert isinstance(unknown, PartialError) and unknown.request is None
    with pytest.raises(ValueError, match="does not know the request it answers"):
        unknown.retry_request("all")
    with pytest.raises(TypeError, match="which"):
        error.retry_request("some")  # type: ignore[arg-type]


def test_every_multi_document_action_is_one_of_kuzzle() -> None:
    from kuzzle_errors._stub.routes import ROUTES

    routed = {f"{c}:{a}" for _verb, _path, c, a in ROUTES}
    assert set(MULTI_DOCUMENT_ACTIONS) <= routed
    assert len(MULTI_DOCUMENT_ACTIONS) == 13


# -- limits named, and batches that fit them ------------------------------------------------


def test_the_write_limit_names_its_setting_and_says_to_split() -> None:
    exchange = EXCHANGES["document:mCreate 201 documents (over documentsWriteCount)"]
    error = parse_response(exchange["response"]["body"], http_status=413)
    assert error is not None and error.limit is not None
    assert (error.limit.setting, error.limit.default, error.limit.value) == (
        "limits.documentsWriteCount",
        200,
        None,  # Kuzzle's message says no figure
    )
    assert not error.retryable
    assert "split" in error.retry_hint.reason and "documentsWriteCount" in error.retry_hint.reason
    assert error.to_dict()["limit"]["setting"] == "limits.documentsWriteCount"
    fetch = parse_response(
        EXCHANGES["document:mGet 10001 ids (over documentsFetchCount)"]["response"]["body"]
    )
    assert fetch is not None and fetch.limit is not None
    assert fetch.limit.setting == "limits.documentsFetchCount"
    too_large = parse_response(
        EXCHANGES["POST /_query with a body over server.maxRequestSize (1mb)"]["response"]["body"],
        http_status=413,
    )
    assert too_large is not None and too_large.limit is not None
    assert too_large.limit.setting == "server.maxRequestSize"


def test_batches_fit_the_write_limit_and_the_request_size() -> None:
    readings = [{"_id": f"r{i}", "body": {"v": i}} for i in range(5000)]
    split = list(batches(readings))
    assert [len(b) for b in split] == [200] * 25
    assert [doc for batch in split for doc in batch] == readings
    big = [{"_id": str(i), "body": {"blob": "x" * 100_000}} for i in range(30)]
    sized = list(batches(big))
    assert all(len(json.dumps({"documents": b}).encode()) < 1024 * 1024 - 4096 for b in sized)
    assert sum(len(b) for b in sized) == 30 and len(sized) == 3
    assert list(batches(readings[:5], size=2, max_bytes=None)) == [
        readings[:2],
        readings[2:4],
        readings[4:5],
    ]
    with pytest.raises(ValueError, match="document 1 alone"):
        list(batches([{}, {"blob": "x" * 100}], max_bytes=50))
    for bad in (0, True, 1.5):
        with pytest.raises(ValueError, match="size"):
            list(batches([], size=bad))  # type: ignore[arg-type]


def test_a_limit_kuzzle_states_is_read_from_its_message_placeholders() -> None:
    from kuzzle_errors import error_class, hints

    terms = error_class("core.realtime.too_many_terms")("max 20, received 31", props=["20", "31"])
    assert terms.limit == hints.Limit(
        "limits.subscriptionConditionsCount", 100, "conditions one subscription filter may hold", 20
    )
    assert hints.limit_of("core.realtime.too_many_terms", ["x"]) == hints.LIMITS[terms.id]
    assert hints.limit_of("services.storage.not_found") is None
    assert hints.limit_of(None) is None
    assert error_class("services.storage.not_found")("gone").to_dict().get("limit") is None


def test_an_item_a_storage_timeout_failed_is_retryable_but_may_have_been_written() -> None:
    request = {
        "controller": "document",
        "action": "mCreateOrReplace",
        "index": "i",
        "collection": "c",
        "body": {"documents": [{"_id": "a", "body": {}}, {"_id": "b", "body": {}}]},
    }
    answer = m_result(
        "mCreateOrReplace",
        [
            {"document": {"_id": "a", "body": {}}, "reason": "timed out", "status": 504},
            {
                "document": {"_id": "b", "body": {}},
                "reason": "mapper_parsing_exception",
                "status": 500,
            },
        ],
    )
    error = parse_response_and_body(answer, strict=True, request=request)[0]
    assert isinstance(error, PartialError)
    timed_out, refused = error.items
    assert (timed_out.retryable, timed_out.retry_hint.replay_safe) == (True, False)
    assert not refused.retryable  # a 500 of Elasticsearch's: deterministic
    again = error.retry_request()
    assert again is not None and again["body"]["documents"] == [{"_id": "a", "body": {}}]


def test_items_sharing_an_id_are_told_apart_by_the_body_kuzzle_sends_back() -> None:
    # Only the second of two documents with one _id failed: replaying the first would
    # overwrite what Kuzzle wrote with the older body.
    documents = [{"_id": "a", "body": {"n": 1}}, {"_id": "a", "body": {"n": 2}}]
    request = {
        "controller": "document",
        "action": "mCreateOrReplace",
        "index": "i",
        "collection": "c",
        "body": {"documents": documents},
    }
    rejected = {"reason": "es_rejected_execution_exception: rejected execution", "status": 429}
    second = {"document": {"_id": "a", "_source": {"n": 2, "_kuzzle_info": {}}}, **rejected}
    error = parse_response_and_body(
        m_result("mCreateOrReplace", [second], [{"_id": "a"}]), strict=True, request=request
    )[0]
    assert isinstance(error, PartialError)
    assert error.retry_request() == {**request, "body": {"documents": [documents[1]]}}
    # Identical bodies: request order, each request item once.
    twins = [{"_id": "a", "body": {"n": 2}}, {"_id": "a", "body": {"n": 2}}]
    both = parse_response_and_body(
        m_result("mCreateOrReplace", [second, second]),
        strict=True,
        request={**request, "body": {"documents": twins}},
    )[0]
    assert isinstance(both, PartialError)
    again = both.retry_request()
    assert again is not None and again["body"]["documents"] == twins
    # A body that is none of them: not guessed.
    other = {"document": {"_id": "a", "_source": {"n": 3}}, **rejected}
    unknown = parse_response_and_body(
        m_result("mCreateOrReplace", [other]), strict=True, request=request
    )[0]
    assert isinstance(unknown, PartialError)
    with pytest.raises(ValueError, match="which one failed is not known"):
        unknown.retry_request()
    # bulk:import, the shape of Kuzzle's recorded answer (its _source, ES's error).
    bulk = [{"index": {"_id": "a"}}, {"n": 1}, {"index": {"_id": "a"}}, {"n": 2}]
    imported = {
        "controller": "bulk",
        "action": "import",
        "index": "i",
        "collection": "c",
        "body": {"bulkData": bulk},
    }
    failed = {
        "index": {
            "_id": "a",
            "status": 429,
            "_source": {"n": 2},
            "error": {"type": "es_rejected_execution_exception", "reason": "rejected execution"},
        }
    }
    answer = m_result("import", [failed], [{"index": {"_id": "a", "status": 201}}])
    error = parse_response_and_body(answer, strict=True, request=imported)[0]
    assert isinstance(error, PartialError)
    assert error.retry_request() == {**imported, "body": {"bulkData": bulk[2:]}}


def test_a_bulk_line_without_id_matches_whatever_id_elasticsearch_generated() -> None:
    # {"index": {}} lets Elasticsearch generate the id, and its failed item carries it: the
    # overload answer (429 es_rejected_execution_exception) is matched by action and _source.
    bulk = [{"index": {}}, {"n": 1}, {"index": {}}, {"n": 2}, {"create": {}}, {"n": 2}]
    request = {
        "controller": "bulk",
        "action": "import",
        "index": "i",
        "collection": "c",
        "body": {"bulkData": bulk},
    }
    rejected = {"type": "es_rejected_execution_exception", "reason": "rejected execution"}
    answer = m_result(
        "import",
        [{"index": {"_id": "gen-xyz", "status": 429, "_source": {"n": 2}, "error": rejected}}],
        [{"index": {"_id": "gen-abc", "status": 201}}, {"create": {"_id": "gen-d", "status": 201}}],
    )
    error = parse_response_and_body(answer, strict=True, request=request)[0]
    assert isinstance(error, PartialError)
    (item,) = error.items
    assert (item.id, item.retryable) == ("gen-xyz", True)
    assert error.retry_request() == {**request, "body": {"bulkData": bulk[2:4]}}


def test_the_request_kept_is_not_the_callers_list_and_may_hold_tuples() -> None:
    # The caller may clear or reuse its list once the call is over: retry_request() rebuilds
    # from the error's own copy (sent_request, as the clients attach it).
    documents = [{"_id": "a", "body": {"n": 1}}, {"_id": "b", "body": {"n": 2}}]
    request = {
        "controller": "document",
        "action": "mCreateOrReplace",
        "index": "i",
        "collection": "c",
        "body": {"documents": documents},
    }
    failed = {"document": {"_id": "b", "_source": {"n": 2}}, "reason": "rejected", "status": 429}
    answer = m_result("mCreateOrReplace", [failed], [{"_id": "a"}])
    error = queries.sent_request(parse_response_and_body(answer, strict=True, request=request)[0])
    assert isinstance(error, PartialError)
    kept = documents[1]
    documents.clear()
    assert error.retry_request() == {**request, "body": {"documents": [kept]}}
    # mGet's ids beside the body, and a tuple of documents (sent as a JSON array).
    ids = ["here", "missing-1", "missing-2"]
    mget = {"controller": "document", "action": "mGet", "index": "i", "collection": "c"}
    missing = queries.sent_request(with_request(STRICT_MGET, {**mget, "ids": ids}))
    ids.clear()
    again = missing.retry_request("all")
    assert again is not None and again["ids"] == ["missing-1", "missing-2"]
    as_tuple = {**request, "body": {"documents": (dict(kept, _id="a"), kept)}}
    tupled = parse_response_and_body(answer, strict=True, request=as_tuple)[0]
    assert isinstance(tupled, PartialError)
    assert tupled.retry_request() == {**request, "body": {"documents": [kept]}}


def test_a_security_mdelete_failure_naming_no_id_is_the_id_neither_deleted_nor_named() -> None:
    # Kuzzle reports a storage error as it came, with no id: the request's ids less those
    # deleted (the result) and those the other failures name are the ones it failed.
    not_connected = {
        "id": "services.storage.not_connected",
        "status": 503,
        "message": "Elasticsearch service is not connected.",
        "props": [],
    }
    not_found = {
        "id": "security.profile.not_found",
        "status": 404,
        "message": 'Profile "bar" not found.',
        "props": ["bar"],
    }

    def answer(result: list[str]) -> dict[str, Any]:
        error = {**MDELETE_PROFILES_206["error"], "errors": [not_found, not_connected]}  # type: ignore[dict-item]
        return {**MDELETE_PROFILES_206, "error": error, "result": result}

    request = {
        "controller": "security",
        "action": "mDeleteProfiles",
        "body": {"ids": ["foo", "bar", "baz"]},
    }
    error = with_request(answer(["foo"]), request)
    assert [item.id for item in error.items] == ["bar", None]
    assert error.retry_request() == {**request, "body": {"ids": ["baz"]}}
    assert error.retry_request("all") == {**request, "body": {"ids": ["bar", "baz"]}}
    two_left = with_request(answer([]), request)  # foo or baz: which is not known
    with pytest.raises(ValueError, match="1 failed item names no id"):
        two_left.retry_request()
