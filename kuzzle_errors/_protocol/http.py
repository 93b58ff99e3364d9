"""One query over HTTP, whichever library moves the bytes: what is sent, how the body is read
(bounded, decompressed), how the answer or the failure becomes a result or an error.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal

from kuzzle_errors._protocol import failures
from kuzzle_errors._protocol.queries import (
    ENVELOPE_KEYS,
    REQUEST_ID_HEADER,
    http_query,
    request_context,
)
from kuzzle_errors.exceptions import (
    ConnectionLostError,
    InvalidResponseError,
    KuzzleError,
    RequestTimeoutError,
    replace,
)
from kuzzle_errors.hints import RetryHint
from kuzzle_errors.parser import RAW_COPY_LIMIT, parse_response_and_body


class BodyTooLarge(Exception):
    """A body passed its cap; ``data`` holds what was kept (the first ``limit`` bytes)."""

    def __init__(self, data: bytes, limit: int) -> None:
        super().__init__(f"the body is larger than {limit} bytes")
        self.data = data
        self.limit = limit


class BoundedBody:
    """Collects a body chunk by chunk, decompressing gzip/deflate, never past ``limit`` bytes.

    What is decompressed is capped too: a gzip bomb (1 GB from 1 MB) stops at the cap after
    inflating at most ``limit`` bytes. ``feed`` raises :class:`BodyTooLarge` (keeping what was
    read) or ``zlib.error`` for a body that is not what its ``Content-Encoding`` says. Only
    gzip and deflate (what Kuzzle sends) are decoded here: ``raw`` says whether to feed the
    bytes as received, or decoded by the library (another encoding).
    """

    def __init__(self, encoding: str | None, limit: int | None) -> None:
        self.limit = limit
        self._out = bytearray()
        enc = (encoding or "").strip().lower()
        self.raw: bool = enc in ("", "identity", *_INFLATED)
        # 32 + MAX_WBITS: a gzip or a zlib header, detected; raw deflate is tried on failure.
        self._inflate = zlib.decompressobj(32 + zlib.MAX_WBITS) if enc in _INFLATED else None
        self._raw_deflate = enc == "deflate"
        self._started = False

    def feed(self, chunk: bytes) -> None:
        """Add the next chunk as received."""
        if not chunk:
            return
        if self._inflate is None:
            self._keep(chunk)
            return
        try:
            self._decompress(chunk)
        except zlib.error:
            if self._started or not self._raw_deflate:
                raise
            # Some servers send "deflate" without the zlib header: raw deflate.
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            self._decompress(chunk)
        self._started = True

    def finish(self) -> bytes:
        """The whole body, decoded."""
        if self._inflate is not None:
            self._keep(self._inflate.flush())
        return bytes(self._out)

    def _decompress(self, data: bytes) -> None:
        assert self._inflate is not None
        while data:
            room = 0 if self.limit is None else self.limit + 1 - len(self._out)
            self._keep(self._inflate.decompress(data, room))  # room >= 1 here, or 0: no cap
            data = self._inflate.unconsumed_tail

    def _keep(self, data: bytes) -> None:
        self._out += data
        if self.limit is not None and len(self._out) > self.limit:
            raise BodyTooLarge(bytes(self._out[: self.limit]), self.limit)


_INFLATED: Final = ("gzip", "x-gzip", "deflate")


#: The most of an error body (non-2xx) the HTTP clients read, after decompression.
MAX_ERROR_BYTES: Final = 16 * 1024 * 1024
#: An answer that ran but cannot be returned: the same answer would come again.
_TOO_LARGE: Final = RetryHint(
    retryable=False,
    replay_safe=False,
    reason="the request ran, but its answer is larger than the client accepts",
)

#: Seconds a whole call may take, or a ``(connect, read)`` pair whose sum bounds the call.
Timeout = float | tuple[float, float]


def check_timeout(timeout: Timeout) -> Timeout:
    """``timeout``, or a ValueError if it (or a part of it) is not a positive number."""
    if not all(part > 0 for part in (timeout if isinstance(timeout, tuple) else (timeout,))):
        raise ValueError(f"timeout must be positive, not {timeout!r}")
    return timeout


def total_seconds(timeout: Timeout) -> float:
    """How long a whole call may take."""
    return sum(timeout) if isinstance(timeout, tuple) else timeout


def parse_http(
    content: bytes,
    status: int,
    headers: Mapping[str, str],
    strict: bool,
    request_id: str | None,
    request: Mapping[str, Any] | None = None,
) -> tuple[KuzzleError | None, Any, bool]:
    """The error of an HTTP answer, its body decoded from JSON, and whether the body was JSON.

    ``request_id`` and ``request``: what was sent, if known; they fill what an error raised
    before routing leaves out (its request id, controller, action, index, collection).
    """
    return parse_response_and_body(
        content,
        http_status=status,
        headers=headers,
        transport="http",
        strict=strict,
        request_id=request_id,
        request=request,
    )


class KuzzleHook:
    """The base of the response hooks ``install`` adds (a class: it can be found and replaced)."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict

    def parses(self, resp: Any) -> bool:
        """Whether the hook reads and parses ``resp``, from its status and headers.

        Kuzzle's HTTP status equals its error status except 206: other 2xx bodies are not read,
        so streamed downloads stay streamed (with ``strict``, every JSON 2xx is read); 1xx/3xx
        pass. A non-JSON 2xx (a 206 range download, a file) is not Kuzzle's: it passes too.
        """
        status = resp.status_code
        kuzzle_2xx = (status == 206 or self.strict) and 200 <= status < 300
        json = "json" in resp.headers.get("Content-Type", "").lower()
        return status >= 400 or (kuzzle_2xx and json)

    @staticmethod
    def without(hooks: Iterable[Any]) -> list[Any]:
        """``hooks`` without the ones ``install`` added."""
        return [hook for hook in hooks if not isinstance(hook, KuzzleHook)]


