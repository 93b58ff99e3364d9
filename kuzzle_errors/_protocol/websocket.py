"""The I/O-free half of both WebSocket clients: which frame answers which query
(:class:`FrameRouter`, refusals pinned by :class:`RefusalLedger`), how large and how long a
message may be (:class:`FrameClock`), what a notification stream holds, how an answer, a refused
handshake or a close reads. No I/O, no lock: the sync client calls it under its own.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Final, NamedTuple, TypeVar

from kuzzle_errors._protocol.failures import (
    NO_ANSWER,
    NOT_RETRYABLE,
    client_error,
    crossed_error,
    lost_error,
    shown_url,
)
from kuzzle_errors._protocol.queries import foreign_id, is_envelope, sent_request, ws_context
from kuzzle_errors.exceptions import InvalidResponseError, KuzzleError, RequestTimeoutError, replace
from kuzzle_errors.parser import RAW_COPY_LIMIT, parse_response, parse_response_and_body

log = logging.getLogger("kuzzle_errors.websocket")
_Q = TypeVar("_Q", bound="NotificationQueue")

#: The error Kuzzle's per-socket rate limit answers, with a random request id and no room.
SOCKET_RATE_LIMIT_ID: Final = "network.websocket.ratelimit_exceeded"
#: Kuzzle's application ping and pong frames.
PING: Final = '{"p":1}'
PONG: Final = '{"p":2}'
#: Largest message both clients accept by default, in bytes; a larger one drops the connection.
DEFAULT_MAX_FRAME_BYTES: Final = 256 * 1024 * 1024
#: Why a connection is dropped for a text message that is not UTF-8 (RFC 6455 8.1; as
#: websockets does, with close code 1007).
NOT_UTF8: Final = "the connection was dropped: a text message that is not UTF-8"
#: How many finished request ids a router remembers, so that a late or repeated answer to
#: one is dropped rather than taken for a notification.
FINISHED_MEMORY: Final = 1024


def error_from_message(
    msg: str | bytes | Mapping[str, Any], *, strict: bool = False
) -> KuzzleError | None:
    """The Kuzzle error one WebSocket frame carries, or None (success, notification, ping).

    ``msg`` is the frame as received (text or bytes) or already decoded. A frame that is not
    JSON, or not a Kuzzle message, gives an :class:`~kuzzle_errors.InvalidResponseError`.
    """
    decoded: object = msg
    if not isinstance(msg, Mapping):
        try:
            decoded = json.loads(msg)
        except (ValueError, TypeError, RecursionError):
            decoded = None
    if isinstance(decoded, Mapping) and (is_ping_frame(decoded) or is_notification(decoded)):
        return None
    return parse_response(msg, transport="websocket", strict=strict)


def is_ping_frame(msg: Mapping[str, Any]) -> bool:
    """``{"p":1}`` (Kuzzle's application ping) or ``{"p":2}`` (its pong)."""
    return len(msg) == 1 and msg.get("p") in (1, 2)


def is_notification(msg: Mapping[str, Any]) -> bool:
    """A realtime notification (document, user, server, TokenExpired): a type and no error."""
    # The server one has a top-level message and status that would read as a bare error.
    return "type" in msg and msg.get("error") in (None, False)


class Routed(NamedTuple):
    """What the client must still do with a frame; answers were already handed over."""

    #: A realtime notification for the client's callback and streams.
    notification: dict[str, Any] | None = None
    #: The error of a frame that answers no pending query, and what that frame was.
    unmatched: KuzzleError | None = None
    what: str = ""
    #: Kuzzle pinged: send :data:`PONG`, calling :meth:`FrameRouter.pong_sent` in wire order.
    pong: bool = False


NOTHING: Final = Routed()


def decode_frame(data: str | bytes) -> dict[str, Any] | Routed:
    """The JSON object of a frame, or what to do with a frame that is not one."""
    try:
        msg = json.loads(data)
    except (ValueError, RecursionError):
        return Routed(unmatched=error_from_message(data), what="a frame that is not JSON")
    if not isinstance(msg, dict):
        return Routed(unmatched=error_from_message(data), what="a frame that is not a JSON object")
    return msg


def log_unmatched(logger: logging.Logger, error: KuzzleError, what: str) -> None:
    """Log an error no query was waiting for: news, unless a refusal already handled."""
    level = logging.INFO if error.matches(SOCKET_RATE_LIMIT_ID) else logging.WARNING
    logger.log(level, "Kuzzle sent %s: %s", what, error)


def dropped_by(exc: BaseException) -> str:
    """Why a connection dropped, when its reader failed with ``exc``."""
    return f"the connection dropped ({type(exc).__name__}: {str(exc)[:200]})"


def close_reason(by: str, code: int | None, reason: str = "") -> str:
    """Why a connection closed: ``by`` whom, with the close frame's ``code`` and ``reason``."""
    if code is None:
        return f"closed by {by}"
    return f"closed by {by} (code {code}{': ' + reason if reason else ''})"


def handshake_refusal(
    url: str, status: int, headers: Mapping[str, Any], body: object
) -> KuzzleError:
    """The error of a WebSocket handshake answered with an HTTP status instead of 101.

    Parsed like any HTTP answer: Kuzzle's envelope (a 401 ``security.token.invalid``, a 404
    ``network.http.url_not_found``...) gives the class of its id, anything else the class of
    its status, so a permanent refusal is not retryable.
    """
    url = shown_url(url)
    content = body if isinstance(body, (bytes, str)) else b""
    error = parse_response_and_body(
        content, http_status=status, headers=headers, transport="websocket"
    )[0]
    refused = f"the WebSocket handshake to {url} was refused with HTTP {status}"
    if error is None:  # a success status instead of 101: not a WebSocket endpoint
        raw = content.encode("utf-8", "replace") if isinstance(content, str) else content
        return InvalidResponseError(
            f"HTTP {status} from {url} instead of a WebSocket handshake",
            http_status=status,
            headers=headers,
            raw=raw[:RAW_COPY_LIMIT],
            transport="websocket",
            problem=f"{refused}: not a WebSocket endpoint",
            retry_hint=NOT_RETRYABLE,
        )
    changes: dict[str, Any] = {
        "problem": f"{refused}: {error.problem}" if error.problem else refused
    }
    hint = error.retry_hint
    if hint.retryable and not hint.replay_safe:  # a 502/504 of a proxy: only the handshake ran
        reason = "the WebSocket handshake was refused: no request was sent"
        changes["retry_hint"] = dataclasses.replace(hint, replay_safe=True, reason=reason)
    return replace(error, **changes)


class Stale(Exception):
    """The connection died before the query was sent: take a new one."""


class Pending:
    """A query waiting for its answer. The router settles it once: ``outcome`` becomes the
    answer frame or the error to raise, then ``wake()`` is called (under the sync client's lock).

    ``answered``, if given, is called with the answer frame first, in the reader: before the
    next frame is read (a subscription learns its channel before its first notification).
    """

    __slots__ = ("answered", "outcome", "request", "request_id", "wake")

    def __init__(
        self,
        request: Mapping[str, Any],
        wake: Callable[[], None],
        answered: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.request = request
        self.request_id: str = request["requestId"]
        self.outcome: dict[str, Any] | KuzzleError | None = None
        self.wake = wake
        self.answered = answered

    def settle(self, outcome: dict[str, Any] | KuzzleError) -> None:
        self.outcome = outcome
        if self.answered is not None and isinstance(outcome, dict):
            self.answered(outcome)
        self.wake()

    def result(self, strict: bool) -> Any:
        """``result`` of the answer, or raise the error the query ended with.

        An answer in our room naming another request (its ``requestId``) is nobody's result:
        an InvalidResponseError, not retryable (ours was sent, its answer is lost).
        """
        answer = self.outcome
        if isinstance(answer, KuzzleError):
            raise answer
        assert answer is not None, "not settled"
        named = foreign_id(answer, self.request_id)
        if named is not None:
            raw = {key: answer[key] for key in ("requestId", "room", "status") if key in answer}
            raise crossed_error(named, raw, ws_context(self.request), response=answer)
        error = parse_response_and_body(
            answer, transport="websocket", strict=strict, request=self.request
        )[0]
        if error is not None:
            raise sent_request(error)  # the request as sent, not the frame
        if not is_envelope(answer):
            # Not an envelope, but our room, which only Kuzzle writes: a plugin's result in
            # Kuzzle's raw format, sent as is with only ``room`` added (httpwsProtocol.js).
            return {key: value for key, value in answer.items() if key != "room"}
        return answer.get("result")


class PingDue(NamedTuple):
    """The ping check of an idle connection: send a ping now, or give up on it, and when
    to check again (a :func:`time.monotonic` time)."""

    send: bool
    dead: bool
    wake: float


class FrameRouter:
    """The routing state of one socket: frames in, settled :class:`Pending` queries out.

    Answers are matched by ``room`` (or by ``requestId`` for the invalid requests Kuzzle answers
    without a room), late or repeated answers dropped, stray errors told from notifications,
    per-socket refusals pinned once certain, pings and pongs counted. Each query this router
    finishes is settled once, after it has left :attr:`pending`.
    """

    def __init__(self, now: float) -> None:
        self.pending: dict[str, Pending] = {}
        # Finished queries (answered, timed out, cancelled, refused): a late or repeated
        # answer to one is dropped, never taken for a notification.
        self._finished: OrderedDict[str, None] = OrderedDict()
        # Per-socket rate-limit refusals name no request: the ledger says when one can be
        # pinned on a query for certain.
        self._ledger = RefusalLedger()
        self._refusal: dict[str, Any] | None = None  # the latest refusal frame
        self._pings: deque[tuple[str, int]] = deque()  # our pings waiting for a pong
        self._frames = 0  # numbers our pings and pongs
        self._ping_sent_at: float | None = None
        self.last_received = now  # a monotonic time: the client updates it on every frame

    def sending(self, waiter: Pending) -> None:
        """``waiter``'s frame goes on the wire now: call in the order frames are sent."""
        self.pending[waiter.request_id] = waiter  # before sending: the answer may be quick
        self._ledger.sent(waiter.request_id)

    def ping_sent(self, now: float) -> None:
        """Our :data:`PING` goes on the wire now (in wire order)."""
        self._frames += 1
        self._pings.append(("ping", self._frames))
        self._ledger.sent(self._pings[-1])
        self._ping_sent_at = now

    def pong_sent(self) -> None:
        """Our :data:`PONG` goes on the wire now: a message too, Kuzzle may refuse it."""
        self._frames += 1
        self._ledger.sent(("pong", self._frames))

    def ping_due(self, now: float, interval: float) -> PingDue:
        """Whether an idle connection needs a ping, or is dead: a ping stayed unanswered for
        a whole ``interval`` (a dead network, or a frame dripping in)."""
        sent_at = self._ping_sent_at
        if sent_at is not None and self.last_received < sent_at:
            dead = now - sent_at >= interval
            return PingDue(False, dead, sent_at + interval)
        if now - self.last_received >= interval:
            return PingDue(True, False, now + interval)
        return PingDue(False, False, self.last_received + interval)

    def route(self, msg: dict[str, Any]) -> Routed:
        """Route one decoded frame (see :func:`decode_frame`)."""
        if is_ping_frame(msg):
            if msg["p"] == 1:
                return Routed(pong=True)
            self._fail_refused(self._pong_received())
            return NOTHING
        has_error = msg.get("error") not in (None, False)
        room = msg.get("room")
        request_id = msg.get("requestId")
        # Anything may come in these fields: only strings are request ids.
        key = room if isinstance(room, str) else request_id if isinstance(request_id, str) else None
        waiter = self.pending.pop(room, None) if isinstance(room, str) else None
        if waiter is None and has_error and room is None and isinstance(request_id, str):
            # Invalid requests are answered without a room, with our request id.
            waiter = self.pending.pop(request_id, None)
        if waiter is not None:
            self._finish(waiter.request_id)
            waiter.settle(msg)
            self._fail_refused(self._ledger.answered(waiter.request_id))
            return NOTHING
        if key is not None and key in self._finished:
            self._fail_refused(self._ledger.answered(key))
            return NOTHING  # a late or repeated answer
        if not has_error and (room is not None or "type" in msg):
            return Routed(notification=msg)
        error = error_from_message(msg)
        if error is not None and error.matches(SOCKET_RATE_LIMIT_ID) and room is None:
            self._refusal = msg
            self._fail_refused(self._ledger.refused())
        return Routed(unmatched=error, what="an error answer matching no pending query")

    def expire(self, waiter: Pending, timeout: float) -> KuzzleError | None:
        """``waiter`` waited ``timeout`` seconds: settle it with (and return) its timeout
        error; None if it has ended already."""
        if not self.abandon(waiter):
            return None
        problem = NO_ANSWER.reason
        if self._ledger.suspected(waiter.request_id):
            problem += (
                "; a per-socket rate-limit refusal (which names no request) came meanwhile "
                "and may be its answer, or another query's"
            )
        error = client_error(
            f"no answer within {timeout:g} s",
            NO_ANSWER,
            ws_context(waiter.request),
            cls=RequestTimeoutError,
            problem=problem,
        )
        waiter.settle(error)
        return error

    def abandon(self, waiter: Pending) -> bool:
        """``waiter`` stops waiting (timed out, cancelled, unsent); False if it had ended.

        It stays remembered: its late answer is dropped quietly.
        """
        if self.pending.get(waiter.request_id) is not waiter:
            return False
        del self.pending[waiter.request_id]
        self._finish(waiter.request_id)
        return True

    def drop(self, url: str, why: str) -> None:
        """The connection to ``url`` is lost: every pending query fails at once."""
        pending = list(self.pending.values())
        self.pending.clear()
        for waiter in pending:
            waiter.settle(lost_error(url, waiter.request, why))

    def _finish(self, request_id: str) -> None:
        """Remember ``request_id`` as finished, forgetting the oldest past FINISHED_MEMORY.

        The ledger keeps it unresolved until then: a refusal that came may still be its answer.
        """
        self._finished[request_id] = None
        while len(self._finished) > FINISHED_MEMORY:
            self._ledger.forget(self._finished.popitem(last=False)[0])

    def _pong_received(self) -> list[Hashable]:
        """Kuzzle answered a ping: the oldest one, unless an older one was refused."""
        if not self._pings:
            return []
        oldest = self._pings.popleft()
        if self._pings:  # which ping this answers is unsure: count none of them as answered
            self._ledger.forget(oldest)
            return []
        return self._ledger.answered(oldest)

    def _fail_refused(self, keys: list[Hashable]) -> None:
        """Fail the pending queries among ``keys`` (known refused) with the refusal."""
        for key in keys:
            if key in self._pings:
                self._pings.remove(key)  # type: ignore[arg-type]
            waiter = self.pending.pop(key, None) if isinstance(key, str) else None
            if waiter is None:
                continue  # a ping, a pong, or a query that timed out: nobody waits for it
            self._finish(waiter.request_id)
            refusal = error_from_message(self._refusal or {"status": 429}) or KuzzleError("refused")
            waiter.settle(
                replace(
                    refusal,
                    **ws_context(waiter.request),
                    problem="refused by the per-socket rate limit: its answer names no request; "
                    "matched by elimination, every other query that could be its subject was "
                    "answered",
                )
            )


class RefusalLedger:
    """Which frames of one socket a per-socket rate-limit refusal may belong to.

    Kuzzle's refusal (429 ``network.websocket.ratelimit_exceeded``) names no frame; it is
    written at once for the frame it refuses, while an accepted request is answered later, and
    frames come back in order: a refusal belongs to a frame sent before it and not answered,
    and once a frame is answered, the refusals of every frame sent before it have come (the
    ``horizon``). Refusals are attributed by elimination and only when certain (see
    ``docs/explanation/websocket-refusals.md``): a refused write is replayed, so pinning a
    refusal on the wrong frame could run a write twice.

    Keys name frames (request ids, ``("ping", n)``...). :meth:`sent` must be called in the
    order the frames reach the socket. Not thread-safe: callers hold their own lock.
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


class FrameLimit(Exception):
    """A message broke its size or time bound: the connection is dropped."""


class FrameClock:
    """Follows the frames in the bytes a server sends, to bound each message's size and time.

    A server announcing a 1 GB frame, or dripping one a byte at a time, would hold a reader
    for ever. Fed the bytes as they arrive, the clock reads the frame headers (RFC 6455 5.2) and
    raises :class:`FrameLimit` as soon as a message (its fragments summed) announces more than
    ``max_bytes``, or has taken over ``timeout`` seconds since its first byte; :meth:`check`
    does the same for a connection gone quiet mid-message. ``http_head``: the bytes start with
    the handshake's answer.
    """

    def __init__(self, max_bytes: int | None, timeout: float, *, http_head: bool = False) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._http = bytearray() if http_head else None  # the handshake's answer, until read
        self._head = bytearray()  # the header of the next frame, while incomplete
        self._left = 0  # payload bytes of the current frame still to come
        self._fin = True  # the last data frame ended its message
        self._size = 0  # payload bytes announced by the current message's frames
        self.started: float | None = None  # when the current message's first byte came

    def feed(self, data: bytes, now: float) -> None:
        """The next bytes as received; raises :class:`FrameLimit` past a bound."""
        if self._http is not None:  # the handshake's answer, up to its blank line, is skipped
            self._http += data
            end = self._http.find(b"\r\n\r\n")
            if end < 0:
                return
            data, self._http = bytes(self._http[end + 4 :]), None
        at = 0
        while at < len(data):
            if self._left:
                taken = min(self._left, len(data) - at)
                self._left -= taken
                at += taken
            else:
                if not self._head and self.started is None:
                    self.started = now
                self._head.append(data[at])
                at += 1
                if not self._header():
                    continue
            # A whole frame ends its message if it is its last fragment, or a control frame
            # outside a fragmented message.
            if not self._left and not self._head and self._fin:
                self.started, self._size = None, 0
        self.check(now)

    def check(self, now: float) -> None:
        """Raise :class:`FrameLimit` if the message being received took over ``timeout``."""
        if self.started is not None and now - self.started > self.timeout:
            raise FrameLimit(f"a frame took more than {self.timeout:g} s to arrive (frame_timeout)")

    def _header(self) -> bool:
        """Parse the frame header read so far; False while it is incomplete."""
        head = self._head
        if len(head) < 2:
            return False
        short = head[1] & 0x7F
        extra = {126: 2, 127: 8}.get(short, 0)
        if len(head) < 2 + extra + (head[1] >> 7) * 4:  # a mask key follows, if any
            return False
        length = int.from_bytes(head[2 : 2 + extra], "big") if extra else short
        if not head[0] & 0x08:  # a data frame (a control frame is small, and within a message)
            self._fin = bool(head[0] & 0x80)
            self._size += length
            if self.max_bytes is not None and self._size > self.max_bytes:
                raise FrameLimit(
                    f"the server announced a frame of {self._size} bytes "
                    f"(max_frame_bytes is {self.max_bytes})"
                )
        self._left = length
        head.clear()
        return True


class NotificationQueue:
    """What one notification stream holds until it is read: the base of both clients'
    ``NotificationStream``, which add the waiting (a thread's condition, or asyncio).

    At most ``max_queued`` notifications wait; beyond, the oldest are dropped (and logged). The
    stream ends once: when the client closes (``put(None)``: what was queued is read first), or
    with the error of a dropped connection (Kuzzle forgets a dropped socket's subscriptions).
    """

    def __init__(self, streams: set[NotificationQueue], max_queued: int) -> None:
        if not max_queued > 0:
            raise ValueError(f"max_queued must be positive, not {max_queued!r}")
        self._streams = streams  # the client's: a stream that ends leaves it
        # Notifications, and the errors a subscription is told in their order (see warn()).
        self._items: deque[dict[str, Any] | KuzzleError] = deque()
        self._max = max_queued
        self._end: KuzzleError | None = None
        self.ended: bool = False
        self._errors = 0  # of the items
        #: How many notifications (or errors, see :meth:`warn`) were dropped because the
        #: stream was full.
        self.dropped: int = 0
        streams.add(self)

    def put(self, item: dict[str, Any] | KuzzleError | None) -> None:
        """A notification, or the end: None (the client closed) or the error of a drop."""
        if self.ended:
            return
        if isinstance(item, dict):
            if len(self._items) - self._errors >= self._max:
                self._drop_oldest(dict, "notification")
            self._items.append(item)
        else:
            self._end, self.ended = item, True
            self._streams.discard(self)

    def warn(self, error: KuzzleError) -> None:
        """An error the reader meets in its place among the notifications, without ending
        the stream (a subscription lost, to be restored). Notifications never push one out;
        past ``max_queued`` errors (a stream nobody reads, on a network that keeps dropping)
        the oldest error goes, as the oldest notification would."""
        if self.ended:
            return
        if self._errors >= self._max:
            self._drop_oldest(KuzzleError, "error")
        self._items.append(error)
        self._errors += 1

    def _drop_oldest(self, kind: type, what: str) -> None:
        for at, old in enumerate(self._items):
            if isinstance(old, kind):
                del self._items[at]
                if kind is KuzzleError:
                    self._errors -= 1
                self.dropped += 1
                log.warning("notification stream full: dropped the oldest %s", what)
                return

    def close(self) -> None:
        """Stop receiving notifications; what was queued is dropped."""
        self._items.clear()
        self._errors = 0
        self.put(None)

    def forked(self) -> None:
        """In a forked child, before the stream ends: fresh waiting primitives (a thread of
        the parent may have held a lock; an event belongs to the parent's loop)."""

    def __enter__(self: _Q) -> _Q:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _next(self, stop: type[Exception]) -> dict[str, Any] | None:
        """The next notification, None while there is none; at the end, raises the error that
        ended the stream (once), then ``stop``."""
        if self._items:
            item = self._items.popleft()
            if isinstance(item, KuzzleError):
                self._errors -= 1
                raise item
            return item
        if not self.ended:
            return None
        error, self._end = self._end, None
        raise error if error is not None else stop()
