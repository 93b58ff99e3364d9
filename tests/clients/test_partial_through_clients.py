"""Partial failures through the four clients (issue 22), against the stub: the error knows the
request it answers, each failed item has its own hint, ``successes`` is None when Kuzzle does
not say, and ``retry_request`` gives back the request holding only the items chosen, ready to
send again."""

from __future__ import annotations

from typing import Any

import pytest
from four_clients import CLIENTS, Driver, client_id, play

from kuzzle_errors import KuzzleError, MultipleErrorsError, NotFoundError, PartialError
from kuzzle_errors.testing import StubKuzzle

WHERE = {"index": "shop", "collection": "products"}


def mcreate(ids: list[str], **options: Any) -> dict[str, Any]:
    documents = [{"_id": doc_id, "body": {"name": doc_id}} for doc_id in ids]
    return {
        "controller": "document",
        "action": "mCreate",
        **WHERE,
        "body": {"documents": documents},
        **options,
    }


@pytest.fixture
def shop(stub: StubKuzzle) -> StubKuzzle:
    stub.add_collection("shop", "products")
    stub.add_document("shop", "products", "apple", {"name": "apple"})
    return stub


@pytest.mark.parametrize("cls", CLIENTS, ids=client_id)
def test_a_partial_mcreate_knows_its_request_and_its_items(
    cls: type[Any], shop: StubKuzzle
) -> None:
    async def scenario(kuzzle: Driver) -> None:
        request = mcreate(["apple", "plum"])
        with pytest.raises(PartialError) as caught:
            await kuzzle.run("query", request, strict=True)  # client side: 200 with errors
        error = caught.value
        assert error.request == request  # as sent, without the request id and token
        (item,) = error.items
        assert (item.id, item.error_id) == ("apple", "services.storage.document_already_exists")
        assert not item.retryable and "earlier attempt" in item.retry_hint.reason
        assert [doc["_id"] for doc in error.successes or []] == ["plum"]
        # Nothing is worth sending again as is; every failed item, on request.
        assert error.retry_request() is None
        assert error.retry_request("all") == {
            **request,
            "body": {"documents": [request["body"]["documents"][0]]},
        }

    play(cls, shop, scenario)


@pytest.mark.parametrize("cls", CLIENTS, ids=client_id)
def test_a_strict_mcreate_says_nothing_of_its_successes(cls: type[Any], shop: StubKuzzle) -> None:
    async def scenario(kuzzle: Driver) -> None:
        with pytest.raises(MultipleErrorsError) as caught:
            await kuzzle.run("query", mcreate(["apple", "fig"], strict=True))
        # Kuzzle answers no result: unknown, not "none" (fig was written).
        assert caught.value.successes is None
        get = {"controller": "document", "action": "get", **WHERE, "_id": "fig"}
        assert (await kuzzle.run("query", get))["_id"] == "fig"

    play(cls, shop, scenario)


@pytest.mark.parametrize("cls", CLIENTS, ids=client_id)
def test_the_failed_items_of_an_mget_are_sent_again_once_they_exist(
    cls: type[Any], shop: StubKuzzle
) -> None:
    async def scenario(kuzzle: Driver) -> None:
        mget = {"controller": "document", "action": "mGet", **WHERE}
        request = {**mget, "body": {"ids": ["apple", "pear", "kiwi"]}}
        with pytest.raises(PartialError) as caught:
            await kuzzle.run("query", request, strict=True)
        error = caught.value
        assert [(i.id, i.error_id) for i in error.items] == [
            ("pear", "services.storage.not_found"),
            ("kiwi", "services.storage.not_found"),
        ]
        again = error.retry_request("all")
        assert again == {**mget, "body": {"ids": ["pear", "kiwi"]}}
        shop.add_document("shop", "products", "pear", {"name": "pear"})
        shop.add_document("shop", "products", "kiwi", {"name": "kiwi"})
        result = await kuzzle.run("query", again, strict=True)
        assert [doc["_id"] for doc in result["successes"]] == ["pear", "kiwi"]

    play(cls, shop, scenario)


@pytest.mark.parametrize("cls", CLIENTS, ids=client_id)
def test_a_bulk_import_gives_back_only_its_failed_operations(
    cls: type[Any], shop: StubKuzzle
) -> None:
    async def scenario(kuzzle: Driver) -> None:
        bulk = [
            {"create": {"_id": "apple"}},
            {"name": "apple again"},
            {"index": {"_id": "melon"}},
            {"name": "melon"},
            {"delete": {"_id": "ghost"}},
        ]
        request = {"controller": "bulk", "action": "import", **WHERE, "body": {"bulkData": bulk}}
        with pytest.raises(PartialError) as caught:
            await kuzzle.run("query", request, strict=True)
        error = caught.value
        assert [(i.action, i.id, i.error_id) for i in error.items] == [
            ("create", "apple", "services.storage.document_already_exists"),
            ("delete", "ghost", "services.storage.not_found"),
        ]
        again = error.retry_request("all")
        assert again is not None
        assert again["body"]["bulkData"] == [bulk[0], bulk[1], bulk[4]]

    play(cls, shop, scenario)


@pytest.mark.parametrize("cls", CLIENTS, ids=client_id)
def test_any_error_knows_its_request(cls: type[Any], shop: StubKuzzle) -> None:
    async def scenario(kuzzle: Driver) -> None:
        get = {"controller": "document", "action": "get", **WHERE, "_id": "nope"}
        with pytest.raises(NotFoundError) as caught:
            await kuzzle.run("query", get)
        assert caught.value.request == get
        assert "jwt" not in caught.value.request and "requestId" not in caught.value.request

    play(cls, shop, scenario)


@pytest.mark.parametrize("cls", CLIENTS, ids=client_id)
def test_a_login_error_keeps_its_request_without_the_password(
    cls: type[Any], shop: StubKuzzle
) -> None:
    shop.add_user("alice", "s3cret!")

    async def scenario(kuzzle: Driver) -> None:
        with pytest.raises(KuzzleError) as caught:
            await kuzzle.run("login", {"username": "alice", "password": "wrong-one"})
        sent = caught.value.request
        assert sent is not None and sent["action"] == "login"
        assert sent["body"] == {"username": "alice", "password": "[REDACTED]"}
        assert "wrong-one" not in repr(sent)

    play(cls, shop, scenario)
