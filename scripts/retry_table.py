#!/usr/bin/env python3
"""Render the overload benchmark's results into docs/guides/retrying.md.

    python benchmarks/overload.py --json benchmarks/results/overload.json  # run it (~15 s)
    python scripts/retry_table.py          # rewrite the tables in the guide
    python scripts/retry_table.py --check  # exit 1 if the guide does not match the JSON

The tables sit between ``<!-- overload-table:start/end -->`` and
``<!-- overload-goals:start/end -->`` markers; the figures always come from the JSON the
benchmark wrote, never by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "overload.json"
GUIDE = ROOT / "docs" / "guides" / "retrying.md"

sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _markdown import marked, replace_blocks, table  # noqa: E402
from overload import DEFAULT  # noqa: E402


def results() -> dict[str, Any]:
    """The overload benchmark's saved results."""
    loaded: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8"))
    return loaded


def results_table(data: dict[str, Any]) -> str:
    columns = (
        "scenario",
        "strategy",
        "completed within 2 s",
        "late",
        "requests per call (during the overload)",
        "recovery",
    )
    rows = []
    for row in data["results"]:
        strategy = row["strategy"]
        if strategy == DEFAULT:
            strategy = f"**{strategy}**"
        rows.append(
            (
                row["scenario"],
                strategy,
                f"{row['completed']:,} / {row['calls']:,}",
                f"{row['late']:,}",
                f"{row['requests_per_call']:.2f} ({row['requests_per_call_overload']:.2f})",
                f"{row['recovery_s']:.1f} s",
            )
        )
    return table(columns, rows, right={2, 3, 4, 5})


def goals_list(data: dict[str, Any]) -> str:
    return "\n".join(
        f"- {'met' if goal['met'] else '**missed**'}: {goal['goal']}" for goal in data["goals"]
    )


#: The guide's blocks this script writes, each from the results.
BLOCKS: dict[str, Callable[[dict[str, Any]], str]] = {
    "overload-table": results_table,
    "overload-goals": goals_list,
}


def render(text: str, data: dict[str, Any]) -> str:
    missing = sorted(set(BLOCKS) - marked(text))
    if missing:
        raise SystemExit(f"{GUIDE.name} has no <!-- {missing[0]}:start/end --> markers")
    rendered, _ = replace_blocks(
        text, {name: lambda build=build: build(data) for name, build in BLOCKS.items()}
    )
    return rendered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the guide is stale")
    args = parser.parse_args(argv)
    data = results()
    text = GUIDE.read_text(encoding="utf-8")
    rendered = render(text, data)
    if args.check:
        if rendered != text:
            print(f"{GUIDE} is out of date: run python scripts/retry_table.py", file=sys.stderr)
            return 1
        return 0
    GUIDE.write_text(rendered, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
