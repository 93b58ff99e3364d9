"""Test-suite configuration shared by every test module."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from kuzzle_errors.testing import StubKuzzle

# CI machines are small and busy: no per-example deadline, a bounded number of examples.
settings.register_profile(
    "default", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("default")


@pytest.fixture
def stub(kuzzle_stub: StubKuzzle) -> StubKuzzle:
    """The package's own ``kuzzle_stub`` fixture under the tests' short name: options come
    from a ``@pytest.mark.kuzzle_stub(...)`` marker (a module needing more defines its own)."""
    return kuzzle_stub
