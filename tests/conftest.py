"""Test-suite configuration shared by every test module."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

#: The source package of this checkout: under nox the suite must never import it.
SOURCE = Path(__file__).resolve().parent.parent / "kuzzle_errors"

#: Set by nox (noxfile.py), whose test sessions install the wheel and run the suite against it.
INSTALLED = os.environ.get("KUZZLE_ERRORS_TEST_INSTALLED") == "1"


def _from_source(file: str | None) -> bool:
    return file is not None and Path(file).resolve().is_relative_to(SOURCE)


def _refuse_the_source_tree() -> None:
    """Fail loudly when the package under test is this checkout's source instead of the wheel,
    in this process or in a child Python started as the tests start theirs (same working
    directory and environment): a wheel missing a file would pass."""
    import kuzzle_errors

    if _from_source(kuzzle_errors.__file__):
        raise pytest.UsageError(
            f"KUZZLE_ERRORS_TEST_INSTALLED=1 but kuzzle_errors comes from the source tree "
            f"({kuzzle_errors.__file__}): run the `pytest` command from outside the repository "
            f"root (not `python -m pytest`) and with no PYTHONPATH"
        )
    child = subprocess.run(
        [sys.executable, "-c", "import kuzzle_errors; print(kuzzle_errors.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    if _from_source(child):
        raise pytest.UsageError(
            f"KUZZLE_ERRORS_TEST_INSTALLED=1 but a child Python imports the source tree "
            f"({child}) from {os.getcwd()}: run pytest from outside the repository root"
        )


if INSTALLED:
    _refuse_the_source_tree()

from kuzzle_errors.testing import StubKuzzle  # noqa: E402

# Tests stop a child (`kuzzle-errors stub`, `serve()`) with Ctrl-C. Started in the background
# by a non-interactive shell, this process ignores SIGINT, and an ignored signal stays ignored
# in every child: those would never see the Ctrl-C. A handler (unlike SIG_IGN) is reset to the
# default at exec, so the children get Python's usual KeyboardInterrupt.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# CI machines are small and busy: no per-example deadline, a bounded number of examples.
settings.register_profile(
    "default", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("default")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under nox, no module of the source tree may have been imported by any test."""
    if not INSTALLED:
        return
    leaked = sorted(
        name
        for name, module in list(sys.modules.items())
        if (name == "kuzzle_errors" or name.startswith("kuzzle_errors."))
        and _from_source(getattr(module, "__file__", None))
    )
    if leaked:
        sys.stderr.write(f"\nmodules imported from the source tree, not the wheel: {leaked}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def stub(kuzzle_stub: StubKuzzle) -> StubKuzzle:
    """The package's own ``kuzzle_stub`` fixture under the tests' short name: options come
    from a ``@pytest.mark.kuzzle_stub(...)`` marker (a module needing more defines its own)."""
    return kuzzle_stub
