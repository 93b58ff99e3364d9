"""The demo's report: one labelled line per scenario, and a tally of those that misbehaved."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from kuzzle_errors.exceptions import KuzzleError
from kuzzle_errors.retry import RetryDetails

__all__ = ["Report"]


class Report:
    """Prints each scenario's outcome; records the retries the policy made meanwhile."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.failures: int = 0
        #: The retries of the running scenario (the retry policy's ``on_retry`` appends here).
        self.retries: list[RetryDetails] = []

    def line(self, label: str, text: str) -> None:
        first, *rest = text.split("\n")
        self.out.write(f"  {label:<14}{first}\n")
        for more in rest:
            self.out.write(f"  {'':<14}{more}\n")
        self.out.flush()

    def scenario(self, label: str, run: Callable[[], str]) -> None:
        self.retries.clear()
        try:
            self.line(label, run())
        except Exception as exc:  # the demo reports, it never crashes half-way
            self.failures += 1
            self.line(label, f"UNEXPECTED {type(exc).__name__}: {exc}")

    def first_error(self) -> KuzzleError | None:
        """The error that made the policy retry first in this scenario (None: no retry)."""
        return self.retries[0].error if self.retries else None

    def first_id(self) -> str:
        """The id of :meth:`first_error`, or "?" when there was none."""
        first = self.first_error()
        return first.id if first is not None and first.id else "?"

    def waited(self) -> str:
        """The waits of the retry policy, from its on_retry records."""
        delays = [f"{r.delay:.2f} s" for r in self.retries]
        return " and ".join(delays) if delays else "no wait"
