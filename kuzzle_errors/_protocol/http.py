"""One query over HTTP, whichever library moves the bytes: what is sent, how the body is read
(bounded, decompressed), how the answer (ours, Kuzzle's, or not) or the failure (where it
happened) becomes a result or an error.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal

from kuzzle_errors._protocol import failures
from kuzzle_errors._protocol.clients import check_seconds
from kuzzle_errors._protocol.queries import (
    REQUEST_ID_HEADER,
    foreign_id,
    http_query,
    is_envelope,
    request_context,
    sent_request,
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


def _is_utf8(content: bytes) -> bool:
    """Whether ``content`` is valid UTF-8, checked 1 MiB at a time (a 100 MB result is not
    copied into a 100 MB string to tell)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(content)
    step = 1 << 20
    try:
        for at in range(0, len(view), step):
            decoder.decode(view[at : at + step], at + step >= len(view))
    except UnicodeDecodeError:
        return False
    return True


#: The most of an error body (non-2xx) the HTTP clients read, after decompression.
MAX_ERROR_BYTES: Final = 16 * 1024 * 1024
#: The most of an error body the ``install()`` hooks read: the status already gives the class.
HOOK_ERROR_BYTES: Final = 1024 * 1024
#: An answer that ran but cannot be returned: the same answer would come again.
_TOO_LARGE: Final = RetryHint(
    retryable=False,
    replay_safe=False,
    reason="the request ran, but its answer is larger than the client accepts",
)

#: Seconds a whole call may take, or a ``(connect, read)`` pair whose sum bounds the call.
Timeout = float | tuple[float, float]


def check_timeout(timeout: object) -> Timeout:
    """``timeout``: seconds above 0 (at most a week), or a ``(connect, read)`` pair of such.

    Anything else is refused here with a ValueError: None and ``(None, 5)`` (``requests``
    reads them as "no bound", which would let a dead server hold a call for ever), inf, nan.
    """
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise ValueError(f"timeout must be seconds or a (connect, read) pair, not {timeout!r}")
        return (
            check_seconds("timeout (connect)", timeout[0]),
            check_seconds("timeout (read)", timeout[1]),
        )
    return check_seconds("timeout", timeout)


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
Failure = Literal["unsendable", "connect", "timeout", "lost"]
#: How far the attempt had gone: connecting (nothing sent), sending (part of the request may
#: have left), waiting (the whole request left, no answer yet), reading (the answer's head came).
Phase = Literal["connecting", "sending", "waiting", "reading"]

_Classes = tuple[type[BaseException], ...]
_Words = tuple[type[KuzzleError], RetryHint, str]

#: Each failure's exception class, retry hint and words (``{url}``, ``{waited}`` seconds), by
#: how far the attempt had gone: the hint follows from where it happened.
_TIMED_OUT: Final[dict[Phase, _Words]] = {
    "connecting": (  # as a connect timeout: the connection could not be made
        ConnectionLostError,
        failures.CONNECT_FAILED,
        "could not connect to {url} within {waited:g} s",
    ),
    "sending": (
        RequestTimeoutError,
        failures.CUT_WHILE_SENDING,
        "could not send the whole request to {url} within {waited:g} s",
    ),
    "waiting": (
        RequestTimeoutError,
        failures.NO_ANSWER,
        "no answer from {url} within {waited:g} s",
    ),
    "reading": (
        RequestTimeoutError,
        failures.NO_ANSWER,
        "no complete answer from {url} within {waited:g} s",
    ),
}
_LOST: Final[dict[Phase, _Words]] = {
    "connecting": (
        ConnectionLostError,
        failures.CONNECT_FAILED,
        "the connection to {url} failed before the request was sent",
    ),
    "sending": (
        ConnectionLostError,
        failures.CUT_WHILE_SENDING,
        "the connection to {url} failed while the request was being sent",
    ),
    "waiting": (
        ConnectionLostError,
        failures.CONNECTION_LOST,
        "the connection to {url} failed after the request was sent",
    ),
    "reading": (
        ConnectionLostError,
        failures.CONNECTION_LOST,
        "the connection to {url} failed after the request was sent, while reading the answer",
    ),
}
#: Before a byte of the request is sent, and it will happen again.
_UNSENDABLE: Final = (ConnectionLostError, failures.NOT_RETRYABLE, "cannot send the request")
_CONNECT: Final = (ConnectionLostError, failures.CONNECT_FAILED, "could not connect to {url}")


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


