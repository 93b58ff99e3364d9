"""Every shape of failed item Kuzzle sends parses into a PartialItem that keeps the raw item."""

from __future__ import annotations

from typing import Any

import pytest

from kuzzle_errors import KuzzleError, NotFoundError, PartialError, PartialItem, parse_response
from kuzzle_errors.partial import parse_item, parse_items, successes_of


def partial(errors: list[Any], count: int | None = None, result: Any = None) -> PartialError:
    error = parse_response(
        {
            "status": 206,
            "error": {
                "id": "services.storage.import_failed",
                "status": 206,
                "message": "Failed to import some or all documents.",
                "errors": errors,
                "count": len(errors) if count is None else count,
            },
            "result": result,
        }
    )
    assert isinstance(error, PartialError)
    return error


def test_nested_error_object_with_stack() -> None:
    item = parse_item(
        {
            "id": "security.role.not_found",
            "status": 404,
            "message": 'Role "r" not found.',
            "stack": "s",
        }
    )
    assert isinstance(item.error, NotFoundError)
    assert item.error.stack == "s"
    assert (item.status, item.reason) == (404, 'Role "r" not found.')


def test_document_reason_status() -> None:
    raw = {
        "document": {"_id": "d1", "body": {"a": 1}},
        "reason": "document already exists",
        "status": 400,
    }
    item = parse_item(raw)
    assert item == PartialItem(
        id="d1",
        document={"_id": "d1", "body": {"a": 1}},
        status=400,
        reason="document already exists",
        raw=raw,
    )
    assert item.error is None


def test_id_reason_status() -> None:
    item = parse_item({"_id": "d2", "reason": "document not found", "status": 404})
    assert (item.id, item.status, item.reason, item.document) == (
        "d2",
        404,
        "document not found",
        None,
    )


def test_bare_id_strings() -> None:
    items = parse_items(["missing-1", "missing-2"])
    assert [i.id for i in items] == ["missing-1", "missing-2"]
    assert all(i.status is None and i.reason is None for i in items)


def test_bulk_import_items() -> None:
    raw = {
        "create": {
            "_id": "b1",
            "status": 409,
            "error": {"type": "version_conflict_engine_exception", "reason": "already exists"},
        }
    }
    item = parse_item(raw)
    assert (item.action, item.id, item.status, item.reason) == (
        "create",
        "b1",
        409,
        "already exists",
    )
    index = parse_item({"index": {"_id": "b2", "status": 400, "reason": "bad"}})
    assert (index.action, index.reason) == ("index", "bad")


def test_cause_id_and_id_reason() -> None:
    item = parse_item({"cause": "mapping conflict", "id": "u1"})
    assert (item.id, item.reason) == ("u1", "mapping conflict")
    nested_cause = parse_item({"cause": {"reason": "oops", "type": "x"}, "id": 7})
    assert (nested_cause.id, nested_cause.reason) == ("7", "oops")
    by_query = parse_item({"id": "q1", "reason": "conflict"})
    assert (by_query.id, by_query.reason) == ("q1", "conflict")


@pytest.mark.parametrize("raw", [None, 3.5, True, [1, 2], {"weird": object()}, {}])
def test_unknown_shapes_keep_raw(raw: Any) -> None:
    item = parse_item(raw)
    assert item.raw is raw
    assert item.error is None


def test_wrong_types_inside_items() -> None:
    item = parse_item({"document": {"_id": {"x": 1}}, "reason": ["r"], "status": "abc"})
    assert item.id is None and item.status is None and item.reason == "['r']"


def test_count_disagreeing_with_items_is_kept_and_reported() -> None:
    error = partial(["a", "b", "c"], count=5)
    assert error.count == 5
    assert len(error) == 3
    assert "count=5 but 3 items sent: they disagree" in str(error)
    assert "count=2 but 1 item sent: they disagree" in str(partial(["a"], count=2))


def test_mixed_shapes_in_one_partial_error() -> None:
    error = partial(
        [
            "id-only",
            {"_id": "x", "reason": "r", "status": 400},
            {
                "id": "api.assert.missing_argument",
                "status": 400,
                "message": 'Missing argument "a".',
            },
        ],
        result={"successes": [{"_id": "ok"}], "errors": []},
    )
    kinds = [(i.id, i.error is not None) for i in error.items]
    assert kinds == [("id-only", False), ("x", False), (None, True)]
    assert isinstance(error.items[2].error, KuzzleError)
    assert error.successes == [{"_id": "ok"}]
    assert error.items is error.items  # parsed once


def test_successes_of() -> None:
    assert successes_of(["a"]) == ["a"]
    assert successes_of({"hits": [1], "total": 1}) == [1]
    assert successes_of({"successes": [2], "errors": []}) == [2]
    assert successes_of(None) is None
    assert successes_of({"other": 1}) is None
    assert parse_items("not a list") == []


