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

import fnmatch
import threading
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar

from kuzzle_errors import catalog, hints
from kuzzle_errors._redact import (
    header,
    one_line,
    redact,
    redact_headers,
    redact_text,
    shown,
)
from kuzzle_errors.catalog import ErrorSpec
from kuzzle_errors.hints import RetryHint

if TYPE_CHECKING:
    from kuzzle_errors import partial
    from kuzzle_errors.partial import PartialItem

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
    "replace",
]

_E = TypeVar("_E", bound="KuzzleError")

#: How much of a message ``str()`` shows; the full message stays in ``e.message``.
STR_MESSAGE_LIMIT: Final = 500


class _Default:
    """The default of ``status``: its repr is what ``help()`` shows in the signature."""

    def __repr__(self) -> str:
        return "<from the id or the class>"


_FROM_SPEC: Any = _Default()

#: Node names that mean "no name": Kuzzle 2.56 sends ``X-Kuzzle-Node: undefined``.
_NO_NODE_NAMES: Final = frozenset({"", "undefined", "null"})

#: The keyword fields of the constructor, in its order (``message`` comes first, by position).
_FIELDS: Final = (
    "status",
    "id",
    "code",
    "spec",
    "props",
    "stack",
    "request_id",
    "node",
    "controller",
    "action",
    "index",
    "collection",
    "volatile",
    "result",
    "transport",
    "http_status",
    "headers",
    "raw",
    "response",
    "problem",
    "request",
)

# Filled as the classes below are defined (KuzzleError.__init_subclass__).
_FAMILIES: dict[str, type[KuzzleError]] = {}
_BY_STATUS: dict[int, type[KuzzleError]] = {}


def node_name(value: str | None) -> str | None:
    """The node name a response gives, or None for the placeholders meaning none."""
    if value is None or (isinstance(value, str) and value.strip().lower() in _NO_NODE_NAMES):
        return None
    return value


