"""Keep secrets (JWTs, passwords, auth headers) out of everything an error prints or ships."""

from __future__ import annotations

from collections.abc import Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
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

_jwt: re.Pattern[str] | None = None
# Fixed depth and width bounds keep redaction cheap and recursion-proof on hostile input.
_MAX_DEPTH: Final = 64


def safe_repr(value: object, limit: int = 1000) -> str:
    """``repr(value)``, bounded, and never raising (a hostile ``__repr__`` is reported)."""
    try:
        text = repr(value)
    except Exception as exc:
        return f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return text[:limit]


def redact_text(text: str) -> str:
    """``text`` with every JWT-looking substring replaced."""
    if "eyJ" not in text:
        return text
    global _jwt
    if _jwt is None:
        import re

        # A JSON Web Token: three base64url segments, the first a JSON header ("eyJ" = '{"').
        _jwt = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
    return _jwt.sub(REDACTED, text)


def prepare_headers(headers: object) -> tuple[dict[str, str], dict[str, str]]:
    """Redacted plain copies of ``headers`` (a mapping or pairs): as sent, and lower-cased.

    One pass, as every parsed HTTP response goes through here. Unusable headers give {}:
    they are context only, never a reason to fail.
    """
    plain: dict[str, str] = {}
    lower: dict[str, str] = {}
    try:
        if not headers:
            return plain, lower
        pairs = headers.items() if hasattr(headers, "items") else headers
        for key, value in pairs:  # type: ignore[union-attr]
            name = key if type(key) is str else str(key)
            text = value if type(value) is str else str(value)
            folded = name.lower()
            text = REDACTED if folded in SECRET_KEYS else redact_text(text)
            plain[name] = text
            lower[folded] = text
    except Exception:  # a hostile or malformed set: keep nothing rather than crash
        return {}, {}
    return plain, lower


def redact_headers(headers: object) -> dict[str, str]:
    """A plain ``dict`` copy of ``headers`` with secret-bearing values replaced."""
    return prepare_headers(headers)[0]


def redact(value: object, depth: int = 0) -> object:
    """A JSON-safe copy of ``value`` with secrets replaced.

    Mappings and sequences are copied; anything that is not JSON becomes its ``repr``;
    structures deeper than a fixed bound are cut (replaced by a marker string).
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if depth >= _MAX_DEPTH:
        return "[TOO DEEP]"
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if str(k).lower() in SECRET_KEYS else redact(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v, depth + 1) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    return redact_text(safe_repr(value))
