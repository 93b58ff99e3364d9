"""JSON in and out of the stub, as Kuzzle writes it and without crashing on hostile input."""

from __future__ import annotations

import json


def dumps(data: object, pretty: bool = False) -> bytes:
    """JSON as Kuzzle's ``JSON.stringify`` writes it (compact, UTF-8)."""
    if pretty:
        return json.dumps(data, ensure_ascii=False, indent=2).encode()
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def loads(data: bytes) -> object:
    """Decode JSON bytes; raises ValueError for anything :func:`json.loads` cannot take.

    Nesting deeper than the interpreter's recursion limit is a ValueError too (Python's
    decoder raises RecursionError), so one handler covers every undecodable body.
    """
    text = data.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def loads_or_none(data: bytes) -> object:
    """Decode JSON bytes; None when they are not JSON."""
    try:
        return loads(data)
    except ValueError:
        return None
