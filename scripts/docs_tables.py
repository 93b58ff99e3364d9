#!/usr/bin/env python3
"""Render the documentation's generated tables (catalogue, retry classification, foreign codes).

    python scripts/docs_tables.py          # rewrite the tables in docs/**/*.md and README.md
    python scripts/docs_tables.py --check  # exit 1 if a page is out of date

Each table sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers, so a page
can be edited freely around them while the tables always match the code. Every table must
appear on at least one page; a marker naming no known table is an error.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kuzzle_errors import catalog, error_class  # noqa: E402
from kuzzle_errors.hints import RULES, RetryHint  # noqa: E402
from kuzzle_errors.parser import FOREIGN_CODES  # noqa: E402

MARKER = re.compile(r"<!-- ([a-z0-9-]+):start -->\n(?:.*?\n)?<!-- \1:end -->", flags=re.DOTALL)


def pages() -> list[Path]:
    """The Markdown files that may hold generated tables."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _table(columns: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> str:
    """A Markdown table: the header row, its separator, then one line per row of cells."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _hint(error_id: str) -> RetryHint:
    """The retry advice the parser gives for ``error_id`` (no headers)."""
    return error_class(error_id)("").retry_hint


def retry_summary() -> str:
    """The ids with their own rule, then the defaults by class."""
    columns = ("error id", "status", "retry", "replay-safe", "min. wait", "other node helps", "why")
    rows = []
    for error_id in sorted(RULES, key=lambda i: (not RULES[i][0], not RULES[i][1], i)):
        spec = catalog.get(error_id)
        assert spec is not None
        hint = _hint(error_id)
        rows.append(
            (
                f"`{error_id}`",
                spec.status,
                _yes(hint.retryable),
                _yes(hint.replay_safe),
                f"{hint.delay:g} s",
                _yes(hint.other_node),
                hint.reason,
            )
        )
    return _table(columns, rows)


def retry_full() -> str:
    """Every catalogued id with its classification."""
    rows = []
    for spec in catalog.all_specs():
        hint = _hint(spec.id)
        cells = (f"`{spec.id}`", f"`{spec.hex}`", f"{spec.class_name} ({spec.status})")
        rows.append((*cells, _yes(hint.retryable), _yes(hint.replay_safe), hint.reason))
    return _table(("error id", "code", "class (status)", "retry", "replay-safe", "why"), rows)


def catalogue_table() -> str:
    """Every catalogued id: code, class, status, versions, description."""
    rows = []
    for spec in catalog.all_specs():
        versions = " and ".join(str(v) for v in spec.versions)
        deprecated = f" (deprecated since {spec.deprecated})" if spec.deprecated else ""
        description = spec.description.replace("|", "\\|")
        cells = (f"`{spec.id}`", f"`{spec.hex}`", spec.class_name, spec.status, versions)
        rows.append((*cells, f"{description}{deprecated}"))
    return _table(("error id", "code", "class", "status", "Kuzzle", "description"), rows)


def foreign_table() -> str:
    """The foreign ``error_code`` values the parser knows, with the class each is raised as."""
    rows = [
        (code, meaning, f"`{cls.__name__}`")
        for code, (cls, meaning) in sorted(FOREIGN_CODES.items())
    ]
    return _table(("`error_code`", "meaning", "raised as"), rows)


#: Tables on the same pages that another script renders (left alone here).
OTHER_SCRIPTS = {
    "overload-table": "scripts/retry_table.py",
    "overload-goals": "scripts/retry_table.py",
    "parse-benchmark": "benchmarks/parse.py --docs (checked by tests/test_docs_performance.py)",
}

TABLES = {
    "catalogue": catalogue_table,
    "retry-summary": retry_summary,
    "retry-full": retry_full,
    "foreign-codes": foreign_table,
}


def render(text: str, where: str = "page") -> tuple[str, set[str]]:
    """``text`` with every marked table rebuilt, and the names of the tables found."""
    found: set[str] = set()

    def build(match: re.Match[str]) -> str:
        name = match[1]
        if name in OTHER_SCRIPTS:
            return match[0]
        if name not in TABLES:
            raise SystemExit(f"{where}: unknown generated table {name!r}")
        found.add(name)
        return f"<!-- {name}:start -->\n{TABLES[name]()}\n<!-- {name}:end -->"

    return MARKER.sub(build, text), found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the documentation's generated tables.")
    parser.add_argument("--check", action="store_true", help="fail if a page is stale")
    args = parser.parse_args(argv)
    stale: list[Path] = []
    seen: set[str] = set()
    for path in pages():
        current = path.read_text(encoding="utf-8")
        wanted, found = render(current, str(path.relative_to(ROOT)))
        seen |= found
        if current != wanted:
            stale.append(path)
            if not args.check:
                path.write_text(wanted, encoding="utf-8")
                print(f"wrote {path.relative_to(ROOT)}")
    missing = sorted(set(TABLES) - seen)
    if missing:
        print(f"no page holds the generated tables {missing}", file=sys.stderr)
        return 1
    if args.check and stale:
        for path in stale:
            print(
                f"out of date: {path.relative_to(ROOT)} (run scripts/docs_tables.py)",
                file=sys.stderr,
            )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
