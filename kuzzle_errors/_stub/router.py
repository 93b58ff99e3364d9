"""A router that matches URLs against Kuzzle's route table the way Kuzzle's router does."""

from __future__ import annotations

import urllib.parse

from kuzzle_errors._stub.routes import ROUTES


class _Node:
    __slots__ = ("leaf", "parts")

    def __init__(self) -> None:
        self.parts: dict[str, _Node] = {}
        # (controller, action, placeholder names in URL order)
        self.leaf: tuple[str, str, tuple[str, ...]] | None = None


_trees: dict[str, _Node] | None = None


def _build() -> dict[str, _Node]:
    trees: dict[str, _Node] = {}
    for verb, path, controller, action in ROUTES:
        node = trees.setdefault(verb, _Node())
        names: list[str] = []
        for part in (p for p in path.split("/") if p):
            if part.startswith(":"):
                names.append(part[1:])
                part = "*"
            node = node.parts.setdefault(part, _Node())
        if node.leaf is None:
            node.leaf = (controller, action, tuple(names))
    return trees


def route(verb: str, path: str) -> tuple[str, str, dict[str, str]] | None:
    """``(controller, action, url arguments)`` for a request, or None for an unknown URL.

    Like Kuzzle's router: a static part beats a placeholder at each level, with no
    backtracking, and empty segments are ignored.
    """
    global _trees
    if _trees is None:
        _trees = _build()
    node = _trees.get(verb)
    values: list[str] = []
    for raw in (p for p in path.split("/") if p):
        if node is None:
            return None
        part = urllib.parse.unquote(raw)
        if part in node.parts:
            node = node.parts[part]
        elif "*" in node.parts:
            values.append(part)
            node = node.parts["*"]
        else:
            return None
    if node is None or node.leaf is None:
        return None
    controller, action, names = node.leaf
    return controller, action, dict(zip(names, values, strict=True))


def public_api() -> dict[str, dict[str, dict[str, object]]]:
    """A ``server:publicApi`` result: each action with its HTTP routes (SDKs build URLs
    from it)."""
    api: dict[str, dict[str, dict[str, object]]] = {}
    for verb, path, controller, action in ROUTES:
        entry = api.setdefault(controller, {}).setdefault(
            action, {"controller": controller, "action": action, "http": []}
        )
        http = entry["http"]
        assert isinstance(http, list)
        http.append({"verb": verb, "path": path, "url": path})
    return api
