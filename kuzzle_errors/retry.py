"""Retrying Kuzzle calls without making an overload worse.

:class:`RetryPolicy` retries what the error's ``retry_hint`` allows (a refused request always,
one that may have run only for calls declared ``idempotent=True``), waits at least what the
server asked plus full jitter, stops at ``attempts`` or ``timeout``, and spends a
:class:`RetryBudget` shared by every client of a host. On giving up, the *original* exception
propagates with ``attempts`` set and a note saying why. The loop is sans-IO: :class:`RetryRun`
decides, :meth:`RetryPolicy.call` and :meth:`RetryPolicy.acall` only sleep and call. Why each
choice, with the figures behind it: ``docs/guides/retrying.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import math
import random as _random
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, ParamSpec, TypeVar

from kuzzle_errors.exceptions import KuzzleError

__all__ = [
    "DEFAULT_ATTEMPTS",
    "DEFAULT_BASE",
    "DEFAULT_CAP",
    "DEFAULT_TIMEOUT",
    "MAX_DELAY",
    "RetryBudget",
    "RetryDetails",
    "RetryPolicy",
    "RetryRun",
    "is_testing",
    "make_stamina_hook",
    "retrying",
    "set_testing",
    "stamina_hook",
]

P = ParamSpec("P")
T = TypeVar("T")

logger: Final = logging.getLogger("kuzzle_errors.retry")

#: Attempts per call, the first one included (so 4 retries at most).
DEFAULT_ATTEMPTS: Final = 5
#: Overall deadline of a call, in seconds: no retry starts at or after it.
DEFAULT_TIMEOUT: Final = 30.0
#: First backoff window, in seconds: the first retry waits ``uniform(0, 1)`` s. Kuzzle refuses
#: a request only once its buffer is full, so a refusal means a long queue that takes a while to
#: drain: retrying within milliseconds (botocore's 50 ms) would only be refused again. In the
#: overload benchmark, 0.5 s still sent retries into the queue draining after a 1 s blip
#: (refusals for 0.4 s after it, against 0.1 s with 1 s).
DEFAULT_BASE: Final = 1.0
#: Largest backoff window, in seconds.
DEFAULT_CAP: Final = 10.0
#: Longest server-requested wait honoured for one retry, in seconds. A wait beyond it (a proxy
#: answering ``Retry-After: 300``) means an outage rather than congestion: the call gives up at
#: once with the original error instead of sleeping, and never retries sooner than asked.
MAX_DELAY: Final = 60.0

# Shortest wait between two polls of a call waiting for the retry budget, in seconds.
_MIN_POLL: Final = 0.05
# Float slack for token sums.
_EPSILON: Final = 1e-9
# Bounds the exponent so base * 2**n never overflows a float, whatever ``attempts`` is.
_MAX_EXPONENT: Final = 60


# -- validation ----------------------------------------------------------------------------


def _check_attempts(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"attempts must be an int >= 1, not {value!r}")


def _check_finite(name: str, value: object, *, minimum: float, strict: bool = False) -> None:
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > minimum if strict else value >= minimum)
    )
    if not ok:
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ValueError(f"{name} must be a finite number {bound}, not {value!r}")


# -- testing switch ------------------------------------------------------------------------


# The attempts cap of test mode, None outside it.
_testing: int | None = None


class _RestoreTesting:
    """Returned by :func:`set_testing`; as a context manager, restores the previous mode."""

    def __init__(self, previous: int | None) -> None:
        self._previous = previous

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _testing
        _testing = self._previous


def set_testing(testing: bool, *, attempts: int = 1) -> _RestoreTesting:
    """Turn test mode on or off, process-wide, for every policy.

    In test mode no retry sleeps, attempts are capped at ``attempts`` (1: no retry at all) and
    budgets are neither charged nor consulted, so a suite that meets errors stays fast and
    tests do not influence each other. Usable as a context manager that restores the previous
    mode on exit::

        with kuzzle_errors.retry.set_testing(True, attempts=3):
            ...
    """
    global _testing
    if testing:
        _check_attempts(attempts)
    previous = _testing
    _testing = attempts if testing else None
    return _RestoreTesting(previous)


def is_testing() -> bool:
    """True while test mode (:func:`set_testing`) is on."""
    return _testing is not None


# -- budget --------------------------------------------------------------------------------


class RetryBudget:
    """The retries a whole client may make to one server: a thread-safe token bucket.

    * the bucket starts full, at ``capacity`` tokens (100), and never holds more;
    * every successful call adds ``ratio`` tokens (0.3), every attempt that failed with a
      retryable error (a 503, a 429, a lost connection) takes one away, down to
      ``-overdraft`` (-1), and the bucket also refills by ``min_per_second`` tokens a second (1);
    * a retry costs ``retry_cost`` tokens (1) and is allowed while the bucket holds that much;
    * when the bucket refuses a retry, the call waits for it (polling every 50 to 150 ms,
      within its deadline and at most ``max_wait`` seconds, 5); ``max_wait=0`` fails at once.

    A burst retries freely; a sustained overload (more than about a quarter of the attempts
    failing) gets almost no retries; ``docs/guides/retrying.md`` says why these figures, with
    the benchmark behind them. A bare :class:`RetryPolicy` owns a budget,
    :meth:`RetryBudget.for_host` gives the process-wide budget of a host, and
    ``policy.for_host(host)`` puts it in place of a policy's default one: the clients do that
    with the ``host:port`` of their URL, so all the clients of one server share one budget (a
    budget passed explicitly, or ``budget=None``, is kept as is).
    """

    _registry: Final[dict[str, RetryBudget]] = {}
    _registry_lock: Final = threading.Lock()

    def __init__(
        self,
        *,
        capacity: float = 100.0,
        ratio: float = 0.3,
        retry_cost: float = 1.0,
        overdraft: float = 1.0,
        min_per_second: float = 1.0,
        max_wait: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_finite("capacity", capacity, minimum=0.0)
        _check_finite("ratio", ratio, minimum=0.0)
        _check_finite("retry_cost", retry_cost, minimum=0.0)
        _check_finite("overdraft", overdraft, minimum=0.0)
        _check_finite("min_per_second", min_per_second, minimum=0.0)
        _check_finite("max_wait", max_wait, minimum=0.0)
        self.capacity: float = float(capacity)
        self.ratio: float = float(ratio)
        self.retry_cost: float = float(retry_cost)
        self.overdraft: float = float(overdraft)
        self.min_per_second: float = float(min_per_second)
        self.max_wait: float = float(max_wait)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._updated = clock()
        #: Calls seen, retries granted and retries refused (a waiting call counts once).
        self.calls: int = 0
        self.retries: int = 0
        self.denied: int = 0
        # True for the budget a policy creates itself: RetryPolicy.for_host may swap it.
        self._auto = False

    @classmethod
    def for_host(cls, host: str) -> RetryBudget:
        """The budget shared by every client of ``host`` in this process (created on first use)."""
        key = host.strip().lower()
        with cls._registry_lock:
            budget = cls._registry.get(key)
            if budget is None:
                budget = cls._registry[key] = cls()
            return budget

    def _add(self, amount: float) -> None:
        # Caller holds the lock. Time refill first, then the change, clamped to [0, capacity].
        now = self._clock()
        elapsed = now - self._updated
        self._updated = now
        if elapsed > 0:
            amount += elapsed * self.min_per_second
        self._tokens = min(self.capacity, max(-self.overdraft, self._tokens + amount))

    def deposit(self) -> None:
        """Record one call starting (counted, earns nothing: only successes do)."""
        with self._lock:
            self.calls += 1

    def succeeded(self) -> None:
        """Record a call that succeeded: one token back."""
        with self._lock:
            self._add(self.ratio)

    def failed(self) -> None:
        """Record an attempt that failed with a retryable error: one token less."""
        with self._lock:
            self._add(-1.0)

    def withdraw(self, *, count: bool = True) -> bool:
        """Take the tokens a retry costs; False (nothing taken) while the server is struggling.

        ``count=False`` leaves ``denied`` alone (a call polling again for the same retry).
        """
        with self._lock:
            self._add(0.0)
            if self._tokens >= self.retry_cost - _EPSILON:
                self._tokens -= self.retry_cost
                self.retries += 1
                return True
            if count:
                self.denied += 1
            return False

    @property
    def tokens(self) -> float:
        """Tokens available now (refill included)."""
        with self._lock:
            self._add(0.0)
            return self._tokens

    def __repr__(self) -> str:
        return (
            f"RetryBudget(tokens={self.tokens:.2f}, capacity={self.capacity}, "
            f"ratio={self.ratio}, retry_cost={self.retry_cost}, overdraft={self.overdraft}, "
            f"min_per_second={self.min_per_second}, max_wait={self.max_wait})"
        )


def _auto_budget() -> RetryBudget:
    budget = RetryBudget()
    budget._auto = True
    return budget


# -- policy --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryDetails:
    """What the ``on_retry`` hook receives, once per retry, before sleeping.

    ``delay`` is the wait before the next attempt, or before the first look at the retry
    budget when it had no token: such a call polls the budget and may give up when its wait
    ends, the error then noting "the retry budget stayed empty".

    Attributes:
        attempt: the number of the attempt that just failed (1 for the first).
        error: the error it failed with.
        delay: seconds the policy will wait before the next attempt.
        elapsed: seconds since the call started.
    """

    attempt: int
    error: KuzzleError
    delay: float
    elapsed: float


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How to retry a Kuzzle call: immutable, cheap, shareable between threads and tasks.

    Args:
        attempts: attempts per call, the first one included (>= 1).
        timeout: overall deadline of a call in seconds. No retry starts at or after it: when
            the wait before the next attempt (server floor plus jitter) would reach the
            deadline, the call gives up at once with the original error (the wait is never
            clipped to end at the deadline, which would start an attempt there).
        base: first backoff window in seconds (full jitter: the wait before retry ``n`` is
            ``uniform(0, min(cap, base * 2**(n-1)))``).
        cap: largest backoff window in seconds.
        max_delay: longest server-requested wait (the error's ``retry_hint.delay``) honoured;
            beyond it the call gives up at once, as it does when that wait would pass the
            deadline. The policy never retries sooner than the server asked.
        budget: the :class:`RetryBudget` charged for retries; by default one owned by this
            policy (so by the client holding it); None disables budgeting.
        on_retry: called with a :class:`RetryDetails` before each retry's sleep (a call then
            waiting for the retry budget may still give up when the wait ends).
        random: a ``random.Random`` or a function returning floats in [0, 1); for tests.
        clock: monotonic clock in seconds; for tests.
        sleep: blocking sleep used by :meth:`call`; for tests.
        async_sleep: awaitable sleep used by :meth:`acall` (``asyncio.sleep`` when None).

    Only :class:`~kuzzle_errors.KuzzleError` whose ``retry_hint`` is ``retryable`` are retried,
    and of those only ``replay_safe`` ones (the server refused the request before running it)
    unless the call is declared ``idempotent=True``. Other exceptions propagate untouched.
    """

    attempts: int = DEFAULT_ATTEMPTS
    timeout: float = DEFAULT_TIMEOUT
    base: float = DEFAULT_BASE
    cap: float = DEFAULT_CAP
    max_delay: float = MAX_DELAY
    budget: RetryBudget | None = field(default_factory=_auto_budget, compare=False)
    on_retry: Callable[[RetryDetails], None] | None = field(default=None, compare=False, repr=False)
    random: Callable[[], float] | _random.Random | None = field(
        default=None, compare=False, repr=False
    )
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    async_sleep: Callable[[float], Awaitable[None]] | None = field(
        default=None, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        _check_attempts(self.attempts)
        _check_finite("timeout", self.timeout, minimum=0.0, strict=True)
        _check_finite("base", self.base, minimum=0.0, strict=True)
        _check_finite("cap", self.cap, minimum=0.0, strict=True)
        _check_finite("max_delay", self.max_delay, minimum=0.0)
        if self.budget is not None and not isinstance(self.budget, RetryBudget):
            raise TypeError(f"budget must be a RetryBudget or None, not {self.budget!r}")

    def replace(self, **changes: Any) -> RetryPolicy:
        """A copy with some fields changed (validated again). The budget stays shared."""
        return dataclasses.replace(self, **changes)

    def for_host(self, host: str) -> RetryPolicy:
        """This policy with the process-wide budget of ``host`` instead of its own default one.

        A budget set explicitly (or None) is kept: the caller chose it.
        """
        if self.budget is not None and self.budget._auto:
            return self.replace(budget=RetryBudget.for_host(host))
        return self

    def start(self, *, idempotent: bool = False) -> RetryRun:
        """Begin one call: the sans-IO state machine that :meth:`call` and :meth:`acall` drive."""
        return RetryRun(self, idempotent=idempotent)

    def backoff(self, retry: int) -> float:
        """The jittered part of the wait before retry number ``retry`` (1 for the first)."""
        window = min(self.cap, self.base * 2.0 ** min(max(retry - 1, 0), _MAX_EXPONENT))
        source = self.random
        if source is None:
            fraction = _random.random()
        elif isinstance(source, _random.Random):
            fraction = source.random()
        else:
            fraction = source()
        return fraction * window

    def call(
        self,
        fn: Callable[..., T],
        /,
        *args: Any,
        idempotent: bool = False,
        **kwargs: Any,
    ) -> T:
        """Call ``fn(*args, **kwargs)``, retrying it as this policy allows.

        ``idempotent=True`` declares that running the call twice is harmless, which also allows
        replaying errors after which the request may have run (a 504, a storage failure). It is
        consumed here, never passed to ``fn``.
        """
        if inspect.iscoroutinefunction(fn):  # would "succeed" with an unawaited coroutine
            raise TypeError(f"{fn!r} is a coroutine function: use `await policy.acall(...)`")
        run = RetryRun(self, idempotent=idempotent)
        while True:
            try:
                result = fn(*args, **kwargs)
            except KuzzleError as error:
                delay = run.next_delay(error)
                while delay:  # None: give up; 0.0: go
                    self.sleep(delay)
                    delay = run.admit()
                if delay is None:
                    raise
                continue
            run.succeeded()
            return result

    async def acall(
        self,
        fn: Callable[..., Awaitable[T]],
        /,
        *args: Any,
        idempotent: bool = False,
        **kwargs: Any,
    ) -> T:
        """The asyncio twin of :meth:`call`: ``await policy.acall(coro_fn, *args, ...)``."""
        sleep = self.async_sleep
        if sleep is None:
            import asyncio  # only for async users: keeps `import kuzzle_errors.retry` light

            sleep = asyncio.sleep
        run = RetryRun(self, idempotent=idempotent)
        while True:
            try:
                result = await fn(*args, **kwargs)
            except KuzzleError as error:
                delay = run.next_delay(error)
                while delay:  # None: give up; 0.0: go
                    await sleep(delay)
                    delay = run.admit()
                if delay is None:
                    raise
                continue
            run.succeeded()
            return result


class RetryRun:
    """One call under a :class:`RetryPolicy`, as a state machine with no I/O.

    Create it when the call starts (``policy.start(idempotent=...)``), then:

    * after a failed attempt, ask :meth:`next_delay`: seconds to wait, or None to give up and
      re-raise the error (which then carries ``attempts`` and a note);
    * after waiting, ask :meth:`admit` before the next attempt: 0.0 to send it now, more
      seconds to wait (the call is waiting for the retry budget), or None to give up (re-raise
      the last error, now noted);
    * when an attempt succeeds, tell :meth:`succeeded` (it refills the budget).

    :meth:`RetryPolicy.call` (read it for the loop: a dozen lines), :meth:`RetryPolicy.acall`
    and the overload benchmark all drive it this way.
    """

    __slots__ = (
        "_budget",
        "_error",
        "_max_attempts",
        "_polls",
        "_testing",
        "_waiting_since",
        "attempts",
        "idempotent",
        "policy",
        "started",
    )

    def __init__(self, policy: RetryPolicy, *, idempotent: bool = False) -> None:
        self.policy: RetryPolicy = policy
        self.idempotent: bool = idempotent
        #: Attempts made (and failed) so far.
        self.attempts: int = 0
        self.started: float = policy.clock()
        testing = _testing  # read once: a call keeps the mode it started in
        self._testing = testing is not None
        self._max_attempts = policy.attempts if testing is None else min(policy.attempts, testing)
        self._budget = None if testing is not None else policy.budget
        self._error: KuzzleError | None = None
        # Set while the next retry waits for the budget: when the wait began (elapsed s).
        self._waiting_since: float | None = None
        self._polls = 0
        if self._budget is not None:
            self._budget.deposit()

    @property
    def elapsed(self) -> float:
        """Seconds since the call started, by the policy's clock."""
        return self.policy.clock() - self.started

    def succeeded(self) -> None:
        """Record that the last attempt succeeded (a token back in the budget)."""
        if self._budget is not None:
            self._budget.succeeded()

    def next_delay(self, error: BaseException) -> float | None:
        """Record a failed attempt; seconds to wait before the next one, or None to give up.

        Anything but a :class:`~kuzzle_errors.KuzzleError` gives None and is left untouched.
        After the wait, call :meth:`admit` before sending the next attempt.
        """
        if not isinstance(error, KuzzleError):
            return None
        self.attempts += 1
        self._error = error
        self._waiting_since = None
        policy = self.policy
        hint = error.retry_hint
        if not hint.retryable:
            return self._give_up(error, f"not retryable ({hint.reason})")
        if self._budget is not None:
            self._budget.failed()
        if not hint.replay_safe and not self.idempotent:
            return self._give_up(
                error,
                f"the request may have run ({hint.reason}); pass idempotent=True to replay it",
            )
        if self.attempts >= self._max_attempts:
            return self._give_up(error, None)
        elapsed = self.elapsed
        if self._testing:
            delay = 0.0
        else:
            floor = max(hint.delay, 0.0)
            remaining = policy.timeout - elapsed
            if remaining <= 0:
                return self._give_up(error, f"the {policy.timeout:g} s deadline has passed")
            if floor > policy.max_delay:
                return self._give_up(
                    error,
                    f"the server asked to wait {floor:g} s, over max_delay={policy.max_delay:g} s",
                )
            if floor >= remaining:
                return self._give_up(
                    error,
                    f"the server asked to wait {floor:g} s, past the {policy.timeout:g} s deadline",
                )
            # The hint is a floor, the jitter spreads clients that got the same hint. A wait
            # reaching the deadline is never clipped to it: the next attempt would start at
            # the deadline and end past it, so the call gives up now.
            delay = floor + policy.backoff(self.attempts)
            if delay >= remaining:
                return self._give_up(
                    error,
                    f"the next attempt would start {delay:.3g} s from now, at or past the "
                    f"{policy.timeout:g} s deadline ({remaining:.3g} s left)",
                )
        budget = self._budget
        if budget is not None and not budget.withdraw():
            if budget.max_wait <= 0:
                return self._give_up(error, "the retry budget is empty (too many recent failures)")
            # Wait for the budget instead: the call polls in admit(), within its deadline.
            self._waiting_since = elapsed
            self._polls = 0
            delay = max(delay, self._poll())
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "retrying after attempt %d in %.3f s%s: %s",
                self.attempts,
                delay,
                " (waiting for the retry budget)" if self._waiting_since is not None else "",
                error,
                extra=self._extra(error, delay),
            )
        if policy.on_retry is not None:
            policy.on_retry(RetryDetails(self.attempts, error, delay, elapsed))
        return delay

    def admit(self) -> float | None:
        """May the next attempt go now? 0.0: yes; seconds: wait that long and ask again; None:
        give up (re-raise the last error, now noted)."""
        since = self._waiting_since
        budget = self._budget
        if since is None or budget is None:
            return 0.0
        if budget.withdraw(count=False):
            self._waiting_since = None
            return 0.0
        elapsed = self.elapsed
        poll = self._poll()
        limit = min(self.policy.timeout, since + budget.max_wait)
        self._polls += 1
        # The poll count bounds the wait too, should the clock not move (an injected sleep).
        if elapsed + poll >= limit or self._polls > budget.max_wait / _MIN_POLL:
            assert self._error is not None
            self._waiting_since = None
            waited = elapsed - since
            return self._give_up(
                self._error,
                f"the retry budget stayed empty for {waited:.3g} s (the server is refusing "
                "more requests than it serves)",
            )
        return poll

    def _poll(self) -> float:
        # Jittered, so that waiting calls do not all ask at the same instant.
        return _MIN_POLL + self.policy.backoff(1) / 10

    def _give_up(self, error: KuzzleError, why: str | None) -> float | None:
        # Typed like next_delay so that `return self._give_up(...)` reads as the decision.
        error.attempts = self.attempts
        plural = "s" if self.attempts != 1 else ""
        # why=None: the attempt limit itself, which the count already says.
        reason = f": {why}" if why else " (the policy's limit)"
        note = f"kuzzle_errors.retry: stopped after {self.attempts} attempt{plural}{reason}"
        _add_note(error, note)
        # Giving up on a transient error is news (a request that may have run, not replayed,
        # included); not retrying a 404 is routine, whatever came before it.
        level = logging.INFO if error.retry_hint.retryable else logging.DEBUG
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "stopped after %d attempt%s in %.3f s%s: %s",
                self.attempts,
                plural,
                self.elapsed,
                reason,
                error,
                extra=self._extra(error, None),
            )
        return None

    def _extra(self, error: KuzzleError, delay: float | None) -> dict[str, Any]:
        """The ``extra`` fields of this run's log records (docs/guides/logging.md)."""
        return {
            "kuzzle_error": error,
            "kuzzle_error_id": error.id if isinstance(error.id, str) else None,
            "kuzzle_attempt": self.attempts,
            "kuzzle_delay": delay,
            "kuzzle_elapsed": self.elapsed,
        }


