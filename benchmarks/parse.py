"""What users pay to turn a Kuzzle error answer into an exception and read it, beside a peer.

    pip install --group bench             # google-api-core and requests (pip >= 25.1)
    python benchmarks/parse.py            # prints every goal line, met or missed
    python benchmarks/parse.py --docs     # also writes the table of docs/explanation/performance.md

The peer is google-api-core, whose ``exceptions.from_http_response`` does for Google's REST
errors what ``kuzzle_errors.http.error_from_response`` does for Kuzzle's: one
``requests.Response`` in, one exception of the status' class out. Both are given the same
``requests.Response`` (a 486-byte 503 body, five headers), in the same run, each as a ratio to
``json.loads`` of the same bytes, and each followed by the reads an ``except`` block does.
Goals (issue 18):

* ours, ``error_from_response`` + ``.status .id .code .message .request_id .retry_hint``:
  <= google-api-core's ``from_http_response`` + ``.code .message .errors .details .reason
  .response`` on the same Response;
* ``parse_response(bytes, headers)`` + the same six reads: information;
* a 10,000-item partial failure, every item's ``.id .status .error`` read: <= 2x
  ``json.loads``; at 100,000 items, the ratio no more than 1.25x the 10,000-item one (issue 9);
* ``import kuzzle_errors`` over a bare interpreter: <= 15 ms, loading no transport library
  and no asyncio.

Issue 9's "503 parse <= 1.5x json.loads" and "import <= 5 ms" are retired as goals; the
``parse_response`` line and the import line still show their figures.

Only public API is used, so the figures stay honest whatever the package does inside; nothing
global is changed (the garbage collector stays on, as in a user's process). The results go to
``benchmarks/results/parse.json``, where the docs take their figures from.
"""

from __future__ import annotations

import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kuzzle_errors import PartialError, parse_response

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))

from _markdown import replace_blocks, table  # noqa: E402

RESULTS = HERE / "results" / "parse.json"
DOCS_PAGE = HERE.parent / "docs" / "explanation" / "performance.md"
BLOCK = "parse-benchmark"
START, END = f"<!-- {BLOCK}:start -->", f"<!-- {BLOCK}:end -->"
PEER = "google-api-core"

#: A 503 as Kuzzle 2 sends it over HTTP for a document:create refused by an overloaded node.
TYPICAL = json.dumps(
    {
        "requestId": "5f0c7e52-3b5d-4d8e-9a57-0b2f3c1de8a4",
        "status": 503,
        "error": {
            "message": "Request discarded: Kuzzle Server is temporarily overloaded.",
            "status": 503,
            "id": "api.process.overloaded",
            "code": 33685506,
            "props": [],
        },
        "controller": "document",
        "action": "create",
        "collection": "yellow-taxi",
        "index": "nyc-open-data",
        "volatile": {"sdkInstanceId": "0b4b7a4e-2f0e-4d4a-8f3c-6c1e1a9b5d21", "sdkName": "py"},
        "headers": {},
        "node": "knode-nasty-eagle-54316",
        "result": None,
    }
).encode()
#: The headers Kuzzle's HTTP router sends with it.
HEADERS = {
    "Content-Type": "application/json",
    "Content-Length": str(len(TYPICAL)),
    "Access-Control-Allow-Origin": "*",
    "X-Kuzzle-Node": "knode-nasty-eagle-54316",
    "X-Kuzzle-Request-Id": "5f0c7e52-3b5d-4d8e-9a57-0b2f3c1de8a4",
}
URL = "http://localhost:7512/nyc-open-data/yellow-taxi/_create"
#: What ``import kuzzle_errors`` must not load: every transport library, and asyncio.
UNWANTED = ("requests", "urllib3", "websocket", "httpx", "websockets", "h11", "asyncio")
NEUTRAL = tempfile.gettempdir()
SINGLE_CALLS, SINGLE_ROUNDS = 2_000, 41
METHOD = (
    "each case's sides run interleaved in rounds (their order rotated round by round), gc on; "
    "a ratio is the median of the rounds' ratios, a time each side's best round; "
    "import: best of 31 fresh interpreters"
)


