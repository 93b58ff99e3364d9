"""``kuzzle-errors parse``: read a response as pasted from a log or ``curl -i`` and explain it."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Final, TextIO

from kuzzle_errors._redact import redact, redact_headers, redact_text, shown
from kuzzle_errors.cli.explain import styled_advice
from kuzzle_errors.cli.style import FIELD_ROOM, Style, count, write_field
from kuzzle_errors.exceptions import InvalidResponseError, KuzzleError, PartialError
from kuzzle_errors.parser import parse_response_and_body

__all__ = [
    "EXIT_ERROR",
    "EXIT_SUCCESS",
    "EXIT_UNUSABLE",
    "EXIT_USAGE",
    "RawResponse",
    "parse_command",
    "split",
]

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


class _Printer:
    def __init__(self, out: TextIO, style: Style) -> None:
        self.out = out
        self.style = style

    def field(self, name: str, value: str) -> None:
        # Plain text is wrapped to the 100-column budget; styled text is left whole.
        lines = [value]
        if "\x1b" not in value:
            lines = textwrap.wrap(value, FIELD_ROOM, break_on_hyphens=False) or [""]
        write_field(self.out, self.style, name, lines)


def _class_text(error: KuzzleError) -> str:
    cls = type(error)
    if cls.kuzzle_id is not None:
        return f"kuzzle_errors.codes.{cls.__name__} (subclass of {cls.__mro__[1].__name__})"
    return f"kuzzle_errors.{cls.__name__}"


def _describe_error(error: KuzzleError, printer: _Printer) -> None:
    style = printer.style
    printer.out.write(
        f"{style(type(error).__name__, 'bold')}: {style.status(str(error), error.status)}\n"
    )
    data = error.to_dict()  # redacted, JSON-safe
    printer.field("class", _class_text(error))
    absent: list[str] = []

    def show(name: str, key: str, text: str | None = None) -> None:
        value = data.get(key)
        if value is None:
            absent.append(name)
        else:
            printer.field(name, text if text is not None else _compact(value))

    show("id", "id")
    show("code", "code", f"{error.hex} ({error.code})")
    show("status", "status")
    show("http status", "http_status")
    show("message", "message", _compact(data["message"], 2000))
    show("props", "props")
    show("request id", "request_id")
    show("node", "node")
    show("controller", "controller")
    show("action", "action")
    show("index", "index")
    show("collection", "collection")
    show("volatile", "volatile")
    if error.result is None:
        absent.append("result")
    else:
        printer.field("result", _compact(redact(error.result)))
    show("transport", "transport")
    headers = redact_headers(error.headers)
    if headers:
        printer.field("headers", "; ".join(f"{k}: {v}" for k, v in headers.items()))
    else:
        absent.append("headers")
    show("problem", "problem")
    stack = data.get("stack")
    if isinstance(stack, str) and stack.strip():
        lines = stack.strip().splitlines()
        more = f" (+{count(len(lines) - 1, 'line')})" if len(lines) > 1 else ""
        printer.field("stack", _compact(lines[0], 200) + more)
    else:
        absent.append("stack")
    if error.spec is not None:
        spec = error.spec
        printer.field("catalogue", f"{spec.class_name} {spec.status}: {spec.description}")
    elif error.id:
        printer.field("catalogue", "unknown id (a plugin's, an application's or a newer Kuzzle's)")
    if isinstance(error, PartialError):
        _describe_partial(error, printer)
    printer.field("retry", styled_advice(error.retry_hint, style))
    if error.retry_after is not None:
        printer.field("retry after", f"{error.retry_after:g} s (Retry-After header)")
    if absent:
        printer.field("not sent", ", ".join(absent))


def _describe_partial(error: PartialError, printer: _Printer) -> None:
    items = error.items
    sent = "not sent" if error.count is None else str(error.count)
    printer.field("failed", f"{count(len(items), 'item')} (count {sent})")
    for number, item in enumerate(items, 1):
        parts = []
        if item.action:
            parts.append(item.action)
        parts.append(f"id={shown(item.id)}" if item.id is not None else "no id")
        if item.status is not None:
            parts.append(f"status {item.status}")
        if item.error is not None and item.error.id:
            parts.append(str(shown(item.error.id)))
        if item.reason:
            parts.append(_compact(redact_text(item.reason), 120))
        printer.field(f"  #{number}", ", ".join(parts))
    successes = error.successes
    if successes:
        printer.field(
            "succeeded", f"{count(len(successes), 'item')}: {_compact(redact(successes), 200)}"
        )


def _describe_success(parsed: RawResponse, body: Any, printer: _Printer, strict: bool) -> None:
    status = parsed.http_status
    if isinstance(body, Mapping) and body.get("status") is not None:
        status = body.get("status")
    said = shown(status) if status is not None else "not sent"
    printer.out.write(printer.style(f"success (status {said})", "green") + "\n")
    if isinstance(body, Mapping):
        result = body.get("result")
        printer.field("result", _compact(redact(result)))
        errors = result.get("errors") if isinstance(result, Mapping) else None
        if isinstance(errors, list) and errors and not strict:
            printer.field(
                "note",
                f"the result holds {count(len(errors), 'item')} that failed: --strict reports them",
            )


def read_input(source: str | None, stdin: BinaryIO) -> bytes:
    """The bytes of FILE, or of stdin for ``-``; OSError for an unreadable or too large one."""
    if source in (None, "-"):
        data = stdin.read(MAX_INPUT_BYTES + 1)
    else:
        with open(source, "rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise OSError(f"larger than {MAX_INPUT_BYTES} bytes")
    return data


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
            f"kuzzle-errors parse: unusable input: {shown(error.problem, 500)}; expected a JSON "
            "response body, or curl -i output with its status line\n"
        )
        return EXIT_UNUSABLE
    printer = _Printer(out, style)
    if fmt == "json":
        json.dump(_json_report(error), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif error is None:
        _describe_success(parsed, body, printer, strict)
    else:
        _describe_error(error, printer)
    return EXIT_SUCCESS if error is None else EXIT_ERROR


def _json_report(error: KuzzleError | None) -> dict[str, Any]:
    if error is None:
        return {"ok": True}
    report: dict[str, Any] = {"ok": False, "python_class": _class_text(error).split(" ")[0]}
    report.update(error.to_dict())
    if isinstance(error, PartialError):
        report["items"] = [
            {
                "id": shown(item.id),
                "status": redact(item.status),
                "reason": redact_text(item.reason) if item.reason else None,
                "action": shown(item.action),
                "error_id": shown(item.error.id) if item.error is not None else None,
            }
            for item in error.items
        ]
        report["successes"] = redact(error.successes)
    return report