def _words(failure: Failure, phase: Phase | None) -> _Words:
    """What to say of ``failure``: the library's word, corrected by how far the attempt went
    (a library may name a broken answer like a request it could not send); ``phase`` None: not
    known (a transport the client cannot see into), the library's word as it is."""
    if phase in ("waiting", "reading") and failure in ("unsendable", "connect"):
        failure = "lost"  # the whole request left: it may have run, whatever the library says
    if failure == "unsendable":
        return _UNSENDABLE
    if failure == "connect":
        return _CONNECT
    return (_TIMED_OUT if failure == "timeout" else _LOST)[phase or "waiting"]


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

        An answer naming another request (its ``X-Kuzzle-Request-Id`` or envelope's
        ``requestId``) is not ours: an InvalidResponseError, never a result. ``/_query``
        answers Kuzzle's envelope (:func:`~kuzzle_errors._protocol.queries.is_envelope`),
        except for plugin actions answering in Kuzzle's ``raw`` format, whose result comes as
        is; Kuzzle still writes its headers on those (``X-Kuzzle-Node``, and
        ``X-Kuzzle-Request-Id`` echoing ours). A 2xx that is neither (a captive portal's HTML,
        a health page's ``{"status": "UP"}``, a gateway's JSend) raises InvalidResponseError:
        only here, the core parser accepts raw results for any route. ``text`` decodes a body
        that is not JSON as the library does (UTF-8 when not given).
        """
        error, body, decoded = self._parse(content)
        self.check_ours(body if decoded else None, content)
        if error is not None:
            raise replace(error, http_response=self.response)
        headers = self.headers
        json = "json" in headers.get("Content-Type", "").lower()
        if decoded and json and not _is_utf8(content):
            # Kuzzle writes UTF-8: replacement characters in a result would be corrupted data.
            what = "a JSON body that is not UTF-8"
            raise self._invalid(what, content, f"a {self.status} answer with {what}")
        if decoded and is_envelope(body):
            return body.get("result")
        kuzzle = "X-Kuzzle-Node" in headers or REQUEST_ID_HEADER in headers  # ours: checked
        if kuzzle and not (json and content and not decoded):
            if not content:  # Kuzzle wrote it: a plugin's raw result
                return None
            if decoded:
                return body
            return text() if text is not None else content.decode("utf-8", "replace")
        if not content:
            problem = "an empty body"
        elif decoded:
            problem = "JSON without a Kuzzle envelope (an integer status, a string requestId)"
        elif json:
            problem = "a body that is not the JSON its Content-Type says"
        else:
            problem = (
                f"a body that is not JSON ({headers.get('Content-Type') or 'no content type'})"
            )
        if len(content) > RAW_COPY_LIMIT:
            problem += f" (kept the first {RAW_COPY_LIMIT} of {len(content)} bytes)"
        if kuzzle:
            problem = f"a {self.status} answer with {problem}, under Kuzzle's headers"
        else:
            problem = (
                f"a {self.status} answer with {problem} and no Kuzzle header "
                "(X-Kuzzle-Node, X-Kuzzle-Request-Id): not Kuzzle's answer"
            )
        raise self._invalid("not Kuzzle's answer to POST /_query", content, problem)

    def check_ours(self, body: object = None, content: bytes | None = None) -> None:
        """Raise an InvalidResponseError if the answer names another request than ours: its
        ``X-Kuzzle-Request-Id`` header (checkable before the body is read), or ``body``'s
        ``requestId`` (the decoded body, if any)."""
        ours = self.query.request_id
        header = self.headers.get(REQUEST_ID_HEADER)
        named = header if header is not None and header != ours else foreign_id(body, ours)
        if named is not None:
            raw = None if content is None else content[:RAW_COPY_LIMIT]
            raise failures.crossed_error(
                named,
                raw,
                self._context(),
                http_status=self.status,
                headers=self.headers,
                http_response=self.response,
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
        self,
        exc: BaseException,
        failure: Failure,
        url: str,
        waited: float = 0.0,
        phase: Phase | None = None,
    ) -> KuzzleError:
        """The error of the attempt to ``url`` failing with ``exc`` before a whole answer came.

        ``failure`` says how, as the library tells it, ``phase`` how far the attempt had gone
        (the hint follows from it: cut while being sent, a request never ran; None: not
        known); ``waited``: the seconds a timeout is. Raise it ``from safe_cause(exc)``.
        """
        cls, hint, what = _words(failure, phase)
        what = what.format(url=failures.shown_url(url), waited=waited)
        message = f"{what}: {failures.shown_exception(exc)}"
        return failures.client_error(message, hint, self._context(), cls=cls)

    def _context(self) -> dict[str, Any]:
        return request_context(self.query.payload, self.query.request_id, "http")

    def _parse(self, content: bytes) -> tuple[KuzzleError | None, Any, bool]:
        query = self.query
        error, body, decoded = parse_http(
            content, self.status, self.headers, self.strict, query.request_id, query.payload
        )
        return (None if error is None else sent_request(error)), body, decoded

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
