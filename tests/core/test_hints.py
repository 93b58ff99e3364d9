"""Retry hints: derived from the id, the status, Kuzzle's misreports and a proxy's Retry-After."""

from __future__ import annotations

import email.utils
import pickle

import pytest

from kuzzle_errors import (
    GatewayTimeoutError,
    KuzzleError,
    RetryHint,
    catalog,
    error_class,
    parse_response,
)
from kuzzle_errors.hints import (
    BY_CLASS,
    BY_ID,
    BY_STATUS,
    MAX_RETRY_AFTER,
    MISREPORTS,
    advice,
    parse_retry_after,
)

NOW = 1_700_000_000.0


def build(error_id: str, **fields: object) -> KuzzleError:
    return error_class(error_id)("m", **fields)  # type: ignore[arg-type]


def test_the_tables_advice_is_the_hint_an_error_without_retry_after_carries() -> None:
    spec = catalog.get("api.process.overloaded")
    assert spec is not None
    assert advice(spec.id, spec.class_name, spec.status) is build(spec.id).retry_hint
    # Never replay-safe when not retryable, anywhere in the table.
    for table in (BY_ID, BY_CLASS, BY_STATUS, MISREPORTS):
        for hint in table.values():
            assert hint.retryable or not hint.replay_safe, hint


def test_retry_after_sent_in_two_spellings_last_wins_on_every_path() -> None:
    headers = {"Retry-After": "5", "retry-after": "10"}
    envelope = b'{"status": 503, "error": {"id": "api.process.overloaded", "message": "m"}}'
    parsed = parse_response(envelope, http_status=503, headers=headers)
    html = parse_response(b"<html>busy</html>", http_status=503, headers=headers)
    built = KuzzleError("m", status=503, headers=headers)
    assert parsed is not None and html is not None
    for error in (parsed, html, built):
        assert error.retry_after == 10.0
        assert pickle.loads(pickle.dumps(error)).retry_after == 10.0


REJECTED = [
    "api.process.overloaded",
    "api.process.shutting_down",
    "network.entrypoint.shutting_down",
    "api.process.not_enough_nodes",
    "api.process.too_many_requests",
    "api.process.too_many_logins_requests",
    "network.websocket.ratelimit_exceeded",
]


@pytest.mark.parametrize("error_id", REJECTED)
def test_rejected_before_processing_is_retryable_and_replay_safe(error_id: str) -> None:
    hint = build(error_id).retry_hint
    assert hint.retryable and hint.replay_safe
    assert hint.reason


@pytest.mark.parametrize(
    "error_id",
    [
        "api.process.too_many_requests",
        "api.process.too_many_logins_requests",
        "network.websocket.ratelimit_exceeded",
    ],
)
def test_rate_limits_wait_for_the_next_one_second_window(error_id: str) -> None:
    error = build(error_id)
    assert error.retry_hint.delay == 1.0
    assert error.retry_after is None  # Kuzzle sends no Retry-After


def test_overload_and_shutdown_say_another_node_helps() -> None:
    assert build("api.process.overloaded").retry_hint.other_node
    assert build("api.process.shutting_down").retry_hint.other_node
    assert not build("api.process.not_enough_nodes").retry_hint.other_node


@pytest.mark.parametrize(
    "error_id",
    ["plugin.runtime.too_many_pipes", "core.sandbox.timeout", "plugin.runtime.pipe_timeout"],
)
def test_outcome_unknown_is_retryable_but_not_replay_safe(error_id: str) -> None:
    hint = build(error_id).retry_hint
    assert hint.retryable and not hint.replay_safe


def test_every_504_is_outcome_unknown() -> None:
    for error in (
        GatewayTimeoutError("x"),
        parse_response({"error": {"message": "t", "status": 504}}),
    ):
        assert error is not None
        assert error.retry_hint.retryable and not error.retry_hint.replay_safe


@pytest.mark.parametrize(
    "error_id",
    [
        "services.storage.not_found",
        "api.assert.missing_argument",
        "security.rights.forbidden",
        "security.token.expired",
        "api.process.incomplete_multiple_request",
        "services.storage.import_failed",
        "api.process.connection_dropped",
        "core.fatal.unexpected_error",
    ],
)
def test_permanent_errors(error_id: str) -> None:
    hint = build(error_id).retry_hint
    assert not hint.retryable and not hint.replay_safe


