"""Edges met against a real Kuzzle 2.56 node and by an attack run (issue 14), core side."""

from __future__ import annotations

import json
import pickle

import pytest
import requests
import responses

import kuzzle_errors
from kuzzle_errors import (
    LOGIN_AGAIN_IDS,
    AuthenticationRequiredError,
    KuzzleError,
    PartialError,
    ServiceUnavailableError,
    UnauthorizedError,
    error_class,
    parse_response,
)
from kuzzle_errors.hints import parse_retry_after
from kuzzle_errors.http import error_from_response
from kuzzle_errors.parser import coerce_status
from kuzzle_errors.partial import parse_item
from kuzzle_errors.testing import make_response

URL = "http://kuzzle.test:7512/users/_mDelete"

# -- X-Kuzzle-Node: undefined ---------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize("value", ["undefined", "null", "", "  "])
def test_a_placeholder_node_name_is_no_node_name(value: str) -> None:
    responses.post(
        URL,
        json={"status": 404, "error": {"id": "services.storage.not_found", "message": "x"}},
        status=404,
        headers={"X-Kuzzle-Node": value},
    )
    error = error_from_response(requests.post(URL, timeout=5))
    assert error is not None
    assert error.node is None
    assert error.to_dict()["node"] is None


def test_a_real_node_name_is_kept_and_the_envelope_placeholder_does_not_hide_it() -> None:
    error = parse_response(
        {"status": 500, "node": "undefined", "error": {"message": "x"}},
        headers={"X-Kuzzle-Node": "knode-1"},
    )
    assert error is not None
    assert error.node == "knode-1"
    assert KuzzleError("x", headers={"X-Kuzzle-Node": "undefined"}).node is None
    assert KuzzleError("x", node="undefined").node is None


# -- the id of every failed item --------------------------------------------------------------


def _not_found(kind: str, name: str) -> dict[str, object]:
    """A nested error as security:mDelete* sends it (Kuzzle 2.56, stack included)."""
    codes = {"user": 0x07040002, "profile": 0x07060001, "role": 0x07050001}
    return {
        "code": codes[kind],
        "id": f"security.{kind}.not_found",
        "message": f'{kind.capitalize()} "{name}" not found.',
        "props": [name],
        "stack": "NotFoundError: ...",
        "status": 404,
    }


@responses.activate
@pytest.mark.parametrize(
    ("action", "kind"),
    [("mDeleteUsers", "user"), ("mDeleteProfiles", "profile"), ("mDeleteRoles", "role")],
)
def test_security_mdelete_items_name_their_id(action: str, kind: str) -> None:
    body = {
        "action": action,
        "controller": "security",
        "error": {
            "code": 0x01010009,
            "id": "services.storage.incomplete_delete",
            "message": "Couldn't delete all the requested documents: %s",
            "props": [],
            "status": 206,
            "errors": [_not_found(kind, "ghostA"), _not_found(kind, "ghostB")],
            "count": 2,
        },
        "node": "undefined",
        "requestId": "r1",
        "result": ["kept"],
        "status": 206,
        "volatile": None,
    }
    responses.post(URL, json=body, status=206, headers={"X-Kuzzle-Node": "undefined"})
    error = error_from_response(requests.post(URL, timeout=5))
    assert isinstance(error, PartialError)
    assert [item.id for item in error.items] == ["ghostA", "ghostB"]
    assert error.items[0].error is not None
    assert error.items[0].error.id == f"security.{kind}.not_found"
    assert error.successes == ["kept"]
    assert error.node is None


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        # v2 mCreate / mReplace / mUpdate / mUpsert / mCreateOrReplace, bulk:mWrite
        ({"document": {"_id": "d1", "body": {"a": 1}}, "reason": "exists", "status": 400}, "d1"),
        ({"document": {"_id": "d2", "_source": {}}, "reason": "boom", "status": 500}, "d2"),
        # v2 mDelete
        ({"_id": "d3", "reason": "document not found", "status": 404}, "d3"),
        # mGet / mExists (strict)
        ("d4", "d4"),
        # bulk:import
        ({"create": {"_id": "d5", "status": 409, "error": {"type": "x", "reason": "y"}}}, "d5"),
        # bulk:updateByQuery (incomplete_update) / deleteByQuery failures
        ({"cause": "boom", "id": "d6"}, "d6"),
        ({"id": "d7", "reason": "boom"}, "d7"),
        # a nested error naming its document
        ({"id": "services.storage.not_found", "message": "x", "status": 404, "_id": "d8"}, "d8"),
        # ... or naming it in its first placeholder only
        (
            {
                "id": "services.storage.not_found",
                "message": 'Document "d9" not found in "i":"c".',
                "props": ["d9", "i", "c"],
                "status": 404,
            },
            "d9",
        ),
        (
            {
                "id": "security.profile.in_use",
                "message": 'The profile "p1" is still used and cannot be deleted.',
                "props": ["p1"],
                "status": 412,
            },
            "p1",
        ),
        # an error whose placeholders are not an id gives no id
        (
            {"id": "api.assert.missing_argument", "message": "x", "props": ["body"], "status": 400},
            None,
        ),
    ],
)
def test_every_partial_shape_gives_the_item_id(item: object, expected: str | None) -> None:
    assert parse_item(item).id == expected


