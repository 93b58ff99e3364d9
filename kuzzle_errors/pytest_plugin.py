"""pytest plugin: the ``kuzzle_stub`` fixture (registered through the ``pytest11`` entry point).

Its use, the ``kuzzle_stub`` marker's options and async tests: docs/guides/testing.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kuzzle_errors.testing import StubKuzzle

__all__ = ["kuzzle_stub"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``kuzzle_stub`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers", "kuzzle_stub(**options): keyword arguments for the kuzzle_stub fixture"
    )


@pytest.fixture
def kuzzle_stub(request: pytest.FixtureRequest) -> Iterator[StubKuzzle]:
    """A started :class:`~kuzzle_errors.testing.StubKuzzle` on a free loopback port,
    stopped after the test."""
    marker = request.node.get_closest_marker("kuzzle_stub")
    options = dict(marker.kwargs) if marker is not None else {}
    with StubKuzzle(**options) as stub:
        yield stub
