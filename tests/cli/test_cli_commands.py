"""The ``kuzzle-errors`` command line, run for real in a subprocess.

In-process checks of the helpers behind it live in ``test_cli_helpers.py``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import io
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fresh_python import console_script

import kuzzle_errors
from kuzzle_errors import catalog

ANSI = re.compile(r"\x1b\[[0-9;]*m")

OVERLOADED_CURL = (
    b"HTTP/1.1 503\r\n"
    b"Content-Type: application/json\r\n"
    b"X-Kuzzle-Request-Id: req-42\r\n"
    b"X-Kuzzle-Node: knode-test-1\r\n"
    b"\r\n"
    b'{"action":"create","collection":"c","controller":"document","error":{"code":33685506,'
    b'"id":"api.process.overloaded","message":"Request discarded: Kuzzle Server is temporarily'
    b' overloaded.","props":[],"status":503},"headers":{},"index":"i","node":"knode-test-1",'
    b'"requestId":"req-42","result":null,"status":503,"volatile":null}'
)

PARTIAL_206 = (
    '{"action":"mDeleteProfiles","controller":"security","error":{"code":16842761,'
    '"id":"services.storage.incomplete_delete","message":"Couldn\'t delete all the requested'
    ' documents: %s","props":[],"status":206,"errors":[{"code":117833729,'
    '"id":"security.profile.not_found","message":"Profile \\"bar\\" not found.","props":["bar"],'
    '"stack":"NotFoundError: x","status":404}],"count":1},"headers":{},"node":"n1",'
    '"requestId":"req-44","result":["foo","baz"],"status":206,"volatile":null}'
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    env.update(extra)
    return env


def run_cli(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m kuzzle_errors ARGS`` with text output."""
    result = subprocess.run(
        [sys.executable, "-m", "kuzzle_errors", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=60,
        env=env if env is not None else _env(),
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8"),
        result.stderr.decode("utf-8"),
    )


# -- global options ----------------------------------------------------------------------------


def test_console_script_runs_the_same_cli() -> None:
    script = console_script()
    result = subprocess.run(
        [script, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith(f"kuzzle-errors {kuzzle_errors.__version__} ")
    assert "277 error ids" in result.stdout


def test_help_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("explain", "list", "parse", "demo", "stub"):
        assert command in result.stdout
    assert "exit status" in result.stdout
    # The curl example works as pasted: Kuzzle needs the JSON content type to read the body.
    curl = next(line for line in result.stdout.splitlines() if "curl -si" in line)
    assert "-H 'Content-Type: application/json'" in curl
    # One table of exit statuses: usage errors and error responses no longer share 2.
    assert "2  usage error" in result.stdout
    assert "3  parse: the input is an error response" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("parse", "--header", "bad", "-"),
        ("parse", "--http-status", "abc", "-"),
        ("explain", "--version", "3", "x"),
        ("nonsense",),
    ],
)
def test_usage_errors_all_exit_2(args: tuple[str, ...]) -> None:
    result = run_cli(*args, stdin=b"{}")
    assert result.returncode == 2, result.stderr
    assert "usage: kuzzle-errors" in result.stderr


def test_explain_a_bare_http_status_lists_its_ids() -> None:
    result = run_cli("explain", "503")
    assert result.returncode == 0, result.stderr
    assert "unknown error id" not in result.stderr
    assert "503 is an HTTP status" in result.stdout
    assert "kuzzle-errors list --status 503" in result.stdout
    assert "api.process.overloaded" in result.stdout
    unused = run_cli("explain", "418")
    assert unused.returncode == 1
    assert "no Kuzzle error answers 418" in unused.stderr


def test_no_command_is_a_usage_error() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "usage: kuzzle-errors" in result.stderr


# -- explain ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["services.storage.not_found", "0x0101000b", "16842763", "ServicesStorageNotFound"]
)
def test_explain_by_id_code_or_codes_class(query: str) -> None:
    result = run_cli("explain", query)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.splitlines()[0] == "services.storage.not_found"
    for expected in (
        "0x0101000b (16842763)",
        "NotFoundError, status 404",
        "kuzzle_errors.codes.ServicesStorageNotFound",
        'Document "%s" not found in "%s":"%s".',
        "Kuzzle 1 and 2",
        "retry        no: the resource does not exist",
    ):
        assert expected in out
    assert not ANSI.search(out)  # not a terminal: no colour


