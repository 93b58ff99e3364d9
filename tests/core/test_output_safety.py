"""Nothing a server sends, and nothing a caller passes, can forge a log line, drive a terminal,
show a secret or make an error fail to show itself, whichever way its text leaves it.

Property tests over every public exception class: generated secrets (JWTs, wrapped ones too,
passwords in URLs, every spelling of a secret name in text and as a key) and generated hostile
text (controls, separators, escapes, bidi overrides, lone surrogates), through every surface:
``str``, ``repr``, ``args``, ``to_dict()``, pickles, copies, log records and tracebacks.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import pickle
import traceback
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kuzzle_errors
from kuzzle_errors import KuzzleError, PartialError, error_class, parse_response
from kuzzle_errors._redact import one_line, redact_text, redact_url

CLASSES: list[type[KuzzleError]] = [
    getattr(kuzzle_errors, name)
    for name in kuzzle_errors.__all__
    if isinstance(getattr(kuzzle_errors, name), type)
    and issubclass(getattr(kuzzle_errors, name), KuzzleError)
] + [error_class("api.process.overloaded"), error_class("security.token.invalid")]

FIELDS = (
    "message",
    "id",
    "request_id",
    "node",
    "controller",
    "action",
    "index",
    "collection",
    "problem",
    "stack",
    "transport",
    "props",
    "volatile",
    "result",
    "raw",
    "response",
    "headers",
)

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@st.composite
def jwts(draw: st.DrawFn) -> tuple[str, str]:
    """A JWT as it may be written (whole, or wrapped over lines as token files do), and the
    part of it that must never be shown (its signature)."""
    payload = draw(st.text(_B64, min_size=8, max_size=60))
    signature = draw(st.text(_B64, min_size=32, max_size=90))
    token = f"eyJhbGciOiJIUzI1NiJ9.eyJ{payload}.{signature}"
    width = draw(st.integers(20, 76))
    if draw(st.booleans()) and len(token) > width:
        # Wrapped at a fixed width, the last line at least 16 characters long.
        lines = [token[i : i + width] for i in range(0, len(token), width)]
        if len(lines[-1]) < 16:
            lines[-2:] = [
                lines[-2][: -(16 - len(lines[-1]))],
                lines[-2][-(16 - len(lines[-1])) :] + lines[-1],
            ]
        token = draw(st.sampled_from(["\n", "\r\n", "\n  "])).join(lines)
    return token, signature


PASSWORD_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789'\"<>@!$%&*+,;=~"


@st.composite
def url_passwords(draw: st.DrawFn) -> tuple[str, str]:
    password = "Pw" + draw(st.text(PASSWORD_CHARS, min_size=10, max_size=24))
    user = draw(st.sampled_from(["admin", "u", "x-access-token"]))
    scheme = draw(st.sampled_from(["http", "https", "ws", "wss"]))
    tail = draw(st.sampled_from(["", "/", "/_query", ":7512", ":7512/x?y=1"]))
    return f"{scheme}://{user}:{password}@kuzzle.example{tail}", password


NAMES = [
    "password",
    "Password",
    "passwd",
    "token",
    "access_token",
    "refresh_token",
    "refreshToken",
    "client_secret",
    "secret",
    "api-key",
    "api_key",
    "apiKey",
    "X-Api-Key",
    "jwt",
    "x-kuzzle-jwt",
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "Set-Cookie",
]
HEADER_NAMES = [
    "X-Api-Key",
    "x-kuzzle-jwt",
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "Set-Cookie",
]


@st.composite
def named_secrets(draw: st.DrawFn) -> tuple[str, str, str]:
    """(a secret name, its value, the value written beside the name in one text form)."""
    name = draw(st.sampled_from(NAMES))
    value = "Sv" + draw(st.text(_B64, min_size=10, max_size=30))
    # A header line: anywhere for a header's name, at the start of a line for any name.
    forms = [
        f'"{name}": "{value}"',
        f"'{name}': '{value}'",
        f"{name}={value}",
        f"\n{name}: {value}",
    ]
    if name in HEADER_NAMES:
        forms.append(f"{name}: {value}")
    return name, value, draw(st.sampled_from(forms))


HOSTILE = st.text(
    st.characters(
        categories=("Cc", "Cs", "Zl", "Zp", "Cf", "Co", "Ll", "Zs"), max_codepoint=0x10FFFF
    ),
    max_size=40,
) | st.sampled_from(
    [
        "\x1b[2J\x1b[H",
        "\x1b]0;pwned\x07",
        "\x1b]52;c;aGk=\x07",
        "\x1b[1A\x1b[2K",
        "line\nINFO app: user admin logged in",
        "v\x0bx\x85y\u2028z\u2029",
        "\u202eevil\u202c",
        "caf\ud83d",
        "\x9b31m",
        "\x7f",
    ]
)


class Hostile:
    """An object whose repr and str raise."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


ODD_VALUES = st.sampled_from(
    [
        None,
        b"by\x1btes",
        42,
        -1,
        10**5000,
        1.5,
        float("nan"),
        True,
        "E42",
        [1, {"a": object()}],
        object(),
        Hostile(),
        (1, 2),
    ]
)