def test_storage_too_many_changes_is_retryable() -> None:
    assert build("services.storage.too_many_changes").retry_hint.retryable


@pytest.mark.parametrize(
    "prop,needle",
    [("services.storage.undefined", "Elasticsearch"), ("services.cache.notconnected", "Redis")],
)
def test_kuzzle_misreports_are_transient(prop: str, needle: str) -> None:
    error = parse_response(
        {
            "status": 500,
            "error": {
                "id": "core.fatal.unexpected_error",
                "code": 1,
                "status": 500,
                "message": f"Caught an unexpected error: {prop}.",
                "props": [prop],
            },
        }
    )
    assert error is not None
    assert error.retry_hint.retryable and not error.retry_hint.replay_safe
    assert needle in error.retry_hint.reason


def test_every_catalogued_id_is_classified_with_a_reason() -> None:
    for spec in catalog.all_specs():
        hint = error_class(spec.id)("m").retry_hint
        assert isinstance(hint, RetryHint)
        assert hint.reason, spec.id
        if not hint.retryable:
            assert not hint.replay_safe
    assert set(BY_ID) <= {spec.id for spec in catalog.all_specs()}


def test_hint_is_frozen() -> None:
    hint = build("api.process.overloaded").retry_hint
    with pytest.raises(AttributeError):
        hint.delay = 3  # type: ignore[misc]


# -- Retry-After ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 3 ", 3.0),
        ("1.5", 1.5),
        (b"4", 4.0),
        (7, 7.0),
        ("99999", MAX_RETRY_AFTER),
        (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
        ("Sunday, 06-Nov-94 08:49:37 GMT", 0.0),  # RFC 850, in the past
        ("Sun Nov  6 08:49:37 1994", 0.0),  # asctime, in the past
        (email.utils.formatdate(NOW - 3600, usegmt=True), 0.0),
        (email.utils.formatdate(NOW + 10 * 86400, usegmt=True), MAX_RETRY_AFTER),
    ],
)
def test_retry_after_values(value: object, expected: float) -> None:
    assert parse_retry_after(value, now=lambda: NOW) == pytest.approx(expected)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "soon",
        "-5",
        "1e3",
        "nan",
        "inf",
        "1m0s",
        "Mon, 99 Foo 2024",
        True,
        [1],
        -3,
        "9" * 100,
    ],
)
def test_malformed_retry_after_is_ignored(value: object) -> None:
    assert parse_retry_after(value, now=lambda: NOW) is None


def test_retry_after_from_a_proxy_sets_the_delay() -> None:
    error = parse_response(
        b"<html><title>Too Many Requests</title></html>",
        http_status=429,
        headers={"retry-after": "12"},
    )
    assert error is not None
    assert error.retry_after == 12.0
    assert error.retry_hint.delay == 12.0
    assert error.retry_hint.replay_safe


def test_retry_after_never_shortens_the_rate_limit_window() -> None:
    error = build("api.process.too_many_requests", headers={"Retry-After": "0"})
    assert error.retry_after == 0.0
    assert error.retry_hint.delay == 1.0


def test_retry_after_on_an_unknown_503_makes_it_replay_safe() -> None:
    error = parse_response(b"busy", http_status=503, headers={"Retry-After": "2"})
    assert error is not None and error.retry_hint.replay_safe and error.retry_hint.delay == 2.0
    without = parse_response(b"busy", http_status=503)
    assert without is not None and without.retryable and not without.retry_hint.replay_safe


def test_malformed_retry_after_on_an_error_is_ignored() -> None:
    error = build("api.process.overloaded", headers={"Retry-After": "later please"})
    assert error.retry_after is None
    assert error.retry_hint.delay == 0.0


def test_explicit_hint_survives_pickling() -> None:
    import pickle

    from kuzzle_errors import ConnectionLostError

    hint = RetryHint(True, True, 0.0, "connect failed: never reached the server")
    error = ConnectionLostError("refused", retry_hint=hint)
    assert error.retry_hint is hint
    assert pickle.loads(pickle.dumps(error)).retry_hint == hint
