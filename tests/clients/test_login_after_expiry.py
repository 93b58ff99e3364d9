"""A login after the token expired, through the four clients (issue 23).

Kuzzle checks the token a request carries before it runs the action, ``auth:login``
included: a login sending the expired token is refused 401 ``security.token.invalid``.
``login()`` sends none, so logging in again (as ``on_token_expired`` does) works.
"""

from __future__ import annotations

from typing import Any

import pytest
from common import NOW
from four_clients import CLIENTS, Driver, client_id, play

from kuzzle_errors import AuthenticationRequiredError
from kuzzle_errors.testing import StubKuzzle

CREDENTIALS = {"username": "alice", "password": "s3cret!"}


@pytest.mark.parametrize("cls", CLIENTS, ids=client_id)
def test_logging_in_again_after_the_token_expired_sends_no_stale_token(
    cls: type[Any], stub: StubKuzzle
) -> None:
    stub.add_user("alice", "s3cret!")
    stub.configure(logins_per_second=None)  # two logins within a second on one socket

    async def scenario(kuzzle: Driver) -> None:
        await kuzzle.run("login", CREDENTIALS)
        stub.expire_tokens()
        with pytest.raises(AuthenticationRequiredError):
            await kuzzle.run("query", NOW)
        jwt = await kuzzle.run("login", CREDENTIALS)
        assert "now" in await kuzzle.run("query", NOW)
        logins = [r for r in stub.requests if (r.controller, r.action) == ("auth", "login")]
        assert [(r.jwt, r.status) for r in logins[1:]] == [(None, 200)]
        assert isinstance(jwt, str) and jwt

    play(cls, stub, scenario)