def surfaces(error: KuzzleError) -> dict[str, str]:
    """Every way an error's content leaves it, as text."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("kuzzle_errors.tests.output_safety")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.error("%s", error)
        logger.error("failed: %r", error)
        try:
            raise error
        except KuzzleError:
            logger.exception("caught")
    finally:
        logger.removeHandler(handler)
    clone = pickle.loads(pickle.dumps(error))
    return {
        "str": str(error),
        "repr": repr(error),
        "args": repr(error.args),
        "to_dict": json.dumps(error.to_dict()),
        "pickle": pickle.dumps(error).decode("latin-1"),
        "clone": f"{clone!s} {clone!r} {json.dumps(clone.to_dict())}",
        "copy": f"{copy.copy(error)!s} {copy.deepcopy(error)!r}",
        "log": stream.getvalue(),
        "traceback": "".join(traceback.format_exception(type(error), error, None)),
    }


def assert_one_clean_line(error: KuzzleError) -> None:
    for text in (str(error), repr(error)):
        assert text.isprintable(), text  # no control, separator, bidi control or surrogate


def build(cls: type[KuzzleError], field: str, value: object) -> KuzzleError:
    if field == "message":
        return cls(value)  # type: ignore[arg-type]
    return cls("m", **{field: value})


@given(
    cls=st.sampled_from(CLASSES),
    field=st.sampled_from(FIELDS),
    secret=jwts() | url_passwords() | named_secrets().map(lambda s: (s[2], s[1])),
    hostile=HOSTILE,
)
def test_no_surface_shows_a_secret_and_str_is_one_line(
    cls: type[KuzzleError], field: str, secret: tuple[str, str], hostile: str
) -> None:
    written, hidden = secret
    text = f"{hostile} before {written} after {hostile}"
    value: Any = text
    if field in ("props", "volatile", "result", "raw", "response"):
        value = {"note": text, "nested": [text]}
    elif field == "headers":
        value = {"X-Note": text}
    error = build(cls, field, value)
    for name, shown in surfaces(error).items():
        assert hidden not in shown, name
    assert_one_clean_line(error)


@given(cls=st.sampled_from(CLASSES), secret=named_secrets(), hostile=HOSTILE)
def test_a_secret_name_as_a_key_hides_its_value_everywhere(
    cls: type[KuzzleError], secret: tuple[str, str, str], hostile: str
) -> None:
    name, value, _ = secret
    mapping = {name: value, "other": hostile}
    error = cls("m", volatile=mapping, props=[mapping], raw=mapping, headers={name: value})
    for surface, shown in surfaces(error).items():
        assert value not in shown, surface


@given(
    cls=st.sampled_from(CLASSES),
    field=st.sampled_from((*FIELDS, "status", "code", "http_status", "spec", "errors", "count")),
    value=ODD_VALUES | HOSTILE,
)
def test_any_value_of_any_type_is_kept_and_shown_without_raising(
    cls: type[KuzzleError], field: str, value: object
) -> None:
    if field in ("errors", "count") and not issubclass(cls, PartialError):
        return
    error = build(cls, field, value)
    surfaces(error)  # nothing raises
    error.retry_hint, error.matches("api.*"), error.domain, error.hex, error.headers
    # None means "the default" (an id's class fills in its id), a node placeholder means none.
    if value is not None and field not in ("spec", "node", "errors", "headers"):
        assert getattr(error, field) is value
    assert_one_clean_line(error)


@given(hostile=HOSTILE, secret=jwts() | url_passwords())
def test_parsed_answers_holding_hostile_text_show_one_clean_line(
    hostile: str, secret: tuple[str, str]
) -> None:
    written, hidden = secret
    text = f"{hostile}{written}{hostile}"
    body = {
        "status": 500,
        "requestId": text,
        "node": text,
        "error": {"id": text, "message": text, "status": 500, "stack": text, "props": [text]},
    }
    error = parse_response(json.dumps(body), headers={"X-Kuzzle-Node": text})
    assert error is not None
    for name, shown in surfaces(error).items():
        assert hidden not in shown, name
    assert_one_clean_line(error)


@pytest.mark.parametrize(
    "url, password",
    [
        ("http://admin:hun'ter2@host/", "hun'ter2"),
        ('http://admin:hun"ter2@host:7512', 'hun"ter2'),
        ("ws://admin:a<b>c@host", "a<b>c"),
        ("https://admin:p@ss@host/_query", "p@ss"),
        ("https://admin:p%40ss@host", "p%40ss"),
        ("https://ghp_tokenvalue123@github.com/x", "ghp_tokenvalue123"),
    ],
)
def test_a_url_password_is_hidden_whatever_its_characters(url: str, password: str) -> None:
    for shown in (redact_url(url), redact_text(url), redact_text(repr(url)), str(KuzzleError(url))):
        assert password not in shown, shown
        assert "host" in shown or "github.com" in shown


def test_a_reader_sees_the_line_breaks_as_spaces_and_the_controls_escaped() -> None:
    assert one_line("a.\n  b") == "a. b"
    assert one_line("x\x1b[2Jy\u202e") == "x\\x1b[2Jy\\u202e"
    assert one_line("v\x0bx\x85y\u2028z") == "v x y z"
    assert one_line("caf\ud83d") == "caf\\ud83d"
    error = KuzzleError("one\nINFO app: user admin logged in", request_id="r\n1")
    assert str(error) == "one INFO app: user admin logged in [status 500, request r 1]"


def test_a_ten_megabyte_hostile_text_becomes_one_line_fast() -> None:
    import time

    text = "\x1b\n \u2028" * (10 * 1024 * 1024 // 4)
    start = time.perf_counter()
    line = one_line(text)
    assert time.perf_counter() - start < 5.0
    assert line.isprintable()
