"""``kuzzle-errors parse``: read a response as pasted from a log or ``curl -i`` and explain it."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TextIO

from kuzzle_errors._redact import redact, redact_text, shown
from kuzzle_errors.cli.explain import advice_colour, retry_advice
from kuzzle_errors.cli.style import Style, count, terminal_text, write_field, write_json
from kuzzle_errors.exceptions import InvalidResponseError, KuzzleError, PartialError
from kuzzle_errors.parser import parse_response_and_body
from kuzzle_errors.partial import PartialItem

__all__ = ["RawResponse", "parse_command", "parse_header", "run", "split"]

# The exit statuses of the whole command line are listed in cli/main.py's epilog.
EXIT_SUCCESS: Final = 0
EXIT_UNUSABLE: Final = 1
EXIT_USAGE: Final = 2
EXIT_ERROR: Final = 3

# Kuzzle (uWebSockets) writes "HTTP/1.1 503" with no reason phrase; others add one.
_STATUS_LINE: Final = re.compile(rb"^HTTP/\d(?:\.\d)?[ \t]+(\d{3})(?:[ \t][^\r\n]*)?$")
#: curl -i -L prints one head per hop (and 100 Continue): read at most this many.
_MAX_HEADS: Final = 16
_VALUE_LIMIT: Final = 300
#: The most ``parse`` reads from FILE or stdin (a pipe fed forever must not fill memory).
MAX_INPUT_BYTES: Final = 1024 * 1024 * 1024


@dataclass
class RawResponse:
    """A response split into what the parser needs."""

    body: bytes
    http_status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    note: str | None = None


def _read_head(data: bytes) -> tuple[int, dict[str, str], bytes] | None:
    """The head at the start of ``data`` as (status, headers, what follows), or None.

    A head ends at its first empty line, at the end of the input, or where another status line
    starts: an interim ``100 Continue`` or a proxy's ``200 Connection established`` without
    headers must not swallow the status line of the response that follows it.
    """
    first, _, rest = data.partition(b"\n")
    match = _STATUS_LINE.match(first.rstrip(b"\r"))
    if match is None:
        return None
    headers: dict[str, str] = {}
    while rest:
        line, newline, after = rest.partition(b"\n")
        line = line.rstrip(b"\r")
        if not line:  # the blank line closing the head
            rest = after
            break
        if _STATUS_LINE.match(line):  # the next head, its blank line lost in a paste
            break
        name, colon, value = line.decode("latin-1").partition(":")
        if colon and name.strip():
            key, value = name.strip(), value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        rest = after if newline else b""
    return int(match[1]), headers, rest


def split(data: bytes) -> RawResponse:
    """Split ``curl -i`` output (status line, headers, blank line, body) or take a bare body.

    With several heads (``1xx`` interim responses, a proxy's ``200 Connection established``,
    redirects followed with ``-L``), the last one describes the body. Text before a JSON
    object on the same input (a log line's prefix) is skipped.
    """
    rest = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    response = RawResponse(rest)
    for _ in range(_MAX_HEADS):
        head = _read_head(rest)
        if head is None:
            break
        status, headers, rest = head
        rest = rest.lstrip(b"\r\n")
        response = RawResponse(rest, status, headers)
    if response.http_status is None:
        _skip_log_prefix(response)
    return response


def _skip_log_prefix(response: RawResponse) -> None:
    # A line pasted from a log often carries a timestamp and level before the JSON.
    body = response.body
    if body[:1] in (b"{", b"[", b"<", b"") or b"{" not in body:
        return
    text = body.decode("utf-8", "replace")
    start = text.find("{")
    try:
        value, end = json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError):
        return
    if isinstance(value, dict):
        response.body = text[start:end].encode("utf-8")
        response.note = (
            f"read the JSON object found after {count(start, 'character')} of other text"
        )


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` -> ``("Name", "value")``; raises ValueError on anything else."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or " " in name.strip():
        raise ValueError(f"not a header (expected 'Name: value'): {text!r}")
    return name.strip(), value.strip()


def _compact(value: object, limit: int = _VALUE_LIMIT) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} chars)"


def _class_text(error: KuzzleError) -> str:
    cls = type(error)
    if cls.kuzzle_id is not None:
        return f"kuzzle_errors.codes.{cls.__name__} (subclass of {cls.__mro__[1].__name__})"
    return f"kuzzle_errors.{cls.__name__}"


#: The fields ``parse`` shows of an error, in order: the keys of ``to_dict()`` (plus
#: ``result``), with spaces for underscores.
_SHOWN: Final = (
    *("id", "code", "status", "http status", "message", "props", "request id", "node"),
    *("controller", "action", "index", "collection", "volatile", "result", "transport"),
    *("headers", "problem", "stack"),
)


def _field_texts(error: KuzzleError) -> dict[str, str | None]:
    """Each of :data:`_SHOWN` as text, None for what the server did not send."""
    data = error.to_dict()  # redacted, JSON-safe
    data["result"] = redact(error.result)
    values = {name: data.get(name.replace(" ", "_")) for name in _SHOWN}
    texts = {name: None if value is None else _compact(value) for name, value in values.items()}
    if error.code is not None:
        texts["code"] = f"{error.hex} ({error.code})"
    texts["message"] = _compact(data["message"], 2000)
    texts["headers"] = "; ".join(f"{k}: {v}" for k, v in data["headers"].items()) or None
    stack = (data["stack"] or "").strip().splitlines()
    more = f" (+{count(len(stack) - 1, 'line')})" if len(stack) > 1 else ""
    texts["stack"] = _compact(stack[0], 200) + more if stack else None
    return texts


def _describe_error(error: KuzzleError, out: TextIO, style: Style) -> None:
    said = terminal_text(str(error))
    title = f"{style(type(error).__name__, 'bold')}: {style.status(said, error.status)}"
    out.write(f"{title}\n")
    write_field(out, style, "class", _class_text(error))
    texts = _field_texts(error)
    for name, text in texts.items():
        if text is not None:
            write_field(out, style, name, text)
    if error.spec is not None:
        spec = error.spec
        write_field(out, style, "catalogue", f"{spec.class_name} {spec.status}: {spec.description}")
    elif error.id:
        unknown = "unknown id (a plugin's, an application's or a newer Kuzzle's)"
        write_field(out, style, "catalogue", unknown)
    if isinstance(error, PartialError):
        _describe_partial(error, out, style)
    hint = error.retry_hint
    write_field(out, style, "retry", retry_advice(hint), advice_colour(hint))
    if error.retry_after is not None:
        write_field(out, style, "retry after", f"{error.retry_after:g} s (Retry-After header)")
    absent = [name for name, text in texts.items() if text is None]
    if absent:
        write_field(out, style, "not sent", ", ".join(absent))


def _describe_partial(error: PartialError, out: TextIO, style: Style) -> None:
    items = error.items
    sent = "not sent" if error.count is None else str(error.count)
    write_field(out, style, "failed", f"{count(len(items), 'item')} (count {sent})")
    for number, item in enumerate(items, 1):
        record = _item_record(item)
        parts = [record["action"]] if record["action"] else []
        parts.append(f"id={record['id']}" if record["id"] is not None else "no id")
        if record["status"] is not None:
            parts.append(f"status {record['status']}")
        nested = item.error is not None
        if nested and record["error_id"]:
            parts.append(record["error_id"])
        if record["reason"]:
            parts.append(_compact(record["reason"], 120))
        # The item's own hint, and the id its reason reads as (a nested error shows its own).
        read_as = f"{record['error_id']}: " if record["error_id"] and not nested else ""
        parts.append(read_as + ("retryable" if record["retryable"] else "not retryable"))
        write_field(out, style, f"  #{number}", ", ".join(parts))
    successes = error.successes
    if successes is None:  # a strict m* action's error: the other items were written
        write_field(out, style, "succeeded", "unknown: Kuzzle does not say (strict)")
    elif successes:
        text = f"{count(len(successes), 'item')}: {_compact(redact(successes), 200)}"
        write_field(out, style, "succeeded", text)


def _describe_success(
    parsed: RawResponse, body: Any, out: TextIO, style: Style, strict: bool
) -> None:
    status = parsed.http_status
    if isinstance(body, Mapping) and body.get("status") is not None:
        status = body.get("status")
    said = terminal_text(shown(status) or "") if status is not None else "not sent"
    out.write(style(f"success (status {said})", "green") + "\n")
    if isinstance(body, Mapping):
        result = body.get("result")
        write_field(out, style, "result", _compact(redact(result)))
        errors = result.get("errors") if isinstance(result, Mapping) else None
        if isinstance(errors, list) and errors and not strict:
            failed = count(len(errors), "item")
            note = f"the result holds {failed} that failed: --strict reports them"
            write_field(out, style, "note", note)


def run(args: argparse.Namespace, out: TextIO, err: TextIO, style: Style) -> int:
    """``kuzzle-errors parse``: read FILE (or stdin), then :func:`parse_command`."""
    if args.file is None and sys.stdin.isatty():
        err.write(
            "kuzzle-errors parse: give a FILE, or pipe a response in (FILE '-' reads stdin)\n"
        )
        return EXIT_USAGE
    try:
        if args.file in (None, "-"):
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with open(args.file, "rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise OSError(f"larger than {MAX_INPUT_BYTES} bytes")
    except OSError as exc:
        err.write(f"kuzzle-errors parse: cannot read {args.file!r}: {exc.strerror or exc}\n")
        return EXIT_UNUSABLE
    return parse_command(
        data,
        http_status=args.http_status,
        headers=args.header,
        strict=args.strict,
        transport=args.transport,
        fmt=args.format,
        out=out,
        err=err,
        style=style,
    )


def parse_command(
    data: bytes,
    *,
    http_status: int | None,
    headers: list[tuple[str, str]],
    strict: bool,
    transport: str | None,
    fmt: str,
    out: TextIO,
    err: TextIO,
    style: Style,
) -> int:
    """Parse one response and describe it; returns the exit status."""
    parsed = split(data)
    if not parsed.body.strip() and parsed.http_status is None:
        err.write("kuzzle-errors parse: empty input: expected a response body or curl -i output\n")
        return EXIT_UNUSABLE
    if parsed.note:
        err.write(f"kuzzle-errors parse: {parsed.note}\n")
    status = http_status if http_status is not None else parsed.http_status
    all_headers = dict(parsed.headers)
    all_headers.update(headers)
    if transport is None and parsed.http_status is not None:
        transport = "http"
    error, body, _ = parse_response_and_body(
        parsed.body,
        http_status=status,
        headers=all_headers,
        transport=transport,
        strict=strict,
    )
    if (
        isinstance(error, InvalidResponseError)
        and error.http_status is None
        and error.response is None
    ):
        err.write(
            f"kuzzle-errors parse: unusable input: {terminal_text(shown(error.problem, 500) or '')}"
            "; expected a JSON response body, or curl -i output with its status line\n"
        )
        return EXIT_UNUSABLE
    if fmt == "json":
        write_json(out, _json_report(error))
    elif error is None:
        _describe_success(parsed, body, out, style, strict)
    else:
        _describe_error(error, out, style)
    return EXIT_SUCCESS if error is None else EXIT_ERROR


def _json_report(error: KuzzleError | None) -> dict[str, Any]:
    if error is None:
        return {"ok": True}
    report: dict[str, Any] = {"ok": False, "python_class": _class_text(error).split(" ")[0]}
    report.update(error.to_dict())
    if isinstance(error, PartialError):
        report["items"] = [_item_record(item) for item in error.items]
        report["successes"] = redact(error.successes)
    return report


def _item_record(item: PartialItem) -> dict[str, Any]:
    """A failed item's fields, redacted: what ``parse`` shows of it."""
    return {
        "id": shown(item.id),
        "status": redact(item.status),
        "reason": redact_text(item.reason) if item.reason else None,
        "action": shown(item.action),
        "error_id": shown(item.error_id),
        "retryable": item.retryable,
    }
