"""Replay safety per action through the four clients (issue 22), against the stub.

``query(idempotent=None)`` takes its default from the action's replay safety
(:data:`kuzzle_errors.hints.ACTIONS`): a read is replayed after "it may have run", a create is
not, the caller's True or False wins; ``login()`` follows ``auth:login``'s (safe) and refuses
swapped or wrong-typed arguments with a TypeError naming its signature before sending
anything; a deterministic storage failure is not retried, whatever ``idempotent`` says.
"""

from __future__ import annotations

from typing import Any

import pytest
from common import NOW
from four_clients import CLIENTS, Driver, play

from kuzzle_errors import (
    ConnectionLostError,
    ExternalServiceError,
    GatewayTimeoutError,
    NotFoundError,
)
from kuzzle_errors._protocol.queries import LOGIN_SIGNATURE
from kuzzle_errors.testing import StubKuzzle

CREATE = {
    "controller": "document",
    "action": "create",
    "index": "i",
    "collection": "c",
    "_id": "d1",
    "body": {"v": 1},
}


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_reads_are_replayed_by_default_creates_are_not_and_the_caller_wins(
    cls: type[Any], stub: StubKuzzle
) -> None:
    stub.add_collection("i", "c")

    async def scenario(kuzzle: Driver) -> None:
        # A 504 leaves "it may have run": server:now is a read, replayed by default...
        stub.fail("server", "now", "core.sandbox.timeout", 100, times=1)
        assert "now" in await kuzzle.run("query", NOW)
        assert stub.count("server", "now") == 2
        # ...unless its caller says it is not.
        stub.fail("server", "now", "core.sandbox.timeout", 100, times=1)
        with pytest.raises(GatewayTimeoutError):
            await kuzzle.run("query", NOW, idempotent=False)
        assert stub.count("server", "now") == 3
        # A create is not replayed by default: a replay after it ran says "already exists".
        stub.fail("document", "create", "core.sandbox.timeout", 100, times=1)
        with pytest.raises(GatewayTimeoutError) as caught:
            await kuzzle.run("query", CREATE)
        assert "pass idempotent=True" in str(caught.value.__notes__)
        assert stub.count("document", "create") == 1
        # Its caller may still say so (a create whose first run is known not to have run).
        stub.fail("document", "create", "core.sandbox.timeout", 100, times=1)
        assert (await kuzzle.run("query", CREATE, idempotent=True))["_id"] == "d1"
        assert stub.count("document", "create") == 3

    play(cls, stub, scenario)


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_login_is_replayed_after_its_answer_was_lost(cls: type[Any], stub: StubKuzzle) -> None:
    stub.add_user("alice", "s3cret!")
    # The policy here does not wait: Kuzzle's one login per second per connection would
    # refuse the replays on a WebSocket (that limit has its own tests).
    stub.configure(logins_per_second=None)

    async def scenario(kuzzle: Driver) -> None:
        # The login ran, its answer was lost with the connection: replayed (a second token).
        stub.drop("auth", "login", ran=True, times=1)
        jwt = await kuzzle.run("login", {"username": "alice", "password": "s3cret!"})
        assert isinstance(jwt, str) and jwt
        assert stub.count("auth", "login") == 2
        # idempotent=False: the caller's word wins over the action's.
        stub.drop("auth", "login", ran=True, times=1)
        with pytest.raises(ConnectionLostError):
            await kuzzle.run(
                "login", {"username": "alice", "password": "s3cret!"}, idempotent=False
            )
        assert stub.count("auth", "login") == 3

    play(cls, stub, scenario)


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_a_replayed_delete_that_had_run_is_a_404_after_two_attempts(
    cls: type[Any], stub: StubKuzzle
) -> None:
    # What the retrying guide tells users to read as "done".
    stub.add_document("i", "c", "d1", {"v": 1})
    delete = {**CREATE, "action": "delete"}
    del delete["body"]

    async def scenario(kuzzle: Driver) -> None:
        stub.drop("document", "delete", ran=True, times=1)
        with pytest.raises(NotFoundError) as caught:
            await kuzzle.run("query", delete)
        assert caught.value.id == "services.storage.not_found"
        assert caught.value.attempts == 2
        assert stub.count("document", "delete") == 2

    play(cls, stub, scenario)


BAD_LOGINS: list[tuple[tuple[Any, ...], dict[str, Any], str]] = [
    (("local", {"username": "alice", "password": "x"}), {}, "the credentials come first"),
    ((["alice", "x"],), {}, "credentials must be a mapping"),
    (({"username": "alice"}, 5), {}, "strategy must be the name of a strategy"),
    (({"username": "alice"},), {"expires_in": 1.5}, "expires_in must be a duration"),
    (({"username": "alice"},), {"idempotent": "yes"}, "idempotent must be True, False or None"),
]


@pytest.mark.parametrize(("args", "kwargs", "says"), BAD_LOGINS, ids=[b[2] for b in BAD_LOGINS])
@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_a_swapped_or_wrong_typed_login_argument_is_a_type_error_naming_the_signature(
    cls: type[Any], stub: StubKuzzle, args: tuple[Any, ...], kwargs: dict[str, Any], says: str
) -> None:
    async def scenario(kuzzle: Driver) -> None:
        with pytest.raises(TypeError, match=says) as caught:
            await kuzzle.run("login", *args, **kwargs)
        if "idempotent" not in says:
            assert LOGIN_SIGNATURE in str(caught.value)
        assert stub.count("auth", "login") == 0  # refused before anything was sent

    play(cls, stub, scenario)


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_a_wrong_typed_idempotent_is_a_type_error(cls: type[Any], stub: StubKuzzle) -> None:
    async def scenario(kuzzle: Driver) -> None:
        with pytest.raises(TypeError, match="idempotent must be True, False or None"):
            await kuzzle.run("query", NOW, idempotent=1)
        assert stub.count("server", "now") == 0

    play(cls, stub, scenario)


@pytest.mark.parametrize("idempotent", [None, True], ids=["default", "idempotent"])
@pytest.mark.parametrize("request_", ["server:now", None, [NOW]], ids=["str", "none", "list"])
@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_a_request_that_is_not_a_mapping_is_a_type_error_naming_the_signature(
    cls: type[Any], stub: StubKuzzle, request_: object, idempotent: bool | None
) -> None:
    async def scenario(kuzzle: Driver) -> None:
        with pytest.raises(TypeError, match=r"query\(request, \*, idempotent=None"):
            await kuzzle.run("query", request_, idempotent=idempotent)
        assert stub.requests == []

    play(cls, stub, scenario)


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_a_deterministic_storage_failure_is_not_retried_even_when_idempotent(
    cls: type[Any], stub: StubKuzzle
) -> None:
    # Issue 22: 500 services.storage.unexpected_error was retried 5 times over 11 s.
    stub.fail("server", "now", "services.storage.unexpected_error", "mapper_parsing_exception")

    async def scenario(kuzzle: Driver) -> None:
        with pytest.raises(ExternalServiceError) as caught:
            await kuzzle.run("query", NOW, idempotent=True)
        assert caught.value.id == "services.storage.unexpected_error"
        assert not caught.value.retryable
        assert stub.count("server", "now") == 1

    play(cls, stub, scenario)
