"""Retry hints: whether, when and where a failed Kuzzle request may be tried again.

Kuzzle sends no ``Retry-After`` and no rate-limit headers: the hint comes from the error id
(what Kuzzle's funnel does before and after running a request), from the status for ids the
catalogue does not know, and from a ``Retry-After`` header when a proxy or gateway adds one.

Three outcomes matter to a caller:

* **rejected before processing** (``retryable`` and ``replay_safe``): the request never ran,
  so sending it again is safe even for a write (``api.process.overloaded``, rate limits...);
* **outcome unknown** (``retryable``, not ``replay_safe``): it may have run (a 504, a pipe
  overflow in an "after" pipe, Elasticsearch trouble): replay only idempotent calls;
* **permanent** (not ``retryable``): the same request will fail the same way.
"""

from __future__ import annotations

import time

from kuzzle_errors._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Final

    from kuzzle_errors.exceptions import KuzzleError

__all__ = [
    "MAX_RETRY_AFTER",
    "RATE_LIMIT_WINDOW",
    "RetryHint",
    "hint_for",
    "hint_of_rule",
    "parse_retry_after",
    "RULES",
]

#: Upper bound (seconds) on a ``Retry-After`` value: a misconfigured proxy asking for an hour
#: must not park a client for an hour (urllib3 caps at 6 h; that is too long for an API client).
MAX_RETRY_AFTER: Final = 120.0

#: Kuzzle's rate limiters count requests in fixed one-second windows (``lib/api/rateLimiter.js``).
RATE_LIMIT_WINDOW: Final = 1.0


class RetryHint(Record):
    """What a failed request tells about retrying it.

    Attributes:
        retryable: trying again later may succeed.
        replay_safe: the server did not run the request, so replaying it is safe even for
            a non-idempotent call. Only meaningful when ``retryable``.
        delay: seconds to wait at least before a retry: the response's ``Retry-After`` when
            present, otherwise the error's own minimum (1 s for a rate limit), else 0.
        reason: a short human explanation.
        other_node: the refusal is specific to the node that answered (overload, shutdown),
            so another node of the cluster may accept the request right away.
    """

    __slots__ = ("retryable", "replay_safe", "delay", "reason", "other_node")
    _fields = __slots__

    retryable: bool
    replay_safe: bool
    delay: float
    reason: str
    other_node: bool

    def __init__(
        self,
        retryable: bool,
        replay_safe: bool,
        delay: float,
        reason: str,
        other_node: bool = False,
    ) -> None:
        self._set(
            retryable=retryable,
            replay_safe=replay_safe,
            delay=delay,
            reason=reason,
            other_node=other_node,
        )


# (retryable, replay_safe, minimum delay, other_node, reason)
_Rule = tuple[bool, bool, float, bool, str]

_REJECTED_OVERLOAD: Final[_Rule] = (
    True,
    True,
    0.0,
    True,
    "the node's request buffer is full: the request was discarded before processing",
)
_UNKNOWN_STORAGE: Final[_Rule] = (
    True,
    False,
    0.0,
    False,
    "storage (Elasticsearch) failure: transient, but the request may have been applied",
)

#: Explicit classification, by error id. Every other id falls back on ``_CLASS_RULES``.
RULES: Final[dict[str, _Rule]] = {
    "api.process.overloaded": _REJECTED_OVERLOAD,
    "api.process.shutting_down": (
        True,
        True,
        0.0,
        True,
        "this node is shutting down and refused the request before processing it",
    ),
    "network.entrypoint.shutting_down": (
        True,
        True,
        0.0,
        True,
        "this node is shutting down and refused the request before processing it",
    ),
    "api.process.not_enough_nodes": (
        True,
        True,
        0.0,
        False,
        "the cluster lacks nodes and refuses requests until enough nodes join",
    ),
    "api.process.too_many_requests": (
        True,
        True,
        RATE_LIMIT_WINDOW,
        True,
        "per-user rate limit (fixed 1-second window, per node): refused before processing",
    ),
    "api.process.too_many_logins_requests": (
        True,
        True,
        RATE_LIMIT_WINDOW,
        False,
        "login rate limit (per connection, per second): refused before processing",
    ),
    "network.websocket.ratelimit_exceeded": (
        True,
        True,
        RATE_LIMIT_WINDOW,
        False,
        "per-socket rate limit (fixed 1-second window): refused before parsing",
    ),
    "api.process.action_locked": (
        True,
        True,
        RATE_LIMIT_WINDOW,
        False,
        "the same action is already running: refused before processing, retry once it ends",
    ),
    "plugin.runtime.too_many_pipes": (
        True,
        False,
        0.0,
        True,
        "pipe buffer full: may fire in an 'after' pipe, so the request may have run",
    ),
    "services.cache.not_connected": (
        True,
        False,
        0.0,
        False,
        "the cache (Redis) is unreachable: transient, the request may have partly run",
    ),
    "services.cache.read_failed": (
        True,
        False,
        0.0,
        False,
        "a cache (Redis) read failed: transient, the request may have partly run",
    ),
    "services.cache.write_failed": (
        True,
        False,
        0.0,
        False,
        "a cache (Redis) write failed: transient, the request may have partly run",
    ),
    "services.storage.not_connected": _UNKNOWN_STORAGE,
    "services.storage.too_many_operations": (
        True,
        False,
        0.0,
        False,
        "Elasticsearch thread pool full: transient, some operations may have been applied",
    ),
    "services.storage.unexpected_error": _UNKNOWN_STORAGE,
    "services.storage.too_many_changes": (
        True,
        True,
        0.0,
        False,
        "version conflicts on a hot document: the change was not applied, retry shortly",
    ),
    "core.fatal.service_unavailable": (
        True,
        False,
        0.0,
        False,
        "an external service is unavailable: transient, the request may have partly run",
    ),
    "cluster.fatal.desync": (
        True,
        False,
        0.0,
        True,
        "the node lost cluster sync and restarts: another node may answer",
    ),
    "network.http.stream_closed": (
        True,
        False,
        0.0,
        False,
        "the HTTP stream was closed before the response: the request may have run",
    ),
    "network.http.stream_errored": (
        True,
        False,
        0.0,
        False,
        "the HTTP stream failed before the response: the request may have run",
    ),
    "api.process.connection_dropped": (
        False,
        False,
        0.0,
        False,
        "discarded because the client connection that sent it dropped",
    ),
    "security.token.expired": (
        False,
        False,
        0.0,
        False,
        "the authentication token expired: log in again, then retry",
    ),
    "security.token.invalid": (
        False,
        False,
        0.0,
        False,
        "the authentication token is invalid: log in again, then retry",
    ),
}

