#!/usr/bin/env python3
"""Render the documentation's generated tables (catalogue, retry classification, foreign codes).

    python scripts/docs_tables.py          # rewrite the tables in docs/**/*.md and README.md
    python scripts/docs_tables.py --check  # exit 1 if a page is out of date

Each table sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers, so a page
can be edited freely around them while the tables always match the code. Every table must
appear on at least one page; a marker naming no known table is an error. The benchmarks'
tables are checked too, from the results they saved (``scripts/retry_table.py`` and
``benchmarks/parse.py --docs`` write them after a run).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import retry_table  # noqa: E402
from _markdown import marked, replace_blocks, table  # noqa: E402

from kuzzle_errors import catalog, error_class  # noqa: E402
from kuzzle_errors.hints import ACTIONS, BY_ID, RetryHint  # noqa: E402
from kuzzle_errors.parser import FOREIGN_CODES  # noqa: E402


def pages() -> list[Path]:
    """The Markdown files that may hold generated tables."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _hint(error_id: str) -> RetryHint:
    """The retry advice the parser gives for ``error_id`` (no headers)."""
    return error_class(error_id)("").retry_hint


def retry_summary() -> str:
    """The ids with their own rule, then the defaults by class."""
    columns = ("error id", "status", "retry", "replay-safe", "min. wait", "other node helps", "why")
    rows = []
    for error_id in sorted(
        BY_ID, key=lambda i: (not BY_ID[i].retryable, not BY_ID[i].replay_safe, i)
    ):
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
    return table(columns, rows)


def retry_full() -> str:
    """Every catalogued id with its classification."""
    rows = []
    for spec in catalog.all_specs():
        hint = _hint(spec.id)
        cells = (f"`{spec.id}`", f"`{spec.hex}`", f"{spec.class_name} ({spec.status})")
        rows.append((*cells, _yes(hint.retryable), _yes(hint.replay_safe), hint.reason))
    return table(("error id", "code", "class (status)", "retry", "replay-safe", "why"), rows)


def replay_safety_table() -> str:
    """Kuzzle's API actions by kind: whether a replay after "it may have run" is safe."""
    kinds: dict[str, list[str]] = {}
    for name, found in ACTIONS.items():
        kinds.setdefault(found.kind, []).append(name)
    rows = []
    for kind, names in sorted(
        kinds.items(), key=lambda k: (not ACTIONS[k[1][0]].replay_safe, k[0])
    ):
        first = ACTIONS[names[0]]
        shown = ", ".join(f"`{name}`" for name in names)
        rows.append((f"`{kind}`", _yes(first.replay_safe), first.reason, f"{len(names)}: {shown}"))
    return table(("kind", "replay-safe", "why", "actions"), rows)


def catalogue_table() -> str:
    """Every catalogued id: code, class, status, versions, description."""
    rows = []
    for spec in catalog.all_specs():
        versions = " and ".join(str(v) for v in spec.versions)
        deprecated = f" (deprecated since {spec.deprecated})" if spec.deprecated else ""
        description = spec.description.replace("|", "\\|")
        cells = (f"`{spec.id}`", f"`{spec.hex}`", spec.class_name, spec.status, versions)
        rows.append((*cells, f"{description}{deprecated}"))
    return table(("error id", "code", "class", "status", "Kuzzle", "description"), rows)


def foreign_table() -> str:
    """The foreign ``error_code`` values the parser knows, with the class each is raised as."""
    rows = [
        (code, meaning, f"`{cls.__name__}`")
        for code, (cls, meaning) in sorted(FOREIGN_CODES.items())
    ]
    return table(("`error_code`", "meaning", "raised as"), rows)


def parse_benchmark() -> str:
    """The parse benchmark's table, from the results it saved."""
    spec = importlib.util.spec_from_file_location("parse_benchmark", ROOT / "benchmarks/parse.py")
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rendered: str = bench.docs_table(json.loads(bench.RESULTS.read_text(encoding="utf-8")))
    return rendered


def _overload(name: str) -> Callable[[], str]:
    """One of the overload benchmark's blocks, from the results it saved."""
    return lambda: retry_table.BLOCKS[name](retry_table.results())


TABLES: dict[str, Callable[[], str]] = {
    "catalogue": catalogue_table,
    "retry-summary": retry_summary,
    "retry-full": retry_full,
    "foreign-codes": foreign_table,
    "replay-safety": replay_safety_table,
    **{name: _overload(name) for name in retry_table.BLOCKS},
    "parse-benchmark": parse_benchmark,
}


def render(text: str, where: str = "page") -> tuple[str, set[str]]:
    """``text`` with every marked table rebuilt, and the names of the tables found."""
    unknown = sorted(marked(text) - set(TABLES))
    if unknown:
        raise SystemExit(f"{where}: unknown generated table {unknown[0]!r}")
    return replace_blocks(text, TABLES)


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