def test_explain_overloaded_gives_the_retry_advice_and_reason() -> None:
    out = run_cli("explain", "api.process.overloaded").stdout
    assert "ServiceUnavailableError, status 503" in out
    assert "yes, safe to replay" in out
    assert "discarded" in out
    assert "before processing" in out
    assert "another cluster node" in out


def test_explain_an_api_action_says_whether_a_replay_is_safe() -> None:
    # Issue 22: the replay safety table, one action at a time (text and JSON).
    result = run_cli("explain", "document:create", "document:mGet", "memoryStorage:incr")
    assert result.returncode == 0
    create, mget, incr = result.stdout.split("\n\n")
    assert create.startswith("document:create\n")
    assert "not safe (create)" in create
    assert "does not replay it" in create
    assert "safe (read)" in mget and "not safe" not in mget
    assert incr.startswith("ms:incr\n") and "not safe (add)" in incr
    records = json.loads(run_cli("explain", "--format", "json", "auth:login").stdout)
    assert records == [
        {
            "action": "auth:login",
            "replay_safe": True,
            "kind": "login",
            "reason": "issues a token: a replay issues another, and the first expires unused",
            "http_verbs": ["GET", "POST"],
        }
    ]
    unknown = run_cli("explain", "myplugin:doIt")
    assert unknown.returncode == 1
    assert "no action of Kuzzle 2.56's own controllers" in unknown.stderr


def test_explain_shows_both_meanings_of_a_code_kuzzle_1_and_2_disagree_on() -> None:
    result = run_cli("explain", "0x01010016")
    assert result.returncode == 0
    assert "means a different error in each Kuzzle version" in result.stdout
    assert "Kuzzle 2: services.storage.collection_reserved" in result.stdout
    assert "Kuzzle 1: services.storage.index_reserved" in result.stdout

    v1 = run_cli("explain", "0x01010016", "--version", "1")
    assert v1.returncode == 0
    assert v1.stdout.splitlines()[0] == "services.storage.index_reserved"
    assert "collection_reserved" not in v1.stdout


def test_explain_a_class_lists_its_ids() -> None:
    result = run_cli("explain", "NotFoundError")
    assert result.returncode == 0
    out = result.stdout
    assert out.splitlines()[0] == "NotFoundError"
    assert "404" in out
    ids = [spec.id for spec in catalog.find(class_name="NotFoundError")]
    assert f"ids          {len(ids)}:" in out
    for error_id in ids:
        assert error_id in out


def test_explain_near_miss_suggests_and_exits_1() -> None:
    result = run_cli("explain", "storage.notfound")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "unknown error id, code or class: 'storage.notfound'" in result.stderr
    assert "did you mean:\n  services.storage.not_found" in result.stderr


def test_explain_unknown_code_names_its_domain() -> None:
    result = run_cli("explain", "0x0101ffff")
    assert result.returncode == 1
    assert "services.storage" in result.stderr


def test_explain_several_queries_fails_if_one_is_unknown() -> None:
    result = run_cli("explain", "api.process.overloaded", "no.such.thing")
    assert result.returncode == 1
    assert "api.process.overloaded" in result.stdout
    assert "no.such.thing" in result.stderr


def test_explain_json_gives_records_for_ids_codes_and_classes() -> None:
    result = run_cli("explain", "0x01010016", "NotFound", "nope", "--format", "json")
    assert result.returncode == 1  # "nope" is unknown, the rest is still printed
    assert "'nope'" in result.stderr
    records = json.loads(result.stdout)
    assert [record.get("id") for record in records[:2]] == [
        "services.storage.collection_reserved",
        "services.storage.index_reserved",
    ]
    assert records[0]["versions"] == [2]
    assert records[1]["message"] is None
    assert records[2]["class_name"] == "NotFoundError"
    assert "services.storage.not_found" in records[2]["ids"]


def test_explain_rejects_a_bad_version() -> None:
    result = run_cli("explain", "0x01010016", "--version", "3")
    assert result.returncode == 2
    assert "1 or 2" in result.stderr


# -- list ------------------------------------------------------------------------------------


