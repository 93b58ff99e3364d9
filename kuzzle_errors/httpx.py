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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import httpx

from kuzzle_errors._adapters import keep_httpx_content
from kuzzle_errors._protocol import http as protocol
from kuzzle_errors._protocol.clients import AsyncClientBase, ForkGuard, checked_url
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
    """The sync response hook: reads the body it needs (the start of an error body), then
    parses."""

    def __call__(self, resp: httpx.Response) -> None:
        if not self.parses(resp):
            return
        if resp.status_code < 400:  # a 206, or strict: the caller gets the body if no error
            self._check(resp, resp.read(), cut=False)
            return
        body = self._error_body(resp)
        try:
            if resp.is_stream_consumed:  # built with its content (a mock transport's)
                body.feed(resp.content)
            else:
                for chunk in resp.iter_raw() if body.raw else resp.iter_bytes():
                    body.feed(chunk)
            self._check(resp, body.finish(), cut=False)
        except (protocol.BodyTooLarge, zlib.error, httpx.HTTPError) as exc:
            self._check(resp, _kept(exc), cut=True)

    @staticmethod
    def _error_body(resp: httpx.Response) -> protocol.BoundedBody:
        # Of an error body, only the start is read, bounded after decompression (httpx
        # inflates each network chunk whole: read raw, inflated here).
        return protocol.BoundedBody(resp.headers.get("Content-Encoding"), protocol.HOOK_ERROR_BYTES)

    def _check(self, resp: httpx.Response, content: bytes, *, cut: bool) -> None:
        """Raise the error of ``resp`` whose body (or its start, when ``cut``) is
        ``content``; without one, ``content`` becomes the body the caller reads."""
        error = _parse(content, resp, self.strict)
        if cut:
            if error is None:  # the success envelope under an error status is cut: trust the
                error = _parse(b"", resp, self.strict)  # status (an empty body is its error)
            assert error is not None
            error = protocol.cut_note(error, f"only the first {len(content)} bytes read")
        if error is not None:
            raise error
        keep_httpx_content(resp, content)


class _AsyncKuzzleHook(_KuzzleHook):
    """The async twin of :class:`_KuzzleHook` (AsyncClient awaits its hooks)."""

    async def __call__(self, resp: httpx.Response) -> None:  # type: ignore[override]
        if not self.parses(resp):
            return
        if resp.status_code < 400:
            self._check(resp, await resp.aread(), cut=False)
            return
        body = self._error_body(resp)
        try:
            if resp.is_stream_consumed:  # built with its content (a mock transport's)
                body.feed(resp.content)
            else:
                async for chunk in resp.aiter_raw() if body.raw else resp.aiter_bytes():
                    body.feed(chunk)
            self._check(resp, body.finish(), cut=False)
        except (protocol.BodyTooLarge, zlib.error, httpx.HTTPError) as exc:
            self._check(resp, _kept(exc), cut=True)


def _kept(exc: BaseException) -> bytes:
    """What was kept of a body whose read ended with ``exc``."""
    return exc.data if isinstance(exc, protocol.BodyTooLarge) else b""


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
    """An httpx ``trace`` extension recording how far the request went (httpcore's events)."""

    __slots__ = ("phase", "traced")

    def __init__(self) -> None:
        self.traced = False  # custom transports do not trace: then we know nothing
        self.phase: protocol.Phase = "connecting"

    async def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        self.traced = True
        if event.endswith(".send_request_headers.started"):
            self.phase = "sending"
        elif event.endswith(".send_request_body.complete"):
            self.phase = "waiting"
        elif event.endswith(".receive_response_headers.complete"):
            self.phase = "reading"

    def known(self) -> protocol.Phase | None:
        """How far the request went (None: not known, the transport does not trace)."""
        return self.phase if self.traced else None


