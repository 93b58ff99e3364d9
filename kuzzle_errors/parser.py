"""Turn whatever came back from Kuzzle into a :class:`~kuzzle_errors.KuzzleError` (or None).

Data flows one way: raw bytes -> decoded JSON -> envelope -> error object -> exception.
The parser is total: any input gives a ``KuzzleError`` or None, never another exception.

Shapes understood:

* Kuzzle's response envelope ``{requestId, status, error, result, controller, action, ...}``
  (HTTP, WebSocket with ``room``; v1 and v2), including errors sent beside a result (206);
* the bare error object Kuzzle's HTTP layer sends for errors raised before routing
  (invalid JSON body, payload too large, bad content type...);
* the ``{error_code, error_message, details}`` format of some gateways (see ``FOREIGN_CODES``);
* anything else (HTML from a proxy, truncated JSON, empty bodies): an error whose class
  follows the HTTP status, with ``problem`` saying what was wrong and a bounded ``raw`` copy.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from kuzzle_errors import catalog
from kuzzle_errors._redact import bounded_int, header, safe_repr
from kuzzle_errors.exceptions import (
    AuthenticationRequiredError,
    BadRequestError,
    ExternalServiceError,
    ForbiddenError,
    InternalError,
    InvalidResponseError,
    KuzzleError,
    MultipleErrorsError,
    NotFoundError,
    PartialError,
    class_for_spec,
    class_for_status,
    coerce_status,
    is_ascii_number,
    node_name,
)

__all__ = [
    "FOREIGN_CODES",
    "RAW_COPY_LIMIT",
    "coerce_status",
    "parse_error",
    "parse_response",
    "parse_response_and_body",
    "raise_for_response",
]

#: How much of an unusable body is kept in ``raw``.
RAW_COPY_LIMIT: Final = 64 * 1024

#: The ``error_code`` values of the ``{error_code, error_message, details}`` format (met behind
#: some gateways; not Kuzzle's) and the Kuzzle class closest to each.
FOREIGN_CODES: Final[dict[int, tuple[type[KuzzleError], str]]] = {
    0: (InternalError, "UNKNOWN: unknown server error"),
    1: (BadRequestError, "NOT ALLOWED: method not allowed"),
    2: (NotFoundError, "NOT REALIZED: documented but not implemented"),
    3: (BadRequestError, "INVALID STRUCTURE: malformed request"),
    4: (BadRequestError, "INVALID VALUE: bad parameter value"),
    5: (BadRequestError, "INVALID TYPE: bad parameter type"),
    6: (AuthenticationRequiredError, "AUTH NOT PROVIDED: no access token"),
    7: (AuthenticationRequiredError, "AUTH INVALID: unknown access token"),
    8: (AuthenticationRequiredError, "AUTH EXPIRED: access token expired"),
    9: (ForbiddenError, "AUTH FORBIDDEN: access denied"),
    10: (NotFoundError, "NOT EXIST: resource not found"),
    11: (ExternalServiceError, "EXTERNAL SERVICE: external system failed"),
    12: (ExternalServiceError, "DATABASE: critical database error"),
}


def _text(value: object, limit: int | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:limit] if limit else value
    try:
        text = json.dumps(value, ensure_ascii=False, default=safe_repr)
    except (TypeError, ValueError, RecursionError):  # e.g. non-string keys, cycles
        text = safe_repr(value, limit or 10_000)
    return text[:limit] if limit else text


def _opt_str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(bounded_int(value))  # past 4,300 digits, str() raises
    if isinstance(value, float):
        return str(value)
    return None


_NO_ENVELOPE: Final[Mapping[str, Any]] = {}
#: The fields of an envelope that name what the request was about.
_CONTEXT_KEYS: Final = ("controller", "action", "index", "collection")


def _request_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


class _Context:
    """What surrounds an error object: the transport facts and the envelope."""

    __slots__ = (
        "decoded",
        "headers",
        "http_status",
        "problem",
        "request",
        "request_id",
        "response",
        "transport",
    )

    def __init__(
        self,
        http_status: int | None,
        headers: object,
        transport: str | None,
        response: Any = None,
        problem: str | None = None,
        request_id: str | None = None,
        request: Mapping[str, Any] | None = None,
    ) -> None:
        self.http_status = http_status
        self.headers = headers  # as given: the error redacts them when they are first read
        self.transport = transport
        self.response = response
        self.problem = problem
        #: The id the request was sent with, and the request: used where the answer is silent.
        self.request_id = request_id
        self.request = request
        #: Whether the body was JSON (``response`` then holds it decoded).
        self.decoded = False

    def fields(self, envelope: Mapping[str, Any] | None) -> dict[str, Any]:
        get = (envelope if envelope is not None else _NO_ENVELOPE).get
        # Strings are what Kuzzle sends: checked inline, _opt_str only for anything else.
        request_id, node = get("requestId"), get("node")
        if type(request_id) is not str:
            request_id = _opt_str(request_id) or header(self.headers, "X-Kuzzle-Request-Id")
        if type(node) is not str or node_name(node) is None:
            node = node_name(_opt_str(node)) or header(self.headers, "X-Kuzzle-Node")
        fields = {
            "request_id": request_id or self.request_id,
            "node": node,
            "volatile": get("volatile"),
            "result": get("result"),
            "transport": self.transport,
            "http_status": self.http_status,
            "headers": self.headers,
            "response": self.response,
            "request": self.request,
        }
        sent = self.request
        for key in _CONTEXT_KEYS:
            value = get(key)
            if type(value) is not str:
                value = _opt_str(value)
                if value is None and sent is not None:  # the answer is silent: the request says
                    value = _request_str(sent.get(key))
            fields[key] = value
        return fields


def parse_error(
    error: object,
    *,
    envelope: Mapping[str, Any] | None = None,
    http_status: int | None = None,
    headers: Mapping[str, str] | None = None,
    transport: str | None = None,
) -> KuzzleError:
    """The exception for one Kuzzle error object (the ``error`` part of a response).

    ``envelope``, when given, supplies the request context (request id, controller, action,
    index, collection, volatile, result, node). Never raises.
    """
    try:
        ctx = _Context(
            coerce_status(http_status),
            headers,
            transport,
            envelope if envelope is not None else error,
        )
        return _from_error_object(error, envelope, ctx)
    except Exception as exc:  # pragma: no cover - the last line of the totality promise
        return _internal_failure(error, exc, http_status, transport)


def _from_error_object(
    error: object, envelope: Mapping[str, Any] | None, ctx: _Context
) -> KuzzleError:
    if type(error) is not dict and not isinstance(error, Mapping):
        env_status = coerce_status(envelope.get("status")) if envelope is not None else None
        status = env_status or ctx.http_status
        fallback = class_for_status(status) or InvalidResponseError
        return fallback(
            _text(error, 10_000) or f"error with status {status}",
            status=status,
            raw=error,
            problem=f"the error is a {type(error).__name__}, not an object",
            **ctx.fields(envelope),
        )
    get = error.get
    problems = [ctx.problem] if ctx.problem else []
    raw_id = get("id")
    error_id = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= 256 else None
    if raw_id is not None and error_id is None:
        problems.append("unusable id")
    spec = catalog.by_id(error_id) if error_id else None
    raw_status = get("status")
    # Kuzzle sends plain ints: checked inline, the coercion only for anything else.
    ok = type(raw_status) is int and 100 <= raw_status <= 999
    status = raw_status if ok else coerce_status(raw_status)
    if raw_status is not None and status is None:
        problems.append(f"unusable status {_text(raw_status, 40)}")
    if status is None and envelope is not None:
        status = coerce_status(envelope.get("status"))
    if status is None:
        status = ctx.http_status
    raw_code = get("code")
    code = catalog.parse_code(raw_code)
    if raw_code is not None and code is None:
        problems.append(f"unusable code {_text(raw_code, 40)}")
    errors = get("errors")
    cls: type[KuzzleError]
    if spec is not None:
        cls = class_for_spec(spec)
    elif isinstance(errors, list) and ("count" in error or status == 206):
        cls = MultipleErrorsError if status == 400 else PartialError
    else:
        cls = class_for_status(status) or class_for_status(ctx.http_status) or KuzzleError
    message = get("message")
    props = get("props")
    if props is not None and not isinstance(props, list):
        props = [props]
    stack = get("stack")
    fields = ctx.fields(envelope)
    if issubclass(cls, PartialError):
        raw_count = get("count")
        fields["errors"] = errors if isinstance(errors, list) else []
        fields["count"] = raw_count if type(raw_count) is int else None
    return cls(
        message if isinstance(message, str) else _text(message),
        status=status,
        id=error_id,
        code=code,
        spec=spec,
        props=props,
        stack=stack if isinstance(stack, str) else (_text(stack) if stack else None),
        raw=error,
        problem="; ".join(problems) or None,
        **fields,
    )


def parse_response(
    body: object,
    *,
    http_status: int | None = None,
    headers: Mapping[str, str] | None = None,
    transport: str | None = None,
    strict: bool = False,
) -> KuzzleError | None:
    """The error a Kuzzle response carries, or None for a success.

    ``body`` is bytes, text, or an already decoded mapping (an envelope or a bare error).
    ``http_status`` and ``headers`` come from the HTTP layer when there is one. With
    ``strict=True``, a success whose ``result`` holds a non-empty ``errors`` list (v2 m*
    actions) is returned as a :class:`PartialError`. Never raises.
    """
    try:  # parse_response_and_body's work, one call shorter: this is the hot path
        return _parse(body, _Context(coerce_status(http_status), headers, transport), strict)
    except Exception as exc:  # pragma: no cover - the last line of the totality promise
        return _internal_failure(body, exc, http_status, transport)


def parse_response_and_body(
    body: object,
    *,
    http_status: int | None = None,
    headers: Mapping[str, str] | None = None,
    transport: str | None = None,
    strict: bool = False,
    request_id: str | None = None,
    request: Mapping[str, Any] | None = None,
) -> tuple[KuzzleError | None, Any, bool]:
    """:func:`parse_response`, plus the body as decoded JSON and whether it was JSON at all.

    For transports that read the ``result`` of a success: the body is decoded once, here.
    ``request_id`` is the id the request was sent with and ``request`` the request itself:
    Kuzzle's errors raised before routing name neither the request nor what it was about, so
    an error's ``request_id``, ``controller``, ``action``, ``index`` and ``collection`` come
    from them when the answer is silent, and the error keeps ``request`` (its
    :attr:`~kuzzle_errors.KuzzleError.request`: what ``PartialError.retry_request`` rebuilds).
    Never raises.
    """
    try:
        ctx = _Context(
            coerce_status(http_status), headers, transport, request_id=request_id, request=request
        )
        error = _parse(body, ctx, strict)
        return error, ctx.response, ctx.decoded
    except Exception as exc:  # pragma: no cover - the last line of the totality promise
        return _internal_failure(body, exc, http_status, transport), None, False


def raise_for_response(
    body: object,
    *,
    http_status: int | None = None,
    headers: Mapping[str, str] | None = None,
    transport: str | None = None,
    strict: bool = False,
) -> None:
    """Raise the error :func:`parse_response` finds in the response; return on success."""
    error = parse_response(
        body, http_status=http_status, headers=headers, transport=transport, strict=strict
    )
    if error is not None:
        raise error


def _parse(body: object, ctx: _Context, strict: bool) -> KuzzleError | None:
    if type(body) is not bytes and isinstance(body, Mapping):
        return _from_json(body, ctx, strict, None)
    if body is None:
        return _unusable(b"", "empty body", ctx)
    if isinstance(body, (bytes, bytearray, memoryview)):
        # No size limit here: a big success is a success. Bounding what is read is the
        # transport's job; by the time the bytes are here, their memory is spent.
        data = bytes(body)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", "replace")
            ctx.problem = "invalid UTF-8 in the body (replaced)"
        original: bytes | str = data
    elif isinstance(body, str):
        text = original = body
    elif isinstance(body, (list, int, float, bool)):
        return _from_json(body, ctx, strict, body)
    else:
        return _unusable(safe_repr(body), f"unsupported body type {type(body).__name__}", ctx)

    stripped = text.strip().lstrip("\ufeff")
    if not stripped:
        return _unusable(original, "empty body", ctx)
    try:
        data_json = json.loads(stripped)
    except RecursionError:
        return _unusable(original, "JSON nested too deeply", ctx)
    except ValueError as exc:
        return _unusable(original, _not_json_problem(stripped, exc), ctx)
    return _from_json(data_json, ctx, strict, original)


def _not_json_problem(text: str, exc: ValueError) -> str:
    head = text[:200].lower()
    if head.startswith("<") or "<html" in head or "<!doctype" in head:
        return "not a Kuzzle response: an HTML page"
    if text[:1] in "{[":
        return f"truncated or invalid JSON ({str(exc)[:100]})"
    return "not a Kuzzle response: the body is not JSON"


def _from_json(data: object, ctx: _Context, strict: bool, original: object) -> KuzzleError | None:
    if type(data) is not dict and not isinstance(data, Mapping):
        return _other_json(data, ctx, original)
    ctx.response, ctx.decoded = data, True
    if "error" in data:
        error = data["error"]
        if error is None or error is False:
            return _success_or_status_error(data, ctx, strict)
        return _from_error_object(error, data, ctx)
    if "error_code" in data or "error_message" in data:
        return _foreign(data, ctx)
    if _is_bare_error(data):
        return _from_error_object(data, None, ctx)
    if any(key in data for key in ("status", "result", "requestId", "room")):
        return _success_or_status_error(data, ctx, strict)
    return _other_json(data, ctx, original)


def _is_bare_error(data: Mapping[str, Any]) -> bool:
    """Kuzzle's pre-routing HTTP errors: an error object alone, no envelope around it."""
    if "message" not in data or "result" in data or "requestId" in data:
        return False
    if "id" in data or "code" in data:
        return True
    status = coerce_status(data.get("status"))
    # A server notification ({status: 200, message, type, room}) is not an error.
    return status is not None and status >= 400


