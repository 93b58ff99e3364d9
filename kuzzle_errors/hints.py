"""Retry hints: whether, when and where a failed Kuzzle request may be tried again.

Kuzzle sends no ``Retry-After`` and no rate-limit headers: the hint comes from the error id
(what Kuzzle's funnel does before and after running a request), from the class or status for
ids the catalogue does not know, and from a ``Retry-After`` header when a proxy adds one.

Three outcomes matter to a caller:

* **rejected before processing** (``retryable`` and ``replay_safe``): the request never ran,
  so sending it again is safe even for a write (``api.process.overloaded``, rate limits...);
* **outcome unknown** (``retryable``, not ``replay_safe``): it may have run (a 504, a pipe
  overflow in an "after" pipe, Elasticsearch trouble): replay only idempotent calls;
* **permanent** (not ``retryable``): the same request will fail the same way.

The advice is one table, in this module: :data:`BY_ID`, then :data:`BY_CLASS`, then
:data:`BY_STATUS` (plus :data:`MISREPORTS`); :func:`advice` reads it, most specific first.
The failed items of a multi-document action get theirs from the same table
(:func:`item_advice`: :data:`BY_ITEM` where an item differs from a whole request), and the
settings that refuse a request are named in :data:`LIMITS`. Whether a
replay of each API action after "it may have run" is safe is :data:`ACTIONS`
(generated from Kuzzle's own action lists and route table: :func:`replay_safe`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from kuzzle_errors.catalog import ErrorSpec

__all__ = [
    "ACTIONS",
    "BY_CLASS",
    "BY_ID",
    "BY_ITEM",
    "BY_STATUS",
    "DOCUMENTS_FETCH_COUNT",
    "DOCUMENTS_WRITE_COUNT",
    "ITEM_BY_STATUS",
    "ITEM_REASONS",
    "ITEM_TYPES",
    "LIMITS",
    "MAX_REQUEST_SIZE",
    "MAX_RETRY_AFTER",
    "MISREPORTS",
    "RATE_LIMIT_WINDOW",
    "ActionSafety",
    "Limit",
    "RetryHint",
    "action_safety",
    "advice",
    "hint_for",
    "item_advice",
    "item_error_id",
    "limit_of",
    "parse_retry_after",
    "replay_safe",
]

#: Upper bound (seconds) on a ``Retry-After`` value: a misconfigured proxy asking for an hour
#: must not park a client for an hour (urllib3 caps at 6 h; that is too long for an API client).
MAX_RETRY_AFTER: Final = 120.0

#: Kuzzle's rate limiters count requests in fixed one-second windows (``lib/api/rateLimiter.js``).
RATE_LIMIT_WINDOW: Final = 1.0


#: Kuzzle 2's defaults (``lib/config/default.config.ts``): the most documents one request may
#: write (``limits.documentsWriteCount``) and read (``limits.documentsFetchCount``), and the
#: largest request, in bytes (``server.maxRequestSize``, "1MB" as Kuzzle's ``bytes`` reads it).
DOCUMENTS_WRITE_COUNT: Final = 200
DOCUMENTS_FETCH_COUNT: Final = 10_000
MAX_REQUEST_SIZE: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class RetryHint:
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

    retryable: bool
    replay_safe: bool = False
    delay: float = 0.0
    reason: str = ""
    other_node: bool = False


@dataclass(frozen=True, slots=True)
class Limit:
    """The Kuzzle setting that refused a request, from the error's id.

    Attributes:
        setting: the setting's name in Kuzzle's configuration (``limits.documentsWriteCount``).
        default: its value in Kuzzle's default configuration (a node may set another).
        what: what it bounds, in words.
        value: the limit itself, when Kuzzle's answer says it (else None: Kuzzle's message
            names no figure, and the node's configuration may differ from the default).
    """

    setting: str
    default: int | str
    what: str
    value: int | None = None


# -- the table ---------------------------------------------------------------------------------

_SHUTTING_DOWN: Final = RetryHint(
    retryable=True,
    replay_safe=True,
    other_node=True,
    reason="this node is shutting down and refused the request before processing it",
)
_STORAGE_FAILED: Final = RetryHint(
    retryable=True,
    reason="storage (Elasticsearch) failure: transient, but the request may have been applied",
)
_RATE_LIMITED: Final = RetryHint(
    retryable=True,
    replay_safe=True,
    delay=RATE_LIMIT_WINDOW,
    reason="rate limited: refused before processing",
)
_UNAVAILABLE: Final = RetryHint(
    retryable=True, reason="service unavailable: transient, the request may have run"
)
_TIMED_OUT: Final = RetryHint(
    retryable=True, reason="timed out: the request may have been processed (Kuzzle docs)"
)
_PARTIAL: Final = RetryHint(
    retryable=False,
    reason="partial failure: the successful items were applied; send again only the failed "
    "items worth it (e.retry_request(): each item has its own hint)",
)
_INVALID: Final = RetryHint(retryable=False, reason="the request is invalid: fix it")

#: Advice by error id. Every other id falls back on :data:`BY_CLASS` (its catalogue class).
BY_ID: Final[Mapping[str, RetryHint]] = {
    "api.process.overloaded": RetryHint(
        retryable=True,
        replay_safe=True,
        other_node=True,
        reason="the node's request buffer is full: the request was discarded before processing",
    ),
    "api.process.shutting_down": _SHUTTING_DOWN,
    "network.entrypoint.shutting_down": _SHUTTING_DOWN,
    "api.process.not_enough_nodes": RetryHint(
        retryable=True,
        replay_safe=True,
        reason="the cluster lacks nodes and refuses requests until enough nodes join",
    ),
    "api.process.too_many_requests": RetryHint(
        retryable=True,
        replay_safe=True,
        delay=RATE_LIMIT_WINDOW,
        other_node=True,
        reason="per-user rate limit (fixed 1-second window, per node): refused before processing",
    ),
    "api.process.too_many_logins_requests": RetryHint(
        retryable=True,
        replay_safe=True,
        delay=RATE_LIMIT_WINDOW,
        reason="login rate limit (per connection, per second): refused before processing",
    ),
    "network.websocket.ratelimit_exceeded": RetryHint(
        retryable=True,
        replay_safe=True,
        delay=RATE_LIMIT_WINDOW,
        reason="per-socket rate limit (fixed 1-second window): refused before parsing",
    ),
    "api.process.action_locked": RetryHint(
        retryable=True,
        replay_safe=True,
        delay=RATE_LIMIT_WINDOW,
        reason="the same action is already running: refused before processing, retry once it ends",
    ),
    "plugin.runtime.too_many_pipes": RetryHint(
        retryable=True,
        other_node=True,
        reason="pipe buffer full: may fire in an 'after' pipe, so the request may have run",
    ),
    "services.cache.not_connected": RetryHint(
        retryable=True,
        reason="the cache (Redis) is unreachable: transient, the request may have partly run",
    ),
    "services.cache.read_failed": RetryHint(
        retryable=True,
        reason="a cache (Redis) read failed: transient, the request may have partly run",
    ),
    "services.cache.write_failed": RetryHint(
        retryable=True,
        reason="a cache (Redis) write failed: transient, the request may have partly run",
    ),
    "services.storage.not_connected": _STORAGE_FAILED,
    "services.storage.too_many_operations": RetryHint(
        retryable=True,
        reason="Elasticsearch thread pool full: transient, some operations may have been applied",
    ),
    "services.storage.unexpected_error": RetryHint(
        retryable=False,
        reason="an Elasticsearch failure Kuzzle does not recognise (an unhandled conflict, a "
        "mapping Elasticsearch refuses...): likely to fail the same way again, so not retried "
        "(read the error's message), and the request may have been applied",
    ),
    "services.storage.document_already_exists": RetryHint(
        retryable=False,
        reason="the document exists already, perhaps written by an earlier attempt of this "
        "very request: compare it with what you meant to write, never write it blindly again",
    ),
    "services.storage.write_limit_exceeded": RetryHint(
        retryable=False,
        reason="the request writes more documents than limits.documentsWriteCount allows "
        f"({DOCUMENTS_WRITE_COUNT} by default), and nothing was written: split it into "
        "smaller batches (kuzzle_errors.partial.batches)",
    ),
    "services.storage.get_limit_exceeded": RetryHint(
        retryable=False,
        reason="the request reads more documents than limits.documentsFetchCount allows "
        f"({DOCUMENTS_FETCH_COUNT:,} by default): ask for fewer at a time (smaller mGet "
        "batches, from + size within the limit, or document:scroll)",
    ),
    "network.http.request_too_large": RetryHint(
        retryable=False,
        reason="the request is larger than server.maxRequestSize (1 MB by default), and was "
        "refused before being read: send it in smaller batches (kuzzle_errors.partial.batches)",
    ),
    "services.storage.too_many_changes": RetryHint(
        retryable=True,
        replay_safe=True,
        reason="version conflicts on a hot document: the change was not applied, retry shortly",
    ),
    "core.fatal.service_unavailable": RetryHint(
        retryable=True,
        reason="an external service is unavailable: transient, the request may have partly run",
    ),
    "cluster.fatal.desync": RetryHint(
        retryable=True,
        other_node=True,
        reason="the node lost cluster sync and restarts: another node may answer",
    ),
    "network.http.stream_closed": RetryHint(
        retryable=True,
        reason="the HTTP stream was closed before the response: the request may have run",
    ),
    "network.http.stream_errored": RetryHint(
        retryable=True,
        reason="the HTTP stream failed before the response: the request may have run",
    ),
    "api.process.connection_dropped": RetryHint(
        retryable=False, reason="discarded because the client connection that sent it dropped"
    ),
    "security.token.expired": RetryHint(
        retryable=False, reason="the authentication token expired: log in again, then retry"
    ),
    "security.token.invalid": RetryHint(
        retryable=False, reason="the authentication token is invalid: log in again, then retry"
    ),
}

#: Advice by Kuzzle error class, for catalogued ids :data:`BY_ID` does not name.
BY_CLASS: Final[Mapping[str, RetryHint]] = {
    "BadRequestError": _INVALID,
    "ParseError": _INVALID,
    "UnauthorizedError": RetryHint(retryable=False, reason="authentication required or rejected"),
    "ForbiddenError": RetryHint(retryable=False, reason="insufficient permissions"),
    "NotFoundError": RetryHint(retryable=False, reason="the resource does not exist"),
    "PreconditionError": RetryHint(
        retryable=False, reason="the server state does not allow this request"
    ),
    "SizeLimitError": RetryHint(retryable=False, reason="a configured size limit was exceeded"),
    "InternalError": RetryHint(retryable=False, reason="server-side bug or misconfiguration"),
    "PluginImplementationError": RetryHint(retryable=False, reason="a plugin failed"),
    "KuzzleError": RetryHint(retryable=False, reason="application error"),
    "ExternalServiceError": RetryHint(
        retryable=True,
        reason="an external service failed: transient, the request may have partly run",
    ),
    "ServiceUnavailableError": _UNAVAILABLE,
    "TooManyRequestsError": _RATE_LIMITED,
    "GatewayTimeoutError": _TIMED_OUT,
    "PartialError": _PARTIAL,
    "MultipleErrorsError": _PARTIAL,
}

#: Advice by status, for errors the catalogue does not know (plugins, apps, proxies); any
#: other 4xx is a client error, any other 5xx the 500's.
BY_STATUS: Final[Mapping[int, RetryHint]] = {
    206: _PARTIAL,
    408: RetryHint(retryable=True, reason="request timeout: the request may have run"),
    429: _RATE_LIMITED,
    500: RetryHint(retryable=False, reason="server error"),
    502: RetryHint(
        retryable=True,
        reason="bad gateway: a proxy could not get an answer, the request may have run",
    ),
    503: _UNAVAILABLE,
    504: _TIMED_OUT,
}

#: Kuzzle 2.x turns some back-end failures into ``core.fatal.unexpected_error`` whose first
#: placeholder names an id that does not exist (lib/service/storage/8/esWrapper.js reads
#: ``subcode`` instead of ``subCode``; lib/service/cache/redis.js asks for "notconnected"):
#: advice by that placeholder.
MISREPORTS: Final[Mapping[str, RetryHint]] = {
    "services.storage.undefined": RetryHint(
        retryable=True,
        reason="Elasticsearch back-pressure misreported as an unexpected error: transient, "
        "the request may have partly run",
    ),
    "services.cache.notconnected": RetryHint(
        retryable=True,
        reason="cache (Redis) down, misreported as an unexpected error: transient, "
        "the request may have partly run",
    ),
}

#: The setting that refuses a request, by error id (Kuzzle 2.56: ``lib/config/default.config.ts``
#: for the defaults, the code raising each id for the setting it reads).
LIMITS: Final[Mapping[str, Limit]] = {
    "services.storage.write_limit_exceeded": Limit(
        "limits.documentsWriteCount", DOCUMENTS_WRITE_COUNT, "documents one request may write"
    ),
    "services.storage.get_limit_exceeded": Limit(
        "limits.documentsFetchCount", DOCUMENTS_FETCH_COUNT, "documents one request may read"
    ),
    "network.http.request_too_large": Limit(
        "server.maxRequestSize", "1MB", "bytes one request may hold"
    ),
    "network.http.file_too_large": Limit(
        "server.protocols.http.maxFormFileSize", "1MB", "bytes one uploaded file may hold"
    ),
    "core.realtime.too_many_terms": Limit(
        "limits.subscriptionConditionsCount", 100, "conditions one subscription filter may hold"
    ),
    "core.realtime.too_many_rooms": Limit(
        "limits.subscriptionRooms", 1_000_000, "subscription rooms a node keeps"
    ),
    "api.process.too_many_logins_requests": Limit(
        "limits.loginsPerSecond", 1, "logins per second on one connection"
    ),
    "api.process.overloaded": Limit(
        "limits.requestsBufferSize", 50_000, "requests a node buffers beyond those it runs"
    ),
    "network.websocket.ratelimit_exceeded": Limit(
        "server.protocols.websocket.rateLimit", 0, "messages per second one socket may send"
    ),
}

#: The ids whose message says the limit, and where among the placeholders (``props``):
#: ``core.realtime.too_many_terms`` is "(max %s, received %s)".
_LIMIT_PROP: Final[Mapping[str, int]] = {"core.realtime.too_many_terms": 0}


def limit_of(error_id: object, props: object = None) -> Limit | None:
    """The setting that refused a request failing with ``error_id`` (None for other errors),
    with the limit itself when the error's placeholders ``props`` say it."""
    if not isinstance(error_id, str) or error_id not in LIMITS:
        return None
    limit = LIMITS[error_id]
    at = _LIMIT_PROP.get(error_id)
    if at is not None and isinstance(props, (list, tuple)) and len(props) > at:
        value = props[at]
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return dataclasses.replace(limit, value=value)
    return limit


