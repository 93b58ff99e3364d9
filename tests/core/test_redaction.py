"""Redaction: linear, bounded, and one rule for every way text leaves an exception."""

from __future__ import annotations

import io
import json
import pickle
import re
import sys
import time
import traceback

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuzzle_errors import KuzzleError, PartialError, parse_response
from kuzzle_errors._redact import (
    REDACTED,
    TEXT_LIMIT,
    header,
    redact,
    redact_headers,
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
    "eyJaaaaaaaaaaaaaaaaaaaa\n",
    "eyJaaaaaaa.\n",
    "://a@",
    "://a:b",
    "-token: ",
    "\ntoken:",
    "token=",
    "aaaa-",
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
    # Unbounded, 256 KiB: the old JWT regex backtracked quadratically (about 30 s here).
    text = unit * (256 * 1024 // len(unit))
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
        (
            "<RequestsCookieJar[<Cookie kuzzle-sid=abc for h/>]>",
            f"<RequestsCookieJar[<Cookie kuzzle-sid={REDACTED} for h/>]>",
        ),
        (
            "Handshake status 401 Unauthorized -+-+- {'set-cookie': 'kuzzle-sid=abc; Path=/',"
            " 'content-type': 'application/json'} -+-+- b'{}'",
            f"Handshake status 401 Unauthorized -+-+- {{'set-cookie': '{REDACTED}',"
            " 'content-type': 'application/json'} -+-+- b'{}'",
        ),
    ],
)
def test_what_is_redacted(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Invalid token.",
        'Missing argument "password".',
        'User "ghostA" not found.',
        "http://host:7512/_query",
    ],
)
def test_ordinary_messages_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_a_secret_straddling_the_cut_is_still_replaced() -> None:
    text = "x" * (TEXT_LIMIT - 10) + JWT + "y" * 100
    result = redact_text(text)
    assert "eyJ" not in result
    assert "c2lnbmF0dXJl" not in result


def test_headers_as_byte_pairs_are_matched_by_name() -> None:
    pairs = [(b"Cookie", b"sid=s3cret"), (b"X-Kuzzle-Node", b"n1"), ("AUTHORIZATION", "Basic x")]
    plain = redact_headers(pairs)
    assert plain == {"Cookie": REDACTED, "X-Kuzzle-Node": "n1", "AUTHORIZATION": REDACTED}
    assert header(pairs, "x-kuzzle-node") == "n1"


def test_redact_matches_byte_keys_and_bounds_its_copy() -> None:
    assert redact({b"password": "hunter2", "n": 1}) == {"password": REDACTED, "n": 1}
    copy = redact([{"a": "b" * 100}] * 1_000_000)
    assert isinstance(copy, list)
    assert len(json.dumps(copy)) < 400_000
    assert str(copy[-1]).startswith("[cut: 1000000 items")


# -- one rule for every exit of an exception --------------------------------------------------

PASSWORD = "pa55-w0rd-zz"


def _cli(body: bytes, *, headers: list[tuple[str, str]] = (), fmt: str = "text") -> str:  # type: ignore[assignment]
    from kuzzle_errors.cli.parse import parse_command
    from kuzzle_errors.cli.style import Style

    out, err = io.StringIO(), io.StringIO()
    parse_command(
        body,
        http_status=None,
        headers=list(headers),
        strict=False,
        transport=None,
        fmt=fmt,
        out=out,
        err=err,
        style=Style(False),
    )
    return out.getvalue() + err.getvalue()


def _exits(error: KuzzleError) -> dict[str, str]:
    """Every way an error's content leaves it, as text."""
    clone = pickle.loads(pickle.dumps(error))
    return {
        "str": str(error),
        "repr": repr(error),
        "args": repr(error.args),
        "args[0]": str(error.args[0]),
        "to_dict": json.dumps(error.to_dict()),
        "pickle": pickle.dumps(error).decode("latin-1"),
        "clone": f"{clone!s} {clone!r} {json.dumps(clone.to_dict())} {clone.__dict__!r}",
        "traceback": "".join(traceback.format_exception(type(error), error, None)),
    }


SECRET_BODIES = {
    "status is a JWT (problem)": {"status": 500, "error": {"message": "x", "status": JWT}},
    "code is a JWT (problem)": {"status": 500, "error": {"message": "x", "code": JWT}},
    "foreign error_code is a JWT": {"error_code": JWT, "error_message": "x"},
    "id is a JWT": {"status": 401, "error": {"id": JWT, "message": "x"}},
    "requestId is a JWT": {"status": 500, "error": {"message": "x"}, "requestId": JWT},
    "node is a JWT": {"status": 500, "error": {"message": "x"}, "node": JWT},
    "controller is a JWT": {"status": 500, "error": {"message": "x"}, "controller": JWT},
    "action is a JWT": {"status": 500, "error": {"message": "x"}, "action": JWT},
    "index is a JWT": {"status": 500, "error": {"message": "x"}, "index": JWT},
    "collection is a JWT": {"status": 500, "error": {"message": "x"}, "collection": JWT},
    "URL password in the message": {
        "status": 502,
        "error": {"message": f"upstream http://admin:{PASSWORD}@db:9200 failed"},
    },
    "cookie in the message": {
        "status": 401,
        "error": {"message": f"refused: Set-Cookie: kuzzle-sid={PASSWORD}; Path=/"},
    },
    "URL password in an item": {
        "status": 206,
        "error": {
            "message": "x",
            "errors": [{"_id": "a", "reason": f"see https://u:{PASSWORD}@h/"}],
            "count": 1,
        },
    },
}


