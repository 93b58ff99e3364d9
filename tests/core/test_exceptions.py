"""Exception classes: one per Kuzzle class, one per catalogued id; str, repr, dict, pickle."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest

import kuzzle_errors
from kuzzle_errors import (
    BadRequestError,
    KuzzleError,
    MultipleErrorsError,
    NotFoundError,
    PartialError,
    ServiceUnavailableError,
    catalog,
    error_class,
    parse_response,
)
from kuzzle_errors import exceptions as exc_module
from kuzzle_errors.exceptions import class_name_for_id

ALL_SPECS = list(catalog.all_specs())
V2_SPECS = list(catalog.all_specs(2))

FAMILY_STATUS = {
    "BadRequestError": 400,
    "UnauthorizedError": 401,
    "ForbiddenError": 403,
    "NotFoundError": 404,
    "PreconditionError": 412,
    "SizeLimitError": 413,
    "TooManyRequestsError": 429,
    "InternalError": 500,
    "ExternalServiceError": 500,
    "PluginImplementationError": 500,
    "ServiceUnavailableError": 503,
    "GatewayTimeoutError": 504,
    "PartialError": 206,
    "MultipleErrorsError": 400,
}


def kuzzle_payload(spec: catalog.ErrorSpec, **extra: Any) -> dict[str, Any]:
    """An envelope as Kuzzle 2 serializes it for ``spec`` (props empty)."""
    error: dict[str, Any] = {
        "code": spec.code,
        "id": spec.id,
        "message": spec.format(),
        "props": [],
        "status": spec.status,
    }
    if spec.class_name in ("PartialError", "MultipleErrorsError"):
        error.update(errors=[{"_id": "a", "reason": "boom", "status": 400}], count=1)
    return {
        "action": "create",
        "controller": "document",
        "error": error,
        "headers": {},
        "index": "i",
        "collection": "c",
        "node": "knode-1",
        "requestId": "req-1",
        "result": None,
        "status": spec.status,
        "volatile": {"trace": "t-1"},
        **extra,
    }


@pytest.mark.parametrize("name,status", sorted(FAMILY_STATUS.items()))
def test_every_kuzzle_class_exists_with_its_status(name: str, status: int) -> None:
    cls = getattr(kuzzle_errors, name)
    assert issubclass(cls, KuzzleError)
    assert cls.kuzzle_class == name
    assert cls.default_status == status
    assert cls("x").status == status
    assert error_class(name) is cls


def test_multiple_errors_is_partial_and_bad_request() -> None:
    assert issubclass(MultipleErrorsError, PartialError)
    assert issubclass(MultipleErrorsError, BadRequestError)


def test_per_id_class_names_are_unique() -> None:
    names = [class_name_for_id(spec.id) for spec in ALL_SPECS]
    assert len(set(names)) == len(names) == 277


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: s.id)
def test_every_catalogued_id(spec: catalog.ErrorSpec) -> None:
    cls = error_class(spec.id)
    # Identity: same object by id, by code, by hex, by the codes module, on every call.
    assert error_class(spec.id) is cls
    version = 2 if 2 in spec.versions else 1
    assert error_class(spec.code, version=version) is cls
    assert error_class(spec.hex, version=version) is cls
    assert getattr(kuzzle_errors.codes, class_name_for_id(spec.id)) is cls
    assert issubclass(cls, getattr(kuzzle_errors, spec.class_name))
    assert cls.kuzzle_id == spec.id
    assert cls.__module__ == "kuzzle_errors.codes"

    # The parser raises instances of it, with the right status and code.
    error = parse_response(json.dumps(kuzzle_payload(spec)).encode(), http_status=spec.status)
    assert type(error) is cls
    assert error.status == spec.status == FAMILY_STATUS[spec.class_name]
    assert (error.id, error.code, error.hex) == (spec.id, spec.code, spec.hex)
    assert error.spec is not None and error.spec.id == spec.id
    assert (error.domain, error.subdomain) == (spec.domain, spec.subdomain)
    assert error.retry_hint.reason

    # Pickle and deepcopy round-trip with the exact class and every attribute.
    for clone in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):
        assert type(clone) is cls
        for name in ("message", "status", "id", "code", "request_id", "node", "controller"):
            assert getattr(clone, name) == getattr(error, name)
        assert clone.volatile == error.volatile
        assert clone.retry_hint == error.retry_hint
        assert str(clone) == str(error)
        if isinstance(error, PartialError):
            assert isinstance(clone, PartialError)
            assert (clone.errors, clone.count) == (error.errors, error.count)


def test_code_lookup_honours_the_version() -> None:
    assert error_class(0x01010016).kuzzle_id == "services.storage.collection_reserved"
    assert error_class(0x01010016, version=1).kuzzle_id == "services.storage.index_reserved"


def test_unknown_keys_raise_lookup_error() -> None:
    with pytest.raises(LookupError):
        error_class("plugin.my-plugin.boom")
    with pytest.raises(LookupError):
        error_class(0x7F7F7F7F)


def test_catch_by_exact_id_class_and_by_family() -> None:
    payload = kuzzle_payload(catalog.get("services.storage.not_found"))  # type: ignore[arg-type]
    with pytest.raises(error_class("services.storage.not_found")) as info:
        kuzzle_errors.raise_for_response(payload)
    assert isinstance(info.value, NotFoundError)
    assert not isinstance(info.value, error_class("security.user.not_found"))
    assert info.value.matches("services.storage.*")
    assert info.value.matches("nope.*", "*.not_found")
    assert not info.value.matches("security.*")
    assert not KuzzleError("no id").matches("*")


def test_codes_module_lists_and_rejects() -> None:
    assert "ApiProcessOverloaded" in dir(kuzzle_errors.codes)
    with pytest.raises(AttributeError):
        _ = kuzzle_errors.codes.NotAnError


def test_str_is_one_readable_line() -> None:
    error = parse_response(
        {
            "error": {
                "id": "plugin.runtime.too_many_pipes",
                "code": 0x04020004,
                "status": 503,
                "message": "Request discarded.\nThis is probably not a Kuzzle error.",
            },
            "status": 503,
            "requestId": "req-9",
        }
    )
    assert error is not None
    text = str(error)
    assert "\n" not in text
    assert text == (
        "plugin.runtime.too_many_pipes (0x04020004): Request discarded. This is probably not "
        "a Kuzzle error. [status 503, request req-9]"
    )
    assert repr(error) == (
        "PluginRuntimeTooManyPipes(message='Request discarded. This is probably not a Kuzzle "
        "error.', status=503, id='plugin.runtime.too_many_pipes', request_id='req-9', "
        "code=0x04020004)"
    )


def test_str_bounds_huge_messages_but_keeps_them() -> None:
    message = "x" * 3_000_000
    error = ServiceUnavailableError(message)
    assert len(str(error)) < 1000
    assert "3000000 chars" in str(error)
    assert error.message == message


def test_str_without_id_and_with_disagreeing_http_status() -> None:
    error = parse_response(
        b'{"error":{"message":"Attribute volatile must be of type \\"object\\"","status":400}}',
        http_status=500,
    )
    assert isinstance(error, BadRequestError)
    assert str(error) == 'Attribute volatile must be of type "object" [status 400, HTTP 500]'


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJfaWQiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def test_secrets_never_leak() -> None:
    error = parse_response(
        {
            "error": {
                "id": "security.token.refresh_forbidden",
                "status": 401,
                "message": f"{JWT} cannot be refreshed.",
                "props": [JWT],
            },
            "status": 401,
            "volatile": {"password": "hunter2", "nested": {"jwt": "abc"}},
            "result": {"jwt": JWT},
        },
        headers={
            "Authorization": f"Bearer {JWT}",
            "Set-Cookie": "kuzzle=secret",
            "X-Kuzzle-Node": "n1",
        },
    )
    assert error is not None
    assert error.node == "n1"
    assert error.headers["Authorization"] == "[REDACTED]"
    outputs = [
        str(error),
        repr(error),
        json.dumps(error.to_dict()),
        pickle.dumps(error).decode("latin-1"),
        pickle.dumps(copy.deepcopy(error)).decode("latin-1"),
    ]
    for output in outputs:
        assert JWT not in output
        assert "hunter2" not in output
        assert "kuzzle=secret" not in output
        assert '"abc"' not in output
    # In memory, the data a user may need is still there (only headers are redacted eagerly).
    assert error.volatile["password"] == "hunter2"


def test_to_dict_is_json_safe_and_complete() -> None:
    spec = catalog.get("api.process.incomplete_multiple_request")
    assert spec is not None
    error = parse_response(kuzzle_payload(spec))
    assert isinstance(error, MultipleErrorsError)
    data = json.loads(json.dumps(error.to_dict()))
    assert data["type"] == "ApiProcessIncompleteMultipleRequest"
    assert data["kuzzle_class"] == "MultipleErrorsError"
    assert data["id"] == spec.id
    assert data["hex"] == "0x0202000a"
    assert data["count"] == 1
    assert data["errors"] == [{"_id": "a", "reason": "boom", "status": 400}]
    assert data["request_id"] == "req-1"
    assert data["volatile"] == {"trace": "t-1"}
    assert data["retry"]["retryable"] is False


def test_user_built_errors_and_user_subclasses_pickle() -> None:
    error = NotFoundError("gone", id="services.storage.not_found", request_id="r")
    assert error.code == 0x0101000B
    assert error.spec is not None
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is NotFoundError
    assert clone.spec == error.spec
    assert clone.args == ("gone",)
    error.__notes__ = ["attempt 3"]  # what add_note() stores (Python 3.11+)
    error.attempts = 3
    clone = pickle.loads(pickle.dumps(error))
    assert clone.__notes__ == ["attempt 3"]
    assert clone.attempts == 3


class AppError(ServiceUnavailableError):
    pass


def test_user_subclass_round_trips() -> None:
    clone = copy.deepcopy(AppError("x", status=503))
    assert type(clone) is AppError


def test_rebuild_rejects_foreign_classes() -> None:
    with pytest.raises(TypeError):
        exc_module._rebuild(ValueError, {})


@pytest.mark.parametrize(
    "cls",
    [
        getattr(kuzzle_errors, name)
        for name in kuzzle_errors.__all__
        if isinstance(getattr(kuzzle_errors, name), type)
        and issubclass(getattr(kuzzle_errors, name), KuzzleError)
    ],
    ids=lambda c: c.__name__,
)
def test_every_family_class_round_trips(cls: type[KuzzleError]) -> None:
    error = cls("boom", request_id="r-1", headers={"X-Kuzzle-Node": "n"}, http_status=599)
    for clone in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):
        assert type(clone) is cls
        assert (clone.message, clone.status, clone.request_id, clone.node, clone.http_status) == (
            "boom",
            error.status,
            "r-1",
            "n",
            599,
        )
        assert str(clone) == str(error)


def test_parsed_errors_hold_every_attribute_and_keep_user_changes() -> None:
    error = parse_response(
        {"status": 503, "error": {"id": "api.process.overloaded", "status": 503, "message": "m"}}
    )
    assert error is not None
    # Built by the one constructor: the same attributes as an error built by hand.
    made = KuzzleError("m")
    assert set(error.__dict__) == set(made.__dict__)
    error.status = 599
    assert error.request_id is None
    assert error.status == 599
    with pytest.raises(AttributeError):
        _ = error.no_such_attribute  # type: ignore[attr-defined]
