"""Inspect a partial ``document:mCreate``: which documents failed, why, which succeeded, and
which are worth sending again.

Kuzzle 2 reports a partial failure three ways; ``except kuzzle_errors.PartialError`` catches
all of them. Runs against the embedded stub, no server needed::

    pip install '.[http,stub]'   # from a checkout of kuzzle-errors
    python examples/partial_mcreate.py
"""

from __future__ import annotations

import sys
from typing import Any

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.testing import StubKuzzle


def mcreate(ids: list[str], **options: Any) -> dict[str, Any]:
    documents = [{"_id": doc_id, "body": {"name": doc_id}} for doc_id in ids]
    return {
        "controller": "document",
        "action": "mCreate",
        "index": "shop",
        "collection": "products",
        "body": {"documents": documents},
        **options,
    }


def show(error: kuzzle_errors.PartialError) -> None:
    kind = (
        "MultipleErrorsError"
        if isinstance(error, kuzzle_errors.MultipleErrorsError)
        else "PartialError"
    )
    label = f"{kind} {error.id}" if error.id else kind
    print(f"  {label}: {len(error)} failed, count={error.count}")
    for item in error.items:
        print(f"  - {item.id}: {item.reason} (status {item.status})")
        print(f"    {item.error_id}, retryable={item.retryable}")
    if error.successes is None:  # strict: true on the server: Kuzzle does not say
        print("  succeeded: unknown (Kuzzle does not say; the other items were written)")
    else:
        print(f"  succeeded: {[doc['_id'] for doc in error.successes]}")
    # The request again, with only the failed items whose own hint says a retry may succeed:
    # None here, an existing document is not written blindly again.
    print(f"  worth sending again: {error.retry_request()}")


def main() -> int:
    with StubKuzzle() as stub, KuzzleHTTP(stub.url) as kuzzle:
        stub.add_collection("shop", "products")  # a real node has its collections
        kuzzle.query(mcreate(["apple", "pear"]))

        # 1. Kuzzle 2 answers 200 with {successes, errors}: strict=True raises on the client.
        print("200 with errors, strict=True on the client:")
        try:
            kuzzle.query(mcreate(["apple", "plum"]), strict=True)
        except kuzzle_errors.PartialError as error:
            show(error)

        # 2. strict: true on the server: a 400 MultipleErrorsError (fig was written anyway).
        print("400 MultipleErrorsError, strict: true on the server:")
        try:
            kuzzle.query(mcreate(["pear", "fig"], strict=True))
        except kuzzle_errors.PartialError as error:
            show(error)
            get = {"controller": "document", "action": "get", "_id": "fig"}
            fig = kuzzle.query({**get, "index": "shop", "collection": "products"})
            print(f"  fig written: {fig['_id'] == 'fig'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
