"""Terminal styling for the command line: colour only when it helps, never in pipes."""

from __future__ import annotations

import os
from typing import Final, TextIO

__all__ = ["FIELD_ROOM", "LABEL", "WIDTH", "Style", "count", "shorten", "use_colour", "write_field"]

#: Columns the command line's output fits in.
WIDTH: Final = 100
#: Width of the field names in the ``explain`` and ``parse`` outputs.
LABEL: Final = 13
#: Columns left for a field's value: ``WIDTH`` minus the indent and the label.
FIELD_ROOM: Final = WIDTH - LABEL - 2

_CODES: Final[dict[str, str]] = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "cyan": "36",
}


def count(number: int, noun: str) -> str:
    """``count(1, "item")`` -> ``"1 item"``, ``count(2, "item")`` -> ``"2 items"``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def shorten(text: str, width: int) -> str:
    """``text`` on one line (whitespace runs squeezed), cut with "…" to ``width`` characters."""
    text = " ".join(text.split())
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def write_field(out: TextIO, style: Style, name: str, lines: list[str]) -> None:
    """One labelled field: ``name`` (dimmed) then the first line, the others indented below."""
    out.write(f"  {style(name.ljust(LABEL), 'dim')}{lines[0]}\n")
    for line in lines[1:]:
        out.write(f"  {' ' * LABEL}{line}\n")


def use_colour(stream: TextIO, choice: str = "auto") -> bool:
    """Whether to colour ``stream``: ``always``, ``never``, or ``auto``.

    ``auto`` colours a terminal only, and honours https://no-color.org (``NO_COLOR`` set to
    a non-empty value turns colour off).
    """
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
    except ValueError:  # a closed stream
        return False


class Style:
    """Wraps text in ANSI colours, or leaves it alone when colour is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(_CODES[name] for name in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def status(self, text: str, status: int | None) -> str:
        """Colour a status-bearing text the way its status deserves."""
        if status is None:
            return text
        if status >= 500:
            return self(text, "red")
        if status >= 400:
            return self(text, "yellow")
        return self(text, "cyan")