@pytest.mark.parametrize("body", SECRET_BODIES.values(), ids=SECRET_BODIES.keys())
def test_no_exit_shows_a_secret(body: dict[str, object]) -> None:
    error = parse_response(body)
    assert error is not None
    outputs = _exits(error)
    outputs["cli"] = _cli(json.dumps(body).encode())
    outputs["cli json"] = _cli(json.dumps(body).encode(), fmt="json")
    for name, text in outputs.items():
        assert JWT not in text, name
        assert "c2lnbmF0dXJl" not in text, name  # not even the signature alone
        assert PASSWORD not in text, name
    # What is stored is what was received: redaction is for what is shown.
    assert error.raw is not None or error.response is not None
    stored = repr((error.message, getattr(error, "errors", None)))  # attributes, as received
    assert JWT in repr(error.raw) + repr(error.response) or PASSWORD in stored


def test_a_ten_megabyte_status_string_gives_a_short_error() -> None:
    error = parse_response({"status": 500, "error": {"message": "x", "status": "9" * TEN_MB}})
    assert error is not None
    assert error.problem is not None
    assert len(error.problem) < 200
    for name, text in _exits(error).items():
        # The pickle carries the raw payload, redacted: cut, not whole.
        assert len(text) < (1_000_000 if name in ("pickle", "clone") else 10_000), name
    assert len(error.raw["status"]) == TEN_MB  # kept whole where it is stored


def test_message_and_args_keep_their_roles() -> None:
    message = f"token {JWT} refused"
    error = parse_response({"status": 401, "error": {"message": message}})
    assert error is not None
    assert error.message == message  # as received
    assert error.args == (f"token {REDACTED} refused",)  # as shown


def test_byte_header_pairs_never_show() -> None:
    error = parse_response(
        {"status": 500, "error": {"message": "x"}},
        headers=[(b"Cookie", f"sid={PASSWORD}".encode()), (b"X-Kuzzle-Node", b"n1")],  # type: ignore[arg-type]
    )
    assert error is not None
    assert error.node == "n1"
    for name, text in _exits(error).items():
        assert PASSWORD not in text, name
    cli = _cli(b'{"status": 500, "error": {"message": "x"}}', headers=[("Cookie", PASSWORD)])
    assert PASSWORD not in cli


def test_notes_are_redacted_when_pickled() -> None:
    error = KuzzleError("x")
    error.__notes__ = [f"sent with Bearer {JWT}"]
    clone = pickle.loads(pickle.dumps(error))
    assert clone.__notes__ == [f"sent with Bearer {REDACTED}"]


# -- integers past Python's 4,300-digit str() limit --------------------------------------------

HUGE = 10**5000

HUGE_BODIES = {
    "status": {"status": 500, "error": {"message": "x", "status": HUGE}},
    "code": {"status": 500, "error": {"message": "x", "code": HUGE}},
    "message": {"status": 500, "error": {"message": HUGE}},
    "props": {"status": 500, "error": {"message": "x", "props": [HUGE, {"n": HUGE}]}},
    "volatile": {"status": 500, "error": {"message": "x"}, "volatile": {"n": HUGE}},
    "requestId": {"status": 500, "error": {"message": "x"}, "requestId": HUGE},
    "node": {"status": 500, "error": {"message": "x"}, "node": HUGE},
    "errors": {"status": 206, "error": {"message": "x", "errors": [HUGE], "count": 1}},
    "error_code": {"error_code": HUGE, "error_message": "x"},
    "result": {"status": 500, "error": {"message": "x"}, "result": {HUGE: HUGE}},
}


@pytest.mark.parametrize("name", HUGE_BODIES)
def test_huge_integers_never_break_printing(name: str) -> None:
    # A dict decoded by another JSON library (or built by hand) may hold such integers.
    error = parse_response(HUGE_BODIES[name])
    assert error is not None
    _exits(error)  # str, repr, to_dict + json.dumps, pickle: none raises
    if isinstance(error, PartialError):
        repr(error.items)


def test_huge_integers_are_described() -> None:
    error = parse_response({"status": 500, "error": {"message": "x", "props": [HUGE]}})
    assert error is not None
    assert error.to_dict()["props"] == ["<int with about 5001 digits>"]
    assert error.props == [HUGE]  # kept as received


def test_the_int_limit_is_left_alone() -> None:
    before = sys.get_int_max_str_digits()
    error = parse_response({"status": 500, "error": {"message": "x", "props": [HUGE]}})
    assert error is not None
    json.dumps(error.to_dict())
    assert sys.get_int_max_str_digits() == before


# The JWT pattern the scanner replaces, as a (quadratic) regex: the scanner must agree with it.
OLD_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["eyJ", "a", "b9", "-", "_", ".", " ", "x.y"]), max_size=40))
def test_the_jwt_scanner_agrees_with_the_regex_it_replaces(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert redact_text(text, None) == OLD_JWT.sub(REDACTED, text)


def test_a_cause_is_replaced_when_a_secret_hides_anywhere_in_its_chain() -> None:
    from kuzzle_errors._protocol.failures import RedactedCause, safe_cause

    secret = OSError(f"Authorization: Bearer {JWT}")
    by_reason = ConnectionError("connection failed")  # urllib3 keeps the wrapped one here
    by_reason.reason = secret  # type: ignore[attr-defined]
    deep: BaseException = secret
    for depth in range(9):  # past the 8 links the walk used to follow
        outer = ConnectionError(f"attempt {depth}")
        outer.__cause__ = deep
        deep = outer
    cyclic = ConnectionError("a")
    cyclic.__context__ = ConnectionError("b")
    cyclic.__context__.__context__ = cyclic
    for exc in (by_reason, deep):
        cause = safe_cause(exc)
        assert isinstance(cause, RedactedCause)
        assert JWT not in str(cause) and str(cause).startswith("ConnectionError: ")
    assert safe_cause(cyclic) is cyclic  # no secret: the exception itself, cycle or not