def partial_body(items: int) -> bytes:
    """A strict ``document:mCreate`` where every item failed (v2's 400 MultipleErrorsError)."""
    errors = [
        {
            "document": {"_id": f"doc-{i}", "body": {"n": i}},
            "reason": "document already exists",
            "status": 400,
        }
        for i in range(items)
    ]
    return json.dumps(
        {
            "requestId": "req-1",
            "status": 400,
            "error": {
                "code": 33685514,
                "id": "api.process.incomplete_multiple_request",
                "message": "At least one of the mCreate actions failed.",
                "props": ["mCreate"],
                "status": 400,
                "count": items,
                "errors": errors,
            },
            "result": None,
        }
    ).encode()


def interleaved(
    sides: Mapping[str, Callable[[], object]], number: int, rounds: int
) -> dict[str, list[float]]:
    """Per-call times of every side, round by round.

    Each round runs every side once, back to back, so a round's ratios compare runs under
    the same load; the order rotates from round to round, so no side always runs first (just
    after another side's garbage, or when the CPU's clock has just changed).
    """
    names = list(sides)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(timeit.timeit(sides[name], number=number) / number)
    return times


def median_ratio(top: list[float], bottom: list[float]) -> float:
    return statistics.median(t / b for t, b in zip(top, bottom, strict=True))


def requests_response() -> Any:
    """One real ``requests.Response`` for the 503, built the way requests builds every answer.

    ``HTTPAdapter.build_response`` (public) wraps a urllib3 ``HTTPResponse`` (public
    constructor) reading the body from memory, as the mocking library ``responses`` does; the
    body is then read once, so each timed call sees an answer already received, as a caller's
    ``session.post(...)`` gives it.
    """
    import requests
    import urllib3

    sent = requests.Request("POST", URL, json={"n": 1}).prepare()
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(TYPICAL),
        headers=HEADERS,
        status=503,
        reason="Service Unavailable",
        preload_content=False,
    )
    resp = requests.adapters.HTTPAdapter().build_response(sent, raw)
    assert resp.content == TYPICAL
    return resp


def single_cases() -> dict[str, list[float]]:
    """The 503: json.loads, ours from the Response, the peer from it, ours from bytes, the floor."""
    try:
        from google.api_core.exceptions import from_http_response
    except ImportError:
        raise SystemExit(
            f"the peer is missing: pip install --group bench (or pip install {PEER})"
        ) from None

    from kuzzle_errors.http import error_from_response

    resp = requests_response()

    def loads() -> object:
        return json.loads(TYPICAL)

    def ours() -> None:
        error = error_from_response(resp)
        assert error is not None
        _ = (error.status, error.id, error.code, error.message, error.request_id)
        _ = error.retry_hint

    def peer() -> None:
        error = from_http_response(resp)
        _ = (error.code, error.message, error.errors, error.details, error.reason)
        _ = error.response

    def ours_bytes() -> None:
        error = parse_response(TYPICAL, http_status=503, headers=HEADERS, transport="http")
        assert error is not None
        _ = (error.status, error.id, error.code, error.message, error.request_id)
        _ = error.retry_hint

    def floor() -> None:
        """The least any library could pay: json.loads, then one exception, ten attributes."""
        data = json.loads(TYPICAL)
        error = data["error"]
        exc = _TenAttributes(error["message"])
        exc.status, exc.id, exc.code, exc.message = error["status"], error["id"], error["code"], ""
        exc.request_id, exc.node = data["requestId"], data["node"]
        exc.controller, exc.action = data["controller"], data["action"]
        exc.index, exc.collection = data["index"], data["collection"]
        _ = (exc.status, exc.id, exc.code, exc.message, exc.request_id)

    sides = {"loads": loads, "ours": ours, "peer": peer, "bytes": ours_bytes, "floor": floor}
    # Warm-up: caches, the catalogue, the classes each library builds on first use.
    interleaved(sides, SINGLE_CALLS * 5, rounds=1)
    return interleaved(sides, SINGLE_CALLS, SINGLE_ROUNDS)


