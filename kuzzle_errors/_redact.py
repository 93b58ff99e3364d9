"""Keep secrets (JWTs, passwords, auth headers, cookies) out of everything an error shows.

One rule for every exit of an exception (``str``, ``repr``, ``args``, ``to_dict``, pickling,
the CLI): text goes through :func:`redact_text`, values through :func:`redact`. Both are
linear in their input and bounded: a string longer than ``TEXT_LIMIT`` is cut, with a marker,
so hostile input costs neither time nor memory when an error is printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

REDACTED: Final = "[REDACTED]"

#: Keys whose values are secrets wherever they appear (compared lower-cased).
SECRET_KEYS: Final = frozenset(
    {
        "jwt",
        "password",
        "token",
        "refreshtoken",
        "apikey",
        "api_key",
        "secret",
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-kuzzle-jwt",
    }
)

#: The longest text shown whole; longer text is cut to this many characters, with a marker.
TEXT_LIMIT: Final = 64 * 1024
#: The longest header value kept (headers are context: no server sends longer useful ones).
HEADER_LIMIT: Final = 8 * 1024
#: About how many characters one :func:`redact` copy holds at most.
REDACT_BUDGET: Final = 256 * 1024
#: Text scanned past a cut, so that a secret straddling it is still recognised and replaced.
_LOOKAHEAD: Final = 8 * 1024
# Fixed depth bound keeps redaction recursion-proof on hostile input.
_MAX_DEPTH: Final = 64
# Integers with more bits than this cannot always be printed (Python's 4,300-digit limit).
_MAX_INT_BITS: Final = 13_000

# Secret names in the forms they take in text: headers, quoted keys, query strings.
_HEADER_NAMES: Final = (
    "proxy-authorization",
    "authorization",
    "set-cookie",
    "cookie",
    "x-kuzzle-jwt",
    "x-api-key",
)
_KEY_NAMES: Final = (
    "jwt",
    "password",
    "passwd",
    "token",
    "access_token",
    "refresh_token",
    "refreshtoken",
    "apikey",
    "api_key",
    "api-key",
    "secret",
    "client_secret",
    *_HEADER_NAMES,
)


# What every named secret form contains (lower-cased): "token" covers the *token keys,
# "cookie" the cookie headers, "auth" the authorization headers, "key" the api keys.
_TRIGGERS: Final = ("jwt", "passw", "token", "secret", "auth", "cookie", "key")


# "eyJ" (base64url of '{"', a JWT header) and the rest of its base64url run.
_JWT_HEAD: Final = re.compile(r"eyJ[A-Za-z0-9_-]*")
_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]*")
_KEYS: Final = "|".join(sorted(_KEY_NAMES, key=len, reverse=True))
_HEADERS: Final = "|".join(_HEADER_NAMES)
# Every alternative is one capturing group (kept) followed by the secret (replaced).
# No alternative has nested or overlapping quantifiers: each is linear, and each can
# only start at a fixed literal, so the whole scan is linear.
_KEYED: Final = re.compile(
    "|".join(
        (
            # scheme://user:PASSWORD@host
            r"(://[^\s/?#@:'\"<>]*:)[^\s/?#@'\"<>]*(?=@)",
            # "password": "..." / 'set-cookie': b'...' (JSON, Python reprs)
            rf"(\"(?:{_KEYS})\"[ \t]*[:=][ \t]*b?\")(?:[^\"\\\r\n]|\\.)*",
            rf"('(?:{_KEYS})'[ \t]*[:=][ \t]*b?')(?:[^'\\\r\n]|\\.)*",
            # Authorization: ... / Set-Cookie: ... (a header line, to its end)
            rf"(\b(?:{_HEADERS})[ \t]*:[ \t]*)[^\r\n]*",
            # password=... (query strings, forms, logs)
            rf"(\b(?:{_KEYS})=)[^\s&;,'\"<>]*",
            # Bearer <token>
            r"(\bbearer[ \t]+)[A-Za-z0-9._~+/=-]+",
            # <Cookie name=value for host/> (http.cookiejar's repr, in requests' errors)
            r"(<cookie [^=\s>]+=)[^\s>]*",
        )
    ),
    re.IGNORECASE,
)


def _keep_prefix(match: re.Match[str]) -> str:
    return f"{match.group(match.lastindex or 0)}{REDACTED}"


def _without_jwts(text: str) -> str:
    """``text`` with every JWT replaced; one left-to-right pass, linear in ``len(text)``.

    A JWT is ``eyJ`` then at least 4 base64url characters, ``.``, at least 4, ``.``, any.
    A candidate that fails is skipped whole: any later ``eyJ`` in the same run would end at
    the same place and fail the same way (the backtracking a regex would do, and repeat).
    """
    segment = _SEGMENT
    parts: list[str] = []
    done = 0
    size = len(text)
    for match in _JWT_HEAD.finditer(text):  # non-overlapping: one candidate per run
        start, end = match.span()
        if start < done or end - start < 7 or end >= size or text[end] != ".":
            continue
        second = segment.match(text, end + 1).end()  # type: ignore[union-attr]
        if second - end - 1 < 4 or second >= size or text[second] != ".":
            continue
        parts.append(text[done:start])
        parts.append(REDACTED)
        done = segment.match(text, second + 1).end()  # type: ignore[union-attr]
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def _scrub(text: str) -> str:
    if "eyJ" in text:
        text = _without_jwts(text)
    elif ":" not in text and "=" not in text and "earer" not in text and "EARER" not in text:
        return text  # the common case, at the cost of four substring tests
    # Most text names no secret at all: a few substring tests are far cheaper than the scan.
    if "://" in text:
        return _KEYED.sub(_keep_prefix, text)
    lowered = text.lower()
    if "bearer" in lowered:
        return _KEYED.sub(_keep_prefix, text)
    if ":" in text or "=" in text:  # every other form separates a name from its secret
        for word in _TRIGGERS:
            if word in lowered:
                return _KEYED.sub(_keep_prefix, text)
    return text


def redact_text(text: str, limit: int | None = TEXT_LIMIT) -> str:
    """``text`` with secrets replaced and, past ``limit`` characters, cut with a marker.

    Replaced: JWTs; ``Bearer`` tokens; values of ``Authorization``/``Cookie``/``Set-Cookie``
    (and the other secret headers) written as header lines; values of secret keys written
    ``"key": "value"`` or ``key=value``; passwords in URLs. Linear time, bounded output.
    """
    if limit is not None and len(text) > limit:
        kept = _scrub(text[: limit + _LOOKAHEAD])[:limit]
        return f"{kept}… [cut: {len(text)} characters]"
    return _scrub(text)


def bounded_int(value: int) -> int | str:
    """``value``, or a short description of it when it is too long to print."""
    if value.bit_length() <= _MAX_INT_BITS:
        return value
    digits = int(value.bit_length() * 0.30103) + 1  # log10(2): accurate to one digit
    return f"<int with about {digits} digits>"


def shown(value: object, limit: int = 200) -> str | None:
    """A scalar attribute (id, request id, node...) as it may be shown: redacted, bounded."""
    if value is None:
        return None
    if isinstance(value, str):
        return redact_text(value, limit)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(bounded_int(value))
    return redact_text(safe_repr(value), limit)


def safe_repr(value: object, limit: int = 1000) -> str:
    """``repr(value)``, bounded, and never raising (a hostile ``__repr__`` is reported)."""
    try:
        text = repr(value)
    except Exception as exc:
        return f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return text[:limit]


def _name(key: object) -> str:
    """A header or mapping key as text: bytes are decoded (HTTP names are Latin-1)."""
    if type(key) is str:
        return key
    if isinstance(key, (bytes, bytearray)):
        return bytes(key).decode("latin-1")
    return str(key)


def _pairs(headers: object) -> Iterable[tuple[object, object]]:
    if not headers:
        return ()
    return headers.items() if hasattr(headers, "items") else headers  # type: ignore[return-value]


def redact_headers(headers: object) -> dict[str, str]:
    """A plain ``dict`` copy of ``headers`` (a mapping or pairs), secret-bearing values replaced.

    Names and values may be ``str`` or ``bytes``; secret headers are matched by name, in
    any case. Values are bounded (``HEADER_LIMIT``). Unusable headers give {}: they are
    context only, never a reason to fail.
    """
    plain: dict[str, str] = {}
    try:
        for key, value in _pairs(headers):
            name = _name(key)
            secret = name.lower() in SECRET_KEYS
            plain[name] = REDACTED if secret else redact_text(_name(value), HEADER_LIMIT)
    except Exception:  # keep nothing rather than crash
        return {}
    return plain


def header(headers: object, name: str) -> str | None:
    """The value of the header ``name`` in ``headers``, as sent (not redacted), or None.

    Names match in any case; of one name sent in several spellings the last wins, as in
    requests' ``CaseInsensitiveDict``. Unusable headers give None.
    """
    wanted = name.lower()
    found: object = None
    try:
        if not headers:
            return None
        if hasattr(headers, "keys"):  # a mapping: compare the names, read only the match
            for key in headers:  # type: ignore[attr-defined]
                if (key if type(key) is str else _name(key)).lower() == wanted:
                    found = headers[key]  # type: ignore[index]
        else:
            for key, value in headers:  # type: ignore[attr-defined]
                if _name(key).lower() == wanted:
                    found = value
    except Exception:
        return None
    return None if found is None else _name(found)


def redact(value: object, budget: int = REDACT_BUDGET) -> object:
    """A JSON-safe copy of ``value`` with secrets replaced, bounded in size.

    Mappings and sequences are copied; anything that is not JSON becomes its ``repr``;
    strings are bounded (``TEXT_LIMIT``), integers too long to print are described;
    structures deeper than a fixed bound are cut (replaced by a marker string). The copy
    holds at most about ``budget`` characters: what is past it is replaced by a marker.
    """
    return _copy(value, 0, [budget])


def _copy(value: object, depth: int, budget: list[int]) -> object:
    budget[0] -= 1
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        return bounded_int(value)
    if isinstance(value, str):
        return _text_within(value, budget)
    if depth >= _MAX_DEPTH:
        return "[TOO DEEP]"
    budget[0] -= 1  # the brackets: even empty containers count
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            if budget[0] <= 0:
                out["…"] = f"[cut: {len(value)} entries in all]"
                break
            name = _name(key) if not isinstance(key, int) else str(bounded_int(key))
            secret = name.lower() in SECRET_KEYS
            name = _text_within(name, budget)
            out[name] = REDACTED if secret else _copy(item, depth + 1, budget)
        return out
    if isinstance(value, (list, tuple)):
        items: list[object] = []
        for item in value:
            if budget[0] <= 0:
                items.append(f"[cut: {len(value)} items in all]")
                break
            items.append(_copy(item, depth + 1, budget))
        return items
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        text = _text_within(data[: TEXT_LIMIT + _LOOKAHEAD].decode("utf-8", "replace"), budget)
        if len(data) <= TEXT_LIMIT:
            return text
        return f"{text[:TEXT_LIMIT]}… [cut: {len(data)} bytes]"
    return _text_within(safe_repr(value), budget)


def _text_within(text: str, budget: list[int]) -> str:
    limit = max(0, min(TEXT_LIMIT, budget[0]))
    budget[0] -= min(len(text), limit) + 1
    return redact_text(text, limit)