def test_a_huge_integer_item_does_not_break_items() -> None:
    item = parse_item(10**5000)
    assert item.id == "<int with about 5001 digits>"
    assert "digits" in repr(item)


# -- one way to catch "log in again" ----------------------------------------------------------


@pytest.mark.parametrize("error_id", sorted(LOGIN_AGAIN_IDS))
def test_every_log_in_again_id_is_an_authentication_required_error(error_id: str) -> None:
    cls = error_class(error_id)
    assert issubclass(cls, AuthenticationRequiredError)
    assert issubclass(cls, UnauthorizedError)
    error = parse_response({"status": 401, "error": {"id": error_id, "message": "x"}})
    assert isinstance(error, AuthenticationRequiredError)
    assert not error.retryable
    assert type(pickle.loads(pickle.dumps(error))) is cls


def test_kuzzle_256_expired_token_is_caught_the_one_way() -> None:
    # Kuzzle 2.56 answers an expired token with security.token.invalid (401, "Invalid token.").
    body = make_response(error="security.token.invalid")
    with pytest.raises(AuthenticationRequiredError):
        kuzzle_errors.raise_for_response(body)
    expired = error_class("security.token.expired")
    with pytest.raises(UnauthorizedError) as caught:
        kuzzle_errors.raise_for_response(body)
    assert not isinstance(caught.value, expired)  # why catching token.expired alone misses it


@pytest.mark.parametrize("code", [6, 7, 8])
def test_foreign_auth_codes_are_log_in_again_too(code: int) -> None:
    error = parse_response({"error_code": code, "error_message": "auth"}, http_status=401)
    assert isinstance(error, AuthenticationRequiredError)


@pytest.mark.parametrize(
    "error_id",
    [
        "security.rights.forbidden",
        "security.token.refresh_forbidden",
        "security.token.ttl_exceeded",
    ],
)
def test_other_security_errors_are_not(error_id: str) -> None:
    assert not issubclass(error_class(error_id), AuthenticationRequiredError)


# -- parse quirks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "Wed, 32 Oct 2015 99:99:99 GMT",
        "Wed, 21 Oct 2015 25:00:00 GMT",
        "Tue, 29 Feb 2015 00:00:00 GMT",
        "Wed, 21 Foo 2015 07:28:00 GMT",
    ],
)
def test_an_impossible_date_is_no_retry_after(value: str) -> None:
    assert parse_retry_after(value) is None
    error = parse_response(b"<html>busy</html>", http_status=503, headers={"Retry-After": value})
    assert isinstance(error, ServiceUnavailableError)
    assert error.retry_after is None
    assert not error.retry_hint.replay_safe  # a 503 that may have run stays so


def test_real_dates_still_count() -> None:
    assert parse_retry_after("Mon, 29 Feb 2016 00:00:00 GMT", now=lambda: 1456704000.0 - 5) == 5
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT") == 0.0


FULL_WIDTH_503 = "\uff15\uff10\uff13"


def test_full_width_digits_are_no_status() -> None:
    assert coerce_status(FULL_WIDTH_503) is None
    assert coerce_status(" 503 ") == 503
    error = parse_response(
        {"status": FULL_WIDTH_503, "error": {"message": "x", "status": FULL_WIDTH_503}}
    )
    assert error is not None
    assert error.status is None
    assert not isinstance(error, ServiceUnavailableError)
    assert error.problem is not None
    assert "unusable status" in error.problem
    # Like any other bad status: the HTTP status decides when there is one.
    answered = parse_response(
        json.dumps({"error": {"message": "x", "status": FULL_WIDTH_503}}), http_status=500
    )
    assert answered is not None
    assert answered.status == 500


def test_full_width_foreign_code_is_unknown() -> None:
    error = parse_response({"error_code": "\uff17", "error_message": "x"}, http_status=400)
    assert error is not None
    assert not isinstance(error, AuthenticationRequiredError)
    assert error.problem is not None
    assert "unknown error_code" in error.problem
