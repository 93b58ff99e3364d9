"""The demo's scenarios: script the stub, make an application's calls, say what happened.

Each method returns the text of its report line, or raises when the library did not behave
as the line would say (the report counts it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import kuzzle_errors
from kuzzle_errors.cli.demo_report import Report
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.testing import StubKuzzle
from kuzzle_errors.websocket import KuzzleWebSocket

__all__ = ["Client", "Scenarios"]

INDEX, COLLECTION = "demo", "items"
Client = KuzzleHTTP | KuzzleWebSocket


def _start_of_window() -> None:
    """Wait for a fresh rate-limit window, so the calls that follow share one.

    The stub, like Kuzzle, counts in fixed one-second windows of its clock (``time.monotonic``);
    calls straddling a boundary would be counted in two windows and might not be refused.
    """
    now = time.monotonic()
    time.sleep(math.ceil(now) - now + 0.01)


class Scenarios:
    """The scenarios, against one stub; retries are read from the report's records."""

    def __init__(self, stub: StubKuzzle, report: Report) -> None:
        self.stub = stub
        self.report = report

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
        first = self.report.first_error()
        hint = first.retry_hint if first is not None else None
        why = "refused before processing, replay-safe" if hint and hint.replay_safe else "?"
        return (
            f"503 {first.id if first else '?'} x{len(self.report.retries)}: {why}\n"
            f"-> retried after {self.report.waited()}, then created {result['_id']!r}"
        )

    def rate_limited_per_user(self, client: Client) -> str:
        elapsed = self._over_the_limit(client, lambda n: self.stub.configure(rate_limit=n), 2)
        return (
            f"429 {self.report.first_id()} (2 calls/s allowed, 3 made)\n"
            f"-> waited {self.report.waited()} (Kuzzle's 1 s window); "
            f"all 3 answered in {elapsed:.2f} s"
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
        elapsed = self._over_the_limit(client, lambda n: self.stub.configure(ws_rate_limit=n), 3)
        return (
            f"429 {self.report.first_id()} (3 messages/s, 4 sent) names no request,\n"
            "so the refused query failed once the others were answered, "
            "instead of hanging\n"
            f"-> waited {self.report.waited()}; all 4 answered in {elapsed:.2f} s"
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
