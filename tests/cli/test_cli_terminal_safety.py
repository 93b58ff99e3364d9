"""What a server sent never drives the terminal: ``parse`` and ``explain`` write its escape
sequences as escapes, whatever the colour setting, and ``--format json`` stays the same JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ATTACKS = [
    "\x1b[2J\x1b[H",  # clear the screen
    "\x1b]0;pwned\x07",  # the window title
    "\x1b]52;c;aGk=\x07",  # an OSC 52 clipboard write
    "\x1b[1A\x1b[2K",  # cursor up, erase the line
    "\x9b31m",  # an 8-bit CSI
    "\u202eevil",  # a bidi override
]


def run(*args: str, stdin: bytes = b"", **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    environ.update(env)
    result = subprocess.run(
        [sys.executable, "-m", "kuzzle_errors", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        env=environ,
        check=False,
    )
    return result.stdout.decode("utf-8") + result.stderr.decode("utf-8")


def body(attack: str) -> bytes:
    envelope = {
        "status": 500,
        "requestId": attack,
        "error": {"id": f"x.{attack}", "message": f"boom {attack}\nINFO app: ok", "status": 500},
    }
    return json.dumps(envelope).encode()


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("colour", [["--color", "never"], ["--color", "always"], []])
def test_parse_writes_a_servers_control_characters_as_escapes(
    attack: str, colour: list[str]
) -> None:
    env = {"NO_COLOR": "1"} if not colour else {}
    written = run("parse", *colour, stdin=body(attack), **env)
    ours = written.replace("\x1b[0m", "")
    for code in ("1", "2", "31", "32", "33", "36"):  # the colours the command line uses itself
        ours = ours.replace(f"\x1b[{code}m", "")
    assert "\x1b" not in ours and "\x9b" not in ours and "\x07" not in ours
    assert "\u202e" not in written
    assert "INFO app: ok" in written and "\nINFO app" not in written  # no forged line


@pytest.mark.parametrize("attack", ATTACKS)
def test_parse_json_is_the_same_json_with_nothing_raw_a_terminal_acts_on(attack: str) -> None:
    written = run("parse", "--format", "json", stdin=body(attack))
    assert "\x1b" not in written and "\x9b" not in written and "\u202e" not in written
    assert json.loads(written)["message"] == f"boom {attack}\nINFO app: ok"


@pytest.mark.parametrize("attack", ATTACKS)
def test_explain_echoes_an_unknown_query_as_escapes(attack: str) -> None:
    written = run("explain", f"no.such.{attack}")
    assert "\x1b" not in written and "\x9b" not in written and "\u202e" not in written
