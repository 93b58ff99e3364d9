"""The exception hierarchy: one class per Kuzzle error class, one subclass per catalogued id.

::

    KuzzleError
    ├── BadRequestError (400)
    │   ├── ParseError (400, Kuzzle v1)
    │   └── MultipleErrorsError (400, also a PartialError)
    ├── UnauthorizedError (401)
    │   └── AuthenticationRequiredError   log in (again), then retry
    ├── ForbiddenError (403)
    ├── NotFoundError (404)
    ├── PreconditionError (412)
    ├── SizeLimitError (413)
    ├── TooManyRequestsError (429)
    ├── InternalError (500)
    ├── ExternalServiceError (500)
    ├── PluginImplementationError (500)
    ├── ServiceUnavailableError (503)
    ├── GatewayTimeoutError (504)
    ├── PartialError (206)
    │   └── MultipleErrorsError
    ├── InvalidResponseError      the response is not something Kuzzle sends
    └── TransportError            client side: no usable answer at all
        ├── ConnectionLostError   the connection failed or dropped
        └── RequestTimeoutError   no answer in time

Every catalogued id also has its own class, a subclass of its Kuzzle class, created on first
use: ``error_class("services.storage.not_found")`` (also reachable as
``kuzzle_errors.codes.ServicesStorageNotFound``) can be used in ``except`` and is what the
parser raises for that id.
"""

from __future__ import annotations

import _thread

