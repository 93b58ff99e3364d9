"""Retrying Kuzzle calls without making an overload worse.

Retries are the usual way to ride out a busy Kuzzle node (503 ``api.process.overloaded``) or a
rate limit (429 ``api.process.too_many_requests``). Naive retries turn a short overload into a
long one, so this module is careful in four ways:

* **Full jitter.** The wait before retry *n* is ``uniform(0, min(cap, base * 2**(n-1)))``. In
  AWS's backoff simulation (100 contending clients), exponential backoff *without* jitter took
  1,860 calls and 63.6 s to finish; full jitter took 797 calls and 4.9 s. Clients that back off
  in lockstep come back in lockstep.
* **Server hints first.** Kuzzle sends no ``Retry-After``, but the error id says what happened
  (see :mod:`kuzzle_errors.hints`): a refused request (overload, rate limit) is safe to replay,
  a 504 may have run and is replayed only for calls declared ``idempotent=True``, a 404 is never
  retried. A wait the server asks for (a proxy's ``Retry-After``, Kuzzle's 1-second rate-limit
  window) is a floor: the jittered backoff is added on top of it, never instead of it.
* **Bounded.** Every policy stops after ``attempts`` (5) *and* ``timeout`` (30 s), whichever
  comes first; a server wait longer than ``max_delay`` (60 s) ends the call at once instead of
  parking it. No attempt starts at or after the deadline: when the wait before the next one
  (the server's floor plus the jitter) would reach it, the call gives up at once with the
  original error, rather than sleeping up to the deadline and starting an attempt there that
  would end past it. (An attempt already running is not interrupted: a call may end past its
  deadline by at most the duration of its last attempt, which started before it.)
* **A retry budget.** One layer of 5 attempts multiplies load by up to 5 while the server is
  already drowning (and three stacked layers of 4 attempts reach it 64 times, per Google's SRE
  book). :class:`RetryBudget` lets a client retry at most about 10 % of its calls (plus a small
  floor), as the SRE book's per-client budget and botocore's retry quota do: under a sustained
  overload, retries dry up and errors surface at once.

On giving up, the *original* exception propagates (``except ServiceUnavailableError`` keeps
working), with ``attempts`` set on it and a note saying why retrying stopped.

The retry loop is sans-IO: :class:`RetryRun` decides, :meth:`RetryPolicy.call` and
:meth:`RetryPolicy.acall` only sleep and call. Simulations (``benchmarks/overload.py``) and
other event loops drive :class:`RetryRun` directly, so they exercise the same decisions.
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
#: First backoff window, in seconds: the first retry waits ``uniform(0, 0.5)`` s. Kuzzle queues
#: up to 50,000 requests before refusing any, so a refusal means a long queue: retrying within
#: milliseconds (botocore's 50 ms) would only be refused again.
DEFAULT_BASE: Final = 0.5
#: Largest backoff window, in seconds.
DEFAULT_CAP: Final = 10.0
#: Longest server-requested wait honoured for one retry, in seconds. A wait beyond it (a proxy
#: answering ``Retry-After: 300``) means an outage rather than congestion: the call gives up at
#: once with the original error instead of sleeping, and never retries sooner than asked.
MAX_DELAY: Final = 60.0

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


@dataclass(frozen=True, slots=True)
class _Testing:
    attempts: int


_testing: _Testing | None = None


class _RestoreTesting:
    """Returned by :func:`set_testing`; as a context manager, restores the previous mode."""

    def __init__(self, previous: _Testing | None) -> None:
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
    _testing = _Testing(attempts) if testing else None
    return _RestoreTesting(previous)


def is_testing() -> bool:
    """True while test mode (:func:`set_testing`) is on."""
    return _testing is not None


# -- budget --------------------------------------------------------------------------------


class RetryBudget:
    """A thread-safe token bucket limiting the retries of a whole client, not of one call.

    Every call deposits ``ratio`` tokens (0.1), every retry withdraws one, and the bucket also
    refills by ``min_per_second`` tokens a second (0.1), up to ``capacity`` tokens (10, which is
    also the initial content). When the bucket holds less than one token, the policy raises the
    error at once instead of retrying.

    Why these defaults:

    * ``ratio=0.1``: Google's SRE book lets a client retry only while retries stay under 10 %
      of its requests, which bounds the extra load a client adds to an overloaded server to
      about 1.1x, against up to 5x for five attempts per call without a budget.
    * ``capacity=10``: a burst allowance, so a quiet client can still retry a short blip (a
      node restarting, one rate-limit window) at full strength. botocore's retry quota plays
      the same role with 500 tokens at 5 to 14 per retry, i.e. 35 to 100 retries.
    * ``min_per_second=0.1``: the small floor, one retry every 10 s, so a client with too little
      traffic to earn tokens is never locked out of retrying for good.

    Share one budget between everything that talks to the same server: a bare
    :class:`RetryPolicy` owns one, :meth:`RetryBudget.for_host` gives the process-wide budget
    of a host, and ``policy.for_host(host)`` puts it in place of a policy's default one. The
    transports (``KuzzleHTTP``, ``KuzzleWebSocket``) do that with the ``host:port`` of their
    URL, so all the clients of one server share one budget by default; a budget passed
    explicitly (or ``budget=None``) is kept as is.
    """

    _registry: Final[dict[str, RetryBudget]] = {}
    _registry_lock: Final = threading.Lock()

    def __init__(
        self,
        *,
        ratio: float = 0.1,
        capacity: float = 10.0,
        min_per_second: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_finite("ratio", ratio, minimum=0.0)
        _check_finite("capacity", capacity, minimum=1.0)
        _check_finite("min_per_second", min_per_second, minimum=0.0)
        self.ratio: float = float(ratio)
        self.capacity: float = float(capacity)
        self.min_per_second: float = float(min_per_second)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._updated = clock()
        #: Calls seen, retries granted and retries denied since creation.
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

    def _refill(self) -> None:
        now = self._clock()
        elapsed = now - self._updated
        self._updated = now
        if elapsed > 0 and self.min_per_second:
            self._tokens = min(self.capacity, self._tokens + elapsed * self.min_per_second)

    def deposit(self) -> None:
        """Record one call (its first attempt): earns ``ratio`` tokens."""
        with self._lock:
            self.calls += 1
            self._refill()
            self._tokens = min(self.capacity, self._tokens + self.ratio)

    def withdraw(self) -> bool:
        """Take the token a retry costs; False (and nothing taken) when the budget is empty."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0 - _EPSILON:  # ten deposits of 0.1 sum to 0.999...
                self._tokens = max(0.0, self._tokens - 1.0)
                self.retries += 1
                return True
            self.denied += 1
            return False

    @property
    def tokens(self) -> float:
        """Tokens available now (refill included)."""
        with self._lock:
            self._refill()
            return self._tokens

    def __repr__(self) -> str:
        return (
            f"RetryBudget(tokens={self.tokens:.2f}, ratio={self.ratio}, "
            f"capacity={self.capacity}, min_per_second={self.min_per_second})"
        )


