"""Retry strategies against an overloaded Kuzzle: a deterministic simulation.

Run: ``python benchmarks/overload.py`` (a few seconds; no network, no real sleeping).

Model (virtual clock, seeded, identical inputs for every strategy):

* Time advances in ticks of 0.1 s. Requests sent during a tick are served at its end, in a
  random order, and answered then (one tick of latency).
* Scenarios. ``overloaded (503)``: the node serves ``CAPACITY`` requests per tick and answers
  503 ``api.process.overloaded`` to the rest, as Kuzzle does once its request buffer is full.
  ``rate-limited (429)``: each client is a Kuzzle user with a per-user limit of requests per
  fixed 1-second window (Kuzzle resets every counter each second), the same total capacity;
  the rest get 429 ``api.process.too_many_requests``. ``503, refusal=0.1``: a sensitivity case
  where refusing a request costs the node a tenth of serving one (parsing, routing and
  answering are not free; Kuzzle's real ratio was not measured). ``503, 1 s blip``: the 2x
  overload lasts 1 s instead of 20 s. Errors are built with ``kuzzle_errors``, so their retry
  hints are the real ones (replay-safe; a 1 s floor for the 429).
* ``CLIENTS`` clients (independent processes: one policy, one budget each) send new calls as
  Poisson processes: 0.5x the server's capacity for 5 s, 2x for 20 s (or 1 s), then 0.5x until
  40 s. The simulation then runs until every call has succeeded or given up; a call that gives
  up is a failure.
* Strategies, all with 5 attempts: no retry; immediate retries; exponential backoff without
  jitter (``min(10, 0.5 * 2**(n-1))`` s); :class:`RetryPolicy` with its defaults (full jitter,
  base 0.5 s, cap 10 s, 30 s deadline, hints) without and with its default
  :class:`RetryBudget`; tenacity's ``wait_random_exponential(multiplier=0.5, max=10)`` and
  ``stop_after_attempt(5)``, retrying every error. The policies decide every wait through
  :meth:`RetryPolicy.start` / :meth:`RetryRun.next_delay`, the sans-IO core that
  ``RetryPolicy.call`` itself runs, with the simulation's clock and a seeded ``random.Random``;
  tenacity's own wait and stop objects compute its waits.

Columns: calls that succeeded; requests per call (the load multiplier the SRE book's 10 %
budget bounds at about 1.1x) over the whole run and over the overload only (requests sent
during it per call started during it); requests per success; the peak load offered in any
1-second window over capacity; p50/p99 time from a call's start to its success; and recovery,
the time from the end of the overload until the last 1-second window where more than 1 % of
requests were refused.

The goals of issue 3 for the budgeted policy are checked and printed as found, met or not.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import tenacity
from tenacity.stop import stop_after_attempt
from tenacity.wait import wait_random_exponential

from kuzzle_errors import KuzzleError, error_class
from kuzzle_errors.retry import DEFAULT_BASE, DEFAULT_CAP, RetryBudget, RetryPolicy

SEED = 20240601
TICK = 0.1
CAPACITY = 40  # requests per tick: 400 requests/s
CLIENTS = 20
PHASES = ((5.0, 0.5), (20.0, 2.0), (15.0, 0.5))  # (duration s, offered load / capacity)
ATTEMPTS = 5

_OVERLOADED = error_class("api.process.overloaded")
_RATE_LIMITED = error_class("api.process.too_many_requests")


class Clock:
    """The simulation's time, shared by everything that asks for it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- strategies: begin(client) -> state; after_failure(state, error) -> delay or None --------


class Strategy:
    name = ""

    def begin(self, client: int) -> Any:
        return [0]

    def after_failure(self, state: Any, error: KuzzleError) -> float | None:
        raise NotImplementedError


class NoRetry(Strategy):
    name = "no retry"

    def after_failure(self, state: Any, error: KuzzleError) -> float | None:
        return None


class Immediate(Strategy):
    name = "immediate x5"

    def after_failure(self, state: Any, error: KuzzleError) -> float | None:
        state[0] += 1
        return 0.0 if state[0] < ATTEMPTS else None


class ExponentialNoJitter(Strategy):
    name = "exponential, no jitter"

    def after_failure(self, state: Any, error: KuzzleError) -> float | None:
        state[0] += 1
        if state[0] >= ATTEMPTS:
            return None
        return float(min(DEFAULT_CAP, DEFAULT_BASE * 2 ** (state[0] - 1)))