_PARTIAL_RULE: Final[_Rule] = (
    False,
    False,
    0.0,
    False,
    "partial failure: the successful items were applied; retry only the failed items",
)

#: Defaults by Kuzzle error class, for catalogued ids without an explicit rule.
_CLASS_RULES: Final[dict[str, _Rule]] = {
    "BadRequestError": (False, False, 0.0, False, "the request is invalid: fix it"),
    "ParseError": (False, False, 0.0, False, "the request is invalid: fix it"),
    "UnauthorizedError": (False, False, 0.0, False, "authentication required or rejected"),
    "ForbiddenError": (False, False, 0.0, False, "insufficient permissions"),
    "NotFoundError": (False, False, 0.0, False, "the resource does not exist"),
    "PreconditionError": (
        False,
        False,
        0.0,
        False,
        "the server state does not allow this request",
    ),
    "SizeLimitError": (False, False, 0.0, False, "a configured size limit was exceeded"),
    "InternalError": (False, False, 0.0, False, "server-side bug or misconfiguration"),
    "PluginImplementationError": (False, False, 0.0, False, "a plugin failed"),
    "KuzzleError": (False, False, 0.0, False, "application error"),
    "ExternalServiceError": (
        True,
        False,
        0.0,
        False,
        "an external service failed: transient, the request may have partly run",
    ),
    "ServiceUnavailableError": (
        True,
        False,
        0.0,
        False,
        "service unavailable: transient, the request may have run",
    ),
    "TooManyRequestsError": (
        True,
        True,
        RATE_LIMIT_WINDOW,
        False,
        "rate limited: refused before processing",
    ),
    "GatewayTimeoutError": (
        True,
        False,
        0.0,
        False,
        "timed out: the request may have been processed (Kuzzle docs)",
    ),
    "PartialError": _PARTIAL_RULE,
    "MultipleErrorsError": _PARTIAL_RULE,
}

#: Defaults by status, for errors the catalogue does not know (plugins, apps, proxies).
_STATUS_RULES: Final[dict[int, _Rule]] = {
    206: _PARTIAL_RULE,
    408: (True, False, 0.0, False, "request timeout: the request may have run"),
    429: _CLASS_RULES["TooManyRequestsError"],
    500: (False, False, 0.0, False, "server error"),
    502: (
        True,
        False,
        0.0,
        False,
        "bad gateway: a proxy could not get an answer, the request may have run",
    ),
    503: _CLASS_RULES["ServiceUnavailableError"],
    504: _CLASS_RULES["GatewayTimeoutError"],
}

# Kuzzle 2.x turns some back-end failures into core.fatal.unexpected_error whose first
# placeholder names an id that does not exist (lib/service/storage/8/esWrapper.js reads
# `subcode` instead of `subCode`; lib/service/cache/redis.js asks for "notconnected").
_MISREPORTS: Final[dict[str, _Rule]] = {
    "services.storage.undefined": (
        True,
        False,
        0.0,
        False,
        "Elasticsearch back-pressure misreported as an unexpected error: transient, "
        "the request may have partly run",
    ),
    "services.cache.notconnected": (
        True,
        False,
        0.0,
        False,
        "cache (Redis) down, misreported as an unexpected error: transient, "
        "the request may have partly run",
    ),
}

_DEFAULT_RULE: Final[_Rule] = (False, False, 0.0, False, "not a transient failure")


