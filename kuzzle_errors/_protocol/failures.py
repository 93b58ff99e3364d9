"""Hints and errors of the failures a client meets on its own side: the connection could not be
made, was lost (before, while or after the request was sent), no answer came in time, an answer
named another request, the client was closed; how they show an exception.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from kuzzle_errors._protocol.queries import ws_context
from kuzzle_errors._redact import one_line, redact_text, redact_url
from kuzzle_errors.exceptions import ConnectionLostError, InvalidResponseError, KuzzleError
from kuzzle_errors.hints import RetryHint

#: The request never left the client: replaying it cannot run it twice.
CONNECT_FAILED: Final = RetryHint(
    retryable=True,
    replay_safe=True,
    reason="the connection could not be made: the request never reached the server",
)
#: The request was (perhaps) sent, then the connection failed: it may have run.
CONNECTION_LOST: Final = RetryHint(
    retryable=True,
    replay_safe=False,
    reason="the connection failed after the request was sent: it may have been processed",
)
#: Cut while it was being sent: the server never received it whole, so it cannot have run
#: (Kuzzle reads a whole body, or a whole frame, before it parses a request).
CUT_WHILE_SENDING: Final = RetryHint(
    retryable=True,
    replay_safe=True,
    reason="the request was cut while being sent: the server never received it whole",
)
#: Sent, no answer in time: Kuzzle has no server-side timeout, so it may still run.
NO_ANSWER: Final = RetryHint(
    retryable=True,
    replay_safe=False,
    reason="no answer in time: the request may have been (or still be) processed",
)
#: A notification stream ended by a drop: no request was lost, but Kuzzle forgot the socket's
#: subscriptions (and what it notified meanwhile is lost); subscribing again is safe.
SUBSCRIPTIONS_LOST: Final = RetryHint(
    retryable=True,
    replay_safe=True,
    reason="Kuzzle forgot the subscriptions of this connection (it dropped, or its node shuts "
    "down) and the notifications of meanwhile are lost: subscribe again (subscribe() does) "
    "and re-read what may have changed",
)
#: A client-side failure that will not go away by trying again (bad URL, TLS setup...).
NOT_RETRYABLE: Final = RetryHint(
    retryable=False,
    replay_safe=False,
    reason="client-side configuration problem: retrying will not help",
)


#: An answer naming another request: ours was sent and may have run; its answer is lost.
CROSSED: Final = RetryHint(
    retryable=False,
    replay_safe=False,
    reason="the answer names another request: this one was sent and may have run, "
    "its own answer never came",
)


def crossed_error(
    named: str, raw: object, context: Mapping[str, Any], **fields: Any
) -> KuzzleError:
    """The error of an answer naming the request ``named`` instead of ours (``context``).

    ``raw``: what came (bounded by the caller); ``fields``: the answer's HTTP status, headers...
    """
    shown = one_line(redact_text(named, 80))
    return InvalidResponseError(
        f"the answer names another request ({shown})",
        raw=raw,
        problem=CROSSED.reason,
        retry_hint=CROSSED,
        **context,
        **fields,
    )


def shown_url(url: str) -> str:
    """``url`` as the transports write it in messages and reprs: its userinfo's password (or
    a user part alone) hidden whatever its characters, on one line."""
    return one_line(redact_text(redact_url(url), 300))


def shown_exception(exc: BaseException) -> str:
    """``exc`` as messages show it: its class and its text, redacted (a library may quote the
    URL, password included, or the headers of an answer) and bounded."""
    return f"{type(exc).__name__}: {redact_text(str(exc), 300) or 'no detail'}"


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
        # ``reason`` as an attribute of the instance only (urllib3 sets one): a property may
        # warn (websockets' ConnectionClosed.reason is deprecated).
        reason = vars(item).get("reason") if hasattr(item, "__dict__") else None
        todo.extend((reason, item.__context__, item.__cause__))


class RedactedCause(Exception):
    """Chained in place of a library exception whose text (or chain) held a secret, or text a
    server controls that would break a traceback's lines or drive a terminal."""


def safe_cause(exc: BaseException) -> BaseException:
    """``exc``, or a :class:`RedactedCause` with its text redacted and on one line when its
    chain shows a secret or a control character.

    A transport error is raised ``from`` the library's exception; tracebacks and
    ``logging.exception`` print that chain, so it must not carry a token (an illegal
    ``Authorization`` header value is quoted by httpx and h11), nor a server's escape sequences
    (``http.client`` quotes a bad status line).
    """
    for item in exception_chain(exc):
        text = str(item)
        if redact_text(text) != text or not text.isprintable():
            return RedactedCause(f"{type(exc).__name__}: {one_line(redact_text(str(exc)))}")
    return exc


def client_error(
    message: str,
    hint: RetryHint,
    context: Mapping[str, Any],
    *,
    cls: type[KuzzleError] = ConnectionLostError,
    problem: str | None = None,
) -> KuzzleError:
    """The error of a failure on the client's side; ``context``: the request's fields."""
    return cls(message, problem=problem or hint.reason, retry_hint=hint, **context)


def lost_error(
    url: str, request: Mapping[str, Any], why: str, hint: RetryHint = CONNECTION_LOST
) -> KuzzleError:
    """The error of a query whose WebSocket connection to ``url`` was lost, ``why``."""
    return client_error(f"connection to {shown_url(url)} lost: {why}", hint, ws_context(request))


def connect_error(url: str, why: str | BaseException, hint: RetryHint) -> KuzzleError:
    """The error of a WebSocket connection to ``url`` that could not be made, ``why``."""
    if isinstance(why, BaseException):
        why = shown_exception(why)
    message = f"could not connect to {shown_url(url)}: {why}"
    return client_error(message, hint, {"transport": "websocket"})


def closed_error() -> KuzzleError:
    """The error of a query made on a WebSocket client that was closed."""
    return client_error("the client is closed", NOT_RETRYABLE, {"transport": "websocket"})
