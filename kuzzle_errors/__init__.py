"""Rich, catchable, retry-aware exceptions for the error responses of a Kuzzle server.

Turn any Kuzzle response (HTTP or WebSocket, Kuzzle 1 or 2, or something a proxy sent
instead) into a precise exception, catchable by Kuzzle class, by exact error id or by
pattern, that keeps everything the server said and says whether to retry.

>>> import kuzzle_errors
>>> error = kuzzle_errors.parse_response(
...     b'{"status": 503, "error": {"id": "api.process.overloaded", "status": 503,'
...     b' "code": 33685506, "message": "Request discarded: Kuzzle Server is temporarily'
...     b' overloaded."}, "requestId": "r1"}'
... )
>>> isinstance(error, kuzzle_errors.ServiceUnavailableError)
True
>>> error.retry_hint.replay_safe
True

Submodules (the ones marked "optional" need an extra and load on first access):

- ``kuzzle_errors.exceptions``: the class hierarchy, ``error_class()``.
- ``kuzzle_errors.codes``: one class per catalogued error id (``codes.ApiProcessOverloaded``).
- ``kuzzle_errors.catalog``: every documented Kuzzle 1 and 2 error id, code and class.
- ``kuzzle_errors.parser``: ``parse_response``, ``raise_for_response``, ``parse_error``.
- ``kuzzle_errors.partial``: the failed items of a ``PartialError``.
- ``kuzzle_errors.hints``: ``RetryHint``, what the error id says about retrying.
- ``kuzzle_errors.retry``: ``RetryPolicy``, ``RetryBudget``, the ``@retrying`` decorator.
- ``kuzzle_errors.http``: ``KuzzleHTTP`` and ``requests`` integration (optional: ``http``).
- ``kuzzle_errors.websocket``: ``KuzzleWebSocket`` (optional: ``websocket``).
- ``kuzzle_errors.httpx``: ``AsyncKuzzleHTTP`` and ``httpx`` integration (optional: ``httpx``).
- ``kuzzle_errors.websockets``: ``AsyncKuzzleWebSocket`` (optional: ``websockets``).
- ``kuzzle_errors.testing``: ``StubKuzzle`` and payload builders for tests (optional: ``stub``).
- ``kuzzle_errors.contrib.tenacity``: tenacity strategies (optional: ``tenacity``).
- ``kuzzle_errors.cli``: the ``kuzzle-errors`` command.

Documentation: the ``docs/`` folder of the source repository (``mkdocs serve``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kuzzle_errors import catalog
from kuzzle_errors.catalog import ErrorSpec
from kuzzle_errors.exceptions import (
    LOGIN_AGAIN_IDS,
    AuthenticationRequiredError,
    BadRequestError,
    ConnectionLostError,
    ExternalServiceError,
    ForbiddenError,
    GatewayTimeoutError,
    InternalError,
    InvalidResponseError,
    KuzzleError,
    MultipleErrorsError,
    NotFoundError,
    ParseError,
    PartialError,
    PluginImplementationError,
    PreconditionError,
    RequestTimeoutError,
    ServiceUnavailableError,
    SizeLimitError,
    TooManyRequestsError,
    TransportError,
    UnauthorizedError,
    class_for_status,
)
from kuzzle_errors.hints import RetryHint
from kuzzle_errors.parser import parse_error, parse_response, raise_for_response
from kuzzle_errors.partial import PartialItem

if TYPE_CHECKING:
    # codes.pyi types error_class("<literal id>") as that id's own class.
    from kuzzle_errors.codes import error_class
else:
    from kuzzle_errors.exceptions import error_class

__version__ = "0.1.0"

__all__ = [
    "LOGIN_AGAIN_IDS",
    "AuthenticationRequiredError",
    "BadRequestError",
    "ConnectionLostError",
    "ErrorSpec",
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
    "PartialItem",
    "PluginImplementationError",
    "PreconditionError",
    "RequestTimeoutError",
    "RetryHint",
    "ServiceUnavailableError",
    "SizeLimitError",
    "TooManyRequestsError",
    "TransportError",
    "UnauthorizedError",
    "__version__",
    "catalog",
    "class_for_status",
    "error_class",
    "parse_error",
    "parse_response",
    "raise_for_response",
]

_LAZY_SUBMODULES = frozenset(
    {"codes", "contrib", "http", "httpx", "retry", "testing", "websocket", "websockets"}
)


def __getattr__(name: str) -> object:
    """Load the submodules that may need optional dependencies on first access only."""
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"kuzzle_errors.{name}")
    raise AttributeError(f"module 'kuzzle_errors' has no attribute {name!r}")