def _success_or_status_error(
    envelope: Mapping[str, Any], ctx: _Context, strict: bool
) -> KuzzleError | None:
    status = coerce_status(envelope.get("status"))
    failing = status if status is not None and status >= 400 else None
    if failing is None and status is None and ctx.http_status is not None:
        failing = ctx.http_status if ctx.http_status >= 400 else None
    if failing is not None:
        cls = class_for_status(failing) or KuzzleError
        message = _text(envelope.get("message")) or f"Kuzzle answered status {failing}"
        return cls(
            message,
            status=failing,
            raw=None,
            problem="error status without an error object",
            **ctx.fields(envelope),
        )
    if strict:
        return _strict_partial(envelope, ctx, status)
    return None


def _strict_partial(
    envelope: Mapping[str, Any], ctx: _Context, status: int | None
) -> PartialError | None:
    result = envelope.get("result")
    if not isinstance(result, Mapping):
        return None
    errors = result.get("errors")
    if not isinstance(errors, list) or not errors:
        return None
    successes = result.get("successes")
    total = len(errors) + (len(successes) if isinstance(successes, list) else 0)
    action = _opt_str(envelope.get("action"))
    what = f"{action} items" if action else "items"
    return PartialError(
        f"{len(errors)} of {total} {what} failed",
        errors=errors,
        count=len(errors),
        status=next((s for s in (status, ctx.http_status) if s is not None), 206),
        raw=None,
        problem="strict: a success holding errors",
        **ctx.fields(envelope),
    )


