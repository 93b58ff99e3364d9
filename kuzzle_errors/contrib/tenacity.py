"""tenacity strategies that follow Kuzzle's retry hints.

::

    from tenacity import retry, stop_after_attempt, stop_after_delay
    from kuzzle_errors.contrib.tenacity import retry_if_kuzzle_retryable, wait_kuzzle_hint

    @retry(
        retry=retry_if_kuzzle_retryable(),
        wait=wait_kuzzle_hint(),
        stop=stop_after_attempt(5) | stop_after_delay(30),
        reraise=True,  # raise the original KuzzleError, not tenacity.RetryError
    )
    def create(doc): ...

tenacity's defaults retry forever on any exception without waiting: always give a ``stop``.
"""

from __future__ import annotations

from collections.abc import Callable

from tenacity import RetryCallState
from tenacity.retry import retry_base
from tenacity.wait import wait_base, wait_random_exponential

from kuzzle_errors.exceptions import KuzzleError
from kuzzle_errors.retry import DEFAULT_BASE, DEFAULT_CAP

__all__ = ["retry_if_kuzzle_retryable", "wait_kuzzle_hint"]


class retry_if_kuzzle_retryable(retry_base):  # lower case, like tenacity's own strategies
    """Retry a :class:`~kuzzle_errors.KuzzleError` whose hint says a retry may succeed.

    Only errors after which the request surely did not run (``replay_safe``: overload, rate
    limit, shutdown) are retried, unless ``idempotent=True`` declares the call safe to run
    twice (then a 504 or a storage failure is retried too). Other exceptions and results are
    never retried.
    """

    def __init__(self, idempotent: bool = False) -> None:
        self.idempotent = idempotent

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        if outcome is None or not outcome.failed:
            return False
        error = outcome.exception()
        if not isinstance(error, KuzzleError):
            return False
        hint = error.retry_hint
        return hint.retryable and (hint.replay_safe or self.idempotent)


class wait_kuzzle_hint(wait_base):  # lower case, like tenacity's own strategies
    """Wait at least what the server asked, plus the ``fallback`` wait to spread clients.

    The floor is the failed attempt's ``retry_hint.delay`` (a proxy's ``Retry-After``, or
    Kuzzle's 1-second rate-limit window), 0 when the outcome is not a Kuzzle error. The default
    fallback is full jitter, ``wait_random_exponential(multiplier=1, max=10)``, as in
    :class:`kuzzle_errors.retry.RetryPolicy`. Pair it with a ``stop`` bounding the total time:
    a wait strategy cannot give up.
    """

    def __init__(
        self,
        fallback: wait_base | Callable[[RetryCallState], float] | None = None,
    ) -> None:
        self.fallback: wait_base | Callable[[RetryCallState], float] = (
            fallback
            if fallback is not None
            else wait_random_exponential(multiplier=DEFAULT_BASE, max=DEFAULT_CAP)
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        floor = 0.0
        outcome = retry_state.outcome
        if outcome is not None and outcome.failed:
            error = outcome.exception()
            if isinstance(error, KuzzleError):
                floor = max(error.retry_hint.delay, 0.0)
        return floor + float(self.fallback(retry_state))
