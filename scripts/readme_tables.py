#!/usr/bin/env python3
"""Render the README's generated tables (retry classification, foreign error codes).

    python scripts/readme_tables.py          # rewrite the tables in README.md
    python scripts/readme_tables.py --check  # exit 1 if README.md is out of date

Each table sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers, so the
README can be edited freely around them while the tables always match the code.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kuzzle_errors import catalog, error_class  # noqa: E402
from kuzzle_errors.hints import RULES  # noqa: E402
from kuzzle_errors.parser import FOREIGN_CODES  # noqa: E402

README = ROOT / "README.md"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def retry_summary() -> str:
    """The ids with their own rule, then the defaults by class."""
    lines = [
        "| error id | status | retry | replay-safe | min. wait | other node helps | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for error_id in sorted(RULES, key=lambda i: (not RULES[i][0], not RULES[i][1], i)):
        spec = catalog.get(error_id)
        assert spec is not None
        hint = error_class(error_id)("").retry_hint
        lines.append(
            f"| `{error_id}` | {spec.status} | {_yes(hint.retryable)} | {_yes(hint.replay_safe)}"
            f" | {hint.delay:g} s | {_yes(hint.other_node)} | {hint.reason} |"
        )
    return "\n".join(lines)


def retry_full() -> str:
    """Every catalogued id with its classification."""
    lines = [
        "| error id | code | class (status) | retry | replay-safe | why |",
        "|---|---|---|---|---|---|",
    ]
    for spec in catalog.all_specs():
        hint = error_class(spec.id)("").retry_hint
        lines.append(
            f"| `{spec.id}` | `{spec.hex}` | {spec.class_name} ({spec.status})"
            f" | {_yes(hint.retryable)} | {_yes(hint.replay_safe)} | {hint.reason} |"
        )
    return "\n".join(lines)


def foreign_table() -> str:
    lines = ["| `error_code` | meaning | raised as |", "|---|---|---|"]
    for code, (cls, meaning) in sorted(FOREIGN_CODES.items()):
        lines.append(f"| {code} | {meaning} | `{cls.__name__}` |")
    return "\n".join(lines)


TABLES = {"retry-summary": retry_summary, "retry-full": retry_full, "foreign-codes": foreign_table}


def render(text: str) -> str:
    for name, build in TABLES.items():
        pattern = re.compile(
            rf"(<!-- {name}:start -->\n)(?:.*?\n)?(<!-- {name}:end -->)", flags=re.DOTALL
        )
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- {name}:start/end --> markers")
        match = pattern.search(text)
        assert match is not None
        text = text[: match.end(1)] + build() + "\n" + text[match.start(2) :]
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the README's generated tables.")
    parser.add_argument("--check", action="store_true", help="fail if README.md is stale")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    wanted = render(current)
    if args.check:
        if current != wanted:
            print("README.md tables are out of date: run scripts/readme_tables.py", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        README.write_text(wanted, encoding="utf-8")
        print("wrote README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
