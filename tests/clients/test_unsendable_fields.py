"""A token or request id a transport cannot carry fails its request alone, before anything is
sent, on all four clients (issue 19: "a request that cannot be encoded fails alone").

Over HTTP they travel as header values (printable ASCII only), over WebSocket inside the JSON
frame: there only what JSON in UTF-8 cannot carry (a lone surrogate) is refused, the rest
reaches Kuzzle, which judges the token itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from common import NOW
from four_clients import CLIENTS, Driver, client_id

import kuzzle_errors
from kuzzle_errors.testing import StubKuzzle

pytestmark = pytest.mark.anyio

CASES = {
    "jwt-lone-surrogate": {"jwt": "tok\ud83d"},  # a token read back cut, as JavaScript cuts
    "jwt-latin-1": {"jwt": "tok\u00e9"},
    "jwt-header-injection": {"jwt": "tok\r\nX-Admin: 1"},
    "request-id-latin-1": {"requestId": "r\u00e9q"},
    "request-id-newline": {"requestId": "req\nX-Admin: 1"},
    "request-id-edge-space": {"requestId": " req"},
}


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("cls", CLIENTS, ids=client_id)
async def test_a_field_the_transport_cannot_carry_fails_alone_before_sending(
    cls: type[Any], case: str, stub: StubKuzzle
) -> None:
    fields = CASES[case]
    async with Driver(cls, stub) as d:
        refused = not d.url.startswith("ws") or case == "jwt-lone-surrogate"
        if refused:
            with pytest.raises(kuzzle_errors.BadRequestError) as caught:
                await d.run("query", {**NOW, **fields})
            assert caught.value.retryable is False and caught.value.status is None
            assert "cannot encode the request" in str(caught.value)
            assert "tok" not in str(caught.value)  # the token is never shown
            assert stub.count("server", "now") == 0  # nothing was sent
        else:  # inside JSON: Kuzzle gets it (and refuses a token it did not issue)
            try:
                await d.run("query", {**NOW, **fields})
            except kuzzle_errors.AuthenticationRequiredError:
                assert "jwt" in fields
            assert stub.count("server", "now") == 1
        # The client goes on: the next request is sent and answered.
        assert (await d.run("query", NOW))["now"] > 0