def test_list_table_is_aligned_fits_100_columns_and_has_no_colour_in_a_pipe() -> None:
    result = run_cli("list")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert not ANSI.search(result.stdout)
    assert max(len(line) for line in lines) <= 100
    header = lines[0]
    assert header.split() == ["CODE", "STATUS", "ID", "RETRY", "DESCRIPTION"]
    rows = [line for line in lines[1:] if line.startswith("0x")]
    assert len(rows) == len(list(catalog.all_specs()))
    columns = [header.index(name) for name in ("STATUS", "ID", "RETRY", "DESCRIPTION")]
    ids = {spec.id for spec in catalog.all_specs()}
    for row in rows:  # every cell starts under its heading, after a two-space gutter
        assert all(row[column - 2 : column] == "  " != row[column] for column in columns), row
        status, ident, retry = (row[a:b].strip() for a, b in itertools.pairwise(columns))
        assert status.isdigit()
        assert retry in ("safe", "idem", "no")
        assert ident in ids or (ident.endswith("…") and any(i.startswith(ident[:-1]) for i in ids))
    cut = [row for row in rows if row[columns[1] : columns[2]].strip().endswith("…")]
    assert cut  # the longest ids are cut like descriptions, never pushed past their cell
    assert any(row.endswith("…") for row in rows)  # long descriptions are cut, not wrapped


def test_list_filters_combine() -> None:
    result = run_cli("list", "--domain", "api", "--subdomain", "process", "--status", "503")
    assert result.returncode == 0
    ids = [line.split()[2] for line in result.stdout.splitlines() if line.startswith("0x")]
    assert ids == [
        "api.process.overloaded",
        "api.process.shutting_down",
        "api.process.not_enough_nodes",
    ]


def test_list_retryable_json_has_every_field() -> None:
    result = run_cli("list", "--retryable", "--format", "json")
    assert result.returncode == 0
    records = json.loads(result.stdout)
    assert records
    assert all(record["retryable"] for record in records)
    ids = {record["id"] for record in records}
    assert {"api.process.overloaded", "api.process.too_many_requests"} <= ids
    assert "services.storage.not_found" not in ids
    first = records[0]
    for name in (
        "id",
        "code",
        "hex",
        "class_name",
        "status",
        "description",
        "message",
        "deprecated",
        "versions",
        "replay_safe",
        "retry_reason",
    ):
        assert name in first


def test_list_csv_by_class_and_version() -> None:
    result = run_cli("list", "--class", "PartialError", "--version", "1", "--format", "csv")
    assert result.returncode == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {row["class_name"] for row in rows} == {"PartialError"}
    assert all("1" in row["versions"].split() for row in rows)
    assert "services.storage.incomplete_create" in {row["id"] for row in rows}


def test_list_colour_when_forced_and_never_with_no_color_in_auto_mode() -> None:
    forced = run_cli("list", "--status", "503", "--color", "always")
    assert ANSI.search(forced.stdout)
    plain = run_cli("list", "--status", "503", env=_env(NO_COLOR="1"))
    assert not ANSI.search(plain.stdout)


def test_list_unknown_filter_or_no_match_exits_1() -> None:
    unknown = run_cli("list", "--class", "TeapotError")
    assert unknown.returncode == 1
    assert "unknown class 'TeapotError'" in unknown.stderr
    empty = run_cli("list", "--status", "418")
    assert empty.returncode == 1
    assert empty.stdout == ""
    assert "no error matches" in empty.stderr


# -- parse -----------------------------------------------------------------------------------


def test_parse_curl_output_with_kuzzles_bare_status_line() -> None:
    result = run_cli("parse", stdin=OVERLOADED_CURL)
    assert result.returncode == 3
    out = result.stdout
    assert out.startswith("ApiProcessOverloaded: api.process.overloaded (0x02020002)")
    assert "(subclass of ServiceUnavailableError)" in out
    assert re.search(r"http status\s+503", out)
    assert re.search(r"request id\s+req-42", out)
    assert re.search(r"node\s+knode-test-1", out)
    assert re.search(r"transport\s+http", out)
    assert "yes, safe to replay" in out


NOT_FOUND_BODY = (
    b'{"status":404,"error":{"id":"services.storage.not_found","status":404,"message":"m"}}'
)


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize(
    "interim",
    ["HTTP/1.1 100 Continue", "HTTP/1.1 200 Connection established"],
    ids=["100-continue", "proxy-connect"],
)
def test_parse_curl_output_after_an_interim_head(interim: str, eol: str) -> None:
    head = eol.join([interim, "", "HTTP/1.1 404", "Content-Type: application/json", "", ""])
    result = subprocess.run(
        [console_script(), "parse", "-"],
        input=head.encode() + NOT_FOUND_BODY,
        capture_output=True,
        timeout=60,
        env=_env(),
        check=False,
    )
    assert result.returncode == 3, result.stderr
    out = result.stdout.decode("utf-8")
    assert out.startswith("ServicesStorageNotFound: services.storage.not_found")
    assert re.search(r"http status\s+404\n", out)
    assert "Content-Type: application/json" in out


