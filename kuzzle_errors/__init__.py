"""Rich, catchable exceptions for the error responses of a Kuzzle server.

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
"""

from __future__ import annotations

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
    error_class,
)
from kuzzle_errors.hints import RetryHint
from kuzzle_errors.parser import parse_error, parse_response, raise_for_response
from kuzzle_errors.partial import PartialItem

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

_LAZY_SUBMODULES = frozenset({"codes", "contrib", "http", "retry", "testing", "websocket"})


def __getattr__(name: str) -> object:
    # Submodules that pull in optional dependencies load on first access only.
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"kuzzle_errors.{name}")
    raise AttributeError(f"module 'kuzzle_errors' has no attribute {name!r}")