class Policy(Strategy):
    """kuzzle_errors.retry.RetryPolicy, one per client (as one per process)."""

    def __init__(self, clock: Clock, *, budget: bool) -> None:
        self.name = "RetryPolicy + budget" if budget else "RetryPolicy, no budget"
        rng = random.Random(SEED + 1)
        self.policies = [
            RetryPolicy(
                attempts=ATTEMPTS,
                budget=RetryBudget(clock=clock) if budget else None,
                clock=clock,
                random=random.Random(rng.random()),
            )
            for _ in range(CLIENTS)
        ]

    def begin(self, client: int) -> Any:
        return self.policies[client].start()

    def after_failure(self, state: Any, error: KuzzleError) -> float | None:
        delay: float | None = state.next_delay(error)
        return delay


class Tenacity(Strategy):
    """tenacity's own wait and stop objects: wait_random_exponential + stop_after_attempt(5)."""

    name = "tenacity full jitter x5"

    def __init__(self) -> None:
        self.retrying = tenacity.Retrying()
        self.wait = wait_random_exponential(multiplier=DEFAULT_BASE, max=DEFAULT_CAP)
        self.stop = stop_after_attempt(ATTEMPTS)
        random.seed(SEED + 2)  # tenacity draws from the module-level generator

    def begin(self, client: int) -> Any:
        return tenacity.RetryCallState(self.retrying, None, (), {})

    def after_failure(self, state: Any, error: KuzzleError) -> float | None:
        if self.stop(state):
            return None
        delay = float(self.wait(state))
        state.attempt_number += 1
        return delay


# -- servers ---------------------------------------------------------------------------------


class Overloaded:
    name = "overloaded (503)"
    per_second = CAPACITY / TICK
    phases = PHASES
    refusal_cost = 0.0

    def serve(self, batch: list[Call], now: float) -> list[bool]:
        served = len(batch)
        if served > CAPACITY:
            # Work is 1 per served request and refusal_cost per refused one, CAPACITY per tick.
            spare = CAPACITY - self.refusal_cost * len(batch)
            served = max(0, min(CAPACITY, math.floor(spare / (1.0 - self.refusal_cost))))
        return [i < served for i in range(len(batch))]

    def error(self) -> KuzzleError:
        return _OVERLOADED("Request discarded: Kuzzle Server is temporarily overloaded.")


class CostlyRefusals(Overloaded):
    """Sensitivity case: refusing is not free (parse, route, answer), assumed 10 % of a request.

    Kuzzle's real ratio was not measured; with free refusals (above) retries cost nothing.
    """

    name = "503, refusal=0.1"
    refusal_cost = 0.1


class Blip(Overloaded):
    """A 1-second 2x burst instead of 20 s: what retries are for."""

    name = "503, 1 s blip"
    phases = ((5.0, 0.5), (1.0, 2.0), (34.0, 0.5))


class RateLimited:
    name = "rate-limited (429)"
    per_second = CAPACITY / TICK
    phases = PHASES
    limit = per_second / CLIENTS  # per user and per 1-second window

    def __init__(self) -> None:
        self.window = -1
        self.used: dict[int, int] = defaultdict(int)

    def serve(self, batch: list[Call], now: float) -> list[bool]:
        window = math.floor(now - TICK / 2)  # the window the tick belongs to
        if window != self.window:
            self.window, self.used = window, defaultdict(int)
        accepted = []
        for call in batch:
            ok = self.used[call.client] < self.limit
            if ok:
                self.used[call.client] += 1
            accepted.append(ok)
        return accepted

    def error(self) -> KuzzleError:
        return _RATE_LIMITED("Rejected: requests rate limit exceeded for this user.")


# -- simulation ------------------------------------------------------------------------------


@dataclass(slots=True)
class Call:
    client: int
    start: float
    state: Any = None


@dataclass
class Result:
    strategy: str
    overload: tuple[float, float]  # start and end, in seconds
    calls: int = 0
    succeeded: int = 0
    requests: int = 0
    latencies: list[float] = field(default_factory=list)
    started_per_second: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    sent_per_second: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    refused_per_second: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def arrivals(phases: tuple[tuple[float, float], ...]) -> list[tuple[float, int]]:
    """Every new call (time, client): Poisson per client, the same for every strategy."""
    rng = random.Random(SEED)
    out: list[tuple[float, int]] = []
    for client in range(CLIENTS):
        t = 0.0
        begin = 0.0
        for duration, load in phases:
            rate = load * CAPACITY / TICK / CLIENTS
            t = max(t, begin)
            while True:
                t += rng.expovariate(rate)
                if t >= begin + duration:
                    break
                out.append((t, client))
            t = begin + duration
            begin += duration
    out.sort()
    return out