def test_parse_partial_error_lists_failed_items(tmp_path: Path) -> None:
    body = tmp_path / "partial.json"
    body.write_text(PARTIAL_206, encoding="utf-8")
    result = run_cli("parse", str(body))
    assert result.returncode == 3
    out = result.stdout
    assert "(subclass of PartialError)" in out
    assert re.search(r"failed\s+1 item \(count 1\)", out)
    assert "security.profile.not_found" in out
    assert re.search(r"succeeded\s+2 items", out)


def test_parse_shows_each_failed_item_s_hint_and_unknown_successes() -> None:
    # Issue 22: a strict mCreate's answer says nothing of what was written.
    body = (
        b'{"status":400,"requestId":"r","result":null,"error":{"id":'
        b'"api.process.incomplete_multiple_request","status":400,"message":"m","count":1,'
        b'"errors":[{"document":{"_id":"d1","body":{}},"reason":"document already exists",'
        b'"status":400}]}}'
    )
    result = run_cli("parse", "-", stdin=body)
    assert result.returncode == 3
    out = result.stdout
    assert "services.storage.document_already_exists" in out
    assert "not retryable" in out
    assert re.search(r"succeeded\s+unknown: Kuzzle does not say", out)
    (item,) = json.loads(run_cli("parse", "--format", "json", "-", stdin=body).stdout)["items"]
    assert (item["error_id"], item["retryable"]) == (
        "services.storage.document_already_exists",
        False,
    )
    assert (
        json.loads(run_cli("parse", "--format", "json", "-", stdin=body).stdout)["successes"]
        is None
    )


def test_parse_success_exits_0_and_strict_turns_errors_into_a_partial_error() -> None:
    body = (
        b'{"status":200,"requestId":"r","result":{"successes":[{"_id":"a"}],"errors":'
        b'[{"document":{"_id":"d1","body":{}},"reason":"document already exists","status":400}]}}'
    )
    lenient = run_cli("parse", "-", stdin=body)
    assert lenient.returncode == 0
    assert lenient.stdout.startswith("success (status 200)")
    assert "--strict" in lenient.stdout
    strict = run_cli("parse", "--strict", stdin=body)
    assert strict.returncode == 3
    assert "id=d1, status 400, document already exists" in strict.stdout


def test_parse_flags_supply_status_and_headers_json_format() -> None:
    result = run_cli(
        "parse",
        "--http-status",
        "503",
        "--header",
        "Retry-After: 7",
        "--format",
        "json",
        stdin=b"<html><title>503 Service Temporarily Unavailable</title></html>",
    )
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["type"] == "ServiceUnavailableError"
    assert report["http_status"] == 503
    assert report["retry"]["retry_after"] == 7.0
    assert report["retry"]["retryable"] is True


def test_parse_unusable_input_exits_1_with_a_message(tmp_path: Path) -> None:
    missing = run_cli("parse", str(tmp_path / "nope.json"))
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr
    assert "No such file" in missing.stderr
    prose = run_cli("parse", stdin=b"this is not a response\n")
    assert prose.returncode == 1
    assert "unusable input" in prose.stderr
    empty = run_cli("parse", "-", stdin=b"")
    assert empty.returncode == 1
    assert "empty input" in empty.stderr
    bad_header = run_cli("parse", "--header", "nonsense", stdin=b"{}")
    assert bad_header.returncode == 2  # a usage error, like --http-status abc
    assert "Name: value" in bad_header.stderr


def test_parse_never_prints_a_jwt() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJfaWQiOiJhZG1pbiJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
    body = json.dumps(
        {"status": 401, "error": {"id": "security.token.invalid", "status": 401, "message": jwt}}
    ).encode()
    result = run_cli("parse", "--header", f"Authorization: Bearer {jwt}", stdin=body)
    assert result.returncode == 3
    assert jwt not in result.stdout
    assert "[REDACTED]" in result.stdout


# -- stub and demo, for real -----------------------------------------------------------------


