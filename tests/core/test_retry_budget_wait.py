"""A call refused a retry by the budget waits for it, within its deadline and max_wait."""

from __future__ import annotations

import asyncio

import pytest
from retry_helpers import Flaky, overloaded

from kuzzle_errors import ServiceUnavailableError
from kuzzle_errors.retry import RetryBudget, RetryPolicy


class FakeTime:
    """A clock that moves only when the code sleeps; ``during_sleep`` runs at each sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.during_sleep = lambda: None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.during_sleep()

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def empty_budget(fake: FakeTime, **kwargs: float) -> RetryBudget:
    settings: dict[str, float] = {"ratio": 0.5, "overdraft": 3.0, **kwargs}
    budget = RetryBudget(capacity=10, min_per_second=0.0, clock=fake.clock, **settings)
    for _ in range(20):
        budget.failed()  # an overload drained it
    assert budget.tokens == -3.0
    return budget


def policy(fake: FakeTime, budget: RetryBudget, **kwargs: float) -> RetryPolicy:
    return RetryPolicy(
        budget=budget,
        clock=fake.clock,
        sleep=fake.sleep,
        async_sleep=fake.async_sleep,
        random=lambda: 0.5,
        **kwargs,
    )


def test_a_call_waits_for_the_budget_then_retries() -> None:
    fake = FakeTime()
    budget = empty_budget(fake)
    # Other calls succeed while this one waits: 2 successes per poll refill the bucket.
    fake.during_sleep = lambda: (budget.succeeded(), budget.succeeded())
    fn = Flaky(overloaded)
    assert policy(fake, budget).call(fn) == "ok"
    assert fn.calls == 2
    assert len(fake.sleeps) > 1  # the backoff, then polls until a token was there
    assert all(0.05 <= pause <= 0.15 for pause in fake.sleeps[1:])
    assert budget.retries == 1
    assert budget.denied == 1  # one refusal, however many polls


def test_the_wait_ends_at_max_wait_with_the_original_error() -> None:
    fake = FakeTime()
    budget = empty_budget(fake, max_wait=2.0)
    error = overloaded()
    with pytest.raises(ServiceUnavailableError) as caught:
        policy(fake, budget).call(Flaky(error))
    assert caught.value is error
    assert error.attempts == 1
    assert "the retry budget stayed empty for" in error.__notes__[-1]
    assert 1.9 <= fake.now <= 2.5  # 2 s of waiting (after the first backoff), no more


def test_the_wait_ends_at_the_deadline() -> None:
    fake = FakeTime()
    budget = empty_budget(fake, max_wait=60.0)
    with pytest.raises(ServiceUnavailableError):
        policy(fake, budget, timeout=3.0).call(Flaky(overloaded))
    assert fake.now < 3.0  # no attempt at or past the deadline


def test_max_wait_zero_fails_at_once() -> None:
    fake = FakeTime()
    budget = empty_budget(fake, max_wait=0.0)
    with pytest.raises(ServiceUnavailableError) as caught:
        policy(fake, budget).call(Flaky(overloaded))
    assert fake.sleeps == []
    assert "the retry budget is empty" in caught.value.__notes__[-1]


def test_a_clock_that_does_not_move_cannot_wait_forever() -> None:
    budget = RetryBudget(capacity=1, min_per_second=0.0)
    for _ in range(5):
        budget.failed()
    sleeps: list[float] = []
    stuck = RetryPolicy(budget=budget, sleep=sleeps.append, clock=lambda: 0.0)
    with pytest.raises(ServiceUnavailableError):
        stuck.call(Flaky(overloaded))
    assert len(sleeps) <= 102  # the backoff, then at most max_wait / 50 ms polls


def test_acall_waits_too() -> None:
    fake = FakeTime()
    budget = empty_budget(fake)
    fake.during_sleep = lambda: (budget.succeeded(), budget.succeeded())

    async def flaky() -> str:
        return fn()

    fn = Flaky(overloaded)
    assert asyncio.run(policy(fake, budget).acall(flaky)) == "ok"
    assert fn.calls == 2
    assert budget.retries == 1


def test_successes_refill_the_budget() -> None:
    fake = FakeTime()
    budget = RetryBudget(capacity=10, min_per_second=0.0, clock=fake.clock)
    budget.failed()
    budget.failed()
    assert policy(fake, budget).call(lambda: "ok") == "ok"
    assert budget.tokens == pytest.approx(8.3)  # 0.3 token per success
    assert budget.calls == 1