from kuzzle_errors import catalog
from kuzzle_errors._record import Sentinel
from kuzzle_errors._redact import (
    PreparedHeaders,
    prepare_headers,
    redact,
    redact_headers,
    redact_text,
    shown,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from functools import cached_property as _once
    from typing import Any, ClassVar, Final

    from kuzzle_errors.catalog import ErrorSpec

    # Types only: the modules above this one hand their functions over (see ``wire``).
    from kuzzle_errors.hints import RetryHint
    from kuzzle_errors.partial import PartialItem
else:

    class _once:
        """``functools.cached_property`` without its lock and without importing functools.

        On 3.10/3.11 ``cached_property`` takes a lock on every first access; here two
        threads racing on a first access both compute the (equal) value, as on 3.12+. The
        value is stored in the instance dict, so later reads never reach this descriptor.
        """

        def __init__(self, func):
            self.func = func
            self.name = func.__name__
            self.__doc__ = func.__doc__

        def __set_name__(self, owner, name):
            self.name = name

        def __get__(self, instance, owner=None):
            if instance is None:
                return self
            value = instance.__dict__[self.name] = self.func(instance)
            return value


__all__ = [
    "LOGIN_AGAIN_IDS",
    "AuthenticationRequiredError",
    "BadRequestError",
    "ConnectionLostError",
    "ExternalServiceError",
    "ForbiddenError",
    "GatewayTimeoutError",
    "InternalError",
    "InvalidResponseError",
    "KuzzleError",
    "MultipleErrorsError",
    "NotFoundError",
    "ParseError",
    "PartialError",
    "PluginImplementationError",
    "PreconditionError",
    "RequestTimeoutError",
    "ServiceUnavailableError",
    "SizeLimitError",
    "TooManyRequestsError",
    "TransportError",
    "UnauthorizedError",
    "class_for_status",
    "error_class",
]

#: How much of a message ``str()`` shows; the full message stays in ``e.message``.
STR_MESSAGE_LIMIT: Final = 500

_MISSING: Any = Sentinel("<from the id>")


#: Node names that mean "no name": Kuzzle 2.56 sends ``X-Kuzzle-Node: undefined``.
_NO_NODE_NAMES: Final = frozenset({"", "undefined", "null"})


def node_name(value: str | None) -> str | None:
    """The node name a response gives, or None for the placeholders meaning none."""
    if value is None or value.strip().lower() in _NO_NODE_NAMES:
        return None
    return value


class KuzzleError(Exception):
    """An error answered by Kuzzle (or by something standing in front of it).

    Attributes mirror Kuzzle's error object and the response envelope around it; any of them
    may be None when the server did not send it. ``raw`` is the error object as received and
    ``response`` the whole envelope (or body) as received: nothing the server said is lost.
    """

    #: The Kuzzle class this Python class stands for (Kuzzle never sends it: derived).
    kuzzle_class: ClassVar[str] = "KuzzleError"
    #: The status Kuzzle uses for this class.
    default_status: ClassVar[int | None] = 500
    #: The catalogued id of a per-id class, None for the class families.
    kuzzle_id: ClassVar[str | None] = None
    #: How many attempts a retry policy made before giving up (set by ``kuzzle_errors.retry``).
    attempts: int | None = None
    #: The transport's own response object (``requests.Response`` for ``KuzzleHTTP``), kept
    #: for inspection; never shown, and left out of pickles (it holds the request's headers).
    http_response: Any = None

    message: str
    status: int | None
    id: str | None
    code: int | None
    spec: ErrorSpec | None
    props: list[Any] | None
    stack: str | None
    request_id: str | None
    node: str | None
    controller: str | None
    action: str | None
    index: str | None
    collection: str | None
    volatile: Any
    result: Any
    transport: str | None
    http_status: int | None
    headers: dict[str, str]
    raw: Any
    response: Any
    problem: str | None

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        id: str | None = None,
        code: int | None = None,
        spec: ErrorSpec | None = _MISSING,
        props: list[Any] | None = None,
        stack: str | None = None,
        request_id: str | None = None,
        node: str | None = None,
        controller: str | None = None,
        action: str | None = None,
        index: str | None = None,
        collection: str | None = None,
        volatile: Any = None,
        result: Any = None,
        transport: str | None = None,
        http_status: int | None = None,
        headers: Mapping[str, str] | None = None,
        raw: Any = None,
        response: Any = None,
        problem: str | None = None,
        retry_hint: RetryHint | None = None,
    ) -> None:
        super().__init__()  # ``args`` is derived from ``message``: see the property
        self.message = message
        if spec is _MISSING:
            spec = catalog.get(id) if id else None
        if spec is None and type(self).kuzzle_id is not None:
            spec = catalog.get(type(self).kuzzle_id or "")
        self.spec = spec
        self.id = id if id is not None else (spec.id if spec is not None else None)
        self.code = code if code is not None else (spec.code if spec is not None else None)
        if status is None:
            status = spec.status if spec is not None else type(self).default_status
        self.status = status
        self.props = props
        self.stack = stack
        if type(headers) is PreparedHeaders:  # redacted by the parser: a plain copy is enough
            self.headers, by_name = dict(headers), headers.lower
        else:
            self.headers, by_name = prepare_headers(headers)
        self.request_id = request_id
        self.node = node_name(node if node is not None else by_name.get("x-kuzzle-node"))
        self.controller = controller
        self.action = action
        self.index = index
        self.collection = collection
        self.volatile = volatile
        self.result = result
        self.transport = transport
        self.http_status = http_status
        self.raw = raw
        self.response = response
        self.problem = problem
        if retry_hint is not None:
            self._retry_hint_override = retry_hint

    # -- derived -------------------------------------------------------------------------

    @property
    def domain(self) -> str | None:
        """First part of the id (``api`` in ``api.process.overloaded``)."""
        return self.id.split(".", 1)[0] if self.id else None

    @property
    def subdomain(self) -> str | None:
        """Second part of the id (``process`` in ``api.process.overloaded``)."""
        parts = self.id.split(".") if self.id else []
        return parts[1] if len(parts) > 1 else None

    @property
    def hex(self) -> str | None:
        """The code as Kuzzle prints it, ``0x02020002``."""
        return f"0x{self.code:08x}" if self.code is not None else None

    @_once
    def retry_after(self) -> float | None:
        """Seconds the response's ``Retry-After`` header asked for (capped), or None.

        Kuzzle never sends one; proxies and gateways may.
        """
        return _layers.retry_after(self.headers)

    @_once
    def retry_hint(self) -> RetryHint:
        """Whether, when and where to retry: see :class:`kuzzle_errors.hints.RetryHint`."""
        override: RetryHint | None = self.__dict__.get("_retry_hint_override")
        if override is not None:
            return override
        return _layers.hint_for(self)

    @property
    def retryable(self) -> bool:
        """Shortcut for ``retry_hint.retryable``."""
        return self.retry_hint.retryable

    def matches(self, *patterns: str) -> bool:
        """True if the id matches one of the shell-style ``patterns`` (``"services.storage.*"``)."""
        if not self.id:
            return False
        import fnmatch

        return any(fnmatch.fnmatchcase(self.id, pattern) for pattern in patterns)

    # -- presentation --------------------------------------------------------------------

    if not TYPE_CHECKING:  # typeshed declares ``args`` a plain attribute

        @property
        def args(self) -> tuple[Any, ...]:
            """``(message,)`` as it may be shown: redacted and bounded, like ``str()``.

            Loggers and error trackers read ``args``; the message as received stays whole
            in ``message``.
            """
            return (redact_text(self.message),)

        @args.setter
        def args(self, value: tuple[Any, ...]) -> None:
            BaseException.args.__set__(self, value)  # kept, never shown

    def _one_line_message(self) -> str:
        # Only the start is scanned: the rest is cut anyway (plus room for a straddling JWT).
        text = redact_text(self.message[: STR_MESSAGE_LIMIT + 8192], None)
        if len(self.message) > STR_MESSAGE_LIMIT:
            text = f"{text[:STR_MESSAGE_LIMIT]}... ({len(self.message)} chars)"
        return " ".join(text.split()) if ("\n" in text or "\r" in text) else text

    def _details(self) -> list[str]:
        details = []
        if self.status is not None:
            details.append(f"status {self.status}")
        if self.http_status is not None and self.http_status != self.status:
            details.append(f"HTTP {self.http_status}")
        if self.request_id:
            details.append(f"request {shown(self.request_id, 100)}")
        if self.problem:
            details.append(str(shown(self.problem, 500)))
        return details

    def __str__(self) -> str:
        head = ""
        if self.id:
            head = (
                f"{shown(self.id)} ({self.hex})" if self.code is not None else str(shown(self.id))
            )
        elif self.code is not None:
            head = str(self.hex)
        message = self._one_line_message() or "(no message)"
        text = f"{head}: {message}" if head else message
        details = self._details()
        return f"{text} [{', '.join(details)}]" if details else text

    def __repr__(self) -> str:
        fields = [f"message={self._one_line_message()!r}"]
        for name in ("status", "id", "request_id", "http_status"):
            value = getattr(self, name)
            if value is not None:
                text = shown(value) if isinstance(value, str) else redact(value)
                fields.append(f"{name}={text!r}")
        if self.code is not None:
            fields.append(f"code={self.hex}")
        return f"{type(self).__name__}({', '.join(fields)})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the error, for structured logs (secrets redacted)."""
        hint = self.retry_hint
        data: dict[str, Any] = {
            "type": type(self).__name__,
            "kuzzle_class": self.kuzzle_class,
            "message": redact_text(self.message),
            "status": redact(self.status),
            "id": shown(self.id),
            "code": redact(self.code),
            "hex": self.hex,
            "props": redact(self.props),
            "stack": redact_text(self.stack) if self.stack else None,
            "request_id": shown(self.request_id),
            "node": shown(self.node),
            "controller": shown(self.controller),
            "action": shown(self.action),
            "index": shown(self.index),
            "collection": shown(self.collection),
            "volatile": redact(self.volatile),
            "transport": shown(self.transport),
            "http_status": redact(self.http_status),
            "headers": redact_headers(self.headers),
            "problem": shown(self.problem, 500),
            "retry": {
                "retryable": hint.retryable,
                "replay_safe": hint.replay_safe,
                "delay": hint.delay,
                "other_node": hint.other_node,
                "reason": hint.reason,
                "retry_after": self.retry_after,
            },
        }
        attempts = self.__dict__.get("attempts")
        if attempts is not None:
            data["attempts"] = attempts
        return data

    # -- pickling and copying ------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        cls = type(self)
        key: object = cls.kuzzle_id if cls.__dict__.get("_generated") else cls
        state = {
            name: value
            for name, value in self.__dict__.items()
            if name not in _CACHED and name != "http_response"
        }
        return (_rebuild, (key, _redact_state(state)))