@contextlib.contextmanager
def serving_stub(*args: str, code: str | None = None) -> Iterator[tuple[str, list[str]]]:
    """``kuzzle-errors stub --port 0 ARGS`` in a process: (its URL, its banner lines).

    ``code`` runs instead of ``python -m kuzzle_errors`` (it must end by running the CLI).
    Leaving the block sends Ctrl-C and checks the process stops cleanly.
    """
    command = ["-c", code] if code else ["-m", "kuzzle_errors"]
    proc = subprocess.Popen(
        [sys.executable, *command, "stub", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(PYTHONUNBUFFERED="1"),
    )
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline()]  # the stub prints its address once it listens
        while banner[-1] and not banner[-1].startswith("Press Ctrl-C"):
            banner.append(proc.stdout.readline())
        match = re.search(r"(http://127\.0\.0\.1:\d+)", banner[0])
        assert match, banner
        yield match[1], banner
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def http_call(url: str, payload: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of a GET, or a POST of ``payload`` to /_query, with urllib."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        f"{url}/_query" if data else url, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def test_stub_serves_until_interrupted() -> None:
    with serving_stub() as (url, banner):
        assert http_call(f"{url}/_now")[0] == 200
        assert "ws://127.0.0.1:" in banner[0]


def test_stub_plays_kuzzles_failure_modes() -> None:
    now = {"controller": "server", "action": "now"}
    create = {"controller": "document", "action": "create", "index": "i", "collection": "c"}
    with serving_stub(
        "--overload",
        "1",
        "--rate-limit",
        "1",
        "--fail",
        "document:create:services.storage.not_found",
        "--version",
        "1",
    ) as (url, banner):
        overloaded = http_call(url, now)
        failed = http_call(url, {**create, "body": {}})
        limited = [http_call(url, now)[0] for _ in range(3)]
    assert overloaded[0] == 503
    assert overloaded[1]["error"]["id"] == "api.process.overloaded"
    assert failed[0] == 404
    assert failed[1]["error"]["id"] == "services.storage.not_found"
    # One call per second: of 4 calls made in well under a second, at least one is refused.
    assert 429 in limited
    text = "".join(banner)
    for note in (
        "answers as Kuzzle 1.x",
        "1 request(s)/s per user, then 429 api.process.too_many_requests",
        "the first 1 API request(s): 503 api.process.overloaded",
        "document:create fails with services.storage.not_found",
    ):
        assert note in text


def test_stub_concurrency_limit_and_buffer_refuse_with_503() -> None:
    now = {"controller": "server", "action": "now"}
    with (
        serving_stub(
            "--concurrent-requests", "1", "--requests-buffer-size", "0", "--slow", "*:now:1"
        ) as (url, banner),
        concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool,
    ):
        answers = list(pool.map(lambda _: http_call(url, now), range(3)))
    statuses = sorted(status for status, _ in answers)
    assert statuses[0] == 200
    assert statuses[-1] == 503
    assert {b["error"]["id"] for s, b in answers if s == 503} == {"api.process.overloaded"}
    assert "*:now answers after 1 s" in "".join(banner)


def test_stub_without_websockets_does_not_advertise_ws() -> None:
    code = (
        "import sys\n"
        "sys.modules['websockets'] = None  # as if the package were not installed\n"
        "from kuzzle_errors.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    with serving_stub(code=code) as (url, banner):
        assert http_call(f"{url}/_now")[0] == 200
    assert "ws://" not in "".join(banner)
    assert "WebSocket needs 'websockets'" in banner[0]


def test_stub_refuses_a_bad_port() -> None:
    result = run_cli("stub", "--port", "70000")
    assert result.returncode == 2
    assert "between 0 and 65535" in result.stderr


def test_demo_runs() -> None:
    result = run_cli("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip()


def test_a_reader_leaving_early_is_not_an_error_trace() -> None:
    # `kuzzle-errors list --format json | head -1`: the JSON is larger than a pipe buffer.
    proc = subprocess.Popen(
        [sys.executable, "-m", "kuzzle_errors", "list", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"[\n"
    proc.stdout.close()
    try:
        status = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert status in (0, 1)
    assert b"Traceback" not in stderr


def test_stub_on_a_busy_port_fails_clearly() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("stub", "--port", str(port))
    assert result.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def _run_on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """The output of the CLI with stdout on a pseudo-terminal (POSIX only)."""
    pty = pytest.importorskip("pty")
    import select

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kuzzle_errors", *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(follower)
    chunks: list[bytes] = []
    try:
        for _ in range(1000):  # bounded: the output is a few kilobytes
            ready, _, _ = select.select([leader], [], [], 10)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_colour_on_a_terminal_unless_no_color() -> None:
    coloured = _run_on_a_terminal("list", "--status", "503", env=_env(TERM="xterm"))
    assert ANSI.search(coloured)
    plain = _run_on_a_terminal("list", "--status", "503", env=_env(TERM="xterm", NO_COLOR="1"))
    assert "api.process.overloaded" in plain
    assert not ANSI.search(plain)
