"""Keep secrets (JWTs, passwords, auth headers, cookies) out of everything an error shows.

One rule for every exit of an exception (``str``, ``repr``, ``args``, ``to_dict``, pickling,
the CLI): text goes through :func:`redact_text`, values through :func:`redact`. Both are
linear in their input and bounded: a string longer than ``TEXT_LIMIT`` is cut, with a marker,
so hostile input costs neither time nor memory when an error is printed.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Final

REDACTED: Final = "[REDACTED]"

#: What the name of a secret ends with, folded (lower case, without "-" and "_"): a mapping
#: key, a header or a ``name=value``/``"name": "value"`` in text is a secret when its folded
#: name ends with one of these (``Set-Cookie``, ``x-api-key``, ``access_token``, ``passwd``...).
SECRET_NAMES: Final = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "jwt",
    "cookie",
    "authorization",
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


def is_secret_name(name: object) -> bool:
    """True if ``name`` (a key or header name, ``str`` or ``bytes``) names a secret."""
    folded = _name(name).lower().replace("-", "").replace("_", "")
    return folded.endswith(SECRET_NAMES)


# SECRET_NAMES as they are written in text, where "-" and "_" may stand inside "api key".
_NAMES: Final = "pass(?:word|wd)|secret|token|api[-_]?key|jwt|cookie|authorization"
# A base64url run, which may go on over line breaks (token files and secret stores wrap long
# values) when the next line holds a long enough piece of it, or the rest of it up to the "."
# ending it: a short word after a token on the next line is not taken for the rest of it.
_B64: Final = "[A-Za-z0-9_-]"
_RUN: Final = re.compile(rf"{_B64}*(?:\r?\n[ \t]*(?:{_B64}{{16}}{_B64}*|{_B64}*(?=\.)))*")
# The "." between two parts of a JWT, a line break before it if the wrap fell there.
_DOT: Final = re.compile(r"(?:\r?\n[ \t]*)?\.")
# "eyJ" is the base64url of '{"': the start of a JWT's header.
_JWT_HEAD: Final = re.compile("eyJ")
# The authority of a URL: what follows "://", up to its path, query or fragment.
_AUTHORITY: Final = re.compile(r"[^/?#\s]*")
# Every alternative is one capturing group (kept) followed by the secret (replaced). Each
# starts at a fixed literal and has no nested or overlapping quantifiers (but the folded
# header line's, which always ends in success): the whole scan is linear.
_KEYED: Final = re.compile(
    "|".join(
        (
            # "password": "..." / 'set-cookie': b'...' (JSON, Python reprs)
            rf"((?:{_NAMES})\"[ \t]*[:=][ \t]*b?\")(?:[^\"\\\r\n]|\\.)*",
            rf"((?:{_NAMES})'[ \t]*[:=][ \t]*b?')(?:[^'\\\r\n]|\\.)*",
            # Authorization: ... / X-Api-Key: ... (a header line, to its end, folded lines too):
            # Authorization, Cookie or a name ending in "-" and a secret name anywhere, any
            # secret name at the start of a line (prose such as "invalid token: why" is not a
            # header line)
            rf"((?:\bauthorization|\bcookie|-(?:{_NAMES})|^[ \t]*[\w-]*?(?:{_NAMES}))[ \t]*:[ \t]*)"
            r"[^\r\n]*(?:\r?\n[ \t]+[^\r\n]*)*",
            # password=... (query strings, forms, logs)
            rf"((?:{_NAMES})[ \t]*=[ \t]*[\"']?)[^\s&;,'\"<>]*",
            # Bearer <token>, even wrapped onto the next line
            r"(\bbearer\s+)[A-Za-z0-9._~+/=-]+",
            # <Cookie name=value for host/> (http.cookiejar's repr, in requests' errors)
            r"(<cookie [^=\s>]+=)[^\s>]*",
        )
    ),
    re.IGNORECASE | re.MULTILINE,
)
# What every form above contains (lower-cased): text holding none of them names no secret.
_TRIGGERS: Final = ("passw", "secret", "token", "api", "jwt", "cookie", "authorization", "bearer")


def _keep_prefix(match: re.Match[str]) -> str:
    return f"{match.group(match.lastindex or 0)}{REDACTED}"


def _without_jwts(text: str) -> str:
    """``text`` with every JWT replaced; one left-to-right pass, linear in ``len(text)``.

    A JWT is ``eyJ`` then base64url (at least 7 characters in all), ``.``, at least 4, ``.``,
    any, each part possibly wrapped over lines. A candidate that fails is skipped up to where it
    failed: any later ``eyJ`` before that point would fail there the same way (the
    backtracking a regex would do, and repeat).
    """
    parts: list[str] = []
    done = skip = 0
    for match in _JWT_HEAD.finditer(text):
        start = match.start()
        if start < skip:  # inside a part already read: it ends where that one did
            continue
        end = skip = _RUN.match(text, start).end()  # type: ignore[union-attr]
        dot = _DOT.match(text, end)
        if end - start < 7 or dot is None:
            continue
        payload = dot.end()
        end = skip = _RUN.match(text, payload).end()  # type: ignore[union-attr]
        dot = _DOT.match(text, end)
        if end - payload < 4 or dot is None:
            continue
        parts.append(text[done:start])
        parts.append(REDACTED)
        done = skip = _RUN.match(text, dot.end()).end()  # type: ignore[union-attr]
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def _without_userinfo(text: str) -> str:
    """``text`` with the userinfo of every URL replaced (``scheme://user:[REDACTED]@host``).

    As ``urllib.parse`` reads a URL: its authority ends at the first ``/``, ``?`` or ``#``,
    and its userinfo at the authority's last ``@``, so a password holding ``@``, quotes or
    ``<>`` is hidden whole. The user name stays when a password follows it; a user part alone
    (often a token) is hidden.
    """
    parts: list[str] = []
    done = 0
    start = text.find("://")
    while start != -1:
        begin = start + 3
        end = _AUTHORITY.match(text, begin).end()  # type: ignore[union-attr]
        at = text.rfind("@", begin, end)
        if at != -1:
            colon = text.find(":", begin, at)
            keep = begin if colon == -1 else colon + 1
            parts.append(text[done:keep])
            parts.append(REDACTED)
            done = at
        start = text.find("://", max(end, begin))
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def redact_url(url: str) -> str:
    """``url`` as it may be shown: the password (or a lone user part) of its userinfo hidden.

    Read by ``urllib.parse``, so the userinfo ends at the authority's last ``@`` whatever it
    holds (spaces, quotes, ``<>``, ``@``); a URL it cannot read is scanned as text.
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # an unbalanced IPv6 bracket
        return _without_userinfo(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    shown_userinfo = f"{user}:{REDACTED}" if colon else REDACTED
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{shown_userinfo}@{host}"))


def _scrub(text: str) -> str:
    if "eyJ" in text:
        text = _without_jwts(text)
    if "://" in text:
        text = _without_userinfo(text)
    # Most text names no secret at all: a few substring tests are far cheaper than the scan.
    if ":" in text or "=" in text or "earer" in text or "EARER" in text:
        lowered = text.lower()
        if any(word in lowered for word in _TRIGGERS):
            return _KEYED.sub(_keep_prefix, text)
    return text


def redact_text(text: str, limit: int | None = TEXT_LIMIT) -> str:
    """``text`` with secrets replaced and, past ``limit`` characters, cut with a marker.

    Replaced: JWTs (wrapped over lines too); the userinfo of URLs; ``Bearer`` tokens; the
    values of secret names (:data:`SECRET_NAMES`) written as header lines, ``"name": "value"``
    or ``name=value``. Linear time, bounded output.
    """
    if limit is not None and len(text) > limit:
        kept = _scrub(text[: limit + _LOOKAHEAD])[:limit]
        return f"{kept}… [cut: {len(text)} characters]"
    return _scrub(text)


# Characters that end a line: the white space around one becomes one space.
_BREAKS: Final = frozenset("\n\r\t\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029")


def one_line(text: str) -> str:
    """``text`` as one line that no reader can take for more, and no terminal for a command.

    White space holding a line break (``\\n``, ``\\r``, ``\\v``, ``\\x85``, U+2028...)
    becomes one space, as a reader would put it; every other character that is not printable
    (C0 and C1 controls, DEL, bidi overrides, lone surrogates, unusual spaces) is written as
    its escape (``\\x1b``, ``\\u202e``): a log line built from it cannot forge another, nor
    clear a screen. Linear, in C but for one step per distinct character.
    """
    if text.isprintable():
        return text
    text = text.translate({ord(ch): _replacement(ch) for ch in set(text) if not ch.isprintable()})
    if "\n" in text:
        text = " ".join(map(str.strip, text.split("\n")))
    return text


def _replacement(ch: str) -> str:
    if ch in _BREAKS:
        return "\n"
    if ch.isspace():
        return " "
    return ch.encode("unicode_escape").decode("ascii")


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
            secret = is_secret_name(name)
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
            secret = is_secret_name(name)
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