def cut_note(error: KuzzleError, note: str) -> KuzzleError:
    """``error`` with ``note`` (how much of its body was read) added to its ``problem``."""
    return replace(error, problem=f"{error.problem}; {note}" if error.problem else note)


#: How an HTTP attempt failed before a whole answer came, as the client's library tells it.
Failure = Literal["unsendable", "connect", "timeout", "deadline", "lost"]

#: Each failure's exception class, retry hint and words (``{url}``, ``{waited}`` seconds).
_FAILURES: Final[dict[Failure, tuple[type[KuzzleError], RetryHint, str]]] = {
    # before a byte of the request is sent, and it will happen again
    "unsendable": (ConnectionLostError, failures.NOT_RETRYABLE, "cannot send the request"),
    "connect": (ConnectionLostError, failures.CONNECT_FAILED, "could not connect to {url}"),
    "timeout": (
        RequestTimeoutError,
        failures.NO_ANSWER,
        "no answer from {url} within {waited:g} s",
    ),
    # the whole call's deadline cut it: the request was sent
    "deadline": (
        RequestTimeoutError,
        failures.NO_ANSWER,
        "no complete answer from {url} within {waited:g} s",
    ),
    "lost": (ConnectionLostError, failures.CONNECTION_LOST, "the connection to {url} failed"),
}

_Classes = tuple[type[BaseException], ...]


def failure_of(
    exc: BaseException, *, unsendable: _Classes, connect: _Classes, timeout: _Classes
) -> Failure:
    """How an attempt failed, from the exception classes of the library that raised ``exc``.

    ``connect`` classes are looked for along the chain of ``exc``: libraries wrap the error of
    a connection never made (urllib3's ``NewConnectionError`` in requests' ``ConnectionError``).
    """
    if isinstance(exc, unsendable):
        return "unsendable"
    if any(isinstance(item, connect) for item in failures.exception_chain(exc)):
        return "connect"
    return "timeout" if isinstance(exc, timeout) else "lost"


