"""Bulk ingest without duplicates: 5,000 readings in batches, every reading accounted for once.

Runs against the embedded stub with Kuzzle's default limits (at most 200 documents written per
request), meeting what a real node does to an ingest: an overloaded node (503, refused before
running: the retry policy replays it), answers lost after a batch ran (it "may have run"), and
documents that exist already, from yesterday's run or from an earlier attempt of this one::

    pip install '.[http,stub]'   # from a checkout of kuzzle-errors
    python examples/bulk_ingest.py

The recipe (docs/guides/bulk-ingest.md): deterministic ids, ``mCreate`` (never overwrite),
batches that fit the limits, the same batch sent again after "may have run", and "already
exists" reconciled by reading the stored document: this run's mark means an earlier attempt
wrote it, another mark means it was there before.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.partial import batches
from kuzzle_errors.retry import RetryPolicy
from kuzzle_errors.testing import StubKuzzle

WHERE = {"index": "plant", "collection": "readings"}
RUN = "run-2026-12-07"  # this run's mark, in every document it writes
SENSORS, SAMPLES = 50, 100  # 5,000 readings
#: How many times one batch is sent after it may have run, before it is reported as failed.
SENDS = 3


def readings() -> list[dict[str, Any]]:
    """The readings to write, each with an id of its own making: sensor and time."""
    return [
        {
            "_id": f"s{sensor:02d}-t{t:03d}",
            "body": {"sensor": sensor, "t": t, "celsius": 15 + (sensor * t) % 10, "run": RUN},
        }
        for sensor in range(SENSORS)
        for t in range(SAMPLES)
    ]


@dataclass
class Tally:
    """Where each reading went: every one lands in exactly one of these."""

    written: int = 0  # written by this run, the first time
    earlier: int = 0  # "already exists", written by an earlier attempt of this run
    existing: int = 0  # "already exists", from another run: left as it was
    failed: list[str] = field(default_factory=list)  # not written: their ids

    @property
    def total(self) -> int:
        return self.written + self.earlier + self.existing + len(self.failed)


def mcreate(documents: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "controller": "document",
        "action": "mCreate",
        **WHERE,
        "body": {"documents": documents},
    }


def reconcile(kuzzle: KuzzleHTTP, ids: list[str], tally: Tally) -> set[str]:
    """Documents that exist already: ours (an earlier attempt) or another run's? Returns the
    ids found stored."""
    found = kuzzle.query(
        {"controller": "document", "action": "mGet", **WHERE, "body": {"ids": ids}}
    )
    for document in found["successes"]:
        if document["_source"].get("run") == RUN:
            tally.earlier += 1
        else:
            tally.existing += 1
    return {document["_id"] for document in found["successes"]}


def send(kuzzle: KuzzleHTTP, batch: list[dict[str, Any]], tally: Tally) -> None:
    request: dict[str, Any] | None = mcreate(batch)
    for _ in range(SENDS):
        assert request is not None
        try:
            # strict=True: a 200 holding failed items raises, with its successes known.
            result = kuzzle.query(request, strict=True)
            tally.written += len(result["successes"])
            return
        except kuzzle_errors.PartialError as error:
            tally.written += len(error.successes or [])
            exists = [i for i in error.items if i.matches("*.document_already_exists")]
            if exists:
                reconcile(kuzzle, [str(item.id) for item in exists], tally)
            # Anything else not worth sending again is reported, not retried.
            tally.failed += [
                str(item.id) for item in error.items if item not in exists and not item.retryable
            ]
            request = error.retry_request()  # only the items whose own hint says so
            if request is None:
                return
        except kuzzle_errors.KuzzleError as error:
            if not error.retryable:
                raise
            # The batch may have run (its answer was lost): mCreate is not replayed by the
            # policy, but with these ids sending it again writes nothing twice: what ran
            # answers "already exists", and reconcile() counts it as this run's.
            continue
    # Out of sends: the last one may have run too. What is stored now was written (by this
    # run, or before it); only the rest failed.
    ids = [document["_id"] for document in (request or {}).get("body", {}).get("documents", [])]
    if ids:
        stored = reconcile(kuzzle, ids, tally)
        tally.failed += [doc_id for doc_id in ids if doc_id not in stored]


def main() -> int:
    policy = RetryPolicy(base=0.05, cap=0.2, budget=None)  # short waits: a demo
    with StubKuzzle() as stub, KuzzleHTTP(stub.url, retry=policy) as kuzzle:
        stub.add_collection("plant", "readings")
        for t in range(40):  # yesterday's run wrote sensor 0's first 40 readings
            doc_id = f"s00-t{t:03d}"
            stub.add_document("plant", "readings", doc_id, {"sensor": 0, "t": t, "run": "run-0"})
        everything = readings()
        try:  # one request for everything: over limits.documentsWriteCount
            kuzzle.query(mcreate(everything))
        except kuzzle_errors.SizeLimitError as error:
            limit = error.limit  # the Kuzzle setting that refused it
            named = f"{limit.setting}, {limit.default}" if limit is not None else "?"
            print(f"one request: {error.id} ({named})")
        stub.overload(times=3)  # 503s, refused before running: replayed by the policy
        # The first batch ran, and the answer of every send of it was lost.
        stub.drop("document", "mCreate", ran=True, times=SENDS)
        tally = Tally()
        for batch in batches(everything):  # 200 documents at most, under 1 MiB
            send(kuzzle, batch, tally)
        counting = {"controller": "document", "action": "count", **WHERE}
        count = kuzzle.query(counting)["count"]
        ours = kuzzle.query({**counting, "body": {"query": {"term": {"run": RUN}}}})["count"]
    print(f"readings: {len(everything)}, accounted for: {tally.total}")
    print(f"written: {tally.written}, by an earlier attempt: {tally.earlier}")
    print(f"there before: {tally.existing}, failed: {len(tally.failed)}")
    print(f"stored: {count} documents, {ours} of this run")
    ok = tally.total == len(everything) == count and ours == tally.written + tally.earlier
    print("every reading accounted for once:", ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
