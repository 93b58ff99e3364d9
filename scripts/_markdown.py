"""What the scripts that write generated Markdown share: tables, and blocks between markers.

A generated block sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` lines, so a
page can be edited freely around it while the block always matches its source.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Mapping, Sequence

MARKER = re.compile(r"<!-- ([a-z0-9-]+):start -->\n(?:.*?\n)?<!-- \1:end -->", flags=re.DOTALL)


def table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], right: Container[int] = ()
) -> str:
    """A Markdown table: the header row, its separator (the columns numbered in ``right``
    aligned right), then one line per row of cells. An empty heading is written ``| |``."""
    lines = [
        "|" + "|".join(f" {name} " if name else " " for name in columns) + "|",
        "|" + "".join("---:|" if i in right else "---|" for i in range(len(columns))),
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def marked(text: str) -> set[str]:
    """The names of the generated blocks in ``text``."""
    return {match[1] for match in MARKER.finditer(text)}


def replace_blocks(text: str, blocks: Mapping[str, Callable[[], str]]) -> tuple[str, set[str]]:
    """``text`` with every marked block named in ``blocks`` rebuilt by its function (other
    blocks left as they are), and the names of the blocks rebuilt."""
    found: set[str] = set()

    def build(match: re.Match[str]) -> str:
        name = match[1]
        if name not in blocks:
            return match[0]
        found.add(name)
        return f"<!-- {name}:start -->\n{blocks[name]()}\n<!-- {name}:end -->"

    return MARKER.sub(build, text), found
