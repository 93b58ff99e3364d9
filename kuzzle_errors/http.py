"""Kuzzle errors over HTTP with ``requests`` (install the ``http`` extra).

* :func:`error_from_response` / :func:`raise_for_kuzzle`: the :class:`~kuzzle_errors.KuzzleError`
  a :class:`requests.Response` carries, from its status, headers and body;
* :func:`install`: a response hook so that every response of a session raises on a Kuzzle error,
  the way ``raise_for_status`` users expect;
* :class:`KuzzleHTTP`: a thin client sending Kuzzle API requests to ``POST /_query``, returning
  ``result`` or raising, with transport failures mapped to :class:`~kuzzle_errors.TransportError`
  subclasses carrying honest retry hints.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

import requests
import urllib3.exceptions

from kuzzle_errors._protocol.clients import call_with_retry, scope_retry
from kuzzle_errors._protocol.failures import safe_cause, shown_url
from kuzzle_errors._protocol.http import (
    MAX_ERROR_BYTES,
    BodyTooLarge,
    HTTPAttempt,
    failure_of,
    hook_parses,
    parse_http,
    total_seconds,
)
from kuzzle_errors._protocol.queries import REQUEST_ID_HEADER, jwt_from_login, login_request
from kuzzle_errors._requests_io import Call, DeadlineAdapter, read_body

if TYPE_CHECKING:
    from kuzzle_errors._protocol.clients import RetryCaller
    from kuzzle_errors._protocol.http import Failure
    from kuzzle_errors.exceptions import KuzzleError

__all__ = [
    "DeadlineAdapter",
    "KuzzleHTTP",
    "error_from_response",
    "install",
    "raise_for_kuzzle",
    "uninstall",
]

log: logging.Logger = logging.getLogger(__name__)

# Failures that happen before a byte of the request is sent, and will happen again.
_PERMANENT: Final = (
    requests.exceptions.SSLError,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.URLRequired,
)


def error_from_response(resp: requests.Response, *, strict: bool = False) -> KuzzleError | None:
    """The Kuzzle error ``resp`` carries, or None for a success.

    Uses the HTTP status (an error under a 2xx, such as Kuzzle's 206, is still an error), the
    headers (``X-Kuzzle-Request-Id``, ``X-Kuzzle-Node``, a proxy's ``Retry-After``) and the
    body: Kuzzle's envelope, the bare error object sent for errors raised before routing, or
    anything else (a proxy's HTML page becomes the class of its status, with a bounded copy
    of the text in ``raw``). With ``strict=True`` a success whose ``result`` holds a non-empty
    ``errors`` list (v2 ``m*`` actions) is a :class:`~kuzzle_errors.PartialError`.
    """
    sent = getattr(resp, "request", None)
    request_id = None if sent is None else sent.headers.get(REQUEST_ID_HEADER)
    return parse_http(resp.content, resp.status_code, resp.headers, strict, request_id)[0]


def raise_for_kuzzle(resp: requests.Response, *, strict: bool = False) -> None:
    """Raise the error :func:`error_from_response` finds in ``resp``; return on success."""
    error = error_from_response(resp, strict=strict)
    if error is not None:
        raise error


class _KuzzleHook:
    """The response hook :func:`install` adds (a class, so it can be found and replaced)."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict

    def __call__(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        # Redirects are followed before the hook sees them: 3xx pass.
        if hook_parses(resp.status_code, resp.headers, self.strict):
            raise_for_kuzzle(resp, strict=self.strict)


def install(session: requests.Session, *, strict: bool = False) -> requests.Session:
    """Make every response of ``session`` raise on a Kuzzle error; returns ``session``.

    Responses with a status of 400 or more are parsed, and JSON answers with status 206
    (with ``strict=True``, every JSON 2xx). Installing twice replaces the earlier hook.
    """
    uninstall(session)
    session.hooks.setdefault("response", []).append(_KuzzleHook(strict))
    return session


def uninstall(session: requests.Session) -> requests.Session:
    """Remove the hook :func:`install` added, if any; returns ``session``."""
    hooks = session.hooks.get("response", [])
    hooks[:] = [hook for hook in hooks if not isinstance(hook, _KuzzleHook)]
    return session


class KuzzleHTTP:
    """A minimal Kuzzle HTTP client: ``query(request)`` returns ``result`` or raises.

    Requests go to ``POST {base_url}/_query`` with the Kuzzle request as JSON body (the
    generic route every Kuzzle 2 serves), ``Authorization: Bearer <jwt>`` when logged in and a
    fresh ``X-Kuzzle-Request-Id`` so the answer (and its error) can be matched in logs.
    Concurrent use from several threads is as safe as sharing the underlying
    :class:`requests.Session` (fine with its default adapter; one client per thread is safest).

    Args:
        base_url: ``http://host:7512`` (a path prefix is kept).
        session: a :class:`requests.Session` to use (closed by :meth:`close` only if created
            here).
        timeout: seconds the whole call may take (connect, send, headers and body), or a
            ``(connect, read)`` tuple as ``requests`` takes it, whose sum bounds the call. Past
            it the call fails with :class:`~kuzzle_errors.RequestTimeoutError` (not
            replay-safe: the request was sent), however slowly the server drips its answer.
            The total bound needs the session's adapter: it holds for the session created
            here; a session passed in keeps ``requests``' per-read timeouts unless
            ``kuzzle_errors.http.DeadlineAdapter`` is mounted on it.
        max_error_bytes: the most of an error body (non-2xx) read, after decompression; past
            it reading stops and the error of the status is raised with what was read, its
            ``problem`` saying the body was cut.
        max_body_bytes: the same for a success's body (None: no cap, the default); past it
            an :class:`~kuzzle_errors.InvalidResponseError` (not retryable) is raised.
        jwt: an authentication token; :meth:`login` sets one.
        retry: a :class:`kuzzle_errors.retry.RetryPolicy`; each query then goes through
            ``retry.call(...)`` with its ``idempotent`` flag. A policy with ``for_host`` (as
            ``RetryPolicy`` has) is replaced by ``retry.for_host("host:port")`` of
            ``base_url``, here and when ``retry`` is assigned later, so every client of one
            server shares one retry budget (a budget set explicitly on the policy is kept).

    A 2xx answer of ``/_query`` that is not a JSON object holding a Kuzzle envelope (a
    captive portal's HTML page, a proxy's own JSON) raises
    :class:`~kuzzle_errors.InvalidResponseError` rather than being returned as the result,
    unless Kuzzle's own headers (``X-Kuzzle-Node``, or our ``X-Kuzzle-Request-Id`` echoed)
    show it is a plugin's result in Kuzzle's ``raw`` format, which is returned as is.
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = 10.0,
        jwt: str | None = None,
        retry: RetryCaller | None = None,
        max_error_bytes: int | None = MAX_ERROR_BYTES,
        max_body_bytes: int | None = None,
    ) -> None:
        self.base_url: str = base_url.rstrip("/")
        self.timeout = timeout
        self.max_error_bytes = max_error_bytes
        self.max_body_bytes = max_body_bytes
        self.jwt = jwt
        self._retry: RetryCaller | None = None
        self.retry = retry
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            adapter = DeadlineAdapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session: requests.Session = session

    @property
    def retry(self) -> RetryCaller | None:
        """The retry policy of the queries, scoped to this client's host (None: no retry)."""
        return self._retry

    @retry.setter
    def retry(self, policy: RetryCaller | None) -> None:
        self._retry = scope_retry(policy, self.base_url)

    def query(
        self, request: Mapping[str, Any], *, idempotent: bool = False, strict: bool = False
    ) -> Any:
        """Send one Kuzzle API request and return its ``result``.

        ``request`` holds ``controller``, ``action`` and any other argument (``index``,
        ``collection``, ``_id``, ``body``, ``volatile``, ``refresh``...). Raises the parsed
        :class:`~kuzzle_errors.KuzzleError` on an error answer, a
        :class:`~kuzzle_errors.ConnectionLostError` or
        :class:`~kuzzle_errors.RequestTimeoutError` on a transport failure. ``idempotent``
        tells the retry policy whether a request that may have run can be replayed;
        ``strict`` makes a result holding ``errors`` raise a PartialError (client side).
        """
        return call_with_retry(
            self.retry, self._query_once, dict(request), idempotent=idempotent, strict=strict
        )

    def login(
        self,
        credentials: Mapping[str, Any],
        strategy: str = "local",
        *,
        expires_in: str | None = None,
    ) -> str:
        """Log in with ``auth:login``, keep the token for the next queries and return it."""
        self.jwt = jwt_from_login(self.query(login_request(credentials, strategy, expires_in)))
        return self.jwt

    def close(self) -> None:
        """Close the session if this client created it. Idempotent."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> KuzzleHTTP:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KuzzleHTTP({shown_url(self.base_url)!r})"

    # -- one attempt -------------------------------------------------------------------------

    def _query_once(self, request: dict[str, Any], *, strict: bool = False) -> Any:
        attempt = HTTPAttempt(request, self.jwt, strict=strict)
        seconds = total_seconds(self.timeout)
        call = Call(seconds)
        failure: BaseException | None = None
        try:
            with call:
                # Kuzzle never redirects /_query: a 3xx is an answer, and following it would
                # send the body again (a loop sent it 31 times).
                resp = self.session.post(
                    f"{self.base_url}/_query",
                    data=attempt.query.data,
                    headers=attempt.query.headers,
                    timeout=self.timeout,
                    stream=True,
                    allow_redirects=False,
                )
                attempt.answered(resp)
                cap = attempt.cap(self.max_body_bytes, self.max_error_bytes)
                read_body(resp, cap, call.deadline)
        except (BodyTooLarge, zlib.error) as exc:
            raise attempt.unreadable(exc) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            failure = exc
        if failure is not None:
            if call.expired:  # the total deadline cut the call: the request was sent
                lost = attempt.failed(failure, "deadline", self.base_url, seconds)
            else:
                waited = _read_timeout(self.timeout)
                lost = attempt.failed(failure, _failure(failure), self.base_url, waited)
            raise lost from safe_cause(failure)
        return attempt.result(resp.content, text=lambda: resp.text)


def _failure(exc: BaseException) -> Failure:
    """How the call failed, from what ``requests`` or ``urllib3`` raised."""
    # NewConnectionError (refused, DNS) subclasses ConnectTimeoutError in urllib3.
    return failure_of(
        exc,
        unsendable=_PERMANENT,
        connect=(requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError),
        timeout=(requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError),
    )


def _read_timeout(timeout: float | tuple[float, float]) -> float:
    return timeout[1] if isinstance(timeout, tuple) else timeout
