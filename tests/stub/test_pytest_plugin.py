"""The ``kuzzle_stub`` pytest fixture and the standalone ``serve()`` entry point."""

from __future__ import annotations

import importlib.metadata
import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

TIMEOUT = 30.0

PLUGIN_TESTS = """
import pytest
import requests

def test_fixture_serves(kuzzle_stub):
    assert kuzzle_stub.running
    kuzzle_stub.fail("server", "now", "api.process.overloaded", times=1)
    resp = requests.get(kuzzle_stub.url + "/_now", timeout=5)
    assert resp.status_code == 503
    assert kuzzle_stub.count("server", "now") == 1

@pytest.mark.kuzzle_stub(version=1, node="knode-custom")
def test_marker_options(kuzzle_stub):
    resp = requests.get(kuzzle_stub.url + "/_now", timeout=5)
    assert resp.headers["X-Kuzzle-Node"] == "knode-custom"
"""


def test_fixture_and_marker_through_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "test_uses_stub.py").write_text(textwrap.dedent(PLUGIN_TESTS))
    # Load the plugin by hand only when the installed package has no pytest11 entry point
    # for it (loading it twice under two names is an error in pluggy).
    registered = any(
        ep.value.startswith("kuzzle_errors.pytest_plugin")
        for ep in importlib.metadata.entry_points(group="pytest11")
    )
    load = [] if registered else ["-p", "kuzzle_errors.pytest_plugin"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            *load,
            "--strict-markers",
            "-W",
            "error",
            "-o",
            "addopts=",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_serve_runs_until_interrupted() -> None:
    code = "from kuzzle_errors.testing import serve; serve(port=0)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)  # bounded wait
        assert ready, "serve() printed nothing"
        first_line = proc.stdout.readline()
        assert first_line.startswith("Kuzzle stub listening on http://127.0.0.1:")
        url = first_line.split()[4]
        assert requests.get(f"{url}/_healthcheck", timeout=5).status_code == 200
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=TIMEOUT)
