"""The scripted state of :class:`kuzzle_errors.testing.StubKuzzle`: limits, scripts, the log.

Tests mutate this state from their own thread while the server's event loop reads it, so
every access goes through one lock. Nothing here does I/O: the server (``stub.server``)
asks this module what to answer and then does the waiting, writing and dropping. What is
not scripted is answered by :mod:`kuzzle_errors._stub.builtins`.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from kuzzle_errors._stub.builtins import Builtins, Outcome
from kuzzle_errors._stub.payloads import STUB_NODE, make_error, make_response
from kuzzle_errors._transport import request_fields

ANONYMOUS = "-1"  # Kuzzle's anonymous user id: all anonymous requests share one counter


@dataclass
class RecordedRequest:
    """One request the stub received (refused ones included).

    ``payload`` is the decoded Kuzzle request (None when it could not be decoded);
    ``status`` is the status answered, None while unanswered or when no answer was sent
    (a dropped connection, a request refused by the per-socket rate limit gets its 429
    recorded on the refused request).
    """

    transport: str
    controller: str | None
    action: str | None
    request_id: str | None
    payload: dict[str, Any] | None
    jwt: str | None = None
    method: str | None = None
    path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    connection: int = 0
    received_at: float = field(default_factory=time.monotonic)
    status: int | None = None


@dataclass
class _Rule:
    controller: str | None
    action: str | None
    times: int | None  # None: forever
    value: Any

    def matches(self, controller: str | None, action: str | None) -> bool:
        return (self.controller is None or self.controller == controller) and (
            self.action is None or self.action == action
        )

    def use(self) -> bool:
        """Consume one use; True once the rule is spent (its owner then removes it)."""
        if self.times is None:
            return False
        self.times -= 1
        return self.times <= 0


def _take(rules: list[_Rule], controller: str | None, action: str | None) -> _Rule | None:
    """The first rule matching, with one use consumed (spent rules are removed)."""
    for index, rule in enumerate(rules):
        if rule.matches(controller, action):
            if rule.use():
                del rules[index]
            return rule
    return None


@dataclass(frozen=True)
class ProxyError:
    """A scripted proxy answer (HTML, not Kuzzle's JSON)."""

    status: int
    retry_after: str | None
    body: str


@dataclass(frozen=True)
class Effects:
    """What to do around the answer of one API request."""

    drop: tuple[int | None, str] | None = None  # (close code or None for an abort, reason)
    garbage: str | bytes | None = None
    delay: float = 0.0


class _Window:
    """Fixed 1-second windows (Kuzzle resets its counters with a 1 s ``setInterval``)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._frame = -1
        self._counts: dict[object, int] = {}

    def hit(self, key: object) -> int:
        frame = math.floor(self._clock())
        if frame != self._frame:
            self._frame = frame
            self._counts = {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        return count


class StubOptions(TypedDict, total=False):
    """The keyword options of :class:`~kuzzle_errors.testing.StubKuzzle`, all optional.

    :class:`StubState` reads them (with their defaults); StubKuzzle documents them.
    """

    node: str
    version: int
    max_request_size: int
    concurrent_requests: int | None
    requests_buffer_size: int
    rate_limit: int | None
    ws_rate_limit: int | None
    logins_per_second: int | None
    clock: Callable[[], float]


class StubState:
    """Scripts, limits, documents and the request log of one stub."""

    def __init__(self, options: StubOptions) -> None:
        unknown = options.keys() - StubOptions.__annotations__.keys()
        if unknown:  # as a signature would: a misspelt option must not pass silently
            raise TypeError(f"unexpected StubKuzzle option(s): {', '.join(sorted(unknown))}")
        self.lock: threading.RLock = threading.RLock()
        self.node: str = options.get("node", STUB_NODE)
        self.version: int = options.get("version", 2)
        self.max_request_size: int = options.get("max_request_size", 1024 * 1024)
        self.concurrent_requests: int | None = options.get("concurrent_requests")
        self.requests_buffer_size: int = options.get("requests_buffer_size", 50_000)
        self.rate_limit: int | None = options.get("rate_limit")
        self.ws_rate_limit: int | None = options.get("ws_rate_limit")
        self.logins_per_second: int | None = options.get("logins_per_second")
        self.clock: Callable[[], float] = options.get("clock", time.monotonic)
        self.shutting_down: bool = False
        self.overload_left: int | None = 0  # None: refuse until told otherwise
        self.buffered = 0  # requests waiting for a concurrency slot (set by the server)
        self.interleave_room: str | None = None
        self.fails: list[_Rule] = []
        self.responds: dict[tuple[str, str], _Rule] = {}
        self.slows: list[_Rule] = []
        self.drops: list[_Rule] = []
        self.garbages: list[_Rule] = []
        self.proxies: list[_Rule] = []
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self._user_window = _Window(self.clock)
        self._socket_window = _Window(self.clock)
        self._login_window = _Window(self.clock)
        self.builtins: Builtins = Builtins(self.documents, node=self.node)

    # -- scripting (called from the test's thread) ---------------------------------------

    def reset(self) -> None:
        """Forget every script, limit toggle and document (the request log is kept)."""
        with self.lock:
            self.shutting_down = False
            self.overload_left = 0
            self.interleave_room = None
            for rules in (self.fails, self.slows, self.drops, self.garbages, self.proxies):
                rules.clear()
            self.responds.clear()
            self.documents.clear()

    def add_fail(
        self,
        controller: str | None,
        action: str | None,
        error: dict[str, Any],
        result: Any,
        times: int | None,
    ) -> None:
        with self.lock:
            self.fails.append(_Rule(controller, action, times, Outcome(error, result)))

    def add_respond(self, controller: str, action: str, result: Any, times: int | None) -> None:
        with self.lock:
            self.responds[(controller, action)] = _Rule(controller, action, times, result)

    def add_rule(
        self,
        kind: str,
        controller: str | None,
        action: str | None,
        value: Any,
        times: int | None,
    ) -> None:
        rules = {
            "slow": self.slows,
            "drop": self.drops,
            "garbage": self.garbages,
            "proxy": self.proxies,
        }[kind]
        with self.lock:
            rules.append(_Rule(controller, action, times, value))

    def record(self, entry: RecordedRequest) -> RecordedRequest:
        with self.lock:
            self.requests.append(entry)
        return entry

    # -- checks, in Kuzzle's order (called from the event loop) --------------------------

    def take_proxy_error(self) -> ProxyError | None:
        with self.lock:
            rule = _take(self.proxies, None, None)
        return rule.value if rule is not None else None

    def socket_allowed(self, socket_key: int) -> bool:
        """The per-socket WebSocket rate limit (counted before parsing, pings included)."""
        with self.lock:
            limit = self.ws_rate_limit
            if not limit:
                return True
            return self._socket_window.hit(socket_key) <= limit

    def is_ready(self) -> bool:
        """What ``GET /_ready`` reports: not while shutting down or overloaded."""
        with self.lock:
            overloaded = self.overload_left is None or self.overload_left > 0
            return not (self.shutting_down or overloaded or self.buffered > 0)

    def throttle_error(self, transport: str) -> dict[str, Any] | None:
        """Refusals that happen before the request runs: shutdown, scripted overload."""
        with self.lock:
            if self.shutting_down:
                # HTTP skips the entry point, so it meets the funnel's own refusal.
                if transport == "http":
                    return make_error("api.process.shutting_down")
                return make_error("network.entrypoint.shutting_down")
            if self.overload_left is None:
                return make_error("api.process.overloaded")
            if self.overload_left > 0:
                self.overload_left -= 1
                return make_error("api.process.overloaded")
        return None

    def rate_error(
        self, controller: str | None, action: str | None, jwt: str | None, connection: int
    ) -> dict[str, Any] | None:
        """Kuzzle's rate limiter: logins per connection, other requests per user."""
        with self.lock:
            if controller == "auth" and action == "login":
                limit = self.logins_per_second
                if limit and self._login_window.hit(("login", connection)) > limit:
                    return make_error("api.process.too_many_logins_requests")
                return None
            user = jwt or ANONYMOUS
            if user != ANONYMOUS and controller == "auth" and action == "logout":
                return None
            limit = self.rate_limit
            if limit and self._user_window.hit(user) > limit:
                return make_error("api.process.too_many_requests")
        return None

    def effects(self, controller: str | None, action: str | None) -> Effects:
        with self.lock:
            drop = _take(self.drops, controller, action)
            garbage = _take(self.garbages, controller, action)
            slow = _take(self.slows, controller, action)
        delay = 0.0
        if slow is not None:
            value = slow.value
            if isinstance(value, tuple):
                delay = random.uniform(float(value[0]), float(value[1]))
            else:
                delay = float(value)
        return Effects(
            drop=drop.value if drop is not None else None,
            garbage=garbage.value if garbage is not None else None,
            delay=delay,
        )

    # -- answers -------------------------------------------------------------------------

    def answer(
        self,
        request: Mapping[str, Any],
        request_id: str,
        controller: str | None,
        action: str | None,
    ) -> dict[str, Any]:
        """The response envelope for an accepted API request (scripts, then built-ins)."""
        with self.lock:
            outcome = self._decide(request, controller, action)
            return self.envelope(request, request_id, error=outcome.error, result=outcome.result)

    def _decide(
        self, request: Mapping[str, Any], controller: str | None, action: str | None
    ) -> Outcome:
        """A scripted failure, else a scripted result, else the built-in action."""
        rule = _take(self.fails, controller, action)
        if rule is not None:
            scripted: Outcome = rule.value
            return scripted
        key = (controller or "", action or "")
        respond = self.responds.get(key)
        if respond is not None:
            if respond.use():
                del self.responds[key]
            return Outcome(result=respond.value)
        return self.builtins.answer(request, controller, action, version=self.version)

    def envelope(
        self,
        request: Mapping[str, Any],
        request_id: str,
        *,
        error: Mapping[str, Any] | None = None,
        result: Any = None,
        status: int | None = None,
    ) -> dict[str, Any]:
        """An envelope echoing the request's context, as Kuzzle's ``RequestResponse`` does."""
        volatile = request.get("volatile")
        envelope = make_response(
            error=error,
            result=result,
            status=status,
            request_id=request_id,
            **request_fields(request),
            volatile=volatile if isinstance(volatile, Mapping) else None,
            node=self.node,
        )
        if self.version == 1:
            # Kuzzle 1's RequestResponse had neither "node" nor "headers".
            del envelope["node"], envelope["headers"]
        return envelope
