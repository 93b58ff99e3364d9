"""Test-suite configuration shared by every test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from kuzzle_errors.testing import StubKuzzle

# CI machines are small and busy: no per-example deadline, a bounded number of examples.
settings.register_profile(
    "default", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("default")


@pytest.fixture
def stub() -> Iterator[StubKuzzle]:
    """A started stub with default options (a module needing others defines its own ``stub``)."""
    with StubKuzzle() as kuzzle:
        yield kuzzle
