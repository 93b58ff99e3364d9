"""What the HTTP and WebSocket clients share: retry hints of client-side failures, retry wiring.

No optional dependency here: both transport modules import it, and so does the stub.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any, Final, Protocol, TypeVar
from urllib.parse import urlsplit

from kuzzle_errors._redact import redact_text
from kuzzle_errors.exceptions import InvalidResponseError, KuzzleError, replace
from kuzzle_errors.hints import RetryHint
from kuzzle_errors.parser import RAW_COPY_LIMIT, parse_response_and_body

__all__ = [
    "CONNECT_FAILED",
    "CONNECTION_LOST",
    "ENVELOPE_KEYS",
    "NOT_RETRYABLE",
    "NO_ANSWER",
    "BodyTooLarge",
    "BoundedBody",
    "RefusalLedger",
    "RetryCaller",
    "call_with_retry",
    "exception_chain",
    "handshake_refusal",
    "host_key",
    "jwt_from_login",
    "login_request",
    "new_request_id",
    "opt_str",
    "request_fields",
    "scope_retry",
    "shown_url",
]

_T = TypeVar("_T")
_P = TypeVar("_P")  # a retry policy, sync or async

#: The request never left the client: replaying it cannot run it twice.
CONNECT_FAILED: Final = RetryHint(
    True, True, 0.0, "the connection could not be made: the request never reached the server"
)
#: The request was (perhaps) sent, then the connection failed: it may have run.
CONNECTION_LOST: Final = RetryHint(
    True, False, 0.0, "the connection failed after the request was sent: it may have been processed"
)
#: Sent, no answer in time: Kuzzle has no server-side timeout, so it may still run.
NO_ANSWER: Final = RetryHint(
    True, False, 0.0, "no answer in time: the request may have been (or still be) processed"
)
#: A client-side failure that will not go away by trying again (bad URL, TLS setup...).
NOT_RETRYABLE: Final = RetryHint(
    False, False, 0.0, "client-side configuration problem: retrying will not help"
)

#: Every answer Kuzzle sends to a query is an envelope holding at least one of these.
ENVELOPE_KEYS: Final = ("status", "result", "requestId")


class RetryCaller(Protocol):
    """What the transports need from :class:`kuzzle_errors.retry.RetryPolicy`."""

    def call(
        self, fn: Callable[..., _T], /, *args: Any, idempotent: bool = ..., **kwargs: Any
    ) -> _T: ...


_DEFAULT_PORTS: Final = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def host_key(url: str) -> str:
    """``host:port`` of ``url`` (the scheme's default port when none is given), lowercased.

    HTTP and WebSocket URLs of one server give the same key (Kuzzle serves both on one port),
    so their clients share one retry budget.
    """
    parts = urlsplit(url if "//" in url else f"//{url}")
    try:
        port = parts.port
    except ValueError:  # an invalid port: the client will fail on it, any key will do
        port = None
    if port is None:
        port = _DEFAULT_PORTS.get(parts.scheme.lower())
    host = (parts.hostname or parts.netloc or url).lower()
    if ":" in host:  # IPv6 literal: bracket it again so the port stays unambiguous
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


def scope_retry(policy: _P | None, url: str) -> _P | None:
    """``policy.for_host(host_key(url))`` when the policy has ``for_host``, else ``policy``.

    Sync or async (``call`` or ``acall``): every client of one server, HTTP or WebSocket,
    then shares one budget.
    """
    for_host = getattr(policy, "for_host", None)
    if policy is not None and callable(for_host):
        scoped: _P = for_host(host_key(url))
        return scoped
    return policy


def login_request(
    credentials: Mapping[str, Any], strategy: str, expires_in: str | None
) -> dict[str, Any]:
    """The ``auth:login`` request both clients send."""
    request: dict[str, Any] = {
        "controller": "auth",
        "action": "login",
        "strategy": strategy,
        "body": dict(credentials),
    }
    if expires_in is not None:
        request["expiresIn"] = expires_in
    return request


def jwt_from_login(result: object) -> str:
    """The token of an ``auth:login`` result; a KuzzleError if there is none."""
    jwt = result.get("jwt") if isinstance(result, Mapping) else None
    if not isinstance(jwt, str):
        raise KuzzleError("auth:login answered no token", problem="no jwt in the result")
    return jwt


def opt_str(value: object) -> str | None:
    """``value`` if it is a string, else None: a request's fields may hold anything."""
    return value if isinstance(value, str) else None


def request_fields(request: Mapping[str, Any]) -> dict[str, Any]:
    """``controller``, ``action``, ``index`` and ``collection``: the context of its errors."""
    return {
        key: opt_str(request.get(key)) for key in ("controller", "action", "index", "collection")
    }


def shown_url(url: str) -> str:
    """``url`` as the transports write it in messages: a password in it is redacted."""
    return redact_text(url, 300)


def exception_chain(exc: BaseException, limit: int = 12) -> Iterator[BaseException]:
    """``exc`` and the exceptions it links to, each once and at most ``limit`` of them.

    Links, depth first in this order: ``__cause__``, ``__context__`` (so the chain a traceback
    prints comes first), then ``reason`` and ``args`` (where ``urllib3`` and ``requests`` nest
    the exception they wrap). Bounded: chains can be cyclic, or very long.
    """
    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo and len(seen) < limit:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        yield item
        todo.extend(reversed(item.args))  # a stack: the last pushed is the next visited
        todo.extend((getattr(item, "reason", None), item.__context__, item.__cause__))


#: A refused handshake sent nothing but the handshake: a retry cannot run anything twice.
HANDSHAKE_REFUSED: Final = "the WebSocket handshake was refused: no request was sent"


def handshake_refusal(
    url: str, status: int, headers: Mapping[str, Any], body: object, transport: str
) -> KuzzleError:
    """The error of a WebSocket handshake answered with an HTTP status instead of 101.

    Parsed like any HTTP answer: Kuzzle's envelope (a 401 ``security.token.invalid``, a 404
    ``network.http.url_not_found``...) gives the class of its id, anything else the class of
    its status, so a permanent refusal is not retryable.
    """
    url = shown_url(url)
    content = body if isinstance(body, (bytes, str)) else b""
    error, _, _ = parse_response_and_body(
        content, http_status=status, headers=headers, transport=transport
    )
    refused = f"the WebSocket handshake to {url} was refused with HTTP {status}"
    if error is None:  # a success status instead of 101: not a WebSocket endpoint
        raw = content.encode("utf-8", "replace") if isinstance(content, str) else content
        return InvalidResponseError(
            f"HTTP {status} from {url} instead of a WebSocket handshake",
            http_status=status,
            headers=headers,
            raw=raw[:RAW_COPY_LIMIT],
            transport=transport,
            problem=f"{refused}: not a WebSocket endpoint",
            retry_hint=NOT_RETRYABLE,
        )
    problem = f"{refused}: {error.problem}" if error.problem else refused
    hint = error.retry_hint
    if hint.retryable and not hint.replay_safe:  # a 502/504 of a proxy: nothing ran
        hint = RetryHint(True, True, hint.delay, HANDSHAKE_REFUSED, hint.other_node)
        return replace(error, problem=problem, retry_hint=hint)
    return replace(error, problem=problem)


def new_request_id() -> str:
    """A fresh request id (a uuid4, as Kuzzle and its SDKs generate)."""
    return str(uuid.uuid4())


def call_with_retry(
    policy: RetryCaller | None,
    fn: Callable[..., _T],
    request: dict[str, Any],
    *,
    idempotent: bool,
    **kwargs: Any,
) -> _T:
    """``fn(request, **kwargs)``, through ``policy`` when one is set."""
    if policy is None:
        return fn(request, **kwargs)
    return policy.call(fn, request, idempotent=idempotent, **kwargs)


class RefusalLedger:
    """Which frames of one socket a per-socket rate-limit refusal may belong to.

    Kuzzle's per-socket refusal (429 ``network.websocket.ratelimit_exceeded``) has a random
    request id and no room: it names no frame. What Kuzzle does is known, though: it counts
    every message (pings included) on arrival, before parsing, and writes the refusal at once,
    in the handler that received the frame; an accepted request is answered later. Frames
    come back in order on one socket, so:

    * a refusal belongs to a frame sent before it arrived and not answered;
    * once the answer to a frame arrives, the refusals of every frame sent before that one
      have arrived too (the ``horizon``): later refusals are not theirs.

    Refusals are attributed by elimination and only when certain: when the frames that may
    be theirs and are still unanswered are exactly as many as the refusals, every one of them
    was refused. A frame leaves the candidates only by being answered; a query that timed out
    stays one (its refusal may be the one that came), so a refusal is never pinned on another
    frame because the refused one stopped waiting. Giving up on attributing is always safe
    (the queries then get their answer or time out, never replay-safe); pinning a refusal on
    the wrong frame is not, since a refused write is replayed.

    Keys are any hashable naming a frame (request ids, ``("ping", n)``...). :meth:`sent` must
    be called in the order the frames reach the socket (under the lock that serializes the
    sends): the horizon relies on it. Not thread-safe: callers hold their own lock. Meant for
    every WebSocket client of the package.
    """

    __slots__ = (
        "_blind_until",
        "_episode",
        "_horizon",
        "_refusals",
        "_seq",
        "_tainted",
        "_unresolved",
    )

    #: Unanswered frames remembered at most; past it the oldest is forgotten.
    LIMIT: Final = 4096

    def __init__(self) -> None:
        self._seq = 0
        self._unresolved: dict[Hashable, int] = {}  # frame -> send order (ascending)
        self._horizon = 0  # every refusal of a frame sent up to here has arrived
        self._blind_until = 0  # a forgotten frame: refusals before the horizon passes it are
        self._episode: set[Hashable] = set()  # frames the counted refusals may belong to
        self._refusals = 0
        self._tainted = False  # a refusal of the episode may belong to a forgotten frame

    def sent(self, key: Hashable) -> None:
        """A frame that will get an answer or a refusal was (or is about to be) sent."""
        self._seq += 1
        self._unresolved[key] = self._seq
        if len(self._unresolved) > self.LIMIT:
            self.forget(next(iter(self._unresolved)))

    def answered(self, key: Hashable) -> list[Hashable]:
        """``key`` got its answer (so it was not refused); returns the frames now known refused."""
        seq = self._unresolved.pop(key, None)
        if seq is None:
            return []
        self._horizon = max(self._horizon, seq)
        refused = self._settle()
        # Frames behind the horizon are the subject of no later refusal: out of the current
        # episode, forgetting them loses nothing (their callers track them).
        # Send order is insertion order: stop at the first frame past the horizon, without
        # copying every tracked frame (a burst of answers would be quadratic).
        behind = []
        for old, old_seq in self._unresolved.items():
            if old_seq > self._horizon:
                break
            if old not in self._episode:
                behind.append(old)
        for old in behind:
            del self._unresolved[old]
        return refused

    def refused(self) -> list[Hashable]:
        """A refusal arrived; returns the frames known refused (empty while uncertain)."""
        if not self._episode & self._unresolved.keys():  # the earlier episode is over
            self._episode, self._refusals, self._tainted = set(), 0, False
        self._episode.update(key for key, seq in self._unresolved.items() if seq > self._horizon)
        self._refusals += 1
        if self._horizon < self._blind_until:
            self._tainted = True  # it may be the refusal of a frame no longer tracked
        return self._settle()

    def forget(self, key: Hashable) -> None:
        """Stop tracking ``key`` unanswered: refusals that may be its are attributed to no one."""
        seq = self._unresolved.pop(key, None)
        if seq is not None:
            self._blind_until = max(self._blind_until, seq)
            if key in self._episode:
                self._tainted = True

    def suspected(self, key: Hashable) -> bool:
        """True if a refusal that came may be the answer to ``key``."""
        return key in self._episode and key in self._unresolved

    def _settle(self) -> list[Hashable]:
        if not self._refusals or self._tainted:
            return []
        live = [key for key in self._episode if key in self._unresolved]
        if len(live) > self._refusals:
            return []  # some of them are only slow: wait for more answers
        refusals = self._refusals
        self._episode, self._refusals = set(), 0
        if len(live) < refusals:
            # More refusals than frames they can belong to: one was for a frame not tracked
            # here (or not ours); nothing can be attributed with certainty.
            return []
        for key in live:
            del self._unresolved[key]
        return live


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
    gzip and deflate are decoded here (what Kuzzle sends); ``decodes(encoding)`` says whether
    an encoding is, so a transport can let its library decode others.
    """

    def __init__(self, encoding: str | None, limit: int | None) -> None:
        self.limit = limit
        self._out = bytearray()
        enc = (encoding or "").strip().lower()
        # 32 + MAX_WBITS: a gzip or a zlib header, detected; raw deflate is tried on failure.
        self._inflate = zlib.decompressobj(32 + zlib.MAX_WBITS) if enc in _INFLATED else None
        self._raw_deflate = enc == "deflate"
        self._started = False

    @staticmethod
    def decodes(encoding: str | None) -> bool:
        """True for encodings :class:`BoundedBody` decodes itself (and identity)."""
        return (encoding or "").strip().lower() in ("", "identity", *_INFLATED)

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
