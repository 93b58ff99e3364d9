"""RetryPolicy: which errors are retried, how long it waits, and what it raises in the end.

Every test injects the clock, the sleep and the randomness: nothing sleeps for real.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import json
import logging
import math
import pickle
import random
import sys
import time
from typing import Any

import pytest
from retry_helpers import Flaky, overloaded, rate_limited

import kuzzle_errors
import kuzzle_errors.retry as retry_module
from kuzzle_errors import (
    GatewayTimeoutError,
    KuzzleError,
    NotFoundError,
    ServiceUnavailableError,
    TooManyRequestsError,
    error_class,
    parse_response,
)
from kuzzle_errors.retry import (
    MAX_DELAY,
    RetryBudget,
    RetryDetails,
    RetryPolicy,
    is_testing,
    make_stamina_hook,
    retrying,
    set_testing,
    stamina_hook,
)

# -- helpers -------------------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def with_retry_after(value: str, *, status: int = 503) -> KuzzleError:
    error_id = "api.process.overloaded" if status == 503 else "api.process.too_many_requests"
    body = json.dumps({"status": status, "error": {"id": error_id, "status": status}})
    error = parse_response(body, http_status=status, headers={"Retry-After": value})
    assert error is not None
    return error


def make_policy(fake: FakeTime, **kwargs: Any) -> RetryPolicy:
    kwargs.setdefault("random", lambda: 1.0)  # the top of each window: predictable waits
    kwargs.setdefault("budget", None)
    return RetryPolicy(clock=fake.clock, sleep=fake.sleep, async_sleep=fake.async_sleep, **kwargs)


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


# -- configuration -------------------------------------------------------------------------


def test_defaults_are_bounded() -> None:
    """Attempts and time are both bounded by default, with a budget."""
    policy = RetryPolicy()
    assert policy.attempts == 5
    assert policy.timeout == 30.0
    assert policy.max_delay == MAX_DELAY
    assert isinstance(policy.budget, RetryBudget)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("attempts", 0),
        ("attempts", -1),
        ("attempts", None),
        ("attempts", 2.5),
        ("attempts", True),
        ("timeout", None),
        ("timeout", math.inf),
        ("timeout", math.nan),
        ("timeout", 0),
        ("timeout", -1.0),
        ("base", 0),
        ("cap", math.inf),
        ("max_delay", -1),
        ("max_delay", None),
    ],
)
def test_unbounded_or_invalid_settings_are_rejected(name: str, value: object) -> None:
    settings: dict[str, Any] = {name: value}
    with pytest.raises(ValueError, match=name):
        RetryPolicy(**settings)


def test_policy_is_immutable_and_replace_validates() -> None:
    policy = RetryPolicy(attempts=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.attempts = 4  # type: ignore[misc]
    copy = policy.replace(timeout=5.0)
    assert (copy.attempts, copy.timeout) == (3, 5.0)
    assert copy.budget is policy.budget  # the same client: the same budget
    with pytest.raises(ValueError, match="timeout"):
        policy.replace(timeout=math.inf)


def test_for_host_swaps_only_the_default_budget() -> None:
    policy = RetryPolicy()
    shared = policy.for_host("kuzzle.example.com")
    assert shared.budget is RetryBudget.for_host("KUZZLE.example.com")
    assert shared.for_host("other") is shared  # a shared budget is an explicit one
    mine = RetryBudget()
    assert RetryPolicy(budget=mine).for_host("x").budget is mine
    assert RetryPolicy(budget=None).for_host("x").budget is None


# -- what is retried -----------------------------------------------------------------------


def test_success_needs_no_retry(fake: FakeTime) -> None:
    """No error, no problem: arguments pass through, ``idempotent`` is not forwarded."""
    fn = Flaky(result=42)
    assert make_policy(fake).call(fn, 1, 2, key="v", idempotent=True) == 42
    assert fn.received == [((1, 2), {"key": "v"})]
    assert fake.sleeps == []


def test_overloaded_twice_then_success_retries_exactly_twice(fake: FakeTime) -> None:
    fn = Flaky(overloaded, overloaded)
    assert make_policy(fake).call(fn) == "ok"
    assert fn.calls == 3
    assert len(fake.sleeps) == 2


def test_non_retryable_error_is_raised_at_once(fake: FakeTime) -> None:
    error = error_class("services.storage.not_found")("missing")
    fn = Flaky(error)
    with pytest.raises(NotFoundError) as caught:
        make_policy(fake).call(fn)
    assert caught.value is error
    assert error.attempts == 1
    assert fn.calls == 1
    assert fake.sleeps == []


def test_non_kuzzle_exceptions_propagate_untouched(fake: FakeTime) -> None:
    error = ValueError("bug")
    fn = Flaky(error)
    with pytest.raises(ValueError, match="bug") as caught:
        make_policy(fake).call(fn)
    assert caught.value is error
    assert not hasattr(error, "attempts")
    assert getattr(error, "__notes__", None) is None
    assert fn.calls == 1


def test_gateway_timeout_is_not_replayed_unless_idempotent(fake: FakeTime) -> None:
    """A 504 may have run: replaying a write could apply it twice."""
    fn = Flaky(lambda: GatewayTimeoutError("timed out"))
    with pytest.raises(GatewayTimeoutError) as caught:
        make_policy(fake).call(fn)
    assert fn.calls == 1
    assert caught.value.attempts == 1
    assert "idempotent=True" in caught.value.__notes__[-1]

    fn = Flaky(lambda: GatewayTimeoutError("timed out"))
    assert make_policy(fake).call(fn, idempotent=True) == "ok"
    assert fn.calls == 2


def test_parsed_504_is_not_replay_safe(fake: FakeTime) -> None:
    error = parse_response(b"<html>Gateway Timeout</html>", http_status=504)
    assert isinstance(error, GatewayTimeoutError)
    fn = Flaky(error)
    with pytest.raises(GatewayTimeoutError):
        make_policy(fake).call(fn)
    assert fn.calls == 1


# -- how long it waits ---------------------------------------------------------------------


def test_full_jitter_stays_in_its_window() -> None:
    policy = RetryPolicy(base=0.5, cap=10.0, random=random.Random(7), budget=None)
    for retry in range(1, 8):
        window = min(10.0, 0.5 * 2 ** (retry - 1))
        waits = [policy.backoff(retry) for _ in range(400)]
        assert all(0.0 <= wait <= window for wait in waits)
        # Full jitter spreads over the whole window, not only its top or bottom.
        assert min(waits) < 0.1 * window
        assert max(waits) > 0.9 * window


def test_randomness_can_be_a_function_or_a_generator() -> None:
    assert RetryPolicy(base=2.0, random=lambda: 0.25).backoff(1) == 0.5
    seeded = [RetryPolicy(random=random.Random(3)).backoff(3) for _ in range(2)]
    assert seeded[0] == seeded[1]


def test_backoff_doubles_up_to_the_cap(fake: FakeTime) -> None:
    fn = Flaky(*[overloaded] * 6)
    policy = make_policy(fake, attempts=7, base=0.5, cap=3.0, timeout=100.0)
    assert policy.call(fn) == "ok"
    assert fake.sleeps == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    assert policy.backoff(10_000) == 3.0  # no float overflow for absurd retry numbers


def test_attempts_are_exhausted_with_the_original_error(fake: FakeTime) -> None:
    fn = Flaky(*[overloaded] * 10)
    with pytest.raises(ServiceUnavailableError) as caught:
        make_policy(fake, attempts=4).call(fn)
    error = caught.value
    assert error is fn.raised[-1]  # the last original exception, not a wrapper
    assert type(error) is error_class("api.process.overloaded")
    assert error.attempts == 4
    assert fn.calls == 4
    assert len(fake.sleeps) == 3
    assert error.__notes__ == ["kuzzle_errors.retry: stopped after 4 attempts (the policy's limit)"]


def test_attempts_survive_pickling(fake: FakeTime) -> None:
    fn = Flaky(*[overloaded] * 3)
    with pytest.raises(KuzzleError) as caught:
        make_policy(fake, attempts=2).call(fn)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is type(caught.value)
    assert copy.attempts == 2
    assert copy.to_dict()["attempts"] == 2


def test_a_wait_reaching_the_deadline_gives_up_instead_of_being_clipped(fake: FakeTime) -> None:
    fn = Flaky(*[overloaded] * 10)
    with pytest.raises(ServiceUnavailableError) as caught:
        make_policy(fake, attempts=10, base=1.0, cap=100.0, timeout=2.5).call(fn)
    # 1 s fits; then 1 + 2 would pass the 2.5 s deadline: no sleep up to it, no attempt at it.
    assert fake.sleeps == [1.0]
    assert caught.value is fn.raised[-1]
    assert caught.value.attempts == 2
    assert "deadline" in caught.value.__notes__[-1]


class TimedAttempts:
    """Each attempt takes ``duration`` on the fake clock and fails overloaded; logs starts."""

    def __init__(self, fake: FakeTime, duration: float) -> None:
        self.fake = fake
        self.duration = duration
        self.starts: list[float] = []

    def __call__(self) -> None:
        self.starts.append(self.fake.now)
        self.fake.now += self.duration
        raise overloaded()


def test_no_attempt_starts_at_the_deadline(fake: FakeTime) -> None:
    """timeout=1, attempts of 0.4 s, jitter near 5 s: clipping the wait to the deadline
    would start a second attempt at t=1.0 and end the call at 1.4 s."""
    fn = TimedAttempts(fake, 0.4)
    policy = make_policy(fake, timeout=1.0, base=5.0, cap=10.0, random=lambda: 0.999)
    with pytest.raises(ServiceUnavailableError) as caught:
        policy.call(fn)
    assert [start - 100.0 for start in fn.starts] == [0.0]
    assert fake.sleeps == []
    assert fake.now - 100.0 == pytest.approx(0.4)  # ended when the first attempt did
    assert caught.value.attempts == 1
    assert "deadline" in caught.value.__notes__[-1]


def test_a_wait_short_of_the_deadline_still_retries(fake: FakeTime) -> None:
    fn = TimedAttempts(fake, 0.4)
    policy = make_policy(fake, attempts=3, timeout=1.0, base=5.0, cap=10.0, random=lambda: 0.1)
    with pytest.raises(ServiceUnavailableError) as caught:
        policy.call(fn)
    # 0.4 + 0.5 = 0.9 < 1.0: retried; then 1.3 + anything is past the deadline.
    assert [round(start - 100.0, 6) for start in fn.starts] == [0.0, 0.9]
    assert all(start - 100.0 < 1.0 for start in fn.starts)
    assert caught.value.attempts == 2


def test_a_server_wait_equal_to_the_time_left_gives_up(fake: FakeTime) -> None:
    fn = Flaky(with_retry_after("2"), result="ok")
    with pytest.raises(ServiceUnavailableError) as caught:
        make_policy(fake, timeout=2.0, random=lambda: 0.0).call(fn)
    assert fake.sleeps == []
    assert fn.calls == 1
    assert "deadline" in caught.value.__notes__[-1]


def test_the_deadline_rule_holds_for_every_jitter(fake: FakeTime) -> None:
    """Whatever the draw, no attempt starts at or after the deadline (seeded sweep)."""
    rng = random.Random(1234)
    for _ in range(300):
        fake.now = 100.0
        fn = TimedAttempts(fake, rng.uniform(0.0, 0.5))
        timeout = rng.uniform(0.5, 3.0)
        policy = make_policy(
            fake, attempts=20, timeout=timeout, base=rng.uniform(0.05, 2.0), random=rng
        )
        with pytest.raises(ServiceUnavailableError):
            policy.call(fn)
        assert all(start - 100.0 < timeout for start in fn.starts)


def test_deadline_counts_the_time_spent_in_attempts(fake: FakeTime) -> None:
    def slow() -> None:
        fake.now += 20.0  # each attempt takes 20 s
        raise overloaded()

    with pytest.raises(ServiceUnavailableError) as caught:
        make_policy(fake, timeout=30.0).call(slow)
    assert caught.value.attempts == 2


def test_rate_limit_waits_for_the_next_window(fake: FakeTime) -> None:
    """Kuzzle's rate limit counts in fixed 1-second windows: never retry sooner."""
    fn = Flaky(rate_limited)
    assert make_policy(fake, random=lambda: 0.0).call(fn) == "ok"
    assert fake.sleeps == [1.0]
    fn = Flaky(rate_limited)
    assert make_policy(fake, random=lambda: 0.5).call(fn) == "ok"
    assert fake.sleeps[-1] == 1.5  # the floor plus jitter spreading the clients


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        ("2.5", 2.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a past date: no floor, normal backoff
        ("soon", 0.0),  # garbage is ignored, not raised
        ("-3", 0.0),
        ("", 0.0),
    ],
)
def test_retry_after_sets_the_floor(fake: FakeTime, header: str, expected: float) -> None:
    fn = Flaky(with_retry_after(header))
    assert make_policy(fake, random=lambda: 0.5, base=0.5).call(fn) == "ok"
    assert fake.sleeps == [pytest.approx(expected + 0.25)]