# -- failed items --------------------------------------------------------------------------------

#: Failed items of multi-document actions carry no error id, only a status and a ``reason``:
#: the words of the reason (Kuzzle's own, or Elasticsearch's passed through, lower-cased) that
#: say which failure it is, with the id Kuzzle gives that failure on a one-document action.
#: Read in order: ES writes "version conflict, document already exists" for a create.
ITEM_REASONS: Final[tuple[tuple[str, str], ...]] = (
    ("document already exists", "services.storage.document_already_exists"),
    ("document not found", "services.storage.not_found"),
    ("version conflict", "services.storage.too_many_changes"),
    ("rejected execution", "services.storage.too_many_operations"),
)

#: The same, by the Elasticsearch error ``type`` a ``bulk:import`` item carries.
ITEM_TYPES: Final[Mapping[str, str]] = {
    "version_conflict_engine_exception": "services.storage.too_many_changes",
    "es_rejected_execution_exception": "services.storage.too_many_operations",
    "document_missing_exception": "services.storage.not_found",
}

#: An item's advice where it differs from :data:`BY_ID`'s for the whole request: a refusal
#: of one item by Elasticsearch's queue is a refusal before writing it.
BY_ITEM: Final[Mapping[str, RetryHint]] = {
    "services.storage.too_many_operations": RetryHint(
        retryable=True,
        replay_safe=True,
        reason="Elasticsearch refused this item before writing it (its write queue was full): "
        "retry it shortly",
    ),
    "services.storage.not_found": RetryHint(retryable=False, reason="the document does not exist"),
}

