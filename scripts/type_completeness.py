#!/usr/bin/env python3
"""Fail when ``pyright --verifytypes kuzzle_errors`` scores under the floor (95 %).

    python scripts/type_completeness.py            # print the score, exit 1 under the floor

pyright exits 1 whenever the score is under 100 %, so its status alone cannot gate CI: this
reads the score from its JSON report instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

FLOOR = 0.95


def main() -> int:
    pyright = shutil.which("pyright")
    if pyright is None:
        print("pyright is not installed: pip install --group dev (or pip install pyright)")
        return 1
    result = subprocess.run(
        [pyright, "--verifytypes", "kuzzle_errors", "--outputjson"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
        completeness = report["typeCompleteness"]
        score = float(completeness["completenessScore"])
    except (ValueError, KeyError, TypeError):
        print(result.stdout[-2000:], result.stderr[-2000:], sep="\n", file=sys.stderr)
        print("pyright gave no type-completeness report", file=sys.stderr)
        return 1
    counts = completeness["exportedSymbolCounts"]
    print(
        f"type completeness: {score:.1%} (known {counts['withKnownType']}, ambiguous "
        f"{counts['withAmbiguousType']}, unknown {counts['withUnknownType']}); floor {FLOOR:.0%}"
    )
    return 0 if score >= FLOOR else 1


if __name__ == "__main__":
    sys.exit(main())