def test_retry_after_http_date_in_the_future(fake: FakeTime) -> None:
    when = email.utils.formatdate(time.time() + 10, usegmt=True)
    fn = Flaky(with_retry_after(when))
    assert make_policy(fake, random=lambda: 0.0).call(fn) == "ok"
    assert 8.0 <= fake.sleeps[0] <= 10.0  # whole seconds, and the wall clock moved on


def test_retry_after_on_a_429(fake: FakeTime) -> None:
    fn = Flaky(with_retry_after("3", status=429))
    assert make_policy(fake, random=lambda: 0.0).call(fn) == "ok"
    assert fake.sleeps == [3.0]


def test_server_wait_over_max_delay_gives_up_at_once(fake: FakeTime) -> None:
    error = with_retry_after("90")
    fn = Flaky(error)
    with pytest.raises(ServiceUnavailableError) as caught:
        make_policy(fake, timeout=200.0, max_delay=60.0).call(fn)
    assert caught.value is error
    assert fn.calls == 1
    assert fake.sleeps == []
    assert "max_delay" in error.__notes__[-1]


def test_server_wait_past_the_deadline_gives_up_at_once(fake: FakeTime) -> None:
    fn = Flaky(with_retry_after("20"))
    with pytest.raises(ServiceUnavailableError) as caught:
        make_policy(fake, timeout=10.0).call(fn)
    assert fn.calls == 1
    assert fake.sleeps == []
    assert "deadline" in caught.value.__notes__[-1]