#: Advice by an item's status when its reason names no known failure.
ITEM_BY_STATUS: Final[Mapping[int, RetryHint]] = {
    400: RetryHint(retryable=False, reason="the item is invalid: fix it"),
    404: BY_ITEM["services.storage.not_found"],
    409: RetryHint(
        retryable=False,
        reason="a conflict with the stored document: not retried, the document changed or exists",
    ),
    429: BY_ITEM["services.storage.too_many_operations"],
}


def item_error_id(status: object, reason: object, error_type: object = None) -> str | None:
    """The id of a failed item's failure, from its ``reason`` (:data:`ITEM_REASONS`), its
    Elasticsearch ``error_type`` (:data:`ITEM_TYPES`) or a 404 ``status``; else None."""
    if isinstance(reason, str) and reason:
        lowered = reason.lower()
        for words, error_id in ITEM_REASONS:
            if words in lowered:
                return error_id
    if isinstance(error_type, str) and error_type in ITEM_TYPES:
        return ITEM_TYPES[error_type]
    return "services.storage.not_found" if status == 404 else None


def item_advice(error_id: object, status: object) -> RetryHint:
    """The advice for one failed item: :data:`BY_ITEM`, then :data:`BY_ID` by its id (see
    :func:`item_error_id`), then :data:`ITEM_BY_STATUS` and the statuses of :func:`advice`."""
    if isinstance(error_id, str):
        if error_id in BY_ITEM:
            return BY_ITEM[error_id]
        if error_id in BY_ID:
            return BY_ID[error_id]
    if type(status) is not int:
        return advice()
    return ITEM_BY_STATUS[status] if status in ITEM_BY_STATUS else advice(status=status)