# Exceptions have add_note() (and show __notes__) from Python 3.11; a flag for the tests.
_NATIVE_NOTES: Final = sys.version_info >= (3, 11)


def _add_note(error: BaseException, note: str) -> None:
    """``error.add_note(note)``; on 3.10, the same list in ``error.__notes__`` by hand.

    Python 3.10 does not display ``__notes__``, but the attribute is there for callers,
    loggers and pickles, exactly as 3.11 stores it.
    """
    if _NATIVE_NOTES:
        getattr(error, "add_note")(note)  # noqa: B009 - absent from 3.10's stubs
        return
    notes = error.__dict__.get("__notes__")
    if not isinstance(notes, list):
        notes = error.__dict__["__notes__"] = []
    notes.append(note)


# -- decorator -----------------------------------------------------------------------------


class _Retrying:
    """What :func:`retrying` returns: a decorator for plain and ``async`` functions."""

    __slots__ = ("idempotent", "policy")

    def __init__(self, policy: RetryPolicy, idempotent: bool) -> None:
        self.policy: RetryPolicy = policy
        self.idempotent: bool = idempotent

    # One signature covers both kinds: wrapping ``async def f() -> T`` gives a function
    # returning a coroutine of T, which is what ``Callable[P, T]`` with T = Coroutine says.
    def __call__(self, fn: Callable[P, T]) -> Callable[P, T]:
        policy, idempotent = self.policy, self.idempotent
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                return await policy.acall(fn, *args, idempotent=idempotent, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return policy.call(fn, *args, idempotent=idempotent, **kwargs)

        return wrapper


def retrying(
    policy: RetryPolicy | None = None, *, idempotent: bool = False, **policy_kwargs: Any
) -> _Retrying:
    """Decorate a function (``def`` or ``async def``) so every call runs under a policy.

    ``@retrying()`` uses the defaults, ``@retrying(attempts=3, timeout=10)`` builds a policy,
    ``@retrying(policy, idempotent=True)`` reuses one (``policy_kwargs`` then override its
    fields). The policy, hence its budget, is shared by all calls of the decorated function.
    """
    if policy is not None and not isinstance(policy, RetryPolicy):
        raise TypeError("retrying() takes a RetryPolicy: use parentheses, @retrying()")
    if policy is None:
        policy = RetryPolicy(**policy_kwargs)
    elif policy_kwargs:
        policy = policy.replace(**policy_kwargs)
    return _Retrying(policy, idempotent)


# -- stamina -------------------------------------------------------------------------------


def make_stamina_hook(
    *, idempotent: bool = False, max_delay: float = MAX_DELAY
) -> Callable[[Exception], bool | float]:
    """A backoff hook for ``stamina.retry(on=...)`` following Kuzzle's retry hints.

    The hook returns False for what must not be retried (not a Kuzzle error, not retryable,
    not replay-safe unless ``idempotent``, or a server wait over ``max_delay``), the server's
    wait in seconds when the hint has one (stamina then waits exactly that), and True
    otherwise (stamina's own jittered backoff).
    """
    _check_finite("max_delay", max_delay, minimum=0.0)

    def hook(error: Exception) -> bool | float:
        if not isinstance(error, KuzzleError):
            return False
        hint = error.retry_hint
        if not hint.retryable or not (hint.replay_safe or idempotent):
            return False
        if hint.delay > max_delay:
            return False
        return float(hint.delay) if hint.delay > 0 else True

    return hook


#: ``@stamina.retry(on=kuzzle_errors.retry.stamina_hook, attempts=5, timeout=30)`` retries
#: what Kuzzle refused before running it, waiting at least what the server asked.
stamina_hook: Final = make_stamina_hook()


#: How the WebSocket clients reconnect after a drop to restore their subscriptions, by default
#: (their ``reconnect``): full jitter from 0.25 s doubling up to 5 s, 8 attempts within 60 s,
#: then every subscription is told the last error (no Kuzzle SDK bounds this: the JS SDK
#: retries every 1 s forever). No budget: reconnecting does not spend the queries' budget.
RECONNECT: Final = RetryPolicy(attempts=8, timeout=60.0, base=0.25, cap=5.0, budget=None)
#: Restoring without a reconnect policy (``reconnect=None``): one attempt, once a query has
#: opened a connection again.
RECONNECT_ONCE: Final = RetryPolicy(attempts=1, budget=None)
