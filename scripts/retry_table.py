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
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "overload.json"
GUIDE = ROOT / "docs" / "guides" / "retrying.md"


def results_table(data: dict[str, Any]) -> str:
    lines = [
        "| scenario | strategy | completed within 2 s | late | requests per call "
        "(during the overload) | recovery |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in data["results"]:
        strategy = row["strategy"]
        if strategy == "RetryPolicy (default)":
            strategy = f"**{strategy}**"
        lines.append(
            f"| {row['scenario']} | {strategy} | {row['completed']:,} / {row['calls']:,} "
            f"| {row['late']:,} | {row['requests_per_call']:.2f} "
            f"({row['requests_per_call_overload']:.2f}) | {row['recovery_s']:.1f} s |"
        )
    return "\n".join(lines)


def goals_list(data: dict[str, Any]) -> str:
    return "\n".join(
        f"- {'met' if goal['met'] else '**missed**'}: {goal['goal']}" for goal in data["goals"]
    )


def render(text: str, data: dict[str, Any]) -> str:
    for name, build in (("overload-table", results_table), ("overload-goals", goals_list)):
        pattern = re.compile(
            rf"(<!-- {name}:start -->\n)(?:.*?\n)?(<!-- {name}:end -->)", flags=re.DOTALL
        )
        if not pattern.search(text):
            raise SystemExit(f"{GUIDE.name} has no <!-- {name}:start/end --> markers")
        text = pattern.sub(lambda m, b=build: m.group(1) + b(data) + "\n" + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the guide is stale")
    args = parser.parse_args(argv)
    data = json.loads(RESULTS.read_text(encoding="utf-8"))
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
