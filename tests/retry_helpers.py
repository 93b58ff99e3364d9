"""Test doubles shared by the retry tests
(a plain module: pytest's ``pythonpath`` option puts tests/ on sys.path)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kuzzle_errors import KuzzleError, error_class


class Flaky:
    """Raises the given errors in turn, then returns ``result``; counts calls."""

    def __init__(self, *errors: BaseException | Callable[[], BaseException], result: Any = "ok"):
        self.errors = list(errors)
        self.result = result
        self.calls = 0
        self.raised: list[BaseException] = []
        self.received: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        self.received.append((args, kwargs))
        if self.errors:
            item = self.errors.pop(0)
            error = item if isinstance(item, BaseException) else item()
            self.raised.append(error)
            raise error
        return self.result


def overloaded() -> KuzzleError:
    return error_class("api.process.overloaded")(
        "Request discarded: Kuzzle Server is temporarily overloaded."
    )


def rate_limited() -> KuzzleError:
    return error_class("api.process.too_many_requests")(
        "Rejected: requests rate limit exceeded for this user."
    )


def run_threads(target: Callable[[], None], count: int = 16, *, timeout: float = 30) -> None:
    """Run ``target`` in ``count`` threads released together (so they contend), and join them."""
    barrier = threading.Barrier(count)

    def worker() -> None:
        barrier.wait(timeout=10)
        target()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads)
