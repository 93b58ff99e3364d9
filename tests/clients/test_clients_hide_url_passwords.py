"""A password in a client's URL never shows: not in its repr, nor in the errors of a connect
that failed, whatever characters it holds (``'``, ``"``, ``<``, ``>``, ``@`` are legal in
userinfo), on all four clients."""

from __future__ import annotations

import asyncio
import json
import pickle
from typing import Any

import pytest
from common import NOW
from raw_server import unused_port

import kuzzle_errors
from kuzzle_errors.http import KuzzleHTTP
from kuzzle_errors.httpx import AsyncKuzzleHTTP
from kuzzle_errors.websocket import KuzzleWebSocket
from kuzzle_errors.websockets import AsyncKuzzleWebSocket

PASSWORDS = ["hun'ter2x", 'hun"ter2x', "a<b>c9x", "p@ss@wordx", "p%40ssx", "sp ace"]
CLIENTS = [KuzzleHTTP, AsyncKuzzleHTTP, KuzzleWebSocket, AsyncKuzzleWebSocket]


def url_for(cls: type[Any], password: str) -> str:
    scheme = "ws" if cls in (KuzzleWebSocket, AsyncKuzzleWebSocket) else "http"
    return f"{scheme}://admin:{password}@127.0.0.1:{unused_port()}"


def connect_error(cls: type[Any], url: str) -> kuzzle_errors.KuzzleError:
    async def run() -> kuzzle_errors.KuzzleError:
        if cls is KuzzleWebSocket:
            with pytest.raises(kuzzle_errors.KuzzleError) as caught:
                await asyncio.to_thread(cls, url, timeout=2)
            return caught.value
        if cls is KuzzleHTTP:
            client = cls(url, timeout=2)
            with client, pytest.raises(kuzzle_errors.KuzzleError) as caught:
                await asyncio.to_thread(client.query, NOW)
            return caught.value
        async with cls(
            url, timeout=2, **({"connect": False} if cls is AsyncKuzzleWebSocket else {})
        ) as client:
            with pytest.raises(kuzzle_errors.KuzzleError) as caught:
                await client.query(NOW)
            return caught.value

    return asyncio.run(run())


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_the_repr_hides_the_password(cls: type[Any], password: str) -> None:
    client = cls(
        url_for(cls, password), **({"connect": False} if "WebSocket" in cls.__name__ else {})
    )
    try:
        assert password not in repr(client)
        assert "admin:[REDACTED]@127.0.0.1" in repr(client)
    finally:
        close = client.close()
        if asyncio.iscoroutine(close):
            asyncio.run(close)


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_the_errors_of_a_failed_connect_hide_the_password(cls: type[Any], password: str) -> None:
    error = connect_error(cls, url_for(cls, password))
    assert isinstance(error, kuzzle_errors.ConnectionLostError)
    texts = [
        str(error),
        repr(error),
        json.dumps(error.to_dict()),
        pickle.dumps(error).decode("latin-1"),
    ]
    cause = error.__cause__
    while cause is not None:
        texts.append(str(cause))
        cause = cause.__cause__
    for text in texts:
        assert password not in text
    assert str(error).isprintable()


@pytest.mark.parametrize("password", ["Pw12345678/x", "Ab3#secretPW", "pa?ss9x", "to/k#e?n"])
@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_a_password_that_would_end_the_host_early_is_refused_unshown(
    cls: type[Any], password: str
) -> None:
    # '/', '?' and '#' end a URL's authority: the rest of such a password would read as a path
    # and be shown whole. Refused where the URL is given, without showing it.
    with pytest.raises(ValueError, match="percent-encoded") as caught:
        cls(url_for(cls, password))
    assert password not in str(caught.value) and "admin" not in str(caught.value)
    if cls in (KuzzleWebSocket, AsyncKuzzleWebSocket):  # and in a list of URLs
        with pytest.raises(ValueError, match="percent-encoded"):
            cls(["ws://127.0.0.1:1", url_for(cls, password)], connect=False)
    encoded = url_for(cls, password.replace("/", "%2F").replace("#", "%23").replace("?", "%3F"))
    kwargs = {"connect": False} if cls in (KuzzleWebSocket, AsyncKuzzleWebSocket) else {}
    client = cls(encoded, **kwargs)  # percent-encoded, it is taken
    try:
        assert "admin:[REDACTED]@127.0.0.1" in repr(client)
    finally:
        close = client.close()
        if asyncio.iscoroutine(close):
            asyncio.run(close)