_CACHED: Final = frozenset({"retry_after", "retry_hint", "items", "successes"})
_SAFE_STATE: Final = frozenset(
    {
        "spec",
        "_retry_hint_override",
    }
)


def _redact_state(state: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in state.items():
        if name in _SAFE_STATE:
            out[name] = value
        elif name == "headers":
            out[name] = redact_headers(value)
        elif name == "__notes__":
            out[name] = [redact_text(str(note)) for note in value]
        else:
            out[name] = redact(value)
    return out


def _rebuild(key: object, state: dict[str, Any]) -> KuzzleError:
    cls = error_class(key) if isinstance(key, str) else key
    if not (isinstance(cls, type) and issubclass(cls, KuzzleError)):
        raise TypeError(f"cannot rebuild a KuzzleError from {key!r}")
    error = cls.__new__(cls)
    error.__dict__.update(state)
    return error


# -- the Kuzzle classes ----------------------------------------------------------------------


class BadRequestError(KuzzleError):
    """400: the request is malformed or misses parameters."""

    kuzzle_class: ClassVar[str] = "BadRequestError"
    default_status: ClassVar[int | None] = 400


class ParseError(BadRequestError):
    """400: Kuzzle v1's request parsing error (deprecated there since 1.4.1)."""

    kuzzle_class: ClassVar[str] = "ParseError"
    default_status: ClassVar[int | None] = 400


class UnauthorizedError(KuzzleError):
    """401: authentication failed or is required."""

    kuzzle_class: ClassVar[str] = "UnauthorizedError"
    default_status: ClassVar[int | None] = 401


class AuthenticationRequiredError(UnauthorizedError):
    """401: the token (or cookie) sent is refused, or none was sent: log in (again), then retry.

    One ``except`` for every "log in again" error, whatever the Kuzzle version says: the
    classes of ``security.token.invalid``, ``security.token.expired``,
    ``security.cookie.invalid`` and ``security.rights.unauthorized`` (no token, and the
    anonymous user may not run the action) all derive from it, and so do the
    "auth" codes of the foreign ``error_code`` format. Kuzzle 2.56 answers an *expired*
    token with ``security.token.invalid`` (never ``security.token.expired``), so catching
    ``error_class("security.token.expired")`` alone misses it::

        try:
            kuzzle.query({"controller": "document", "action": "get", ...})
        except AuthenticationRequiredError:
            log_in_again()
    """

    kuzzle_class: ClassVar[str] = "UnauthorizedError"
    default_status: ClassVar[int | None] = 401


#: The ids whose classes derive from :class:`AuthenticationRequiredError`.
LOGIN_AGAIN_IDS: Final = frozenset(
    {
        "security.token.invalid",
        "security.token.expired",
        "security.cookie.invalid",
        "security.rights.unauthorized",
    }
)


class ForbiddenError(KuzzleError):
    """403: the authenticated user may not run this action."""

    kuzzle_class: ClassVar[str] = "ForbiddenError"
    default_status: ClassVar[int | None] = 403


class NotFoundError(KuzzleError):
    """404: the resource (document, index, user, route...) does not exist."""

    kuzzle_class: ClassVar[str] = "NotFoundError"
    default_status: ClassVar[int | None] = 404


class PreconditionError(KuzzleError):
    """412: the server state does not allow the request (e.g. unknown index)."""

    kuzzle_class: ClassVar[str] = "PreconditionError"
    default_status: ClassVar[int | None] = 412


class SizeLimitError(KuzzleError):
    """413: a configured size limit was exceeded."""

    kuzzle_class: ClassVar[str] = "SizeLimitError"
    default_status: ClassVar[int | None] = 413


class TooManyRequestsError(KuzzleError):
    """429: a rate limit refused the request before processing it."""

    kuzzle_class: ClassVar[str] = "TooManyRequestsError"
    default_status: ClassVar[int | None] = 429


class InternalError(KuzzleError):
    """500: Kuzzle met an unexpected error."""

    kuzzle_class: ClassVar[str] = "InternalError"
    default_status: ClassVar[int | None] = 500


class ExternalServiceError(KuzzleError):
    """500: an external service (Elasticsearch, Redis) failed."""

    kuzzle_class: ClassVar[str] = "ExternalServiceError"
    default_status: ClassVar[int | None] = 500


class PluginImplementationError(KuzzleError):
    """500: a plugin failed."""

    kuzzle_class: ClassVar[str] = "PluginImplementationError"
    default_status: ClassVar[int | None] = 500


class ServiceUnavailableError(KuzzleError):
    """503: the node is overloaded, shutting down, or a service it needs is down."""

    kuzzle_class: ClassVar[str] = "ServiceUnavailableError"
    default_status: ClassVar[int | None] = 503


class GatewayTimeoutError(KuzzleError):
    """504: Kuzzle or a plugin took too long; the request may still have been processed."""

    kuzzle_class: ClassVar[str] = "GatewayTimeoutError"
    default_status: ClassVar[int | None] = 504


class PartialError(KuzzleError):
    """Some items of a multi-item request failed: ``count``, ``errors``, ``items``, ``successes``.

    Catches every partial failure Kuzzle reports: a 206 ``PartialError``, a 400
    ``MultipleErrorsError`` (v2 ``strict`` m* actions) and, with ``strict=True`` in the
    parser, a 200 success whose result holds ``errors``.
    """

    kuzzle_class: ClassVar[str] = "PartialError"
    default_status: ClassVar[int | None] = 206

    errors: list[Any]
    count: int | None

    def __init__(
        self,
        message: str = "",
        *,
        errors: Sequence[Any] | None = None,
        count: int | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(message, **fields)
        self.errors = list(errors) if errors is not None else []
        self.count = count

    @_once
    def items(self) -> list[PartialItem]:
        """Each failed item, parsed (see :class:`kuzzle_errors.partial.PartialItem`)."""
        return _layers.items(self.errors, transport=self.transport)

    @_once
    def successes(self) -> list[Any]:
        """The items that succeeded, from the ``result`` sent beside the error (empty if none)."""
        return _layers.successes(self.result) or []

    def __len__(self) -> int:
        return len(self.errors)

    def _details(self) -> list[str]:
        details = super()._details()
        failed = len(self.errors)
        if self.count is not None and self.count != failed:
            sent = f"{failed} item{'' if failed == 1 else 's'}"
            details.append(f"count={self.count} but {sent} sent: they disagree")
        else:
            details.append(f"{failed} failed")
        return details

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["count"] = self.count
        data["errors"] = redact(self.errors)
        return data


class MultipleErrorsError(PartialError, BadRequestError):
    """400: a v2 ``strict`` multi-item action failed for some items (the others were applied)."""

    kuzzle_class: ClassVar[str] = "MultipleErrorsError"
    default_status: ClassVar[int | None] = 400


class InvalidResponseError(KuzzleError):
    """The response is not something Kuzzle sends (HTML from a proxy, truncated JSON...).

    ``problem`` says what was wrong and ``raw`` keeps a bounded copy of what was received.
    Error statuses from a proxy map to their usual class instead (a 503 page is a
    :class:`ServiceUnavailableError`); this class is for the rest.
    """

    kuzzle_class: ClassVar[str] = "KuzzleError"
    default_status: ClassVar[int | None] = None


class TransportError(KuzzleError):
    """No usable answer reached the client (raised by the transports, never sent by Kuzzle)."""

    kuzzle_class: ClassVar[str] = "KuzzleError"
    default_status: ClassVar[int | None] = None


class ConnectionLostError(TransportError):
    """The connection could not be made, or dropped before the answer came."""


class RequestTimeoutError(TransportError):
    """No answer came in time; the request may still have been processed."""


def _is_ascii_number(text: str) -> bool:
    # str.isdigit() also accepts full-width and Arabic-Indic digits: no HTTP peer sends those.
    return text.isascii() and text.isdigit()


def coerce_status(value: object) -> int | None:
    """A status from an int, an integral float or an ASCII digit string; else None."""
    if type(value) is int:  # the common case, first
        return value if 100 <= value <= 999 else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        status = value
    elif isinstance(value, float) and value.is_integer():
        status = int(value)
    elif isinstance(value, str) and _is_ascii_number(value.strip()) and len(value.strip()) == 3:
        status = int(value.strip())
    else:
        return None
    return status if 100 <= status <= 999 else None


def build_error(cls: type[KuzzleError], attrs: dict[str, Any]) -> KuzzleError:
    """An instance of ``cls`` whose attributes are ``attrs`` (the parser's path).

    Skips ``__init__``'s defaulting and header redaction, which the parser has done: this is
    the hot path of every parsed response. ``attrs`` must hold every ``__init__`` field (and
    ``errors``, ``count`` for a :class:`PartialError`); it becomes the instance's dict, so
    the caller hands it over and keeps no reference.
    """
    error = cls.__new__(cls)
    error.__dict__ = attrs  # ``args`` is derived from ``message``
    return error


# -- what the layers above provide -----------------------------------------------------------


class _Layers:
    """The functions behind ``retry_hint``, ``retry_after``, ``items`` and ``successes``.

    They live in ``hints`` and ``partial``, which sit above this module (catalog <-
    exceptions <- hints, partial <- parser) and import it: this module never imports them
    back. ``kuzzle_errors.parser``, loaded with the package, hands them over with ``wire``.
    """

    hint_for: Callable[[KuzzleError], RetryHint]
    retry_after: Callable[[Mapping[str, str]], float | None]
    items: Callable[..., list[PartialItem]]  # partial.parse_items
    successes: Callable[[object], list[Any] | None]


_layers = _Layers()


def wire(
    *,
    hint_for: Callable[[KuzzleError], RetryHint],
    retry_after: Callable[[Mapping[str, str]], float | None],
    items: Callable[..., list[PartialItem]],  # partial.parse_items
    successes: Callable[[object], list[Any] | None],
) -> None:
    """Hand over the functions of the layers above (called once, by ``kuzzle_errors.parser``)."""
    _layers.hint_for = hint_for
    _layers.retry_after = retry_after
    _layers.items = items
    _layers.successes = successes


_FAMILIES: Final[dict[str, type[KuzzleError]]] = {
    cls.kuzzle_class: cls
    for cls in (
        KuzzleError,
        BadRequestError,
        ParseError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        PreconditionError,
        SizeLimitError,
        TooManyRequestsError,
        InternalError,
        ExternalServiceError,
        PluginImplementationError,
        ServiceUnavailableError,
        GatewayTimeoutError,
        PartialError,
        MultipleErrorsError,
    )
}

_BY_STATUS: Final[dict[int, type[KuzzleError]]] = {
    206: PartialError,
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    412: PreconditionError,
    413: SizeLimitError,
    429: TooManyRequestsError,
    500: InternalError,
    503: ServiceUnavailableError,
    504: GatewayTimeoutError,
}


def family(class_name: str) -> type[KuzzleError]:
    """The Python class for a Kuzzle class name (``KuzzleError`` if unknown)."""
    return _FAMILIES.get(class_name, KuzzleError)


def class_for_status(status: int | None) -> type[KuzzleError] | None:
    """The class Kuzzle uses for ``status``, or None for a status it has no class for."""
    return _BY_STATUS.get(status) if status is not None else None


# -- per-id classes --------------------------------------------------------------------------

_by_id: dict[str, type[KuzzleError]] = {}
_lock = _thread.allocate_lock()


def class_name_for_id(error_id: str) -> str:
    """``services.storage.not_found`` -> ``ServicesStorageNotFound`` (see ``codes.pyi``)."""
    return "".join(part.capitalize() for part in error_id.replace(".", "_").split("_") if part)


def error_class(key: str | int, *, version: int | None = None) -> type[KuzzleError]:
    """The class of one catalogued error, by id or code; the same object on every call.

    >>> error_class("services.storage.not_found").__mro__[1].__name__
    'NotFoundError'

    A Kuzzle class name (``"NotFoundError"``) gives that family. Raises ``LookupError`` for
    anything the catalogue does not know.
    """
    if isinstance(key, str) and key in _FAMILIES:
        return _FAMILIES[key]
    spec = catalog.get(key, version=version)
    if spec is None:
        raise LookupError(f"not a catalogued Kuzzle error id or code: {key!r}")
    return _class_for_spec(spec)


def base_for_spec(spec: ErrorSpec) -> type[KuzzleError]:
    """The class a per-id class derives from: its Kuzzle family, or the log-in-again one."""
    return AuthenticationRequiredError if spec.id in LOGIN_AGAIN_IDS else family(spec.class_name)


def _class_for_spec(spec: ErrorSpec) -> type[KuzzleError]:
    cls = _by_id.get(spec.id)
    if cls is not None:
        return cls
    with _lock:
        cls = _by_id.get(spec.id)
        if cls is None:
            # The class follows the preferred spec, so a v1 lookup and a v2 lookup agree.
            preferred = catalog.get(spec.id) or spec
            name = class_name_for_id(spec.id)
            namespace = {
                "__module__": "kuzzle_errors.codes",
                "__qualname__": name,
                "__doc__": f"``{preferred.id}`` ({preferred.hex}): {preferred.description}",
                "kuzzle_id": preferred.id,
                "default_status": preferred.status,
                "_generated": True,
            }
            cls = type(name, (base_for_spec(preferred),), namespace)
            _by_id[spec.id] = cls
    return cls