class HTTPAttempt:
    """One attempt of a query over HTTP, whichever library moves the bytes.

    It builds what is sent (:attr:`query`). The client records the answer's status line
    (:meth:`answered`), reads the body through :meth:`body`, then hands what came to
    :meth:`result`, :meth:`unreadable` or :meth:`failed`, which give the result or the error
    to raise. Errors about an answer keep the library's response as ``http_response``.
    """

    __slots__ = ("headers", "query", "response", "status", "strict")

    def __init__(self, request: Mapping[str, Any], jwt: str | None, *, strict: bool) -> None:
        self.query = http_query(request, jwt)
        self.strict = strict
        self.response: Any = None
        self.status = 0
        self.headers: Mapping[str, str] = {}

    def answered(self, response: Any) -> None:
        """Record ``response``, the library's answer: its ``status_code`` and ``headers``."""
        self.response = response
        self.status = response.status_code
        self.headers = response.headers

    def body(self, max_body_bytes: int | None, max_error_bytes: int | None) -> BoundedBody:
        """The reader of the answer's body: capped at ``max_body_bytes`` for a 2xx, else at
        ``max_error_bytes``."""
        limit = max_body_bytes if 200 <= self.status < 300 else max_error_bytes
        return BoundedBody(self.headers.get("Content-Encoding"), limit)

    def result(self, content: bytes, text: Callable[[], str] | None = None) -> Any:
        """``result`` of the answer whose whole body is ``content``, or raise its error.

        ``/_query`` answers an envelope, except for plugin actions answering in Kuzzle's
        ``raw`` format, whose result comes as is; Kuzzle still writes its headers on those
        (``X-Kuzzle-Node``, and ``X-Kuzzle-Request-Id`` echoing ours). A 2xx that is neither (a
        captive portal's HTML, a proxy's own JSON) raises InvalidResponseError: only here, the
        core parser accepts raw results for any route. ``text`` decodes a body that is not
        JSON as the library does (UTF-8 when not given).
        """
        error, body, decoded = self._parse(content)
        if error is not None:
            raise replace(error, http_response=self.response)
        if isinstance(body, dict) and any(key in body for key in ENVELOPE_KEYS):
            return body.get("result")
        headers = self.headers
        if "X-Kuzzle-Node" in headers or headers.get(REQUEST_ID_HEADER) == self.query.request_id:
            if not content:  # Kuzzle wrote it: a plugin's raw result
                return None
            if decoded:
                return body
            return text() if text is not None else content.decode("utf-8", "replace")
        if not content:
            problem = "an empty body"
        elif decoded:
            problem = "JSON without a Kuzzle envelope (no status, result or requestId)"
        else:
            problem = (
                f"a body that is not JSON ({headers.get('Content-Type') or 'no content type'})"
            )
        if len(content) > RAW_COPY_LIMIT:
            problem += f" (kept the first {RAW_COPY_LIMIT} of {len(content)} bytes)"
        raise self._invalid(
            "not Kuzzle's answer to POST /_query",
            content,
            f"a {self.status} answer with {problem} and no Kuzzle header "
            "(X-Kuzzle-Node, X-Kuzzle-Request-Id): not Kuzzle's answer",
        )

    def unreadable(self, exc: BodyTooLarge | zlib.error) -> KuzzleError:
        """The error of an answer whose body was cut at its cap, or does not decompress.

        A 2xx over ``max_body_bytes`` is an InvalidResponseError (not retryable: it ran, and
        the same answer would come again); an error body over ``max_error_bytes`` is the error
        found in what was read (else one of its status), its ``problem`` saying it was cut.
        """
        if not isinstance(exc, BodyTooLarge):
            encoding = self.headers.get("Content-Encoding")
            problem = f"decompressing the body failed: {exc}"
            return self._invalid(f"a body that is not valid {encoding}", None, problem)
        cut = f"the body was cut at {exc.limit} bytes: the rest was not read"
        if 200 <= self.status < 300:
            what = f"an answer larger than max_body_bytes ({exc.limit} bytes)"
            return self._invalid(what, exc.data, cut, _TOO_LARGE)
        found = self._parse(exc.data)[0]  # the error the start of the body holds, if it shows
        if found is None:
            return self._invalid("an error body that was cut", exc.data, cut)
        return replace(cut_note(found, cut), http_response=self.response)

    def failed(
        self, exc: BaseException, failure: Failure, url: str, waited: float = 0.0
    ) -> KuzzleError:
        """The error of the attempt to ``url`` failing with ``exc`` before a whole answer came.

        ``failure`` says how, as the library tells it; ``waited``: the seconds a timeout is.
        Raise it ``from safe_cause(exc)``.
        """
        cls, hint, what = _FAILURES[failure]
        what = what.format(url=failures.shown_url(url), waited=waited)
        message = f"{what}: {failures.shown_exception(exc)}"
        return failures.client_error(message, hint, self._context(), cls=cls)

    def _context(self) -> dict[str, Any]:
        return request_context(self.query.payload, self.query.request_id, "http")

    def _parse(self, content: bytes) -> tuple[KuzzleError | None, Any, bool]:
        query = self.query
        return parse_http(
            content, self.status, self.headers, self.strict, query.request_id, query.payload
        )

    def _invalid(
        self, what: str, raw: bytes | None, problem: str, hint: RetryHint | None = None
    ) -> KuzzleError:
        """An InvalidResponseError about this attempt's answer, not usable (``what`` it is)."""
        return InvalidResponseError(
            f"HTTP {self.status}: {what}",
            http_status=self.status,
            headers=self.headers,
            raw=None if raw is None else raw[:RAW_COPY_LIMIT],
            **self._context(),
            problem=problem,
            retry_hint=hint,
            http_response=self.response,
        )
