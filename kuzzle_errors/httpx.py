"""Kuzzle errors over HTTP with ``httpx``, sync and async (install the ``httpx`` extra).

* :func:`error_from_response` / :func:`raise_for_kuzzle` / :func:`install`: as in
  :mod:`kuzzle_errors.http`, for :class:`httpx.Client` and :class:`httpx.AsyncClient`;
* :class:`AsyncKuzzleHTTP`: the asyncio twin of :class:`kuzzle_errors.http.KuzzleHTTP`.

This module is ``kuzzle_errors.httpx``; ``import httpx`` below is the absolute import of the
real library (Python 3 has no implicit relative imports).
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import httpx

from kuzzle_errors._adapters import keep_httpx_content
from kuzzle_errors._protocol import http as protocol
from kuzzle_errors._protocol.clients import AsyncClientBase
from kuzzle_errors._protocol.failures import safe_cause
from kuzzle_errors._protocol.queries import REQUEST_ID_HEADER

if TYPE_CHECKING:
    from kuzzle_errors._protocol.clients import AsyncRetryCaller
    from kuzzle_errors.exceptions import KuzzleError

__all__ = [
    "AsyncKuzzleHTTP",
    "error_from_response",
    "install",
    "raise_for_kuzzle",
    "uninstall",
]

#: Largest error body the :func:`install` hook reads: the status already gives the class.
_HOOK_ERROR_BODY: Final = 1024 * 1024


def error_from_response(resp: httpx.Response, *, strict: bool = False) -> KuzzleError | None:
    """The Kuzzle error ``resp`` carries, or None for a success.

    The same rules as :func:`kuzzle_errors.http.error_from_response` (status, headers, body).
    The body must have been read, as it is unless the response was streamed (then call
    ``resp.read()`` or ``await resp.aread()`` first; httpx raises ``ResponseNotRead``).
    """
    return _parse(resp.content, resp, strict)


def raise_for_kuzzle(resp: httpx.Response, *, strict: bool = False) -> None:
    """Raise the error :func:`error_from_response` finds in ``resp``; return on success."""
    error = error_from_response(resp, strict=strict)
    if error is not None:
        raise error


def _parse(content: bytes, resp: httpx.Response, strict: bool) -> KuzzleError | None:
    request_id = None
    with contextlib.suppress(RuntimeError):  # a Response built by hand has no request
        request_id = resp.request.headers.get(REQUEST_ID_HEADER)
    return protocol.parse_http(content, resp.status_code, resp.headers, strict, request_id)[0]


class _KuzzleHook(protocol.KuzzleHook):
    """The sync response hook: reads the body it needs (the start of a long one), then parses."""

    def __call__(self, resp: httpx.Response) -> None:
        if self.parses(resp):
            self._check(resp, _start(resp.iter_bytes()) if _too_long(resp) else resp.read())

    def _check(self, resp: httpx.Response, content: bytes) -> None:
        error = _parse(content, resp, self.strict)
        if _too_long(resp):
            if error is None:  # the success envelope under an error status is cut: trust the
                error = _parse(b"", resp, self.strict)  # status (an empty body is its error)
            assert error is not None
            error = protocol.cut_note(error, f"only the first {_HOOK_ERROR_BODY} bytes read")
        if error is not None:
            raise error


class _AsyncKuzzleHook(_KuzzleHook):
    """The async twin of :class:`_KuzzleHook` (AsyncClient awaits its hooks)."""

    async def __call__(self, resp: httpx.Response) -> None:  # type: ignore[override]
        if not self.parses(resp):
            return
        if _too_long(resp):
            content = b""
            async for chunk in resp.aiter_bytes():
                content += chunk
                if len(content) >= _HOOK_ERROR_BODY:
                    break
            self._check(resp, content[:_HOOK_ERROR_BODY])
        else:
            # Read it all, as httpx does for a response that is not streamed: the caller still
            # gets the body if it holds no error.
            self._check(resp, await resp.aread())


def _start(chunks: Iterable[bytes]) -> bytes:
    content = b""
    for chunk in chunks:
        content += chunk
        if len(content) >= _HOOK_ERROR_BODY:
            break
    return content[:_HOOK_ERROR_BODY]


def _too_long(resp: httpx.Response) -> bool:
    """An error status announcing a body over the hook's limit: read only the start of it."""
    try:
        length = int(resp.headers.get("Content-Length", "0"))
    except ValueError:
        return False
    return resp.status_code >= 400 and length > _HOOK_ERROR_BODY


def install(
    client: httpx.Client | httpx.AsyncClient, *, strict: bool = False
) -> httpx.Client | httpx.AsyncClient:
    """Make every response of ``client`` raise on a Kuzzle error; returns ``client``.

    Works for :class:`httpx.Client` and :class:`httpx.AsyncClient`. Responses with a status
    of 400 or more are parsed, and JSON answers with status 206 (with ``strict=True``, every
    JSON 2xx). The hook reads their body itself, even when streamed (as httpx reads a response
    that is not streamed; of an error body announced over 1 MiB, only the first MiB).
    Installing twice replaces the earlier hook.
    """
    uninstall(client)
    hook = (_AsyncKuzzleHook if isinstance(client, httpx.AsyncClient) else _KuzzleHook)(strict)
    hooks = {key: list(value) for key, value in client.event_hooks.items()}
    hooks.setdefault("response", []).append(hook)
    client.event_hooks = hooks
    return client


