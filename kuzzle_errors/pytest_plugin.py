"""pytest plugin: the ``kuzzle_stub`` fixture (registered through the ``pytest11`` entry point).

::

    def test_overload_is_retried(kuzzle_stub):
        kuzzle_stub.overload(times=1)
        ...  # talk to kuzzle_stub.url / kuzzle_stub.ws_url

    @pytest.mark.kuzzle_stub(version=1, rate_limit=5)
    def test_with_options(kuzzle_stub): ...

The marker's keyword arguments are passed to :class:`~kuzzle_errors.testing.StubKuzzle`.

The fixture serves async tests as well (anyio's plugin, which the test extra installs, or
pytest-asyncio): the stub runs its own event loop in a thread, and the fixture starts and
stops it outside the test's loop::

    @pytest.mark.anyio
    async def test_async_client(kuzzle_stub):
        async with AsyncKuzzleWebSocket(kuzzle_stub.ws_url) as kuzzle:
            ...

Outside pytest, ``async with StubKuzzle() as stub:`` starts it without blocking the loop.
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