# -- hooks, logs, budget -------------------------------------------------------------------


def test_on_retry_hook_gets_frozen_details(fake: FakeTime) -> None:
    seen: list[RetryDetails] = []
    fn = Flaky(overloaded, rate_limited)
    assert make_policy(fake, on_retry=seen.append).call(fn) == "ok"
    assert [d.attempt for d in seen] == [1, 2]
    assert [d.error for d in seen] == fn.raised
    assert [d.delay for d in seen] == fake.sleeps
    assert seen[0].elapsed == 0.0
    assert seen[1].elapsed == fake.sleeps[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        seen[0].delay = 0.0  # type: ignore[misc]


def test_logs_info_per_retry_and_on_giving_up(
    fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 22: retries are logged at INFO (they were at DEBUG); docs/guides/logging.md.
    caplog.set_level(logging.DEBUG, logger="kuzzle_errors.retry")
    with pytest.raises(TooManyRequestsError):
        make_policy(fake, attempts=3).call(Flaky(*[rate_limited] * 3))
    levels = [r.levelno for r in caplog.records if r.name == "kuzzle_errors.retry"]
    assert levels == [logging.INFO, logging.INFO, logging.INFO]
    assert "stopped after 3 attempt" in caplog.records[-1].getMessage()


def test_routine_non_retryable_error_is_not_logged_at_info(
    fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kuzzle_errors.retry")
    with pytest.raises(NotFoundError):
        make_policy(fake).call(Flaky(NotFoundError("nope")))
    assert caplog.records == []


def test_empty_budget_raises_at_once_without_max_wait(fake: FakeTime) -> None:
    budget = RetryBudget(
        capacity=2, ratio=0.0, overdraft=0, min_per_second=0.0, max_wait=0, clock=fake.clock
    )
    policy = make_policy(fake, budget=budget)
    fn = Flaky(*[overloaded] * 10)
    with pytest.raises(ServiceUnavailableError) as caught:
        policy.call(fn)
    # 2 tokens: the first failure takes one, its retry the other; the second failure empties it.
    assert fn.calls == 2
    assert caught.value.attempts == 2
    assert "budget" in caught.value.__notes__[-1]
    fn = Flaky(overloaded)
    with pytest.raises(ServiceUnavailableError):
        policy.call(fn)  # the next call too: the budget is the client's, not the call's
    assert fn.calls == 1


def test_non_retryable_errors_do_not_spend_the_budget(fake: FakeTime) -> None:
    budget = RetryBudget(capacity=1, ratio=0.0, min_per_second=0.0, clock=fake.clock)
    with pytest.raises(NotFoundError):
        make_policy(fake, budget=budget).call(Flaky(NotFoundError("x")))
    assert budget.tokens == 1.0


# -- testing switch ------------------------------------------------------------------------


def test_testing_mode_caps_attempts_and_never_sleeps(fake: FakeTime) -> None:
    slept: list[float] = []
    policy = RetryPolicy(sleep=slept.append, timeout=1.0)
    budget = policy.budget
    assert budget is not None
    with set_testing(True, attempts=3):
        assert is_testing()
        fn = Flaky(*[with_retry_after("50")] * 5)  # would give up (deadline) outside tests
        with pytest.raises(ServiceUnavailableError):
            policy.call(fn)
        assert fn.calls == 3
        assert budget.calls == 0  # budgets are left alone in tests
    assert not is_testing()
    assert slept == []


def test_set_testing_defaults_to_no_retry_and_restores() -> None:
    previous = set_testing(True)
    try:
        fn = Flaky(overloaded)
        with pytest.raises(ServiceUnavailableError):
            RetryPolicy().call(fn)
        assert fn.calls == 1
    finally:
        with previous:
            pass
    assert not is_testing()
    with pytest.raises(ValueError, match="attempts"):
        set_testing(True, attempts=0)
    assert not is_testing()


# -- decorator and asyncio -----------------------------------------------------------------


def test_decorator_on_a_function(fake: FakeTime) -> None:
    fn = Flaky(overloaded)

    @retrying(make_policy(fake))
    def create(doc: str) -> str:
        """Create a document."""
        return f"{fn()}:{doc}"

    assert create("d1") == "ok:d1"
    assert create.__name__ == "create"
    assert create.__doc__ == "Create a document."
    assert fn.calls == 2


def test_decorator_builds_or_adjusts_a_policy(fake: FakeTime) -> None:
    fn = Flaky(*[overloaded] * 5)
    wrapped = retrying(attempts=2, clock=fake.clock, sleep=fake.sleep, budget=None)(fn)
    with pytest.raises(ServiceUnavailableError):
        wrapped()
    assert fn.calls == 2

    fn = Flaky(*[overloaded] * 5)
    with pytest.raises(ServiceUnavailableError):
        retrying(make_policy(fake), attempts=3)(fn)()
    assert fn.calls == 3


def test_decorator_passes_idempotent(fake: FakeTime) -> None:
    fn = Flaky(lambda: GatewayTimeoutError("t"))
    assert retrying(make_policy(fake), idempotent=True)(fn)() == "ok"
    assert fn.calls == 2


def test_misuse_is_reported() -> None:
    async def query() -> None:
        return None

    with pytest.raises(TypeError, match="acall"):
        RetryPolicy().call(query)  # type: ignore[unused-coroutine]
    with pytest.raises(TypeError, match="parentheses"):
        retrying(query)  # type: ignore[arg-type]


def test_acall_retries_with_the_async_sleep(fake: FakeTime) -> None:
    fn = Flaky(overloaded, overloaded)

    async def query(value: int) -> Any:
        return (fn(), value)

    result = asyncio.run(make_policy(fake).acall(query, 5))
    assert result == ("ok", 5)
    assert fn.calls == 3
    assert len(fake.sleeps) == 2


def test_acall_raises_the_original_error(fake: FakeTime) -> None:
    fn = Flaky(*[overloaded] * 5)

    async def query() -> Any:
        return fn()

    with pytest.raises(ServiceUnavailableError) as caught:
        asyncio.run(make_policy(fake, attempts=3).acall(query))
    assert caught.value is fn.raised[-1]
    assert caught.value.attempts == 3


def test_decorator_on_a_coroutine_function(fake: FakeTime) -> None:
    fn = Flaky(rate_limited, lambda: GatewayTimeoutError("t"))

    @retrying(make_policy(fake), idempotent=True)
    async def query() -> Any:
        await asyncio.sleep(0)
        return fn()

    assert asyncio.iscoroutinefunction(query)
    assert asyncio.run(query()) == "ok"
    assert fn.calls == 3


def test_acall_defaults_to_asyncio_sleep() -> None:
    fn = Flaky(overloaded)

    async def query() -> Any:
        return fn()

    policy = RetryPolicy(base=0.001, random=lambda: 0.001, budget=None)  # a 1 µs wait
    assert asyncio.run(policy.acall(query)) == "ok"
    assert fn.calls == 2


# -- stamina hook (the function itself; stamina in test_retry_stamina.py) -----------------


def test_stamina_hook_follows_the_hints() -> None:
    assert stamina_hook(ValueError("x")) is False
    assert stamina_hook(NotFoundError("x")) is False
    assert stamina_hook(overloaded()) is True  # no server wait: stamina's own backoff
    assert stamina_hook(rate_limited()) == 1.0
    assert stamina_hook(with_retry_after("4")) == 4.0
    assert stamina_hook(with_retry_after("90")) is False  # over MAX_DELAY (60 s)
    assert stamina_hook(GatewayTimeoutError("t")) is False
    assert make_stamina_hook(idempotent=True)(GatewayTimeoutError("t")) is True
    assert make_stamina_hook(max_delay=120)(with_retry_after("90")) == 90.0


def test_lazy_submodule_access() -> None:
    assert kuzzle_errors.retry.RetryPolicy is RetryPolicy


def test_sans_io_run(fake: FakeTime) -> None:
    """The state machine that call(), acall() and the overload benchmark drive."""
    run = make_policy(fake, attempts=3, random=lambda: 0.5).start()
    assert run.next_delay(ValueError("not ours")) is None
    assert run.attempts == 0
    assert run.next_delay(overloaded()) == 0.5
    assert run.admit() == 0.0  # no budget to wait for: go
    fake.now += 0.5
    assert run.next_delay(rate_limited()) == 2.0  # 1 s floor + half of the 2 s window
    assert run.elapsed == 0.5
    last = overloaded()
    assert run.next_delay(last) is None
    assert last.attempts == 3


# -- exception notes on every Python --------------------------------------------------------


@pytest.mark.parametrize("native", [True, False], ids=["add_note", "py310"])
def test_the_note_is_recorded_with_or_without_add_note(
    fake: FakeTime, monkeypatch: pytest.MonkeyPatch, native: bool
) -> None:
    if native and sys.version_info < (3, 11):
        pytest.skip("BaseException.add_note() exists from Python 3.11")
    monkeypatch.setattr(retry_module, "_NATIVE_NOTES", native)
    fn = Flaky(*[overloaded] * 3)
    with pytest.raises(ServiceUnavailableError) as caught:
        make_policy(fake, attempts=2).call(fn)
    error = caught.value
    note = "kuzzle_errors.retry: stopped after 2 attempts (the policy's limit)"
    assert error.__notes__ == [note]
    copy = pickle.loads(pickle.dumps(error))  # kept by pickles too
    assert copy.__notes__ == [note]


def test_the_py310_path_appends_to_existing_notes(
    fake: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retry_module, "_NATIVE_NOTES", False)
    error = overloaded()
    error.__dict__["__notes__"] = ["added by the caller"]
    with pytest.raises(ServiceUnavailableError):
        make_policy(fake, attempts=1).call(Flaky(error))
    assert error.__notes__[0] == "added by the caller"
    assert error.__notes__[1].startswith(
        "kuzzle_errors.retry: stopped after 1 attempt (the policy's limit)"
    )
