"""docs/explanation/performance.md shows the figures the parse benchmark wrote, unedited."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "parse_benchmark", ROOT / "benchmarks" / "parse.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_performance_page_shows_the_benchmark_results() -> None:
    bench = benchmark()
    results = json.loads(bench.RESULTS.read_text(encoding="utf-8"))
    page = bench.DOCS_PAGE.read_text(encoding="utf-8")
    table = page.split(bench.START, 1)[1].split(bench.END, 1)[0].strip()
    assert table == bench.docs_table(results)


def test_the_results_hold_every_goal_with_its_verdict() -> None:
    bench = benchmark()
    results = json.loads(bench.RESULTS.read_text(encoding="utf-8"))
    goals = [case for case in results["cases"] if case["met"] is not None]
    assert len(goals) == 2  # the single error and the 10,000 items
    assert isinstance(results["growth"]["met"], bool)
    assert isinstance(results["import"]["met"], bool)
    assert results["measured_on"]["python"].startswith("CPython")
    lines = bench.goal_lines(results)
    assert sum(("met" in line or "MISSED" in line) for line in lines) == 4
