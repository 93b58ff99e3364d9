"""The command line's output: 100 columns, labelled fields, JSON, colour only when it helps."""

from __future__ import annotations

import json
import os
import re
import textwrap
from typing import Final, TextIO

from kuzzle_errors._redact import one_line

__all__ = [
    "LABEL",
    "WIDTH",
    "Style",
    "count",
    "shorten",
    "terminal_text",
    "use_colour",
    "write_field",
    "write_json",
]

#: Columns the command line's output fits in.
WIDTH: Final = 100
#: Width of the field names in the ``explain`` and ``parse`` outputs.
LABEL: Final = 13

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
        """``text`` in ``styles`` (names of :data:`_CODES`; an empty name is no style)."""
        codes = ";".join(_CODES[name] for name in styles if name)
        if not self.enabled or not codes or not text:
            return text
        return f"\x1b[{codes}m{text}\x1b[0m"

    @staticmethod
    def status_colour(status: int | None) -> str:
        """The colour a status deserves: red for 5xx, yellow for 4xx, cyan otherwise."""
        if status is None:
            return ""
        if status >= 500:
            return "red"
        return "yellow" if status >= 400 else "cyan"

    def status(self, text: str, status: int | None) -> str:
        """``text`` in the colour of ``status``."""
        return self(text, self.status_colour(status))


def terminal_text(text: str) -> str:
    """``text`` as the command line writes it: what a server sent must not drive the terminal.

    One function for every value written in text form, whatever the colour setting: escape
    sequences (CSI, OSC: clear screen, window titles, clipboard writes), every other control
    character, bidi overrides and lone surrogates are written as escapes (``\\x1b``), and line
    breaks become spaces (see :func:`kuzzle_errors._redact.one_line`).
    """
    return one_line(text)


def write_field(out: TextIO, style: Style, name: str, value: str, colour: str = "") -> None:
    """One labelled field: ``name`` (dimmed), then ``value`` wrapped to :data:`WIDTH`, each of
    its lines in ``colour`` (wrapped before it is coloured, so colour moves no line break).
    ``value`` goes through :func:`terminal_text`."""
    room = WIDTH - LABEL - 2
    lines = textwrap.wrap(terminal_text(value), room, break_on_hyphens=False) or [""]
    out.write(f"  {style(name.ljust(LABEL), 'dim')}{style(lines[0], colour)}\n")
    for line in lines[1:]:
        out.write(f"  {' ' * LABEL}{style(line, colour)}\n")


# What json.dumps(ensure_ascii=False) leaves raw and a terminal may act on (it escapes C0):
# DEL, C1 controls (U+009B is CSI), line and paragraph separators, bidi controls, and lone
# surrogates (which no UTF-8 stream can write).
_JSON_UNSAFE: Final = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def write_json(out: TextIO, value: object) -> None:
    """``value`` as indented JSON, non-ASCII text kept as it is but for what a terminal could
    act on, written as ``\\u`` escapes: the same JSON value, exactly."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    out.write(_JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text))
    out.write("\n")