def simulate(server_factory: Callable[[], Any], make: Callable[[Clock], Strategy]) -> Result:
    clock = Clock()
    strategy = make(clock)
    server = server_factory()
    order = random.Random(SEED + 3)
    start = server.phases[0][0]
    result = Result(strategy.name, (start, start + server.phases[1][0]))
    pending: dict[int, list[Call]] = defaultdict(list)  # tick -> requests sent during it
    new_calls = arrivals(server.phases)
    next_call = 0
    tick = 0
    while pending or next_call < len(new_calls):
        now = (tick + 1) * TICK
        # Calls start in time order, so budgets and deadlines see the right clock.
        while next_call < len(new_calls) and new_calls[next_call][0] < now:
            t, client = new_calls[next_call]
            next_call += 1
            clock.now = t
            call = Call(client, t, strategy.begin(client))
            result.calls += 1
            result.started_per_second[int(t)] += 1
            pending[tick].append(call)
        batch = pending.pop(tick, [])
        clock.now = now
        if batch:
            order.shuffle(batch)
            second = int(tick * TICK)
            result.requests += len(batch)
            result.sent_per_second[second] += len(batch)
            for call, ok in zip(batch, server.serve(batch, now), strict=True):
                if ok:
                    result.succeeded += 1
                    result.latencies.append(now - call.start)
                    continue
                result.refused_per_second[second] += 1
                delay = strategy.after_failure(call.state, server.error())
                if delay is not None:
                    pending[int(round((now + delay) / TICK, 9))].append(call)
        tick += 1
    return result


def main() -> int:
    begun = time.perf_counter()
    rows: list[tuple[str, Result]] = []
    strategies: list[Callable[[Clock], Strategy]] = [
        lambda clock: NoRetry(),
        lambda clock: Immediate(),
        lambda clock: ExponentialNoJitter(),
        lambda clock: Policy(clock, budget=False),
        lambda clock: Policy(clock, budget=True),
        lambda clock: Tenacity(),
    ]
    for server_factory in (Overloaded, RateLimited, CostlyRefusals, Blip):
        for make in strategies:
            rows.append((server_factory.name, simulate(server_factory, make)))
    print(table(rows))
    print()
    print(goals(rows))
    print(f"\n({time.perf_counter() - begun:.1f} s of real time)")
    return 0


def table(rows: list[tuple[str, Result]]) -> str:
    head = (
        f"{'scenario':<19} {'strategy':<24} {'succeeded':>13} {'req/call':>8} {'(overload)':>10} "
        f"{'req/success':>11} {'peak load':>9} {'p50 s':>6} {'p99 s':>6} {'recovery s':>10}"
    )
    lines = [head, "-" * len(head)]
    for scenario, r in rows:
        per_second = Overloaded.per_second
        peak = max(r.sent_per_second.values()) / per_second
        lat = sorted(r.latencies)
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
        lines.append(
            f"{scenario:<19} {r.strategy:<24} {r.succeeded:>6}/{r.calls:<6} "
            f"{r.requests / r.calls:>8.2f} {overload_amplification(r):>10.2f} "
            f"{r.requests / r.succeeded:>11.2f} "
            f"{peak:>8.2f}x {p50:>6.2f} {p99:>6.2f} {recovery(r):>10.1f}"
        )
    return "\n".join(lines)


def goals(rows: list[tuple[str, Result]]) -> str:
    """Issue 3's goals for the budgeted policy, checked per scenario and printed as found."""
    lines = ["Goals for 'RetryPolicy + budget' (vs the other strategies of the same scenario):"]
    for scenario in dict.fromkeys(name for name, _ in rows):
        results = {r.strategy: r for name, r in rows if name == scenario}
        ours = results.pop("RetryPolicy + budget")
        amplification = overload_amplification(ours)
        best_calls = max(results.values(), key=lambda r: r.succeeded)
        best_recovery = min(recovery(r) for r in results.values())
        checks = [
            (f"req/call in overload {amplification:.3f} <= 1.10", amplification <= 1.10),
            (
                f"succeeded {ours.succeeded} >= {best_calls.succeeded} ({best_calls.strategy})",
                ours.succeeded >= best_calls.succeeded,
            ),
            (
                f"recovery {recovery(ours):.1f} s <= {best_recovery:.1f} s",
                recovery(ours) <= best_recovery,
            ),
        ]
        verdict = "; ".join(f"{text}: {'met' if ok else 'NOT met'}" for text, ok in checks)
        lines.append(f"  {scenario}: {verdict}")
    return "\n".join(lines)


def overload_amplification(r: Result) -> float:
    """Requests sent during the overload per call started during it."""
    window = range(int(r.overload[0]), int(r.overload[1]))
    sent = sum(r.sent_per_second.get(second, 0) for second in window)
    return sent / sum(r.started_per_second.get(second, 0) for second in window)


def recovery(r: Result) -> float:
    end = last = r.overload[1]
    for second, sent in r.sent_per_second.items():
        if second >= end and r.refused_per_second.get(second, 0) > 0.01 * sent:
            last = max(last, second + 1.0)
    return last - end


if __name__ == "__main__":
    sys.exit(main())