_CLIENT_ERROR: Final = RetryHint(retryable=False, reason="client error")
_NOT_TRANSIENT: Final = RetryHint(retryable=False, reason="not a transient failure")


def advice(
    error_id: str | None = None,
    class_name: str | None = None,
    status: int | None = None,
    props: object = None,
) -> RetryHint:
    """The table's advice for an error, from what identifies it, most specific first.

    ``props`` (the error's placeholders) matter for Kuzzle's misreported back-end failures
    only (:data:`MISREPORTS`).
    """
    if error_id == "core.fatal.unexpected_error" and isinstance(props, (list, tuple)):
        for prop in props:
            if isinstance(prop, str) and prop in MISREPORTS:
                return MISREPORTS[prop]
    # What identifies an error may be anything in a hand-built one: only a str id or class
    # and an int status are looked up.
    if isinstance(error_id, str) and error_id in BY_ID:
        return BY_ID[error_id]
    if isinstance(class_name, str) and class_name in BY_CLASS:
        return BY_CLASS[class_name]
    if isinstance(status, int) and not isinstance(status, bool):
        if status in BY_STATUS:
            return BY_STATUS[status]
        if 400 <= status < 500:
            return _CLIENT_ERROR
        if status >= 500:
            return BY_STATUS[500]
    return _NOT_TRANSIENT