def uninstall(client: httpx.Client | httpx.AsyncClient) -> httpx.Client | httpx.AsyncClient:
    """Remove the hook :func:`install` added, if any; returns ``client``."""
    hooks = {key: list(value) for key, value in client.event_hooks.items()}
    hooks["response"] = protocol.KuzzleHook.without(hooks.get("response", []))
    client.event_hooks = hooks
    return client


class _Progress:
    """An httpx ``trace`` extension recording whether the request started to leave."""

    __slots__ = ("sent", "traced")

    def __init__(self) -> None:
        self.traced = False  # custom transports do not trace: then we know nothing
        self.sent = False

    async def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        self.traced = True
        if ".send_request_headers." in event:
            self.sent = True


class AsyncKuzzleHTTP(AsyncClientBase):
    """An asyncio Kuzzle HTTP client: ``await query(request)`` returns ``result`` or raises.

    The twin of :class:`kuzzle_errors.http.KuzzleHTTP`: the same parameters (``client``, an
    :class:`httpx.AsyncClient`, in place of ``session``), requests, answers, errors and retry
    hints, the retry policy called through ``await retry.acall(...)``. Safe to share between
    the tasks of one event loop. Use it as ``async with AsyncKuzzleHTTP(url) as kuzzle: ...`` or
    call :meth:`close` (or :meth:`aclose`), which closes the httpx client if it was created here.
    ``timeout`` bounds the whole attempt on any client, connect and body included; a
    ``(connect, read)`` tuple sets httpx's connect timeout and its other ones.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: protocol.Timeout = 10.0,
        jwt: str | None = None,
        retry: AsyncRetryCaller | None = None,
        max_error_bytes: int | None = protocol.MAX_ERROR_BYTES,
        max_body_bytes: int | None = None,
    ) -> None:
        self.base_url: str = base_url.rstrip("/")
        self.timeout: protocol.Timeout = protocol.check_timeout(timeout)
        self.jwt = jwt
        self._set_retry(retry)
        self.max_error_bytes = max_error_bytes
        self.max_body_bytes = max_body_bytes
        self._owns_client = client is None
        self.client: httpx.AsyncClient = client if client is not None else httpx.AsyncClient()

    def _where(self) -> str:
        return self.base_url

    async def query(
        self, request: Mapping[str, Any], *, idempotent: bool = False, strict: bool = False
    ) -> Any:
        """Send one Kuzzle API request and return its ``result``.

        Raises the parsed :class:`~kuzzle_errors.KuzzleError` on an error answer,
        :class:`~kuzzle_errors.ConnectionLostError` or
        :class:`~kuzzle_errors.RequestTimeoutError` on a transport failure. ``idempotent``
        tells the retry policy whether a request that may have run can be replayed;
        ``strict`` makes a result holding ``errors`` raise a PartialError (client side).
        """
        return await self._call(self._query_once, request, idempotent, strict=strict)

    async def close(self) -> None:
        """Close the httpx client if this object created it. Idempotent."""
        if self._owns_client:
            await self.client.aclose()

    async def _query_once(self, request: dict[str, Any], *, strict: bool = False) -> Any:
        attempt = protocol.HTTPAttempt(request, self.jwt, strict=strict)
        progress = _Progress()
        seconds = protocol.total_seconds(self.timeout)
        try:
            # One deadline for the whole exchange: httpx's timeouts bound each read only.
            resp, content = await asyncio.wait_for(self._exchange(attempt, progress), seconds)
        except (protocol.BodyTooLarge, zlib.error) as exc:
            raise attempt.unreadable(exc) from None
        except (asyncio.TimeoutError, httpx.HTTPError) as exc:
            lost = attempt.failed(exc, _failure(exc, progress), self.base_url, seconds)
            raise lost from safe_cause(exc)
        return attempt.result(content, text=lambda: resp.text)

    async def _exchange(
        self, attempt: protocol.HTTPAttempt, progress: _Progress
    ) -> tuple[httpx.Response, bytes]:
        """POST, then read the body, decompressed and capped (``max_*_bytes``)."""
        timeout = self.timeout
        async with self.client.stream(
            "POST",
            f"{self.base_url}/_query",
            content=attempt.query.data,
            headers=attempt.query.headers,
            timeout=httpx.Timeout(timeout[1], connect=timeout[0])
            if isinstance(timeout, tuple)
            else timeout,
            extensions={"trace": progress},
        ) as resp:
            attempt.answered(resp)
            body = attempt.body(self.max_body_bytes, self.max_error_bytes)
            try:
                async for chunk in resp.aiter_raw() if body.raw else resp.aiter_bytes():
                    body.feed(chunk)
                content = body.finish()
            except protocol.BodyTooLarge as exc:
                keep_httpx_content(resp, exc.data)  # what was read stays reachable
                raise
            keep_httpx_content(resp, content)
            return resp, content


# Failures that happen before a byte of the request is sent, and will happen again.
_PERMANENT: Final = (
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.InvalidURL,
    httpx.TooManyRedirects,  # a redirect loop stays a loop
)


def _failure(exc: BaseException, progress: _Progress) -> protocol.Failure:
    """How the call failed, from what httpx or ``wait_for`` raised and how far it got."""
    transport = (asyncio.TimeoutError, httpx.TransportError)
    if progress.traced and not progress.sent and isinstance(exc, transport):
        return "connect"  # the trace shows no request header left
    return protocol.failure_of(
        exc,
        unsendable=_PERMANENT,
        connect=(httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout),
        timeout=(asyncio.TimeoutError, httpx.TimeoutException),
    )
