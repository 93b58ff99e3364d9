"""``kuzzle-errors demo``: the library against an embedded Kuzzle stub, over HTTP and WebSocket.

Each scenario scripts the stub, makes an application's calls and returns the line saying what
the error was and what the client did; it raises when the library did not behave as that line
would say (the demo counts it and goes on). What it shows: docs/reference/cli.md.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO, TypeAlias

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.retry import RetryDetails, RetryPolicy
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket

__all__ = ["docs_url", "main"]

INDEX, COLLECTION = "demo", "items"
#: The clients the demo plays its scenarios with.
Client: TypeAlias = KuzzleHTTP | KuzzleWebSocket

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


def _document(action: str, **fields: Any) -> dict[str, Any]:
    """A ``document`` request on the demo's collection."""
    return {
        "controller": "document",
        "action": action,
        "index": INDEX,
        "collection": COLLECTION,
        **fields,
    }


def _start_of_window() -> None:
    """Wait for a fresh rate-limit window, so the calls that follow share one.

    The stub, like Kuzzle, counts in fixed one-second windows of its clock (``time.monotonic``);
    calls straddling a boundary would be counted in two windows and might not be refused.
    """
    now = time.monotonic()
    time.sleep(math.ceil(now) - now + 0.01)


class Demo:
    """The scenarios against one stub, each printed as one labelled line."""

    def __init__(self, stub: StubKuzzle, out: TextIO) -> None:
        self.stub = stub
        self.out = out
        self.failures: int = 0
        #: The retries of the running scenario (the policy's ``on_retry`` appends here).
        self.retries: list[RetryDetails] = []
        # Short backoff so the demo stays quick; server hints (the 1 s rate window) still rule.
        self.policy: RetryPolicy = RetryPolicy(
            attempts=4, base=0.1, cap=0.5, budget=None, on_retry=self.retries.append
        )

    def run(self, label: str, scenario: Callable[[], str]) -> None:
        self.retries.clear()
        try:
            text = scenario()
        except Exception as exc:  # the demo reports, it never crashes half-way
            self.failures += 1
            text = f"UNEXPECTED {type(exc).__name__}: {exc}"
        first, *rest = text.split("\n")
        self.out.write(f"  {label:<14}{first}\n")
        for more in rest:
            self.out.write(f"  {'':<14}{more}\n")
        self.out.flush()

    def first_id(self) -> str:
        """The id of the error that made the policy retry first ("?": no retry)."""
        first = self.retries[0].error if self.retries else None
        return first.id if first is not None and first.id else "?"

    def waited(self) -> str:
        """The waits of the retry policy in this scenario."""
        delays = [f"{r.delay:.2f} s" for r in self.retries]
        return " and ".join(delays) if delays else "no wait"

    # -- scenarios shared by both transports ------------------------------------------------

    def common(self, client: Client, suffix: str) -> None:
        """The scenarios both transports play."""
        self.run("overloaded", lambda: self.overloaded(client))
        self.run("rate limit", lambda: self.rate_limited_per_user(client))
        self.run("partial", lambda: self.partial(client, suffix))
        self.run("not found", lambda: self.not_found(client))

    def overloaded(self, client: Client) -> str:
        """A 503 overload twice: retried, then created."""
        self.stub.overload(times=2)
        result = client.query(_document("create", body={"name": "first"}))
        hint = self.retries[0].error.retry_hint if self.retries else None
        why = "refused before processing, replay-safe" if hint and hint.replay_safe else "?"
        return (
            f"503 {self.first_id()} x{len(self.retries)}: {why}\n"
            f"-> retried after {self.waited()}, then created {result['_id']!r}"
        )

    def rate_limited_per_user(self, client: Client) -> str:
        """Over the per-user rate limit: each 429 waits for the next window."""
        elapsed = self._over_the_limit(client, lambda n: self.stub.configure(rate_limit=n), 2)
        return (
            f"429 {self.first_id()} (2 calls/s allowed, 3 made)\n"
            f"-> waited {self.waited()} (Kuzzle's 1 s window); all 3 answered in {elapsed:.2f} s"
        )

    def partial(self, client: Client, suffix: str) -> str:
        """A strict mCreate with one duplicate: a MultipleErrorsError and its items."""
        self.stub.add_document(INDEX, COLLECTION, f"dup-{suffix}", {"name": "already here"})
        docs = [{"_id": f"{name}-{suffix}", "body": {"name": name}} for name in ("a", "dup", "b")]
        # strict: Kuzzle then raises MultipleErrorsError (the other documents are written)
        request = _document("mCreate", body={"documents": docs}, strict=True)
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
        """A missing document, caught by its exact id."""
        try:
            client.query(_document("get", _id="missing"))
        except kuzzle_errors.error_class("services.storage.not_found") as error:
            return (
                f'caught by except error_class("services.storage.not_found") ({error.status})\n'
                f"-> {error.message} (retryable: {error.retryable})"
            )
        raise AssertionError("the missing document was found")

    # -- transport-specific scenarios ---------------------------------------------------------

    def http_dropped(self, client: KuzzleHTTP) -> str:
        """An HTTP connection dying mid-request: a read is replayed by default."""
        get = _document("get", _id=self._a_document())
        self.stub.drop("document", "get", times=1)  # HTTP: the connection dies, no answer
        before = self.stub.count("document", "get")
        result = client.query(get)  # idempotent=None: document:get's replay safety (a read)
        if self.stub.count("document", "get") - before != 2:
            raise AssertionError("the scripted drop did not happen")
        return (
            "connection died mid-request: ConnectionLostError, the request may have run\n"
            "-> document:get is a read: replayed by default (idempotent=None), "
            f"found {result['_id']!r}"
        )

    def ws_rate_limited_per_socket(self, client: KuzzleWebSocket) -> str:
        """Over the per-socket rate limit: the refusal names no request."""
        elapsed = self._over_the_limit(client, lambda n: self.stub.configure(ws_rate_limit=n), 3)
        return (
            f"429 {self.first_id()} (3 messages/s, 4 sent) names no request,\n"
            "so the refused query failed once the others were answered, instead of hanging\n"
            f"-> waited {self.waited()}; all 4 answered in {elapsed:.2f} s"
        )

    def ws_dropped(self, client: KuzzleWebSocket) -> str:
        """A WebSocket dropped with pending queries: all fail at once, the next reconnects."""
        get = _document("get", _id=self._a_document())
        self.stub.slow("server", "info", 5.0, times=5)
        self.stub.drop("document", "get", code=1011, reason="too much backpressure", times=1)
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=5) as pool:
            before = self.stub.count("server", "info")
            # idempotent=False: these reads would be replayed by default; here they show
            # the drop failing every pending query at once.
            info = {"controller": "server", "action": "info"}
            slow = [pool.submit(client.query, info, idempotent=False) for _ in range(5)]
            deadline = time.monotonic() + 5.0  # bounded: the stub records them at once
            while self.stub.count("server", "info") < before + 5 and time.monotonic() < deadline:
                time.sleep(0.005)
            dropped = time.monotonic()
            try:
                client.query(get, idempotent=False)
            except kuzzle_errors.ConnectionLostError as error:
                errors.append(error)
            for future in slow:
                errors.append(future.exception(timeout=5.0) or AssertionError("answered"))
            elapsed = time.monotonic() - dropped
        if not all(isinstance(e, kuzzle_errors.ConnectionLostError) for e in errors):
            raise AssertionError(f"not every pending query failed: {errors!r}")
        result = client.query(get)
        return (
            f"close code 1011 with {len(errors)} queries in flight (idempotent=False): all "
            f"failed at once ({elapsed:.2f} s)\nwith ConnectionLostError, none waited for its "
            f"timeout\n-> the get (a read) reconnected and found {result['_id']!r}"
        )

    def _over_the_limit(
        self, client: Client, set_limit: Callable[[int | None], None], per_second: int
    ) -> float:
        """Make one call more than a per-second limit allows in one window; the seconds
        all the calls took (the retry policy waits the refused one out)."""
        set_limit(per_second)
        try:
            _start_of_window()
            started = time.monotonic()
            for _ in range(per_second + 1):
                client.query({"controller": "server", "action": "now"})
            return time.monotonic() - started
        finally:
            set_limit(None)

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
        stub.add_collection(INDEX, COLLECTION)  # as on a real node, writes need a collection
        demo = Demo(stub, out)
        out.write(f"kuzzle-errors demo: a Kuzzle stub on {stub.url} (HTTP and WebSocket)\n")
        if args.transport in ("both", "http"):
            out.write("\nHTTP (requests, POST /_query)\n")
            with KuzzleHTTP(stub.url, retry=demo.policy, timeout=5.0) as http:
                demo.common(http, "h")
                demo.run("dropped", lambda: demo.http_dropped(http))
        if args.transport in ("both", "websocket"):
            out.write("\nWebSocket (websocket-client, one socket shared by threads)\n")
            with KuzzleWebSocket(stub.ws_url, retry=demo.policy, timeout=5.0) as ws:
                demo.common(ws, "w")
                demo.run("socket limit", lambda: demo.ws_rate_limited_per_socket(ws))
                demo.run("dropped", lambda: demo.ws_dropped(ws))
    elapsed = time.monotonic() - started
    if demo.failures:
        out.write(f"\n{demo.failures} scenario(s) did not go as expected ({elapsed:.1f} s).\n")
        return 1
    out.write(f"\nDone in {elapsed:.1f} s. The API used here: {docs_url()}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