def rule_for(
    error_id: str | None,
    class_name: str | None,
    status: int | None,
    props: object = None,
) -> _Rule:
    """The classification of an error from what identifies it, most specific first."""
    if error_id == "core.fatal.unexpected_error" and isinstance(props, (list, tuple)):
        for prop in props:
            if isinstance(prop, str) and prop in _MISREPORTS:
                return _MISREPORTS[prop]
    if error_id is not None and error_id in RULES:
        return RULES[error_id]
    if class_name is not None and class_name in _CLASS_RULES:
        return _CLASS_RULES[class_name]
    if status is not None:
        if status in _STATUS_RULES:
            return _STATUS_RULES[status]
        if 400 <= status < 500:
            return (False, False, 0.0, False, "client error")
        if status >= 500:
            return _STATUS_RULES[500]
    return _DEFAULT_RULE


def parse_retry_after(
    value: object,
    *,
    now: Callable[[], float] = time.time,
    maximum: float = MAX_RETRY_AFTER,
) -> float | None:
    """Seconds asked for by a ``Retry-After`` value, or None when absent or malformed.

    Accepts delta-seconds (``"120"``, also ``"1.5"``) and HTTP-dates in any RFC 9110 form,
    read as UTC. A date in the past means 0; the result is capped at ``maximum``.
    """
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64:
            return None
        if text.isascii() and text.replace(".", "", 1).isdigit():  # no sign, exponent, "nan"
            seconds = float(text)
        else:
            until = _seconds_until_date(text, now)
            if until is None:
                return None
            seconds = until
    else:
        return None
    if seconds != seconds or seconds < 0:  # NaN (math.isnan, without importing math)
        return None
    return min(seconds, maximum)


def _seconds_until_date(text: str, now: Callable[[], float]) -> float | None:
    import email.utils  # only when a date is met: keeps `import kuzzle_errors` light

    try:
        parsed = email.utils.parsedate_tz(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    # parsedate_tz takes "32 Oct 99:99:99" and mktime would roll it over into a real moment:
    # a date that does not exist is no hint at all.
    if not (1 <= month <= 12 and 0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 60):
        return None
    import calendar

    if not 1 <= year <= 9999 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    try:
        # parsedate_tz gives a None offset for "-0000" and zone-less dates: HTTP-dates are UTC.
        moment = email.utils.mktime_tz(parsed if parsed[9] is not None else (*parsed[:9], 0))
    except (OverflowError, ValueError):
        return None
    return max(0.0, moment - now())


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header value, looked up case-insensitively.

    Of one name sent in several spellings, the last wins: as in the parser's lower-cased view
    (``_redact.prepare_headers``) and requests' ``CaseInsensitiveDict``, so an error's
    ``retry_after`` is the same whichever path built it.
    """
    if not headers:
        return None
    lowered = name.lower()
    found = None
    for key, value in headers.items():
        if key.lower() == lowered:
            found = value
    return found


def retry_after_of(headers: Mapping[str, str] | None) -> float | None:
    """Seconds a ``Retry-After`` header in ``headers`` asks for (what ``error.retry_after`` is)."""
    return parse_retry_after(header(headers, "Retry-After"))


#: One shared hint per rule: hints are immutable, and most errors carry no ``Retry-After``.
_HINTS: dict[_Rule, RetryHint] = {}


def hint_of_rule(rule: _Rule) -> RetryHint:
    """A :func:`rule_for` classification as a hint (never replay-safe if not retryable)."""
    hint = _HINTS.get(rule)
    if hint is None:
        retryable, replay_safe, delay, other_node, reason = rule
        hint = RetryHint(retryable, replay_safe and retryable, delay, reason, other_node)
        _HINTS[rule] = hint
    return hint


def hint_for(error: KuzzleError) -> RetryHint:
    """The retry hint of ``error`` (what ``error.retry_hint`` returns)."""
    spec = error.spec
    class_name = spec.class_name if spec is not None else _kuzzle_class_of(error)
    rule = rule_for(
        error.id,
        class_name,
        error.status if error.status is not None else error.http_status,
        error.props,
    )
    retry_after = error.retry_after
    if retry_after is None:
        return _HINTS.get(rule) or hint_of_rule(rule)
    # A proxy's explicit wish outranks the id's minimum.
    retryable, replay_safe, delay, other_node, reason = rule
    refused = error.http_status in (429, 503) or error.status in (429, 503)
    if refused and spec is None and not replay_safe:
        # A 429/503 with Retry-After from a gateway says "come back later": the request
        # was refused, not run (RFC 9110 §15.6.4). Catalogued Kuzzle ids keep their rule.
        retryable, replay_safe = True, True
        reason = f"the response asked to retry later: {reason}"
    delay = max(delay, retry_after)
    return RetryHint(retryable, replay_safe if retryable else False, delay, reason, other_node)


def _kuzzle_class_of(error: KuzzleError) -> str | None:
    """The Kuzzle class name of ``error``'s type, unless it is the bare base class."""
    name: str | None = getattr(type(error), "kuzzle_class", None)
    return None if name == "KuzzleError" else name
