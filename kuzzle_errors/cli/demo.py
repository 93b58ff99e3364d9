"""``kuzzle-errors demo``: the library against an embedded Kuzzle stub, over HTTP and WebSocket.

Each scenario scripts the stub (:mod:`kuzzle_errors.testing`), makes the calls an application
would make, and prints one line saying what the error was and what the client did about it.
Loopback only; a few seconds (two of them are rate-limit windows waited out on purpose).
Needs the ``http``, ``websocket`` and ``stub`` extras. The scenarios are in
:mod:`~kuzzle_errors.cli.demo_scenarios`, the printing in :mod:`~kuzzle_errors.cli.demo_report`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from kuzzle_errors.cli.demo_report import Report
from kuzzle_errors.cli.demo_scenarios import Client, Scenarios
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.retry import RetryPolicy
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket

__all__ = ["main"]


#: Where the documentation is when the installed metadata does not say (an editable install
#: from a checkout has docs/ beside the package).
_DOCS_FALLBACK = "the docs/ folder of the kuzzle-errors repository (Getting started, Guides)"


def docs_url() -> str:
    """The documentation's address, from the installed package's Project-URLs."""
    from importlib import metadata

    try:
        urls: list[str] = metadata.metadata("kuzzle-errors").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return _DOCS_FALLBACK
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "documentation" and url.strip():
            return url.strip()
    return _DOCS_FALLBACK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns 0 when every scenario behaved as described."""
    parser = argparse.ArgumentParser(
        prog="kuzzle-errors demo",
        description="Walk through Kuzzle errors (overload, rate limits, partial failures, "
        "not found, dropped connections) against an embedded Kuzzle stub on loopback.",
    )
    parser.add_argument(
        "--transport",
        choices=("both", "http", "websocket"),
        default="both",
        help="which transport to show (default: both)",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    out = sys.stdout
    started = time.monotonic()
    with StubKuzzle() as stub:
        report = Report(out)
        demo = Scenarios(stub, report)
        policy = _policy(report)
        out.write(f"kuzzle-errors demo: a Kuzzle stub on {stub.url} (HTTP and WebSocket)\n")
        if args.transport in ("both", "http"):
            out.write("\nHTTP (requests, POST /_query)\n")
            with KuzzleHTTP(stub.url, retry=policy, timeout=5.0) as http:
                _run_common(demo, http, "h")
                report.scenario("dropped", lambda: demo.http_dropped(http))
        if args.transport in ("both", "websocket"):
            out.write("\nWebSocket (websocket-client, one socket shared by threads)\n")
            with KuzzleWebSocket(stub.ws_url, retry=policy, timeout=5.0) as ws:
                _run_common(demo, ws, "w")
                report.scenario("socket limit", lambda: demo.ws_rate_limited_per_socket(ws))
                report.scenario("dropped", lambda: demo.ws_dropped(ws))
    elapsed = time.monotonic() - started
    if report.failures:
        out.write(f"\n{report.failures} scenario(s) did not go as expected ({elapsed:.1f} s).\n")
        return 1
    out.write(f"\nDone in {elapsed:.1f} s. The API used here: {docs_url()}\n")
    return 0


def _policy(report: Report) -> RetryPolicy:
    # Short backoff so the demo stays quick; server hints (the 1 s rate window) still rule.
    return RetryPolicy(attempts=4, base=0.1, cap=0.5, budget=None, on_retry=report.retries.append)


def _run_common(demo: Scenarios, client: Client, suffix: str) -> None:
    report = demo.report
    report.scenario("overloaded", lambda: demo.overloaded(client))
    report.scenario("rate limit", lambda: demo.rate_limited_per_user(client))
    report.scenario("partial", lambda: demo.partial(client, suffix))
    report.scenario("not found", lambda: demo.not_found(client))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
