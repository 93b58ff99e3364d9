"""``kuzzle-errors demo``: the library against an embedded Kuzzle stub, over HTTP and WebSocket.

Each scenario scripts the stub (:mod:`kuzzle_errors.testing`), makes the calls an application
would make, and prints one line saying what the error was and what the client did about it.
Loopback only; a few seconds (two of them are rate-limit windows waited out on purpose).
Needs the ``http``, ``websocket`` and ``stub`` extras.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.retry import RetryDetails, RetryPolicy
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket

__all__ = ["main"]

INDEX, COLLECTION = "demo", "items"
Client = KuzzleHTTP | KuzzleWebSocket


def _start_of_window() -> None:
    """Wait for a fresh rate-limit window, so the calls that follow share one.

    The stub, like Kuzzle, counts in fixed one-second windows of its clock (``time.monotonic``);
    calls straddling a boundary would be counted in two windows and might not be refused.
    """
    now = time.monotonic()
    time.sleep(math.ceil(now) - now + 0.01)


class _Demo:
    """Runs the scenarios and prints their outcome; counts the ones that misbehaved."""

    def __init__(self, stub: StubKuzzle, out: TextIO) -> None:
        self.stub = stub
        self.out = out
        self.failures = 0
        self.retries: list[RetryDetails] = []
        # Short backoff so the demo stays quick; server hints (the 1 s rate window) still rule.
        self.policy = RetryPolicy(
            attempts=4, base=0.1, cap=0.5, budget=None, on_retry=self.retries.append
        )

    def line(self, label: str, text: str) -> None:
        first, *rest = text.split("\n")
        self.out.write(f"  {label:<14}{first}\n")
        for more in rest:
            self.out.write(f"  {'':<14}{more}\n")
        self.out.flush()

    def scenario(self, label: str, run: Callable[[], str]) -> None:
        self.retries.clear()
        try:
            self.line(label, run())
        except Exception as exc:  # the demo reports, it never crashes half-way
            self.failures += 1
            self.line(label, f"UNEXPECTED {type(exc).__name__}: {exc}")

    def waited(self) -> str:
        """The waits of the retry policy, from its on_retry records."""
        delays = [f"{r.delay:.2f} s" for r in self.retries]
        return " and ".join(delays) if delays else "no wait"

    # -- scenarios shared by both transports ------------------------------------------------

    def overloaded(self, client: Client) -> str:
        self.stub.overload(times=2)
        result = client.query(
            {
                "controller": "document",
                "action": "create",
                "index": INDEX,
                "collection": COLLECTION,
                "body": {"name": "first"},
            }
        )
        first = self.retries[0].error if self.retries else None
        hint = first.retry_hint if first is not None else None
        why = "refused before processing, replay-safe" if hint and hint.replay_safe else "?"
        return (
            f"503 {first.id if first else '?'} x{len(self.retries)}: {why}\n"
            f"-> retried after {self.waited()}, then created {result['_id']!r}"
        )

    def rate_limited_per_user(self, client: Client) -> str:
        self.stub.configure(rate_limit=2)
        try:
            _start_of_window()
            started = time.monotonic()
            for _ in range(3):
                client.query({"controller": "server", "action": "now"})
            elapsed = time.monotonic() - started
        finally:
            self.stub.configure(rate_limit=None)
        first = self.retries[0].error if self.retries else None
        return (
            f"429 {first.id if first else '?'} (2 calls/s allowed, 3 made)\n"
            f"-> waited {self.waited()} (Kuzzle's 1 s window); all 3 answered in {elapsed:.2f} s"
        )

    def partial(self, client: Client, suffix: str) -> str:
        self.stub.add_document(INDEX, COLLECTION, f"dup-{suffix}", {"name": "already here"})
        docs = [{"_id": f"{name}-{suffix}", "body": {"name": name}} for name in ("a", "dup", "b")]
        request = {
            "controller": "document",
            "action": "mCreate",
            "index": INDEX,
            "collection": COLLECTION,
            "body": {"documents": docs},
            "strict": True,  # Kuzzle then raises MultipleErrorsError (the others are written)
        }
        try:
            client.query(request)
        except kuzzle_errors.PartialError as error:
            failed = ", ".join(f"{i.id!r}: {i.status} {i.reason}" for i in error.items)
            return (
                f"{error.kuzzle_class} {error.id}, {len(error)} of {len(docs)} items failed\n"
                f"-> error.items: {failed} (the {len(docs) - len(error)} others were written)"
            )
        raise AssertionError("mCreate with a duplicate did not fail")

    def not_found(self, client: Client) -> str:
        request = {
            "controller": "document",
            "action": "get",
            "index": INDEX,
            "collection": COLLECTION,
            "_id": "missing",
        }
        try:
            client.query(request)
        except kuzzle_errors.error_class("services.storage.not_found") as error:
            return (
                f'caught by except error_class("services.storage.not_found") ({error.status})\n'
                f"-> {error.message} (retryable: {error.retryable})"
            )
        raise AssertionError("the missing document was found")

    # -- transport-specific scenarios ---------------------------------------------------------

    def http_dropped(self, client: KuzzleHTTP) -> str:
        doc_id = self._a_document()
        self.stub.drop("document", "get", times=1)  # HTTP: the connection dies, no answer
        get = {"controller": "document", "action": "get", "index": INDEX}
        get.update(collection=COLLECTION, _id=doc_id)
        try:
            client.query(get)
        except kuzzle_errors.ConnectionLostError as error:
            hint = error.retry_hint
            kind = "replay-safe" if hint.replay_safe else "not replay-safe (it may have run)"
            result = client.query(get, idempotent=True)
            return (
                f"connection died mid-request: ConnectionLostError, retryable, {kind}\n"
                f"-> document:get is idempotent: retried with idempotent=True, "
                f"found {result['_id']!r}"
            )
        raise AssertionError("the scripted drop did not happen")

    def ws_rate_limited_per_socket(self, client: KuzzleWebSocket) -> str:
        self.stub.configure(ws_rate_limit=3)
        try:
            _start_of_window()
            started = time.monotonic()
            for _ in range(4):
                client.query({"controller": "server", "action": "now"})
            elapsed = time.monotonic() - started
        finally:
            self.stub.configure(ws_rate_limit=None)
        first = self.retries[0].error if self.retries else None
        return (
            f"429 {first.id if first else '?'} (3 messages/s, 4 sent) names no request,\n"
            f"so the unanswered query failed after a {client.rate_limit_grace:g} s grace "
            f"instead of hanging\n"
            f"-> waited {self.waited()}; all 4 answered in {elapsed:.2f} s"
        )

    def ws_dropped(self, client: KuzzleWebSocket) -> str:
        doc_id = self._a_document()
        self.stub.slow("server", "info", 5.0, times=5)
        self.stub.drop("document", "get", code=1011, reason="too much backpressure", times=1)
        get = {"controller": "document", "action": "get", "index": INDEX}
        get.update(collection=COLLECTION, _id=doc_id)
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=5) as pool:
            before = self.stub.count("server", "info")
            slow = [
                pool.submit(client.query, {"controller": "server", "action": "info"})
                for _ in range(5)
            ]
            deadline = time.monotonic() + 5.0  # bounded: the stub records them at once
            while self.stub.count("server", "info") < before + 5 and time.monotonic() < deadline:
                time.sleep(0.005)
            dropped = time.monotonic()
            try:
                client.query(get)
            except kuzzle_errors.ConnectionLostError as error:
                errors.append(error)
            for future in slow:
                errors.append(future.exception(timeout=5.0) or AssertionError("answered"))
            elapsed = time.monotonic() - dropped
        if not all(isinstance(e, kuzzle_errors.ConnectionLostError) for e in errors):
            raise AssertionError(f"not every pending query failed: {errors!r}")
        result = client.query(get, idempotent=True)
        return (
            f"close code 1011 with {len(errors)} queries in flight: all failed at once "
            f"({elapsed:.2f} s)\nwith ConnectionLostError, none waited for its timeout\n"
            f"-> the idempotent get reconnected and found {result['_id']!r}"
        )

    def _a_document(self) -> str:
        doc_id = f"doc-{len(self.stub.requests)}"
        self.stub.add_document(INDEX, COLLECTION, doc_id, {"name": "kept"})
        return doc_id


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
        demo = _Demo(stub, out)
        out.write(f"kuzzle-errors demo: a Kuzzle stub on {stub.url} (HTTP and WebSocket)\n")
        if args.transport in ("both", "http"):
            out.write("\nHTTP (requests, POST /_query)\n")
            with KuzzleHTTP(stub.url, retry=demo.policy, timeout=5.0) as http:
                _run_common(demo, http, "h")
                demo.scenario("dropped", lambda: demo.http_dropped(http))
        if args.transport in ("both", "websocket"):
            out.write("\nWebSocket (websocket-client, one socket shared by threads)\n")
            with KuzzleWebSocket(
                stub.ws_url, retry=demo.policy, timeout=5.0, rate_limit_grace=0.2
            ) as ws:
                _run_common(demo, ws, "w")
                demo.scenario("socket limit", lambda: demo.ws_rate_limited_per_socket(ws))
                demo.scenario("dropped", lambda: demo.ws_dropped(ws))
    elapsed = time.monotonic() - started
    if demo.failures:
        out.write(f"\n{demo.failures} scenario(s) did not go as expected ({elapsed:.1f} s).\n")
        return 1
    out.write(f"\nDone in {elapsed:.1f} s. See README.md for the API used here.\n")
    return 0


def _run_common(demo: _Demo, client: Client, suffix: str) -> None:
    demo.scenario("overloaded", lambda: demo.overloaded(client))
    demo.scenario("rate limit", lambda: demo.rate_limited_per_user(client))
    demo.scenario("partial", lambda: demo.partial(client, suffix))
    demo.scenario("not found", lambda: demo.not_found(client))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
