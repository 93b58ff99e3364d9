"""docs/guides/retrying.md: its tables match the overload benchmark's results, its examples run.

The benchmark itself takes ~15 s, so only its burst scenario (milliseconds) is run again here,
to catch results that no longer match the code.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guides" / "retrying.md"
RESULTS = ROOT / "benchmarks" / "results" / "overload.json"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)

sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import overload  # noqa: E402
import retry_table  # noqa: E402

from kuzzle_errors.retry import RetryBudget  # noqa: E402


def data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8"))
    return loaded


def test_the_guide_shows_the_benchmark_results() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert retry_table.render(text, data()) == text, "run python scripts/retry_table.py"


def test_the_results_were_made_with_the_default_budget() -> None:
    assert data()["model"]["default_budget"] == overload.budget_settings(RetryBudget())


def test_the_burst_scenario_still_gives_the_recorded_results() -> None:
    recorded = [row for row in data()["results"] if row["scenario"] == "burst of 32"]
    fresh = overload.as_json(overload.run_all("burst of 32"), [])["results"]
    assert fresh == recorded


def examples() -> list[tuple[str, str | None]]:
    text = GUIDE.read_text(encoding="utf-8")
    found = list(FENCE.finditer(text))
    out = []
    for i, match in enumerate(found):
        if match.group(1) != "python":
            continue
        expected = None
        follows = found[i + 1] if i + 1 < len(found) else None
        between = text[match.end() : follows.start()].strip() if follows else None
        if follows and follows.group(1) == "text" and between == "prints":
            expected = follows.group(2)
        out.append((match.group(2), expected))
    return out


@pytest.mark.parametrize(("code", "expected"), examples())
def test_example(code: str, expected: str | None) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(GUIDE), "exec"), {"__name__": "__guide__"})
    if expected is not None:
        assert out.getvalue() == expected
