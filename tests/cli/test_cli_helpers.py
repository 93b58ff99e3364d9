"""The command line's helpers, in process: lookups, suggestions, response splitting, colour."""

from __future__ import annotations

import importlib
import io
import pathlib
import re
import sys
import types
from typing import Any

import pytest

from kuzzle_errors import catalog, cli
from kuzzle_errors.cli.explain import lookup, retry_label, spec_hint, suggest
from kuzzle_errors.cli.list import FilterError, Filters, select
from kuzzle_errors.cli.parse import parse_header, split
from kuzzle_errors.cli.style import Style, count, use_colour
from kuzzle_errors.hints import RetryHint

ANSI = re.compile(r"\x1b\[[0-9;]*m")
ALL_SPECS = list(catalog.all_specs())


# -- lookups and suggestions -------------------------------------------------------------------


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda spec: spec.id)
def test_every_id_and_its_hex_code_explain(spec: catalog.ErrorSpec) -> None:
    assert [found.id for found in lookup(spec.id).specs] == [spec.id]
    by_code = lookup(spec.hex).specs
    assert spec.id in {found.id for found in by_code}
    assert all(found.code == spec.code for found in by_code)


def test_explain_output_for_the_whole_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", *(spec.id for spec in ALL_SPECS)]) == 0
    out = capsys.readouterr().out
    for spec in ALL_SPECS:
        assert f"\n{spec.id}\n  code         {spec.hex} ({spec.code})" in f"\n{out}"
    assert max(len(line) for line in out.splitlines()) <= 100


def test_lookup_accepts_decimal_codes_classes_and_codes_class_names() -> None:
    assert lookup("33685506").specs[0].id == "api.process.overloaded"
    assert lookup(" 0X02020002 ").specs[0].id == "api.process.overloaded"
    assert lookup("notfounderror").class_name == "NotFoundError"
    assert lookup("TooManyRequests").class_name == "TooManyRequestsError"
    assert lookup("ConnectionLostError").class_name == "ConnectionLostError"
    assert lookup("ApiProcessOverloaded").specs[0].id == "api.process.overloaded"
    assert not lookup("api.process.nope").found
    assert not lookup("0xffffffff").found


def test_lookup_by_version() -> None:
    assert lookup("0x01010016", version=1).specs[0].id == "services.storage.index_reserved"
    assert lookup("0x01010016", version=2).specs[0].id == "services.storage.collection_reserved"
    assert lookup("0x01010016").ambiguous_code
    assert not lookup("0x0101000b").ambiguous_code
    assert not lookup("services.storage.incomplete_fetch", version=2).found
    assert lookup("services.storage.incomplete_fetch", version=1).found


def test_lookup_of_a_bare_status_holds_the_errors_answering_it() -> None:
    found = lookup("503")
    assert (found.status, found.ambiguous_code) == (503, False)
    assert found.specs == catalog.find(status=503) != []
    assert lookup("206", version=2).specs == catalog.find(status=206, version=2)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("storage.notfound", "services.storage.not_found"),
        ("services.storage.notfound", "services.storage.not_found"),
        ("api.proces.overloaded", "api.process.overloaded"),
        ("overloaded", "api.process.overloaded"),
        ("process.too_many_request", "api.process.too_many_requests"),
        ("Services.Storage.Not-Found", "services.storage.not_found"),
        ("NotFoundEror", "NotFoundError"),
    ],
)
def test_suggest_finds_the_intended_id(query: str, expected: str) -> None:
    found = suggest(query)
    assert found
    assert found[0] == expected
    assert len(found) <= 5


def test_suggest_gives_nothing_for_nonsense() -> None:
    assert suggest("zzzzqqqq") == []
    assert suggest("...") == []


# -- retry summaries -------------------------------------------------------------------------


def test_retry_labels() -> None:
    assert retry_label(RetryHint(True, True, 0.0, "r")) == "safe"
    assert retry_label(RetryHint(True, False, 0.0, "r")) == "idem"
    assert retry_label(RetryHint(False, False, 0.0, "r")) == "no"
    assert retry_label(spec_hint(catalog.get("api.process.too_many_requests"))) == "safe"  # type: ignore[arg-type]
    assert retry_label(spec_hint(catalog.get("plugin.runtime.too_many_pipes"))) == "idem"  # type: ignore[arg-type]


