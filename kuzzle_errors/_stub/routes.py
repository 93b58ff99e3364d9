"""Kuzzle's HTTP routes: Kuzzle 2.56.0's ``lib/api/httpRoutes.js`` as data.

The table lives in ``routes.txt`` beside this module, one route a line. ``ROUTES`` holds its
rows as ``(verb, path, controller, action)`` in Kuzzle's order; deprecated routes are
included, as Kuzzle still serves them, and ``DEPRECATED`` names them by ``(verb, path)``.
:mod:`kuzzle_errors._stub.router` matches URLs against this table.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

Route = tuple[str, str, str, str]

_VERBS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def parse_routes(text: str) -> tuple[tuple[Route, ...], frozenset[tuple[str, str]]]:
    """The routes of a ``routes.txt`` text and the ``(verb, path)`` of the deprecated ones.

    Blank lines and ``#`` comments are skipped; any other line is ``VERB PATH CONTROLLER
    ACTION`` with ``deprecated`` as an optional fifth word. A malformed line raises
    ValueError naming it, so a bad edit fails on import rather than routing wrongly.
    """
    routes: list[Route] = []
    deprecated: set[tuple[str, str]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        flag = words[4:]
        if len(words) not in (4, 5) or flag not in ([], ["deprecated"]) or words[0] not in _VERBS:
            raise ValueError(f"routes.txt line {number}: not VERB PATH CONTROLLER ACTION: {line!r}")
        verb, path, controller, action = words[:4]
        routes.append((verb, path, controller, action))
        if flag:
            deprecated.add((verb, path))
    return tuple(routes), frozenset(deprecated)


_TABLE: Final = parse_routes(
    resources.files("kuzzle_errors._stub").joinpath("routes.txt").read_text(encoding="utf-8")
)
ROUTES: Final = _TABLE[0]
DEPRECATED: Final = _TABLE[1]