# Every item shape, and the odd values inside them: parse_items' fast path (plain dicts and
# strings, slots set directly) must give exactly what parse_item gives item by item.
EVERY_SHAPE: list[Any] = [
    {
        "document": {"_id": "d1", "body": {"a": 1}},
        "reason": "document already exists",
        "status": 400,
    },
    {"document": {"_id": 7, "body": {}}, "reason": {"reason": "nested"}, "status": "404"},
    {"document": {"_id": {"x": 1}}, "reason": ["r"], "status": "abc"},
    {"document": {}, "status": 99.0},
    {"document": {"_id": None}, "reason": None, "status": True},
    {"document": "not an object", "reason": "r", "status": 400},
    {"_id": "d2", "reason": "document not found", "status": 404},
    "missing-1",
    "",
    42,
    True,
    None,
    3.5,
    ["a", "list"],
    {"create": {"_id": "b1", "status": 409, "error": {"reason": "conflict", "type": "x"}}},
    {"index": {"_id": "b2", "status": 400, "reason": "bad"}},
    {"delete": "not an object"},
    {"id": "security.profile.not_found", "status": 404, "message": "Profile not found."},
    {"id": "nope", "code": 1, "message": "m", "_id": "x"},
    {"cause": "mapping conflict", "id": "u1"},
    {"cause": {"reason": "oops", "type": "x"}, "id": 7},
    {"id": "q1", "reason": "conflict"},
    {},
]


def item_view(item: PartialItem) -> tuple[Any, ...]:
    error = item.error
    parsed = None if error is None else (type(error), error.__dict__)
    return (
        type(item),
        item.id,
        item.document,
        item.status,
        item.reason,
        item.action,
        item.raw,
        parsed,
    )


def test_fast_path_gives_what_the_slow_path_gives_for_every_shape() -> None:
    fast = parse_items(EVERY_SHAPE, transport="http")
    slow = [parse_item(raw, transport="http") for raw in EVERY_SHAPE]
    assert [item_view(item) for item in fast] == [item_view(item) for item in slow]
    assert fast == slow
    # Through a parsed PartialError as well, each item once.
    items = partial(EVERY_SHAPE).items
    assert [item_view(item) for item in items] == [
        item_view(parse_item(raw)) for raw in EVERY_SHAPE
    ]


def test_fast_path_items_are_immutable_like_the_others() -> None:
    (item,) = parse_items([{"document": {"_id": "d"}, "reason": "r", "status": 400}])
    with pytest.raises(AttributeError):
        item.id = "other"  # type: ignore[misc]
    assert item == PartialItem(id="d", document={"_id": "d"}, status=400, reason="r", raw=item.raw)


def _partial_error(text: str) -> PartialError:
    from kuzzle_errors.parser import parse_response_and_body

    documents = [{"_id": "a", "body": {"text": text}}, {"_id": "b", "body": {"text": "ok"}}]
    request = {
        "controller": "document",
        "action": "mCreateOrReplace",
        "index": "i",
        "collection": "c",
        "body": {"documents": documents},
    }
    failed = {"document": {"_id": "a", "_source": {"text": text}}, "status": 429}
    answer = {
        "status": 206,
        "error": None,
        "requestId": "r",
        "action": "mCreateOrReplace",
        "result": {"successes": [{"_id": "b"}], "errors": [{**failed, "reason": "rejected"}]},
    }
    error = parse_response_and_body(answer, strict=True, request=request)[0]
    assert isinstance(error, PartialError)
    return error


@pytest.mark.parametrize(
    "text", ["x" * 70_000, "eyJhbGciOiJIUzI1NiJ9.eyJfaWQiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz"]
)
@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_a_pickled_or_copied_error_whose_request_was_redacted_sends_nothing_again(
    text: str, how: str
) -> None:
    import copy
    import pickle

    error = _partial_error(text)
    assert error.retry_request()["body"]["documents"][0]["body"]["text"] == text
    again = {
        "pickle": lambda e: pickle.loads(pickle.dumps(e)),
        "copy": copy.copy,
        "deepcopy": copy.deepcopy,
    }[how](error)
    assert again.request != error.request  # cut or hidden on the way, as pickles are
    with pytest.raises(ValueError, match="pickled or copied"):
        again.retry_request()
    # The caller's own copy of the request still works.
    kept = again.retry_request(request=error.request)
    assert kept is not None and kept["body"]["documents"][0]["body"]["text"] == text


def test_a_pickled_error_whose_request_lost_nothing_still_sends_it_again() -> None:
    import pickle

    again = pickle.loads(pickle.dumps(_partial_error("short")))
    kept = again.retry_request()
    assert kept is not None and [d["_id"] for d in kept["body"]["documents"]] == ["a"]
