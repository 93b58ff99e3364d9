"""Where each frame of one Kuzzle WebSocket goes: the sans-I/O half of both WebSocket clients.

The sync client (``websocket-client``, a reader thread) and the async one (``websockets``, a
reader task) differ in how frames move and how a waiting caller wakes up. Which frame answers
which query is decided here, once: answers matched by ``room`` (or by ``requestId`` for the
invalid requests Kuzzle answers without a room), late or repeated answers dropped, stray
errors told from notifications, per-socket rate-limit refusals pinned through
:class:`~kuzzle_errors._transport.RefusalLedger`, pings and pongs counted, and the errors of
the queries that time out or lose their connection.

A :class:`FrameRouter` does no I/O and takes no lock: the sync client calls it under its own.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Final, Generic, NamedTuple, Protocol, TypeVar

from kuzzle_errors._query import (
    SOCKET_RATE_LIMIT_ID,
    error_from_message,
    is_ping_frame,
    ws_context,
    ws_lost_error,
)
from kuzzle_errors._transport import (
    CONNECT_FAILED,
    CONNECTION_LOST,
    NO_ANSWER,
    RefusalLedger,
    opt_str,
    shown_url,
)
from kuzzle_errors.exceptions import ConnectionLostError, KuzzleError, RequestTimeoutError

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "PING",
    "PONG",
    "FrameRouter",
    "Outcome",
    "Routed",
    "Stale",
    "decode_frame",
    "dropped_by",
    "log_unmatched",
    "stale_error",
]

#: Kuzzle's application ping and pong frames.
PING: Final = '{"p":1}'
PONG: Final = '{"p":2}'
#: Largest frame both clients accept by default, in bytes; a larger one drops the connection.
DEFAULT_MAX_FRAME_BYTES: Final = 256 * 1024 * 1024
#: How many finished request ids a router remembers, so that a late or repeated answer to
#: one is dropped rather than taken for a notification.
FINISHED_MEMORY: Final = 1024

#: What a waiting query ends with: its answer frame, or the error it raises.
Outcome = dict[str, Any] | KuzzleError


class Stale(Exception):
    """The connection died before the query was sent: take a new one."""


def stale_error(url: str, payload: Mapping[str, Any]) -> KuzzleError:
    """The error of a query whose connection died twice before it could be sent."""
    return ConnectionLostError(
        f"connection to {shown_url(url)} lost before the request was sent",
        problem=CONNECT_FAILED.reason,
        retry_hint=CONNECT_FAILED,
        **ws_context(payload),
    )


def dropped_by(exc: BaseException) -> str:
    """Why a connection dropped, when its reader failed with ``exc``."""
    return f"the connection dropped ({type(exc).__name__}: {str(exc)[:200]})"


class Waiter(Protocol):
    """A query waiting for its answer, as each client keeps it."""

    @property
    def request_id(self) -> str: ...
    @property
    def request(self) -> Mapping[str, Any]: ...


W = TypeVar("W", bound=Waiter)


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


def log_unmatched(log: logging.Logger, error: KuzzleError, what: str) -> None:
    """Log an error no query was waiting for: news, unless a refusal already handled."""
    level = logging.INFO if error.id == SOCKET_RATE_LIMIT_ID else logging.WARNING
    log.log(level, "Kuzzle sent %s: %s", what, error)


class PingDue(NamedTuple):
    """The ping check of an idle connection: send a ping now, or give up on it, and when
    to check again (a :func:`time.monotonic` time)."""

    send: bool
    dead: bool
    wake: float


class FrameRouter(Generic[W]):
    """The routing state of one socket; ``settle(waiter, outcome)`` wakes a waiting query.

    ``settle`` is called with the answer frame or the error of each query this router
    finishes, once, after the query has left :attr:`pending`.
    """

    def __init__(self, settle: Callable[[W, Outcome], None], now: float) -> None:
        self.pending: dict[str, W] = {}
        self._settle = settle
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

    # -- what goes out -------------------------------------------------------------------

    def sending(self, waiter: W) -> None:
        """``waiter``'s frame goes on the wire now: call in the order frames are sent."""
        self.pending[waiter.request_id] = waiter  # before sending: the answer may be quick
        self._ledger.sent(waiter.request_id)

    def unsent(self, waiter: W) -> None:
        """Sending ``waiter``'s frame failed: nothing will answer it on this socket."""
        if self.pending.get(waiter.request_id) is waiter:
            del self.pending[waiter.request_id]

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

    # -- what comes in -------------------------------------------------------------------

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
            self._settle(waiter, msg)
            self._fail_refused(self._ledger.answered(waiter.request_id))
            return NOTHING
        if key is not None and key in self._finished:
            self._fail_refused(self._ledger.answered(key))
            return NOTHING  # a late or repeated answer
        if not has_error and (room is not None or "type" in msg):
            return Routed(notification=msg)
        error = error_from_message(msg)
        if error is not None and error.id == SOCKET_RATE_LIMIT_ID and room is None:
            self._refusal = msg
            self._fail_refused(self._ledger.refused())
        return Routed(unmatched=error, what="an error answer matching no pending query")

    # -- how queries end otherwise ---------------------------------------------------------

    def expire(self, waiter: W, timeout: float) -> KuzzleError | None:
        """``waiter`` waited ``timeout`` seconds: its timeout error, None if it has ended."""
        if not self.abandon(waiter):
            return None
        problem = NO_ANSWER.reason
        if self._ledger.suspected(waiter.request_id):
            problem += (
                "; a per-socket rate-limit refusal (which names no request) came meanwhile "
                "and may be its answer, or another query's"
            )
        return RequestTimeoutError(
            f"no answer within {timeout:g} s",
            problem=problem,
            retry_hint=NO_ANSWER,
            **ws_context(waiter.request),
        )

    def abandon(self, waiter: W) -> bool:
        """``waiter`` stops waiting (timed out, cancelled); False if it had ended already.

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
            self._settle(waiter, ws_lost_error(url, waiter.request, why, CONNECTION_LOST))

    # -- inside ------------------------------------------------------------------------------

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
            self._settle(waiter, _refusal_error(self._refusal, waiter.request))


def _refusal_error(message: Mapping[str, Any] | None, request: Mapping[str, Any]) -> KuzzleError:
    """The error of ``request``, known refused by a per-socket rate-limit refusal ``message``."""
    error = error_from_message(message or {"status": 429}) or KuzzleError("refused")
    error.request_id = opt_str(request.get("requestId"))
    error.controller = opt_str(request.get("controller"))
    error.action = opt_str(request.get("action"))
    error.problem = (
        "refused by the per-socket rate limit: its answer names no request; matched "
        "by elimination, every other query that could be its subject was answered"
    )
    return error
