"""Answers mocked with ``responses`` that echo the request's id, as Kuzzle does
(a plain module: pytest's ``pythonpath`` option puts tests/ on sys.path).

Kuzzle writes the ``X-Kuzzle-Request-Id`` it received in its envelope's ``requestId``; the
clients check it, so an envelope naming a fixed id would be someone else's answer.
"""

from __future__ import annotations

import json
from typing import Any

import requests
import responses


def answer(
    url: str,
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    method: str = responses.POST,
    content_type: str = "application/json",
) -> None:
    """Register an answer to ``url``: ``body`` (JSON unless a string) and ``headers``, where
    a string ``requestId`` of a dict body, and an ``X-Kuzzle-Request-Id`` header, become the
    id of the request answered."""

    def echo(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        sent = request.headers.get("X-Kuzzle-Request-Id")
        content, answered = body, dict(headers or {})
        if sent is not None:
            if isinstance(body, dict) and isinstance(body.get("requestId"), str):
                content = {**body, "requestId": sent}
            if "X-Kuzzle-Request-Id" in answered:
                answered["X-Kuzzle-Request-Id"] = sent
        text = content if isinstance(content, str) else json.dumps(content)
        return status, answered, text

    responses.add_callback(method, url, callback=echo, content_type=content_type)