class Diagnosed(Protocol):
    """What :func:`hint_for` reads of an error (a :class:`~kuzzle_errors.KuzzleError`)."""

    @property
    def id(self) -> str | None: ...
    @property
    def spec(self) -> ErrorSpec | None: ...
    @property
    def kuzzle_class(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def http_status(self) -> int | None: ...
    @property
    def props(self) -> list[Any] | None: ...
    @property
    def retry_after(self) -> float | None: ...


def hint_for(error: Diagnosed) -> RetryHint:
    """The retry hint of ``error`` (what ``error.retry_hint`` is, unless one was given)."""
    spec = error.spec
    if spec is not None:
        class_name: str | None = spec.class_name
    else:  # the bare base class says nothing: the status decides
        class_name = None if error.kuzzle_class == "KuzzleError" else error.kuzzle_class
    status = error.status if error.status is not None else error.http_status
    hint = advice(error.id, class_name, status, error.props)
    retry_after = error.retry_after
    if retry_after is None:
        return hint
    # A proxy's explicit wish outranks the id's minimum.
    refused = any(type(s) is int and s in (429, 503) for s in (error.http_status, error.status))
    if refused and spec is None and not hint.replay_safe:
        # A 429/503 with Retry-After from a gateway says "come back later": the request
        # was refused, not run (RFC 9110 §15.6.4). Catalogued Kuzzle ids keep their advice.
        reason = f"the response asked to retry later: {hint.reason}"
        hint = dataclasses.replace(hint, retryable=True, replay_safe=True, reason=reason)
    return dataclasses.replace(hint, delay=max(hint.delay, retry_after))


# -- replay safety per action ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionSafety:
    """Whether replaying one Kuzzle API action after "it may have run" is safe.

    "It may have run" is what a timeout, a connection lost after the request left, or an
    error such as a storage failure leaves: sending the request again is safe when it cannot
    do more than the first run did.

    Attributes:
        action: ``controller:action``, as Kuzzle names it.
        replay_safe: a replay is safe: reads, writes that replace or set (``createOrReplace``,
            ``replace``, ``update``, the deletes), ``auth:login``; not ``create``,
            ``mCreate``, ``bulk:import``, counters, scrolls, ``realtime:publish``.
        kind: what the action does, which decides it: ``read``, ``replace``, ``merge``,
            ``delete``, ``login``, ``state``; ``create``, ``import``, ``add``, ``take``,
            ``conditional``, ``page``, ``publish``, ``task``, ``batch``.
        reason: why, in words.
        verbs: the HTTP verbs of its routes (``""``: none, a WebSocket-only action).
    """

    action: str
    replay_safe: bool
    kind: str
    reason: str
    verbs: str


class _Actions(Mapping[str, ActionSafety]):
    """The generated table, read on first use (as the catalogue is): ``import kuzzle_errors``
    does not pay for it."""

    def __init__(self) -> None:
        self._table: dict[str, ActionSafety] | None = None

    def _loaded(self) -> dict[str, ActionSafety]:
        table = self._table
        if table is None:
            from kuzzle_errors import _actions_data as data

            kinds = {kind: (safe, why) for kind, safe, why in data.KINDS}
            table = self._table = {
                name: ActionSafety(name, kinds[kind][0], kind, kinds[kind][1], verbs)
                for name, kind, verbs in data.ACTIONS
            }
        return table

    def __getitem__(self, key: str) -> ActionSafety:
        return self._loaded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def __repr__(self) -> str:
        return f"<the replay safety of {len(self)} Kuzzle API actions>"


#: Every action of Kuzzle 2.56's native controllers, by ``controller:action``, generated by
#: ``scripts/generate_catalog.py`` from Kuzzle's action lists and route table
#: (``data/replay-safety.txt`` gives the verdicts). Plugins' actions are not in it.
ACTIONS: Final[Mapping[str, ActionSafety]] = _Actions()


def action_safety(controller: object, action: object) -> ActionSafety | None:
    """The replay safety of ``controller:action`` (``memoryStorage`` is ``ms``), or None for
    an action Kuzzle's own controllers do not have (a plugin's)."""
    if not (isinstance(controller, str) and isinstance(action, str)):
        return None
    if controller == "memoryStorage":
        controller = "ms"
    return ACTIONS.get(f"{controller}:{action}")


def replay_safe(request: Mapping[str, Any]) -> bool:
    """Whether ``request`` may be replayed after it may have run: what the clients' ``query``
    takes as ``idempotent`` when none is given. False for an action :data:`ACTIONS` does not
    know (a plugin's is replayed only when its caller says so), and for a ``bulk:write`` or
    ``bulk:mWrite`` writing a document without ``_id`` (Kuzzle makes one up: a replay would
    write a second copy), and for an ``ms:set`` with ``nx`` or ``xx`` (a conditional set: a
    replay after it ran is refused, as if someone else had written first)."""
    found = action_safety(request.get("controller"), request.get("action"))
    if found is None or not found.replay_safe:
        return False
    if found.action == "bulk:write":
        return isinstance(request.get("_id"), str)
    if found.action == "ms:set":
        body = request.get("body")
        return not (isinstance(body, Mapping) and (body.get("nx") or body.get("xx")))
    if found.action == "bulk:mWrite":
        body = request.get("body")
        documents = body.get("documents") if isinstance(body, Mapping) else None
        return isinstance(documents, list) and all(
            isinstance(document, Mapping) and isinstance(document.get("_id"), str)
            for document in documents
        )
    return True


# -- Retry-After -------------------------------------------------------------------------------


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
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds: float | None = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64:
            return None
        if text.isascii() and text.replace(".", "", 1).isdigit():  # no sign, exponent, "nan"
            seconds = float(text)
        else:
            seconds = _seconds_until_date(text, now)
    else:
        return None
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return None
    return min(seconds, maximum)


def _seconds_until_date(text: str, now: Callable[[], float]) -> float | None:
    # Imported here: email.utils brings socket, calendar and more, a third of what importing
    # the package costs, for a form of Retry-After that Kuzzle never sends.
    import calendar
    import email.utils

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
    if not 1 <= year <= 9999 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    try:
        # parsedate_tz gives a None offset for "-0000" and zone-less dates: HTTP-dates are UTC.
        moment = email.utils.mktime_tz(parsed if parsed[9] is not None else (*parsed[:9], 0))
    except (OverflowError, ValueError):
        return None
    return max(0.0, moment - now())