class AsyncKuzzleHTTP(AsyncClientBase):
    """An asyncio Kuzzle HTTP client: ``await query(request)`` returns ``result`` or raises.

    The twin of :class:`kuzzle_errors.http.KuzzleHTTP`: the same parameters (``client``, an
    :class:`httpx.AsyncClient`, in place of ``session``), requests, answers, errors and retry
    hints, the retry policy called through ``await retry.acall(...)``. Safe to share between
    the tasks of one event loop. Use it as ``async with AsyncKuzzleHTTP(url) as kuzzle: ...`` or
    call :meth:`close` (or :meth:`aclose`), which closes the httpx client if it was created here.
    ``timeout`` bounds the whole attempt on any client, connect and body included; a
    ``(connect, read)`` tuple sets httpx's connect timeout and its other ones. An answer naming
    another request is an InvalidResponseError (its connection is closed when its
    ``X-Kuzzle-Request-Id`` shows it). Used in a process forked after it was, the client's
    first call there drops the httpx client it created (its connections and their event loop
    are the parent's) for a new one; an ``httpx.AsyncClient`` passed in cannot be renewed
    that way: make one in the child.
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
        self.base_url: str = checked_url(base_url).rstrip("/")
        self.timeout = timeout
        self.jwt = jwt
        self._set_retry(retry)
        self.max_error_bytes = max_error_bytes
        self.max_body_bytes = max_body_bytes
        self._owns_client = client is None
        self.client: httpx.AsyncClient = client if client is not None else httpx.AsyncClient()
        self._pending = 0
        self._fork = ForkGuard()

    def _where(self) -> str:
        return self.base_url

    def _checked_timeout(self, value: object) -> protocol.Timeout:
        return protocol.check_timeout(value)

    @property
    def pending(self) -> int:
        """How many queries wait for their answer."""
        return self._pending

    def _renew(self) -> None:
        # First use in a forked child: the client's connections are the parent's sockets,
        # bound to the parent's event loop. Closing them would run on that loop: the client
        # is dropped, unclosed, for a new one.
        if self._owns_client:
            self.client = httpx.AsyncClient()

    async def query(
        self, request: Mapping[str, Any], *, idempotent: bool | None = None, strict: bool = False
    ) -> Any:
        """Send one Kuzzle API request and return its ``result``.

        Raises the parsed :class:`~kuzzle_errors.KuzzleError` on an error answer,
        :class:`~kuzzle_errors.ConnectionLostError` or
        :class:`~kuzzle_errors.RequestTimeoutError` on a transport failure. ``idempotent``
        tells the retry policy whether a request that may have run can be replayed (None,
        the default: the action's replay safety, :data:`kuzzle_errors.hints.ACTIONS`: reads,
        replacing writes and ``auth:login`` yes, ``create``, ``mCreate``, ``bulk:import`` no;
        your True or False wins); ``strict`` makes a result holding ``errors`` raise a
        PartialError (client side).
        """
        return await self._call(self._query_once, request, idempotent, strict=strict)

    async def close(self) -> None:
        """Close the httpx client if this object created it. Idempotent."""
        if self._owns_client:
            await self.client.aclose()

    async def _query_once(self, request: dict[str, Any], *, strict: bool = False) -> Any:
        self._fork.check(self._renew)
        attempt = protocol.HTTPAttempt(request, self.jwt, strict=strict)
        progress = _Progress()
        seconds = protocol.total_seconds(self.timeout)
        self._pending += 1
        try:
            # One deadline for the whole exchange: httpx's timeouts bound each read only.
            resp, content = await asyncio.wait_for(self._exchange(attempt, progress), seconds)
        except (protocol.BodyTooLarge, zlib.error) as exc:
            raise attempt.unreadable(exc) from None
        except (asyncio.TimeoutError, httpx.HTTPError) as exc:
            failure = _failure(exc)
            lost = attempt.failed(exc, failure, self.base_url, seconds, progress.known())
            raise lost from safe_cause(exc)
        finally:
            self._pending -= 1
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
            # A header naming another request: raised before the body is read, so httpx
            # closes the connection (what follows on it would be answers to others too).
            attempt.check_ours()
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


def _failure(exc: BaseException) -> protocol.Failure:
    """How the call failed, from what httpx or ``wait_for`` raised (how far it got: the
    trace's phase)."""
    return protocol.failure_of(
        exc,
        unsendable=_PERMANENT,
        connect=(httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout),
        timeout=(asyncio.TimeoutError, httpx.TimeoutException),
    )
