"""The one module that uses private parts of other libraries, each where no public API does it.

Every use says why it is needed and which public API would replace it. Nothing is imported
from those libraries here: each function takes the library's object, so importing this module
costs nothing and needs no optional extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class RecvHook:
    """Mixed in before websocket-client's ``WebSocket``: each read of a frame's bytes goes
    through :meth:`received` as soon as it returns.

    Why: websocket-client reads a whole frame before handing it over, so a server announcing
    1 GB, or dripping a frame a byte at a time, holds the reader for ever. Its public
    ``fire_cont_frame`` option hands over each fragment of a message (the client uses it), but
    not less than a whole frame; its only hook below the frame is ``WebSocket._recv``, the
    private method its frame buffer reads through (its public ``socket=`` option hands it a
    socket, but then TLS and proxies are ours to do). Would be replaced by: a maximum message
    size and a per-message deadline in websocket-client (as ``websockets`` has ``max_size``),
    or a public read hook.
    """

    def received(self, data: bytes) -> None:
        """Called with every chunk read, before websocket-client parses it."""

    def _recv(self, bufsize: int) -> bytes:
        data: bytes = super()._recv(bufsize)  # type: ignore[misc]
        self.received(data)
        return data


class SendDataHook:
    """Mixed in before a ``websockets`` asyncio connection: :meth:`after_send_data` is called
    each time it writes what its protocol has to send.

    Why: ``websockets`` fails a connection itself when ``recv()`` meets a text message that is
    not UTF-8 (close code 1007), then waits for the closing handshake to end before ``recv()``
    raises: up to ``close_timeout`` when the server keeps the TCP connection open, while the
    queries waiting on the connection time out. The protocol's state (public) changes when the
    close frame is written, which ``Connection.send_data`` (undocumented) does. Would be
    replaced by: a callback when the connection starts closing, or ``recv()`` raising at once.
    """

    def after_send_data(self) -> None:
        """Called after every write of the protocol's outgoing data."""

    def send_data(self) -> None:
        super().send_data()  # type: ignore[misc]
        self.after_send_data()


def set_pool_classes(manager: Any, pools: Mapping[str, type]) -> None:
    """Make the urllib3 pool ``manager`` build its connection pools from ``pools``, by scheme.

    Why: ``KuzzleHTTP``'s deadline bounds a whole call (``requests`` bounds each read only, so a
    server dripping its answer is never timed out): it must reach the socket the request goes
    out on, through a connection class of ours. A pool's ``ConnectionCls`` is public, but
    urllib3's ``PoolManager`` takes no pool class: it picks one from its undocumented
    ``pool_classes_by_scheme``. Would be replaced by: a total timeout per request in urllib3
    or requests, or a pool-class parameter of ``PoolManager``.
    """
    manager.pool_classes_by_scheme = pools


def keep_httpx_content(resp: Any, data: bytes) -> None:
    """Give an ``httpx.Response`` whose stream was read through ``aiter_raw`` its ``content``.

    Why: the body is read raw, so that gzip/deflate are inflated under the cap (httpx inflates
    each network chunk whole: a 64 KiB chunk of a gzip bomb is 64 MB); httpx fills ``content``
    only when it decodes the body itself, and refuses a second read of the stream. The error
    raised keeps the response as ``http_response``, with what was read as its ``content``.
    Would be replaced by: a limit on the decoded size in httpx, or a public way to set content.
    """
    resp._content = data