class _TenAttributes(Exception):
    status: int
    id: str
    code: int
    message: str
    request_id: str
    node: str
    controller: str
    action: str
    index: str
    collection: str


def read_partial(body: bytes) -> None:
    error = parse_response(body, http_status=400)
    assert isinstance(error, PartialError)
    for item in error.items:
        _ = (item.id, item.status, item.error)


def fresh(statement: str) -> str:
    """What ``statement`` prints in a fresh interpreter.

    From a neutral folder, so the child imports the package this process imported (and
    compiled), not a checkout that happens to be the working directory.
    """
    run = subprocess.run(
        [sys.executable, "-c", statement], capture_output=True, text=True, check=True, cwd=NEUTRAL
    )
    return run.stdout.strip()


def import_time(statement: str, runs: int = 31) -> float:
    """The least disturbed of ``runs`` timings of ``statement`` in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    return min(float(fresh(code)) for _ in range(runs))


def measure() -> dict[str, Any]:
    cases: list[dict[str, Any]] = []

    def case(
        name: str,
        times: Mapping[str, list[float]],
        side: str,
        goal: float | str | None,
        unit: str = "us",
        met: bool | None = None,
    ) -> dict[str, Any]:
        """Record ``side`` against ``times["loads"]``; ``goal`` is the ratio to stay under,
        or a note shown instead (with ``met`` then given by the caller, if it is a goal)."""
        scale = 1e6 if unit == "us" else 1e3
        ratio = median_ratio(times[side], times["loads"])
        if isinstance(goal, float):
            met = ratio <= goal
        entry = {
            "name": name,
            "ours": round(min(times[side]) * scale, 2),
            "json_loads": round(min(times["loads"]) * scale, 2),
            "unit": unit,
            "ratio": round(ratio, 2),
            "goal": f"<= {goal}x" if isinstance(goal, float) else goal or "(information)",
            "met": met,
        }
        cases.append(entry)
        return entry

    size = f"503 ({len(TYPICAL)} bytes, {len(HEADERS)} headers)"
    single = single_cases()
    versus = median_ratio(single["ours"], single["peer"])
    entry = case(
        f"{size}: http.error_from_response + 6 reads",
        single,
        "ours",
        f"<= {PEER}'s",
        met=versus <= 1.0,
    )
    entry["peer"] = {
        "name": PEER,
        "call": "exceptions.from_http_response(requests.Response) + 6 reads",
        "time": round(min(single["peer"]) * 1e6, 2),
        "ratio": round(median_ratio(single["peer"], single["loads"]), 2),
        "ours_over_peer": round(versus, 2),
    }
    case(f"{size}: parse_response(bytes, headers) + 6 reads", single, "bytes", None)
    case("  floor: json.loads + an exception, 10 attributes", single, "floor", None)

    ratios = {}
    # The 100,000-item ratio has no goal of its own: its growth over the 10,000 one has (below).
    sizes = ((10_000, 21, 2.0), (100_000, 7, "(growth below)"))
    for items, rounds, goal in sizes:
        body = partial_body(items)

        def loads_body(body: bytes = body) -> object:
            return json.loads(body)

        def read_body(body: bytes = body) -> None:
            read_partial(body)

        def parse_body(body: bytes = body) -> None:
            parse_response(body, http_status=400)

        sides = {"loads": loads_body, "read": read_body, "parse": parse_body}
        interleaved(sides, 1, rounds=1)  # warm-up
        times = interleaved(sides, 1, rounds)
        ratios[items] = case(
            f"{items:,} failed items, parse + .id .status .error each", times, "read", goal, "ms"
        )["ratio"]
        case(f"{items:,} failed items, parse alone", times, "parse", None, "ms")
    growth = ratios[100_000] / ratios[10_000]

    # pip compiles modules at install time; an editable or PYTHONDONTWRITEBYTECODE checkout
    # would otherwise measure the compiler, not the import.
    import compileall

    import kuzzle_errors

    compileall.compile_dir(str(Path(kuzzle_errors.__file__).parent), quiet=1)
    bare = import_time("pass")
    imported = import_time("import kuzzle_errors")
    loaded = json.loads(
        fresh(
            f"import sys, json, kuzzle_errors; print(json.dumps([m for m in {UNWANTED!r} if m in sys.modules]))"
        )
    )
    extra_ms = (imported - bare) * 1000
    return {
        "measured_on": {
            "python": platform.python_implementation() + " " + platform.python_version(),
            "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "note": "ratios against json.loads of the same bytes, in the same run",
            "method": METHOD,
            "peer": f"{PEER} {_version(PEER)}, requests {_version('requests')}",
        },
        "cases": cases,
        "growth": {
            "name": "ratio at 100,000 items / ratio at 10,000",
            "value": round(growth, 2),
            "goal": "<= 1.25x",
            "met": growth <= 1.25,
        },
        "import": {
            "bare_ms": round(bare * 1000, 2),
            "extra_ms": round(extra_ms, 2),
            "goal": "<= 15 ms, no transport library, no asyncio",
            "unwanted": list(UNWANTED),
            "loaded": loaded,
            "met": extra_ms <= 15 and not loaded,
        },
    }


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


def verdict(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "MISSED")


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str, str, str]]:
    """Every line of the report: case, ours, ratio, the peer, json.loads, goal, verdict."""
    out = []
    for c in results["cases"]:
        ours, base = f"{c['ours']:.2f} {c['unit']}", f"{c['json_loads']:.2f} {c['unit']}"
        ratio, goal, peer = f"{c['ratio']:.2f}x", c["goal"], ""
        if "peer" in c:
            p = c["peer"]
            peer = f"{p['time']:.2f} {c['unit']}, {p['ratio']:.2f}x"
            goal = f"{goal} (ours / {p['name']}: {p['ours_over_peer']:.2f}x)"
        out.append((c["name"], ours, ratio, peer, base, goal, verdict(c["met"])))
    g = results["growth"]
    out.append((g["name"], "", f"{g['value']:.2f}x", "", "", g["goal"], verdict(g["met"])))
    i = results["import"]
    name = "`import kuzzle_errors`, over a bare interpreter"
    goal = f"{i['goal']} (loaded: {', '.join(i['loaded']) or 'none'})"
    out.append((name, f"{i['extra_ms']:.2f} ms", "", "", "", goal, verdict(i["met"])))
    return out


def goal_lines(results: dict[str, Any]) -> list[str]:
    """The printed report: how it was timed, then one line per case, with its goal and verdict."""
    on = results["measured_on"]
    grid = [("case", "ours", "ratio", PEER, "json.loads", "goal", ""), *rows(results)]
    width = max(len(row[0]) for row in grid)
    lines = [f"timing: {on['method']}", f"peer: {on['peer']}"]
    for name, ours, ratio, peer, base, goal, met in grid:
        line = f"{name:<{width}}  {ours:>10} {ratio:>6}  {peer:<16} {base:>10}  {goal} {met}"
        lines.append(line.rstrip())
    return lines


def docs_table(results: dict[str, Any]) -> str:
    """The Markdown table docs/explanation/performance.md shows, from the results file."""
    on = results["measured_on"]
    columns = ("case", "kuzzle-errors", "ratio", PEER, "json.loads", "goal", "")
    cells = [(row[0].strip(), *row[1:]) for row in rows(results)]
    measured = (
        f"Measured on {on['python']}, {on['machine']}, {on['date']}, against {on['peer']} "
        f"({on['note']}; {on['method']})."
    )
    return f"{measured}\n\n{table(columns, cells, right={1, 2, 4})}"


def write_docs(results: dict[str, Any], page: Path = DOCS_PAGE) -> None:
    text, found = replace_blocks(
        page.read_text(encoding="utf-8"), {BLOCK: lambda: docs_table(results)}
    )
    if not found:
        raise SystemExit(f"{page} has no {START} ... {END} block")
    page.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    results = measure()
    for line in goal_lines(results):
        print(line)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written: {RESULTS.relative_to(HERE.parent)}")
    if "--docs" in argv:
        write_docs(results)
        print(f"written: {DOCS_PAGE.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
