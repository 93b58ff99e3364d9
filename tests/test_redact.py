"""Redaction: linear, bounded, and one rule for every way text leaves an exception."""

from __future__ import annotations

import json
import pickle
import time

import pytest

from kuzzle_errors import parse_response
from kuzzle_errors._redact import (
    REDACTED,
    TEXT_LIMIT,
    prepare_headers,
    redact,
    redact_text,
)

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJfaWQiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"

TEN_MB = 10 * 1024 * 1024

# Text that made a backtracking scanner quadratic, or that is dense in every form scanned.
ADVERSARIAL = [
    "eyJ",
    "eyJ.",
    "eyJaaaa.",
    "eyJaaaa.bbbb",
    "password=",
    "://a:",
    "Bearer ",
    '"password": "',
    "'jwt': '",
    "Cookie: ",
    "a",
]


def _timed(call: object, *args: object) -> tuple[object, float]:
    start = time.perf_counter()
    result = call(*args)  # type: ignore[operator]
    return result, time.perf_counter() - start


@pytest.mark.parametrize("unit", ADVERSARIAL)
def test_ten_megabytes_of_adversarial_text_redact_fast_and_bounded(unit: str) -> None:
    text = unit * (TEN_MB // len(unit))
    result, elapsed = _timed(redact_text, text)
    assert elapsed < 2.0  # generous: a linear scan of the kept part takes milliseconds
    assert isinstance(result, str)
    assert len(result) < TEXT_LIMIT + 100
    assert result.endswith(f"[cut: {len(text)} characters]")


@pytest.mark.parametrize("unit", ["eyJ", "eyJ.", "eyJaaaa.", "://a:", "Bearer ", "'jwt': '"])
def test_the_scan_itself_is_linear(unit: str) -> None:
    # Unbounded, 1 MB: the old JWT regex backtracked quadratically (minutes here).
    text = unit * (1024 * 1024 // len(unit))
    _, elapsed = _timed(redact_text, text, None)
    assert elapsed < 3.0


def test_an_error_with_a_hostile_message_prints_fast() -> None:
    error = parse_response({"status": 500, "error": {"message": "eyJ" * 30000}})
    assert error is not None
    start = time.perf_counter()
    str(error)
    repr(error)
    json.dumps(error.to_dict())
    pickle.loads(pickle.dumps(error))
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"x {JWT} y", f"x {REDACTED} y"),
        (f"a{JWT}", f"a{REDACTED}"),
        (f"xx.{JWT}", f"xx.{REDACTED}"),
        ("eyJaaaa.bb.eyJcccc.dddd.e", f"eyJaaaa.bb.{REDACTED}"),
        ("eyJhbGciOiJub25lIn0.eyJfaWQiOiJhIn0.", REDACTED),  # unsigned: empty signature
        (f"Authorization: Bearer {JWT}\nnext", f"Authorization: {REDACTED}\nnext"),
        ("bearer abc.def", f"bearer {REDACTED}"),
        ("http://admin:pass@host/path", f"http://admin:{REDACTED}@host/path"),
        ("wss://u:p%40ss@h:7512", f"wss://u:{REDACTED}@h:7512"),
        ("Set-Cookie: kuzzle-sid=abc; Path=/", f"Set-Cookie: {REDACTED}"),
        ("{'set-cookie': 'kuzzle-sid=abc', 'x': 'y'}", f"{{'set-cookie': '{REDACTED}', 'x': 'y'}}"),
        ("{b'Cookie': b'sid=1'}", f"{{b'Cookie': b'{REDACTED}'}}"),
        ('{"password": "hu\\"nter2", "a": 1}', f'{{"password": "{REDACTED}", "a": 1}}'),
        ("GET /?jwt=abc&x=1", f"GET /?jwt={REDACTED}&x=1"),
        # Ordinary messages are left alone.
        ("Invalid token.", "Invalid token."),
        ('Missing argument "password".', 'Missing argument "password".'),
        ('User "ghostA" not found.', 'User "ghostA" not found.'),
        ("http://host:7512/_query", "http://host:7512/_query"),
    ],
)
def test_what_is_redacted(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_a_secret_straddling_the_cut_is_still_replaced() -> None:
    text = "x" * (TEXT_LIMIT - 10) + JWT + "y" * 100
    result = redact_text(text)
    assert "eyJ" not in result
    assert "c2lnbmF0dXJl" not in result


def test_headers_as_byte_pairs_are_matched_by_name() -> None:
    plain, lower = prepare_headers(
        [(b"Cookie", b"sid=s3cret"), (b"X-Kuzzle-Node", b"n1"), ("AUTHORIZATION", "Basic x")]
    )
    assert plain == {"Cookie": REDACTED, "X-Kuzzle-Node": "n1", "AUTHORIZATION": REDACTED}
    assert lower["x-kuzzle-node"] == "n1"


def test_redact_matches_byte_keys_and_bounds_its_copy() -> None:
    assert redact({b"password": "hunter2", "n": 1}) == {"password": REDACTED, "n": 1}
    copy = redact([{"a": "b" * 100}] * 1_000_000)
    assert isinstance(copy, list)
    assert len(json.dumps(copy)) < 400_000
    assert str(copy[-1]).startswith("[cut: 1000000 items")
