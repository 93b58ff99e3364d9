"""Test-suite configuration shared by every test module."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# CI machines are small and busy: no per-example deadline, a bounded number of examples.
settings.register_profile(
    "default", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("default")