def test_spec_hint_agrees_with_the_parsed_error() -> None:
    import kuzzle_errors

    for spec in ALL_SPECS:
        error = kuzzle_errors.error_class(spec.id)("m", status=spec.status)
        expected = error.retry_hint
        assert spec_hint(spec) == expected, spec.id


# -- list ------------------------------------------------------------------------------------


def test_select_filters() -> None:
    assert {spec.status for spec in select(Filters(status=429))} == {429}
    assert {spec.class_name for spec in select(Filters(class_name="notfound"))} == {"NotFoundError"}
    assert all(spec_hint(spec).retryable for spec in select(Filters(retryable=True)))
    assert {1} <= {v for spec in select(Filters(version=1)) for v in spec.versions}
    with pytest.raises(FilterError, match="unknown subdomain"):
        select(Filters(subdomain="nope"))
    with pytest.raises(FilterError, match="unknown class"):
        select(Filters(class_name="ConnectionLostError"))  # not a Kuzzle class: no id has it


def test_csv_has_every_field_of_the_json_records() -> None:
    from kuzzle_errors.cli import list as _cli_list
    from kuzzle_errors.cli.explain import spec_record

    assert tuple(spec_record(ALL_SPECS[0])) == _cli_list._CSV_FIELDS


def test_coloured_table_still_fits_100_columns(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list", "--color", "always"]) == 0
    out = capsys.readouterr().out
    assert ANSI.search(out)
    assert max(len(ANSI.sub("", line)) for line in out.splitlines()) <= 100


@pytest.mark.parametrize(
    "argv",
    [
        ["explain", "api.process.overloaded", "core.fatal.unexpected_error", "NotFoundError"],
        [
            "parse",
            str(pathlib.Path(__file__).parents[2] / "examples/responses/overloaded-503.http"),
        ],
    ],
    ids=["explain", "parse"],
)
def test_colour_moves_no_line_break(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    cli.main([*argv, "--color", "never"])
    plain = capsys.readouterr().out
    cli.main([*argv, "--color", "always"])
    coloured = capsys.readouterr().out
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == plain  # wrapped first, then coloured line by line


# -- colour ----------------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour(_Tty()) is True
    assert use_colour(io.StringIO()) is False
    assert use_colour(io.StringIO(), "always") is True
    assert use_colour(_Tty(), "never") is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(_Tty()) is False
    monkeypatch.setenv("NO_COLOR", "")  # set but empty: no-color.org says ignore it
    assert use_colour(_Tty()) is True
    monkeypatch.setenv("TERM", "dumb")
    assert use_colour(_Tty()) is False


def test_style_is_a_no_op_when_disabled() -> None:
    assert Style(False)("x", "red") == "x"
    assert Style(True)("x", "red") == "\x1b[31mx\x1b[0m"
    assert Style(True).status("503", 503) == "\x1b[31m503\x1b[0m"


# -- splitting curl -i output ----------------------------------------------------------------


def test_split_kuzzles_status_line_without_reason_phrase() -> None:
    raw = split(b"HTTP/1.1 503\r\nX-Kuzzle-Node: n1\r\nContent-Type: application/json\r\n\r\n{}")
    assert raw.http_status == 503
    assert raw.headers == {"X-Kuzzle-Node": "n1", "Content-Type": "application/json"}
    assert raw.body == b"{}"


def test_split_keeps_the_last_head_of_redirects_and_100_continue() -> None:
    raw = split(
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n\r\n"
        b"HTTP/2 404\nx-kuzzle-request-id: r9\nset-cookie: a=1\nset-cookie: b=2\n\n"
        b'{"status":404}'
    )
    assert raw.http_status == 404
    assert raw.headers == {"x-kuzzle-request-id": "r9", "set-cookie": "a=1, b=2"}
    assert raw.body == b'{"status":404}'


_NOT_FOUND = b'{"status":404,"error":{"id":"services.storage.not_found","status":404}}'


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize(
    "interim",
    [
        b"HTTP/1.1 100 Continue{eol}{eol}",
        b"HTTP/1.1 100{eol}{eol}",
        b"HTTP/1.1 103 Early Hints{eol}Link: </style.css>; rel=preload{eol}{eol}",
        b"HTTP/1.1 200 Connection established{eol}{eol}",
        b"HTTP/1.0 200 Connection established{eol}Proxy-agent: Squid/6{eol}{eol}",
        b"HTTP/1.1 200 Connection established{eol}{eol}HTTP/1.1 100 Continue{eol}{eol}",
    ],
    ids=["100", "100-bare", "103-headers", "connect", "connect-headers", "connect-then-100"],
)
def test_split_reads_the_response_after_interim_heads(interim: bytes, eol: bytes) -> None:
    head = interim.replace(b"{eol}", eol)
    raw = split(
        head + b"HTTP/1.1 404" + eol + b"Content-Type: application/json" + eol + eol + _NOT_FOUND
    )
    assert raw.http_status == 404
    assert raw.headers == {"Content-Type": "application/json"}
    assert raw.body == _NOT_FOUND


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_split_redirect_chain_last_head_wins(eol: bytes) -> None:
    raw = split(
        eol.join(
            [
                b"HTTP/1.1 200 Connection established",
                b"",
                b"HTTP/1.1 100 Continue",
                b"",
                b"HTTP/1.1 302 Found",
                b"Location: /a",
                b"",
                b"HTTP/1.1 100 Continue",
                b"",
                b"HTTP/1.1 301",
                b"Location: /b",
                b"",
                b"",
            ]
        )
    )
    assert (raw.http_status, raw.headers, raw.body) == (301, {"Location": "/b"}, b"")


def test_split_a_head_whose_blank_line_was_lost_ends_at_the_next_status_line() -> None:
    raw = split(b"HTTP/1.1 100 Continue\nHTTP/1.1 503\nRetry-After: 5\n\n{}")
    assert (raw.http_status, raw.headers, raw.body) == (503, {"Retry-After": "5"}, b"{}")


def test_split_head_only_and_bare_bodies() -> None:
    head_only = split(b"HTTP/1.1 204\r\nContent-Length: 0\r\n")
    assert (head_only.http_status, head_only.body) == (204, b"")
    bare = split(b'\xef\xbb\xbf  {"status": 200}\n')
    assert (bare.http_status, bare.headers, bare.body) == (None, {}, b'{"status": 200}\n')
    not_http = split(b"HTTP/1.1 is a protocol")
    assert not_http.http_status is None


def test_split_skips_a_log_prefix() -> None:
    raw = split(b'2026-01-01 ERROR req failed: {"status": 404, "error": {"id": "x.y.z"}} tail')
    assert raw.body == b'{"status": 404, "error": {"id": "x.y.z"}}'
    assert raw.note is not None
    unchanged = split(b"<html>{not json}</html>")
    assert unchanged.body == b"<html>{not json}</html>"
    assert unchanged.note is None


def test_parse_header() -> None:
    assert parse_header("Retry-After: 5") == ("Retry-After", "5")
    assert parse_header("X-A:b: c") == ("X-A", "b: c")
    for bad in ("nonsense", ": x", "Two Words: x"):
        with pytest.raises(ValueError, match="Name: value"):
            parse_header(bad)


# -- demo and stub delegation ----------------------------------------------------------------


def _fake_module(monkeypatch: pytest.MonkeyPatch, name: str, **attributes: object) -> None:
    module = types.ModuleType(name)
    for key, value in attributes.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)


def test_demo_gets_every_later_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def demo_main(argv: list[str]) -> int:
        seen.append(argv)
        return 0

    _fake_module(monkeypatch, "kuzzle_errors.cli.demo", main=demo_main)
    assert cli.main(["demo", "--help", "--fast"]) == 0
    assert seen == [["--help", "--fast"]]


def test_stub_serves_on_the_requested_address(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[str, int]] = []

    def serve(host: str, port: int, **options: object) -> None:
        calls.append((host, port))
        raise KeyboardInterrupt  # what Ctrl-C does to a serving stub

    _fake_module(monkeypatch, "kuzzle_errors.testing", serve=serve)
    assert cli.main(["stub"]) == 0
    assert cli.main(["stub", "--host", "0.0.0.0", "--port", "8000"]) == 0
    assert calls == [("127.0.0.1", 7512), ("0.0.0.0", 8000)]
    assert "stopped" in capsys.readouterr().out


def test_stub_reports_a_busy_port(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def serve(host: str, port: int, **options: object) -> None:
        raise OSError(98, "Address already in use")

    _fake_module(monkeypatch, "kuzzle_errors.testing", serve=serve)
    assert cli.main(["stub", "--port", "7512"]) == 1
    assert "Address already in use" in capsys.readouterr().err


class _ScriptedStub:
    """Records the scripting calls ``kuzzle-errors stub`` makes on a StubKuzzle."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def overload(self, times: int | None = None) -> None:
        self.calls.append(("overload", times))

    def shutdown(self, *, halt: bool = True) -> None:
        self.calls.append(("shutdown", halt))

    def slow(self, controller: str | None, action: str | None, seconds: float) -> None:
        self.calls.append(("slow", controller, action, seconds))

    def fail(self, controller: str | None, action: str | None, error_id: str) -> None:
        self.calls.append(("fail", controller, action, error_id))


def _stub_run(monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[dict[str, object], Any]:
    """Run ``kuzzle-errors stub ARGV`` against a fake serve(): (its options, its setup notes
    and the scripting calls)."""
    seen: dict[str, object] = {}
    stub = _ScriptedStub()

    def serve(host: str, port: int, *, setup: Any, **options: object) -> None:
        seen.update(options)
        seen["notes"] = setup(stub)
        raise KeyboardInterrupt

    _fake_module(monkeypatch, "kuzzle_errors.testing", serve=serve)
    assert cli.main(["stub", *argv]) == 0
    notes = seen.pop("notes")
    return seen, (notes, stub.calls)


def test_stub_limits_become_stubkuzzle_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = (
        "--version=1 --node=n1 --rate-limit=2 --ws-rate-limit=3 --logins-per-second=1 "
        "--concurrent-requests=4 --requests-buffer-size=0 --max-request-size=512"
    )
    options, (notes, calls) = _stub_run(monkeypatch, *argv.split())
    assert options == {
        "version": 1,
        "node": "n1",
        "rate_limit": 2,
        "ws_rate_limit": 3,
        "logins_per_second": 1,
        "concurrent_requests": 4,
        "requests_buffer_size": 0,
        "max_request_size": 512,
    }
    assert calls == []
    assert "answers as Kuzzle 1.x" in notes
    assert "0 requests may wait, then 503 api.process.overloaded" in notes
    assert _stub_run(monkeypatch)[0] == {"version": 2}  # StubKuzzle's own defaults otherwise


def test_stub_scripts_overload_shutdown_slow_and_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    _options, (notes, calls) = _stub_run(
        monkeypatch,
        "--overload",
        "--shutdown",
        "--slow=*:now:0.5",
        "--fail=document:*:services.storage.not_found",
    )
    assert calls == [
        ("overload", None),
        ("shutdown", False),  # a node draining its requests: it keeps answering 503
        ("slow", None, "now", 0.5),
        ("fail", "document", None, "services.storage.not_found"),
    ]
    assert notes[0] == "every API request: 503 api.process.overloaded"
    assert "document:* fails with services.storage.not_found" in notes
    assert _stub_run(monkeypatch, "--overload", "2")[1][1] == [("overload", 2)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fail=document:create:no.such.id"], "unknown Kuzzle error id"),
        (["--fail=document:create"], "CONTROLLER:ACTION:VALUE expected"),
        (["--slow=server:now:-1"], "seconds between 0 and 3600"),
        (["--slow=server:now:soon"], "seconds between 0 and 3600"),
        (["--rate-limit=-1"], "a number >= 0 expected"),
        (["--concurrent-requests=0"], "a number >= 1 expected"),
        (["--overload=x"], "a whole number expected"),
        (["--version=3"], "invalid choice"),
    ],
)
def test_stub_refuses_bad_failure_modes(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["stub", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_stub_explains_a_missing_h11(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def serve(host: str, port: int, **options: object) -> None:
        raise ModuleNotFoundError("No module named 'h11'", name="h11")

    _fake_module(monkeypatch, "kuzzle_errors.testing", serve=serve)
    assert cli.main(["stub"]) == 1
    err = capsys.readouterr().err
    assert "needs the 'h11' package" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("command", "module", "missing", "message"),
    [
        (["demo"], "kuzzle_errors.cli.demo", "kuzzle_errors.cli.demo", "not available"),
        (["demo"], "kuzzle_errors.cli.demo", "websockets", "pip install"),
        (["stub"], "kuzzle_errors.testing", "kuzzle_errors.testing", "not available"),
        (["stub"], "kuzzle_errors.testing", "websockets", "pip install"),
    ],
)
def test_demo_and_stub_explain_a_missing_module(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    module: str,
    missing: str,
    message: str,
) -> None:
    real_import = importlib.import_module

    def fake_import(name: str, package: str | None = None) -> types.ModuleType:
        if name == module:
            raise ModuleNotFoundError(f"No module named {missing!r}", name=missing)
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    assert cli.main(command) == 1
    assert message in capsys.readouterr().err


# -- explain edge cases ----------------------------------------------------------------------


def test_explain_an_id_missing_from_the_asked_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "services.storage.incomplete_fetch", "--version", "2"]) == 1
    assert "not in Kuzzle 2, only in Kuzzle 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("KuzzleError", "every Kuzzle error"),
        ("ParseError", "none in the catalogue"),
        ("MultipleErrorsError", "api.process.incomplete_multiple_request"),
        ("ConnectionLostError", "never sent by Kuzzle"),
    ],
)
def test_explain_every_kind_of_class(
    capsys: pytest.CaptureFixture[str], name: str, expected: str
) -> None:
    assert cli.main(["explain", name]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{name}\n")
    assert expected in out
    assert "``" not in out


def test_explain_mentions_kuzzles_misreported_transient_failures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["explain", "core.fatal.unexpected_error"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "retry no: server-side bug" in out
    assert "but with props naming services.storage.undefined: only idempotent calls" in out


def test_explain_knows_every_misreport_the_hints_know(capsys: pytest.CaptureFixture[str]) -> None:
    from kuzzle_errors import hints

    assert cli.main(["explain", "core.fatal.unexpected_error"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for prop in hints.MISREPORTS:
        assert f"but with props naming {prop}:" in out


def test_parse_without_input_on_a_terminal_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class TtyIn(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", TtyIn())
    assert cli.main(["parse"]) == 2  # a usage error
    assert "give a FILE, or pipe a response in" in capsys.readouterr().err


# -- wording -----------------------------------------------------------------------------------


def test_counts_agree_with_their_number(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    assert (count(1, "item"), count(0, "item"), count(2, "id")) == ("1 item", "0 items", "2 ids")
    assert split(b'x{"status": 200}').note == (
        "read the JSON object found after 1 character of other text"
    )
    assert cli.main(["explain", "0x0104ffff"]) == 1
    assert "services.statistics (1 id):" in capsys.readouterr().err
    body = (
        b'{"status":500,"error":{"id":"core.fatal.unexpected_error","status":500,'
        b'"message":"m","stack":"Error: m\\n    at f (x.js:1:1)"}}'
    )
    (tmp_path / "body.json").write_bytes(body)
    assert cli.main(["parse", str(tmp_path / "body.json")]) == 3
    out = capsys.readouterr().out
    assert "(+1 line)" in out
    assert not re.search(r"\b1 (items|ids|lines|characters|errors)\b", out)
