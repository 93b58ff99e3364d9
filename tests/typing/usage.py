"""Typical user code, type-checked (never run) by ``mypy --strict`` and pyright in strict mode.

nox's ``typing`` session checks it against the installed wheel (``nox -s typing``); from the
repository root, ``mypy --strict tests/typing/usage.py`` and ``pyright tests/typing/usage.py``
check it against the checkout. Each ``assert_type`` fails the check when a public type
drifts: above all ``error_class("<literal id>")`` must stay that id's own class (the
overloads of ``codes.pyi``), so that ``except error_class("services.storage.not_found") as
error`` knows what ``error`` is.
"""
# pyright: strict

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import kuzzle_errors
from kuzzle_errors import (
    KuzzleError,
    NotFoundError,
    PartialError,
    PartialItem,
    RetryHint,
    ServiceUnavailableError,
    error_class,
    parse_response,
)
from kuzzle_errors.codes import ApiProcessOverloaded, ServicesStorageNotFound
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.retry import RetryPolicy, retrying
from kuzzle_errors.testing import StubKuzzle

GET = {"controller": "document", "action": "get", "index": "i", "collection": "c", "_id": "d"}


def error_class_narrows_to_the_ids_own_class(some_id: str) -> None:
    assert_type(error_class("services.storage.not_found"), type[ServicesStorageNotFound])
    assert_type(error_class("api.process.overloaded"), type[ApiProcessOverloaded])
    assert_type(kuzzle_errors.error_class("api.process.overloaded"), type[ApiProcessOverloaded])
    assert_type(error_class("NotFoundError"), type[NotFoundError])  # a Kuzzle class name
    assert_type(error_class(some_id), type[KuzzleError])  # unknown until run time
    assert_type(error_class(0x0101000B, version=2), type[KuzzleError])
    # The id's class is a subclass of its Kuzzle class: catching either works.
    family: type[NotFoundError] = error_class("services.storage.not_found")
    overloaded: type[ServiceUnavailableError] = error_class("api.process.overloaded")
    del family, overloaded


def get_document(client: KuzzleHTTP) -> dict[str, Any] | None:
    """Catch by exact id, then by Kuzzle class, then any Kuzzle error."""
    try:
        document: dict[str, Any] = client.query(GET, idempotent=True)
    except error_class("services.storage.not_found") as error:
        assert_type(error, ServicesStorageNotFound)
        assert_type(error.id, str | None)
        return None
    except NotFoundError as error:
        assert_type(error.status, int | None)
        raise
    except KuzzleError as error:
        hint = error.retry_hint
        assert_type(hint, RetryHint)
        assert_type(hint.retryable, bool)
        assert_type(hint.replay_safe, bool)
        assert_type(hint.delay, float)
        assert_type(error.request_id, str | None)
        assert_type(error.to_dict(), dict[str, Any])
        raise
    return document


def retry_a_client() -> None:
    policy = RetryPolicy(attempts=5, timeout=30.0, max_delay=10.0)

    @retrying(policy, idempotent=True)
    def count(client: KuzzleHTTP, collection: str) -> int:
        request = {"controller": "document", "action": "count", "collection": collection}
        result: int = client.query(request)["count"]
        return result

    with KuzzleHTTP("http://127.0.0.1:7512", retry=policy, timeout=5.0) as client:
        assert_type(client, KuzzleHTTP)
        assert_type(client.query({"controller": "server", "action": "now"}), Any)
        assert_type(policy.call(get_document, client), dict[str, Any] | None)
        assert_type(count(client, "orders"), int)  # the decorator keeps the signature
    assert_type(policy.replace(attempts=2), RetryPolicy)


async def retry_a_coroutine(policy: RetryPolicy) -> None:
    async def now() -> float:
        return 0.0

    assert_type(await policy.acall(now), float)


def partial_failures(body: bytes) -> list[str | None]:
    error = parse_response(body, http_status=206)
    assert_type(error, KuzzleError | None)
    if not isinstance(error, PartialError):
        return []
    assert_type(error.items, list[PartialItem])
    for item in error.items:
        assert_type(item.id, str | None)
        assert_type(item.status, int | None)
        assert_type(item.error, KuzzleError | None)
    return [item.id for item in error.items]


def a_test_with_the_stub() -> None:
    with StubKuzzle() as stub:
        assert_type(stub, StubKuzzle)
        assert_type(stub.url, str)
        assert_type(stub.ws_url, str)
        with KuzzleHTTP(stub.url) as client:
            get_document(client)
