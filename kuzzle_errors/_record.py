"""A default-argument sentinel that reads well in ``help()``."""

from __future__ import annotations


class Sentinel:
    """A unique marker for "argument not given"; its repr is what signatures show."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text