def _foreign(data: Mapping[str, Any], ctx: _Context) -> KuzzleError:
    cls: type[KuzzleError]
    raw_code = data.get("error_code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    if code is None and isinstance(raw_code, str) and is_ascii_number(raw_code.strip()):
        code = int(raw_code.strip())
    if code is not None and code in FOREIGN_CODES:
        cls, meaning = FOREIGN_CODES[code]
    else:
        cls = class_for_status(ctx.http_status) or KuzzleError
        meaning = "unknown error_code"
    status = ctx.http_status if ctx.http_status is not None else cls.default_status
    fields = ctx.fields(None)
    fields["response"] = data
    return cls(
        _text(data.get("error_message")) or meaning,
        status=status,
        spec=None,
        props=[data["details"]] if data.get("details") is not None else None,
        raw=data,
        problem=f"foreign error format: error_code {_text(raw_code, 40)} ({meaning})",
        **fields,
    )


def _other_json(data: object, ctx: _Context, original: object) -> KuzzleError | None:
    ctx.response, ctx.decoded = data, True
    status = ctx.http_status
    if status is not None and 200 <= status < 300 and status != 206:
        return None  # a raw result (plugins may answer any JSON)
    return _unusable(original if original is not None else data, "JSON of an unknown shape", ctx)


def _bounded(raw: object) -> tuple[object, str]:
    if isinstance(raw, (bytes, str)) and len(raw) > RAW_COPY_LIMIT:
        unit = "bytes" if isinstance(raw, bytes) else "characters"
        return raw[:RAW_COPY_LIMIT], f" (kept the first {RAW_COPY_LIMIT} of {len(raw)} {unit})"
    return raw, ""


def _summary(raw: object) -> str:
    if isinstance(raw, bytes):
        raw = raw[:4096].decode("utf-8", "replace")
    if not isinstance(raw, str):
        return ""
    head = raw[:4096]
    title = re.search(r"<title[^>]*>(.*?)</title>", head, re.IGNORECASE | re.DOTALL)
    text = title.group(1) if title else re.sub(r"<[^>]+>", " ", head)
    return " ".join(html.unescape(text).split())[:200]


def _unusable(raw: object, problem: str, ctx: _Context) -> KuzzleError | None:
    status = ctx.http_status
    content_type = (header(ctx.headers, "Content-Type") or "").lower()
    if status is not None and 200 <= status < 300 and status != 206:
        looks_json = not content_type or "json" in content_type
        if not looks_json or problem == "empty body":
            return None  # a raw, non-JSON success (plugin routes may send any content)
    bounded, note = _bounded(raw)
    if ctx.problem:
        problem = f"{ctx.problem}; {problem}"
    summary = _summary(raw) if problem.startswith("not a Kuzzle response") else ""
    cls = (class_for_status(status) if status is not None else None) or InvalidResponseError
    prefix = f"HTTP {status}" if status is not None else "Invalid response"
    message = f"{prefix}: {summary}" if summary else f"{prefix}: {problem}"
    fields = ctx.fields(None)
    fields["response"] = None
    return cls(message, status=status, spec=None, raw=bounded, problem=problem + note, **fields)


def _internal_failure(
    raw: object, exc: BaseException, http_status: object, transport: str | None
) -> KuzzleError:
    copy = raw if isinstance(raw, (bytes, str)) else safe_repr(raw, RAW_COPY_LIMIT)
    bounded, note = _bounded(copy)
    return InvalidResponseError(
        f"Invalid response: could not be parsed ({type(exc).__name__})",
        status=coerce_status(http_status),
        http_status=coerce_status(http_status),
        transport=transport,
        raw=bounded,
        problem=f"parser failure: {type(exc).__name__}: {str(exc)[:200]}{note}",
    )