class KuzzleError(Exception):
    """An error answered by Kuzzle (or by something standing in front of it).

    Attributes mirror Kuzzle's error object and the response envelope around it; any of them
    may be None when the server did not send it. ``raw`` is the error object as received and
    ``response`` the whole envelope (or body) as received: nothing the server said is lost.

    Every error, parsed, raised by a client, unpickled or built by hand, is made by this
    constructor; :func:`replace` gives a copy with some fields changed. ``spec`` defaults to
    the catalogue's entry for ``id``, and ``code`` to that entry's; ``status`` to the
    entry's, else the class's (pass None for "no status": the server sent none).
    ``retry_hint`` replaces the advice the id would give (a client that knows more, such as
    "the request never left", passes its own). ``request`` is the request the error answers,
    as sent (the clients attach it; without ``requestId`` nor ``jwt``, and, but for a
    multi-document action's, which ``PartialError.retry_request`` rebuilds, with its secrets
    redacted): never shown, and redacted in pickles.
    """

    #: The Kuzzle class this Python class stands for (Kuzzle never sends it: derived).
    kuzzle_class: ClassVar[str] = "KuzzleError"
    #: The status Kuzzle uses for this class.
    default_status: ClassVar[int | None] = 500
    #: The catalogued id of a per-id class, None for the class families.
    kuzzle_id: ClassVar[str | None] = None
    #: How many attempts a retry policy made before giving up (set by ``kuzzle_errors.retry``,
    #: which re-raises this very error).
    attempts: int | None = None

    # Slots: an exception's attributes otherwise live in a dict that grows (and is copied)
    # several times while the constructor fills it, the main cost of building one.
    __slots__ = (
        *(name for name in _FIELDS if name != "headers"),  # a cached property: see below
        "message",
        "http_response",
        "_given_hint",
        "_headers_given",
        "__weakref__",
    )

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
    raw: Any
    response: Any
    problem: str | None
    #: The request this error answers, as the client sent it (None when not known).
    request: Mapping[str, Any] | None
    #: The transport's own response object (``requests.Response`` for ``KuzzleHTTP``), kept
    #: for inspection; never shown, and left out of pickles (it holds the request's headers).
    http_response: Any

    def __init_subclass__(cls, *, kuzzle_class: str | None = None, **kwargs: Any) -> None:
        # A family names its Kuzzle class: its status comes from the catalogue, and the first
        # family of each status is the class of that status (as google-api-core registers
        # its exceptions by code).
        super().__init_subclass__(**kwargs)
        if kuzzle_class is not None:
            cls.kuzzle_class = kuzzle_class
            cls.default_status = catalog.CLASS_STATUS[kuzzle_class]
            _FAMILIES.setdefault(kuzzle_class, cls)
            _BY_STATUS.setdefault(cls.default_status, cls)

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = _FROM_SPEC,
        id: str | None = None,
        code: int | None = None,
        spec: ErrorSpec | None = None,
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
        request: Mapping[str, Any] | None = None,
        retry_hint: RetryHint | None = None,
        http_response: Any = None,
    ) -> None:
        super().__init__()  # ``args`` is derived from ``message``: see the property
        # Total: any value of any type is kept as given; only a real ErrorSpec, a str id and
        # an int code are used to derive the others, and showing an odd value never raises.
        self.message = message
        if not isinstance(spec, ErrorSpec):
            spec = catalog.by_id(id) if isinstance(id, str) and id else None
        if spec is None and type(self).kuzzle_id is not None:
            spec = catalog.by_id(type(self).kuzzle_id or "")
        self.spec = spec
        self.id = id if id is not None else (spec.id if spec is not None else None)
        self.code = code if code is not None else (spec.code if spec is not None else None)
        if status is _FROM_SPEC:
            status = spec.status if spec is not None else type(self).default_status
        self.status = status
        self.props = props
        self.stack = stack
        # Redacted when first read (most errors are caught and dropped unread).
        self._headers_given = headers
        self.request_id = request_id
        if node is None:
            node = header(headers, "X-Kuzzle-Node")
        self.node = None if node is None else node_name(node)
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
        self.request = request
        self._given_hint = retry_hint
        self.http_response = http_response

    # -- derived -------------------------------------------------------------------------

    @property
    def domain(self) -> str | None:
        """First part of the id (``api`` in ``api.process.overloaded``)."""
        return self.id.split(".", 1)[0] if isinstance(self.id, str) and self.id else None

    @property
    def subdomain(self) -> str | None:
        """Second part of the id (``process`` in ``api.process.overloaded``)."""
        parts = self.id.split(".") if isinstance(self.id, str) else []
        return parts[1] if len(parts) > 1 else None

    @property
    def hex(self) -> str | None:
        """The code as Kuzzle prints it, ``0x02020002`` (None for a code that is no int)."""
        code = self.code
        if not isinstance(code, int) or isinstance(code, bool) or code < 0:
            return None
        return f"0x{code:08x}"

    @cached_property
    def headers(self) -> dict[str, str]:
        """The response's headers as sent, secret-bearing values redacted (``Set-Cookie``...)."""
        return redact_headers(self._headers_given)

    @cached_property
    def retry_after(self) -> float | None:
        """Seconds the response's ``Retry-After`` header asked for (capped), or None.

        Kuzzle never sends one; proxies and gateways may.
        """
        value = header(self._headers_given, "Retry-After")
        return None if value is None else hints.parse_retry_after(value)

    @cached_property
    def retry_hint(self) -> RetryHint:
        """Whether, when and where to retry: see :class:`kuzzle_errors.hints.RetryHint`."""
        given: RetryHint | None = self._given_hint
        return given if given is not None else hints.hint_for(self)

    @property
    def retryable(self) -> bool:
        """Shortcut for ``retry_hint.retryable``."""
        return self.retry_hint.retryable

    @property
    def limit(self) -> hints.Limit | None:
        """The Kuzzle setting that refused the request (``limits.documentsWriteCount`` for
        ``services.storage.write_limit_exceeded``...), with the limit when Kuzzle says it;
        None for an error no limit raises. See :data:`kuzzle_errors.hints.LIMITS`."""
        return hints.limit_of(self.id, self.props)

    def matches(self, *patterns: str) -> bool:
        """True if the id matches one of the shell-style ``patterns`` (``"services.storage.*"``)."""
        error_id = self.id
        if not isinstance(error_id, str) or not error_id:
            return False
        return any(fnmatch.fnmatchcase(error_id, pattern) for pattern in patterns)

    # -- presentation --------------------------------------------------------------------

    if not TYPE_CHECKING:  # typeshed declares ``args`` a plain attribute

        @property
        def args(self) -> tuple[Any, ...]:
            """``(message,)`` as it may be shown: redacted and bounded, like ``str()``.

            Loggers and error trackers read ``args``; the message as received stays whole
            in ``message``.
            """
            return (_text_of(self.message),)

        @args.setter
        def args(self, value: tuple[Any, ...]) -> None:
            BaseException.args.__set__(self, value)  # kept, never shown

    def _one_line_message(self) -> str:
        message = self.message if isinstance(self.message, str) else _text_of(self.message)
        # Only the start is scanned: the rest is cut anyway (plus room for a straddling JWT).
        text = redact_text(message[: STR_MESSAGE_LIMIT + 8192], None)
        if len(message) > STR_MESSAGE_LIMIT:
            text = f"{text[:STR_MESSAGE_LIMIT]}... ({len(message)} chars)"
        return one_line(text)

    def _details(self) -> list[str]:
        details = []
        if self.status is not None:
            details.append(f"status {_line(self.status)}")
        if self.http_status is not None and self.http_status != self.status:
            details.append(f"HTTP {_line(self.http_status)}")
        if _given(self.request_id):
            details.append(f"request {_line(self.request_id, 100)}")
        if _given(self.problem):
            details.append(_line(self.problem, 500))
        return details

    def __str__(self) -> str:
        head = _line(self.id) if self.id else ""
        code = (
            self.hex if self.hex is not None else (None if self.code is None else _line(self.code))
        )
        if code is not None:
            head = f"{head} ({code})" if head else code
        message = self._one_line_message() or "(no message)"
        text = f"{head}: {message}" if head else message
        details = self._details()
        return f"{text} [{', '.join(details)}]" if details else text

    def __repr__(self) -> str:
        fields = [f"message={self._one_line_message()!r}"]
        for name in ("status", "id", "request_id", "http_status"):
            value = getattr(self, name)
            if value is not None:
                text = _line(value) if isinstance(value, str) else redact(value)
                fields.append(f"{name}={text!r}")
        if self.hex is not None:
            fields.append(f"code={self.hex}")
        elif self.code is not None:
            fields.append(f"code={redact(self.code)!r}")
        return f"{type(self).__name__}({', '.join(fields)})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the error, for structured logs (secrets redacted)."""
        hint = self.retry_hint
        data: dict[str, Any] = {
            "type": type(self).__name__,
            "kuzzle_class": self.kuzzle_class,
            "message": _text_of(self.message),
            "status": redact(self.status),
            "id": shown(self.id),
            "code": redact(self.code),
            "hex": self.hex,
            "props": redact(self.props),
            "stack": None if self.stack is None else redact(self.stack),
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
        limit = self.limit
        if limit is not None:
            data["limit"] = {
                "setting": limit.setting,
                "default": limit.default,
                "value": limit.value,
            }
        if self.attempts is not None:
            data["attempts"] = self.attempts
        return data

    # -- building again: pickling, copying, replace() ------------------------------------

    def _fields(self) -> dict[str, Any]:
        """The constructor's arguments that would build this error again."""
        fields = {name: getattr(self, name) for name in _FIELDS if name != "headers"}
        fields["headers"] = self.__dict__.get("headers", self._headers_given)
        fields["message"] = self.message
        fields["retry_hint"] = self._given_hint
        return fields

    def __reduce__(self) -> tuple[Any, ...]:
        cls = type(self)
        key: object = cls.kuzzle_id if cls.__dict__.get("_generated") else cls
        fields = self._fields()
        for name, value in fields.items():
            if name == "headers":
                fields[name] = redact_headers(value)
            elif name not in ("spec", "retry_hint"):
                fields[name] = redact(value)
        # What the retry layer adds to an error it re-raises: its attempts and its notes.
        added: dict[str, Any] = {}
        if fields.get("request") is not None and not _same(fields["request"], self.request):
            # Its secrets hidden or its long values cut: fine to read, wrong to send again.
            added["_request_redacted"] = True
        elif self.__dict__.get("_request_redacted"):
            added["_request_redacted"] = True
        if "attempts" in self.__dict__:
            added["attempts"] = self.attempts
        if "__notes__" in self.__dict__:
            added["__notes__"] = [redact_text(str(note)) for note in self.__dict__["__notes__"]]
        return (_rebuild, (key, fields, added))


def _text_of(value: object) -> str:
    """An attribute as redacted text: a str as is, anything else as :func:`redact` shows it."""
    if isinstance(value, str):
        return redact_text(value)
    if value is None:
        return ""
    shown_value = redact(value)
    return shown_value if isinstance(shown_value, str) else str(shown_value)


def _given(value: object) -> bool:
    """Not None, and not an empty string: worth showing."""
    return value is not None and not (isinstance(value, str) and not value)


def _line(value: object, limit: int = 200) -> str:
    """A scalar attribute as it may be shown in ``str()``: redacted, bounded, one line."""
    return one_line(shown(value, limit) or "")


def _same(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except Exception:  # an object whose == raises (or is ambiguous) is not known to be equal
        return False


def _rebuild(
    key: object, fields: dict[str, Any], added: Mapping[str, Any] | None = None
) -> KuzzleError:
    cls = error_class(key) if isinstance(key, str) else key
    if not (isinstance(cls, type) and issubclass(cls, KuzzleError)):
        raise TypeError(f"cannot rebuild a KuzzleError from {key!r}")
    message = fields.pop("message", "")
    error = cls(message, **fields)
    error.__dict__.update(added or {})
    return error


def replace(error: _E, **changes: Any) -> _E:
    """A new error of ``error``'s class, built by the constructor with ``changes`` applied.

    What ``dataclasses.replace`` is to a dataclass: the clients use it to add what they know
    (a problem, the request's fields, a retry hint) to an error they did not build.
    """
    fields = error._fields()
    fields["http_response"] = error.http_response
    fields.update(changes)
    message = fields.pop("message")
    rebuilt = type(error)(message, **fields)
    if "request" not in changes and error.__dict__.get("_request_redacted"):
        rebuilt.__dict__["_request_redacted"] = True  # still the redacted copy
    return rebuilt


# -- the Kuzzle classes ----------------------------------------------------------------------


class BadRequestError(KuzzleError, kuzzle_class="BadRequestError"):
    """400: the request is malformed or misses parameters."""


class ParseError(BadRequestError, kuzzle_class="ParseError"):
    """400: Kuzzle v1's request parsing error (deprecated there since 1.4.1)."""


class UnauthorizedError(KuzzleError, kuzzle_class="UnauthorizedError"):
    """401: authentication failed or is required."""


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


#: The ids whose classes derive from :class:`AuthenticationRequiredError`.
LOGIN_AGAIN_IDS: Final = frozenset(
    {
        "security.token.invalid",
        "security.token.expired",
        "security.cookie.invalid",
        "security.rights.unauthorized",
    }
)


class ForbiddenError(KuzzleError, kuzzle_class="ForbiddenError"):
    """403: the authenticated user may not run this action."""


class NotFoundError(KuzzleError, kuzzle_class="NotFoundError"):
    """404: the resource (document, index, user, route...) does not exist."""


class PreconditionError(KuzzleError, kuzzle_class="PreconditionError"):
    """412: the server state does not allow the request (e.g. unknown index)."""


class SizeLimitError(KuzzleError, kuzzle_class="SizeLimitError"):
    """413: a configured size limit was exceeded."""


class TooManyRequestsError(KuzzleError, kuzzle_class="TooManyRequestsError"):
    """429: a rate limit refused the request before processing it."""


class InternalError(KuzzleError, kuzzle_class="InternalError"):
    """500: Kuzzle met an unexpected error."""


class ExternalServiceError(KuzzleError, kuzzle_class="ExternalServiceError"):
    """500: an external service (Elasticsearch, Redis) failed."""


class PluginImplementationError(KuzzleError, kuzzle_class="PluginImplementationError"):
    """500: a plugin failed."""


class ServiceUnavailableError(KuzzleError, kuzzle_class="ServiceUnavailableError"):
    """503: the node is overloaded, shutting down, or a service it needs is down."""


class GatewayTimeoutError(KuzzleError, kuzzle_class="GatewayTimeoutError"):
    """504: Kuzzle or a plugin took too long; the request may still have been processed."""


class PartialError(KuzzleError, kuzzle_class="PartialError"):
    """Some items of a multi-item request failed: ``count``, ``errors``, ``items``, ``successes``.

    Catches every partial failure Kuzzle reports: a 206 ``PartialError``, a 400
    ``MultipleErrorsError`` (v2 ``strict`` m* actions) and, with ``strict=True`` in the
    parser, a 200 success whose result holds ``errors``. Each failed item has its own retry
    hint (``items``), and :meth:`retry_request` gives the request back with only the items
    worth sending again.
    """

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
        if errors is None:
            errors = []
        elif isinstance(errors, Sequence) and not isinstance(errors, (str, bytes)):
            errors = list(errors)
        else:  # not a sequence of items: kept, as the one item it is
            errors = [errors]
        self.errors = errors
        self.count = count

    # The one import up the layers: ``kuzzle_errors.partial`` parses nested error objects,
    # so it sits above this module; it is loaded when failed items are first read.

    @cached_property
    def items(self) -> list[PartialItem]:
        """Each failed item, parsed (see :class:`kuzzle_errors.partial.PartialItem`)."""
        from kuzzle_errors import partial

        return partial.parse_items(self.errors, transport=self.transport)

    @cached_property
    def successes(self) -> list[Any] | None:
        """The items that succeeded, from the ``result`` sent beside the error; None when
        unknown: Kuzzle does not say (a ``strict`` m* action's MultipleErrorsError comes with
        no result, yet the items that did not fail **were written**)."""
        from kuzzle_errors import partial

        return partial.successes_of(self.result)

    def retry_request(
        self,
        which: partial.Which = "retryable",
        *,
        request: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """The request this error answers, holding only the failed items worth sending again.

        ``which``: ``"retryable"`` (default: the items whose own :attr:`~PartialItem.retry_hint`
        is retryable), ``"all"``, or a function of a :class:`~kuzzle_errors.PartialItem`.
        Returns None when no item is kept. Every multi-document action Kuzzle has
        (:data:`kuzzle_errors.partial.MULTI_DOCUMENT_ACTIONS`: the ``document:m*`` actions,
        ``bulk:import``, ``bulk:mWrite``, ``security:mDelete*``); ``request`` when the error
        does not know it (one parsed by hand). Raises ValueError when it cannot be rebuilt,
        and when the error was pickled or copied with its request changed on the way (its
        secrets hidden, its long values cut: pass ``request``).
        Whether sending it again is safe is the items' hints' say: an item that "may have been
        written" (a storage timeout) is kept, as retryable, yet a ``create`` of it may answer
        "already exists" next time.
        """
        from kuzzle_errors import partial

        if request is None and self.__dict__.get("_request_redacted"):
            raise ValueError(
                "this error was pickled or copied, and its request lost its secrets or its "
                "long values on the way: it cannot be sent again as it is; pass the request, "
                "retry_request(request=...)"
            )
        return partial.retry_request(self, which, request=request)

    def __len__(self) -> int:
        return len(self.errors)

    def _details(self) -> list[str]:
        details = super()._details()
        failed = len(self.errors)
        if self.count is not None and self.count != failed:
            sent = f"{failed} item{'' if failed == 1 else 's'}"
            details.append(f"count={_line(self.count)} but {sent} sent: they disagree")
        else:
            details.append(f"{failed} failed")
        return details

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["count"] = redact(self.count)
        data["errors"] = redact(self.errors)
        return data

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "errors": self.errors, "count": self.count}


class MultipleErrorsError(PartialError, BadRequestError, kuzzle_class="MultipleErrorsError"):
    """400: a v2 ``strict`` multi-item action failed for some items (the others were applied)."""


class InvalidResponseError(KuzzleError):
    """The response is not something Kuzzle sends (HTML from a proxy, truncated JSON...).

    ``problem`` says what was wrong and ``raw`` keeps a bounded copy of what was received.
    Error statuses from a proxy map to their usual class instead (a 503 page is a
    :class:`ServiceUnavailableError`); this class is for the rest.
    """

    default_status: ClassVar[int | None] = None


class TransportError(KuzzleError):
    """No usable answer reached the client (raised by the transports, never sent by Kuzzle)."""

    default_status: ClassVar[int | None] = None


class ConnectionLostError(TransportError):
    """The connection could not be made, or dropped before the answer came."""


class RequestTimeoutError(TransportError):
    """No answer came in time; the request may still have been processed."""


_FAMILIES["KuzzleError"] = KuzzleError


def coerce_status(value: object) -> int | None:
    """A status from an int, an integral float or an ASCII digit string; else None."""
    if type(value) is int:  # what Kuzzle sends: first
        return value if 100 <= value <= 999 else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        status = value
    elif isinstance(value, float) and value.is_integer():
        status = int(value)
    elif isinstance(value, str) and is_ascii_number(value.strip()) and len(value.strip()) == 3:
        status = int(value.strip())
    else:
        return None
    return status if 100 <= status <= 999 else None


def is_ascii_number(text: str) -> bool:
    """True for ASCII digits only (``str.isdigit`` also takes full-width and Arabic-Indic ones,
    which no HTTP peer sends)."""
    return text.isascii() and text.isdigit()


def family(class_name: str) -> type[KuzzleError]:
    """The Python class for a Kuzzle class name (``KuzzleError`` if unknown)."""
    return _FAMILIES.get(class_name, KuzzleError)


def class_for_status(status: int | None) -> type[KuzzleError] | None:
    """The class Kuzzle uses for ``status``, or None for a status it has no class for."""
    return _BY_STATUS.get(status) if status is not None else None


# -- per-id classes --------------------------------------------------------------------------

_by_id: dict[str, type[KuzzleError]] = {}
_lock = threading.Lock()


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
    return class_for_spec(spec)


def base_for_spec(spec: ErrorSpec) -> type[KuzzleError]:
    """The class a per-id class derives from: its Kuzzle family, or the log-in-again one."""
    return AuthenticationRequiredError if spec.id in LOGIN_AGAIN_IDS else family(spec.class_name)


def class_for_spec(spec: ErrorSpec) -> type[KuzzleError]:
    """The per-id class of a catalogued error (what :func:`error_class` returns)."""
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
            cls = _by_id[spec.id] = type(name, (base_for_spec(preferred),), namespace)
    return cls
