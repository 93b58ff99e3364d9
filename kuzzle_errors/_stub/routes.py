"""Kuzzle's HTTP routes (Kuzzle 2.56.0's ``lib/api/httpRoutes.js``) and a router over them.

The table lives in ``routes.txt`` beside this module, one route a line. ``ROUTES`` holds its
rows as ``(verb, path, controller, action)`` in Kuzzle's order; deprecated routes are
included, as Kuzzle still serves them, and ``DEPRECATED`` names them by ``(verb, path)``.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final

Route = tuple[str, str, str, str]

VERBS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


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
        if len(words) not in (4, 5) or flag not in ([], ["deprecated"]) or words[0] not in VERBS:
            raise ValueError(f"routes.txt line {number}: not VERB PATH CONTROLLER ACTION: {line!r}")
        verb, path, controller, action = words[:4]
        routes.append((verb, path, controller, action))
        if flag:
            deprecated.add((verb, path))
    return tuple(routes), frozenset(deprecated)


ROUTES, DEPRECATED = parse_routes(
    resources.files("kuzzle_errors._stub").joinpath("routes.txt").read_text(encoding="utf-8")
)


@dataclass
class _Node:
    parts: dict[str, _Node] = field(default_factory=dict)  # a placeholder's part is "*"
    leaf: tuple[str, str, tuple[str, ...]] | None = None  # controller, action, placeholders


def _tree(routes: tuple[Route, ...]) -> dict[str, _Node]:
    trees: dict[str, _Node] = {}
    for verb, path, controller, action in routes:
        node = trees.setdefault(verb, _Node())
        names: list[str] = []
        for part in path.split("/"):
            if part.startswith(":"):
                names.append(part[1:])
                part = "*"
            if part:
                node = node.parts.setdefault(part, _Node())
        if node.leaf is None:  # Kuzzle keeps the first of two routes for one URL
            node.leaf = (controller, action, tuple(names))
    return trees


_TREES: Final = _tree(ROUTES)

#: Kuzzle 2's controllers: an unscripted action of one answers ``api.process.action_not_found``,
#: any other controller ``api.process.controller_not_found``. memoryStorage is ms's long name.
CONTROLLERS: Final = frozenset({route[2] for route in ROUTES} | {"memoryStorage"})


def route(verb: str, path: str) -> tuple[str, str, dict[str, str]] | None:
    """``(controller, action, url arguments)`` for a request, or None for an unknown URL.

    Like Kuzzle's router: a static part beats a placeholder at each level, with no
    backtracking, and empty segments are ignored.
    """
    node = _TREES.get(verb)
    values: list[str] = []
    for raw in path.split("/"):
        if node is None:
            return None
        if not raw:
            continue
        part = urllib.parse.unquote(raw)
        if part in node.parts:
            node = node.parts[part]
        else:
            values.append(part)
            node = node.parts.get("*")
    if node is None or node.leaf is None:
        return None
    controller, action, names = node.leaf
    return controller, action, dict(zip(names, values, strict=True))


def public_api() -> dict[str, dict[str, dict[str, Any]]]:
    """A ``server:publicApi`` result: each action with its HTTP routes (SDKs build URLs
    from it)."""
    api: dict[str, dict[str, dict[str, Any]]] = {}
    for verb, path, controller, action in ROUTES:
        actions = api.setdefault(controller, {})
        entry = actions.setdefault(action, {"controller": controller, "action": action, "http": []})
        entry["http"].append({"verb": verb, "path": path, "url": path})
    return api