def _auto_budget() -> RetryBudget:
    budget = RetryBudget()
    budget._auto = True
    return budget


# -- policy --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryDetails:
    """What the ``on_retry`` hook receives, once per retry, before sleeping.

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
        on_retry: called with a :class:`RetryDetails` before each retry's sleep.
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
                return fn(*args, **kwargs)
            except KuzzleError as error:
                delay = run.next_delay(error)
                if delay is None:
                    raise
                if delay > 0:
                    self.sleep(delay)

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
                return await fn(*args, **kwargs)
            except KuzzleError as error:
                delay = run.next_delay(error)
                if delay is None:
                    raise
                if delay > 0:
                    await sleep(delay)


class RetryRun:
    """One call under a :class:`RetryPolicy`, as a state machine with no I/O.

    Create it when the call starts (``policy.start(idempotent=...)``; this charges the call to
    the budget), then after each failed attempt ask :meth:`next_delay`: a number of seconds to
    wait before the next attempt, or None to give up and re-raise the error (which then carries
    ``attempts`` and a note). :meth:`RetryPolicy.call`, :meth:`RetryPolicy.acall` and the
    overload benchmark all drive it this way.
    """

    __slots__ = (
        "_budget",
        "_max_attempts",
        "_testing",
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
        self._max_attempts = (
            policy.attempts if testing is None else min(policy.attempts, testing.attempts)
        )
        self._budget = None if testing is not None else policy.budget
        if self._budget is not None:
            self._budget.deposit()

    @property
    def elapsed(self) -> float:
        """Seconds since the call started, by the policy's clock."""
        return self.policy.clock() - self.started

    def next_delay(self, error: BaseException) -> float | None:
        """Record a failed attempt; seconds to wait before the next one, or None to give up.

        Anything but a :class:`~kuzzle_errors.KuzzleError` gives None and is left untouched.
        """
        if not isinstance(error, KuzzleError):
            return None
        self.attempts += 1
        policy = self.policy
        hint = error.retry_hint
        if not hint.retryable:
            return self._give_up(error, f"not retryable ({hint.reason})", retryable=False)
        if not hint.replay_safe and not self.idempotent:
            return self._give_up(
                error,
                f"the request may have run ({hint.reason}); pass idempotent=True to replay it",
                retryable=False,
            )
        if self.attempts >= self._max_attempts:
            return self._give_up(error, f"{self._max_attempts} attempts made")
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
        if self._budget is not None and not self._budget.withdraw():
            return self._give_up(error, "the retry budget is empty (too many recent retries)")
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "retrying after attempt %d in %.3f s: %s",
                self.attempts,
                delay,
                error,
                extra={"kuzzle_error": error},
            )
        if policy.on_retry is not None:
            policy.on_retry(RetryDetails(self.attempts, error, delay, elapsed))
        return delay

    def _give_up(self, error: KuzzleError, why: str, *, retryable: bool = True) -> float | None:
        # Typed like next_delay so that `return self._give_up(...)` reads as the decision.
        error.attempts = self.attempts
        plural = "s" if self.attempts != 1 else ""
        note = f"kuzzle_errors.retry: stopped after {self.attempts} attempt{plural}: {why}"
        _add_note(error, note)
        # Giving up on a transient error is news; not retrying a 404 is routine.
        level = logging.INFO if retryable or self.attempts > 1 else logging.DEBUG
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "stopped after %d attempt(s) in %.3f s: %s: %s",
                self.attempts,
                self.elapsed,
                why,
                error,
                extra={"kuzzle_error": error},
            )
        return None


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
        self.policy = policy
        self.idempotent = idempotent

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
