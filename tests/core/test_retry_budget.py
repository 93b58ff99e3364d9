"""RetryBudget: a token bucket shared by every call of a client, safe across threads."""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest
from retry_helpers import run_threads

from kuzzle_errors import ServiceUnavailableError, error_class
from kuzzle_errors.retry import RetryBudget, RetryPolicy

THREADS = 16


class FrozenClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_defaults() -> None:
    """100 tokens, 0.3 token per success, a retry costs 1, 1 token of overdraft."""
    budget = RetryBudget()
    settings = (budget.capacity, budget.ratio, budget.retry_cost, budget.overdraft)
    assert settings == (100.0, 0.3, 1.0, 1.0)
    assert (budget.min_per_second, budget.max_wait) == (1.0, 5.0)
    assert budget.tokens == 100.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ratio", -0.1),
        ("capacity", -1),
        ("capacity", math.inf),
        ("min_per_second", math.nan),
        ("overdraft", -1),
        ("retry_cost", math.inf),
        ("max_wait", -0.5),
    ],
)
def test_invalid_settings(name: str, value: float) -> None:
    settings: dict[str, Any] = {name: value}
    with pytest.raises(ValueError, match=name):
        RetryBudget(**settings)


def still(**kwargs: Any) -> RetryBudget:
    """A budget whose clock never moves (no time refill)."""
    return RetryBudget(min_per_second=0.0, clock=FrozenClock(), **kwargs)


def test_drains_then_refuses() -> None:
    budget = still(capacity=3)
    assert [budget.withdraw() for _ in range(5)] == [True, True, True, False, False]
    assert (budget.retries, budget.denied) == (3, 2)
    assert budget.withdraw(count=False) is False
    assert budget.denied == 2  # a call polling again is not a new refusal


def test_failures_drain_successes_refill() -> None:
    budget = still(capacity=10, ratio=0.5, overdraft=3)
    for _ in range(20):
        budget.failed()
    assert budget.tokens == -3.0  # no deeper than the overdraft
    assert not budget.withdraw()
    for _ in range(8):  # 8 successes at half a token: back to 1, enough for one retry
        budget.succeeded()
    assert budget.withdraw()
    assert not budget.withdraw()


def test_retries_stop_while_over_a_third_of_attempts_fail() -> None:
    """Half a token per success against one per failure: the break-even is one failure in 3."""
    budget = still(capacity=10, ratio=0.5, overdraft=3)
    for _ in range(100):  # 2 successes, 1 failure: stays where it is
        budget.succeeded()
        budget.succeeded()
        budget.failed()
    assert budget.tokens == 9.0  # (full, so the last success was clamped away)
    for _ in range(100):  # 1 success, 1 failure: drains
        budget.succeeded()
        budget.failed()
    assert budget.tokens == -3.0


def test_calls_are_counted_not_credited() -> None:
    budget = still(capacity=5)
    budget.failed()
    budget.deposit()
    assert budget.calls == 1
    assert budget.tokens == 4.0


def test_time_floor_refills_up_to_capacity() -> None:
    clock = FrozenClock()
    budget = RetryBudget(capacity=2, ratio=0.0, min_per_second=0.5, clock=clock)
    assert budget.withdraw() and budget.withdraw() and not budget.withdraw()
    clock.now += 2.0
    assert budget.withdraw()
    assert not budget.withdraw()
    clock.now += 3600.0
    assert budget.tokens == 2.0  # never more than capacity


def test_drains_exactly_under_16_threads() -> None:
    budget = RetryBudget(capacity=100, ratio=0.0, min_per_second=0.0, clock=FrozenClock())
    granted: list[bool] = []
    lock = threading.Lock()

    def withdraw_50() -> None:
        mine = [budget.withdraw() for _ in range(50)]
        with lock:
            granted.extend(mine)

    run_threads(withdraw_50)
    assert granted.count(True) == 100
    assert granted.count(False) == THREADS * 50 - 100
    assert (budget.retries, budget.denied) == (100, 700)
    assert budget.tokens == 0.0


def test_refills_exactly_under_16_threads() -> None:
    budget = RetryBudget(capacity=100, ratio=0.25, min_per_second=0.0, clock=FrozenClock())
    for _ in range(100):
        assert budget.withdraw()

    def succeed_25() -> None:
        for _ in range(25):
            budget.deposit()
            budget.succeeded()

    run_threads(succeed_25)  # 16 * 25 * 0.25 = 100 tokens, no update lost
    assert budget.calls == 400
    assert budget.tokens == pytest.approx(100.0)


def test_policy_calls_share_the_budget_across_threads() -> None:
    budget = RetryBudget(
        capacity=40, ratio=0.0, overdraft=0, min_per_second=0.0, max_wait=0, clock=FrozenClock()
    )
    policy = RetryPolicy(budget=budget, sleep=lambda _: None, random=lambda: 0.0)
    attempts: list[int] = []
    lock = threading.Lock()
    overloaded = error_class("api.process.overloaded")

    def always_overloaded() -> None:
        raise overloaded("busy")

    def call_3_times() -> None:
        for _ in range(3):
            try:
                policy.call(always_overloaded)
            except ServiceUnavailableError as error:
                with lock:
                    attempts.append(error.attempts)

    run_threads(call_3_times)
    assert len(attempts) == 48
    # Every retry is counted once, and each costs its token plus the one its failure took.
    assert sum(attempts) - len(attempts) == budget.retries
    assert 0 < budget.retries <= 20


def test_for_host_is_one_budget_per_host() -> None:
    first = RetryBudget.for_host("budget-test.example")
    assert RetryBudget.for_host(" Budget-Test.example ") is first
    assert RetryBudget.for_host("other-budget-test.example") is not first
