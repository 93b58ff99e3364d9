"""The scripted state of :class:`kuzzle_errors.testing.StubKuzzle`: limits, scripts, the log.

Tests mutate this state from their own thread while the server's event loop reads it, so
every access goes through one lock. Nothing here does I/O: the server (``_stub.server``)
asks this module what to answer and then does the waiting, writing and dropping. What is
not scripted is answered by :mod:`kuzzle_errors._stub.builtins`.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kuzzle_errors._stub.builtins import Answer, builtin_answer
from kuzzle_errors._stub.payloads import STUB_NODE, make_error, make_response, str_or_none

if TYPE_CHECKING:
    from kuzzle_errors.testing import StubOptions

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
class _Script:
    """A scripted behaviour: which requests it applies to, how often, and its value."""

    controller: str | None  # None: any
    action: str | None
    times: int | None  # None: forever
    value: Any


@dataclass(frozen=True)
class ProxyError:
    """A scripted proxy answer: an HTML page, not Kuzzle's JSON."""

    status: int
    retry_after: str | None
    body: str


@dataclass(frozen=True)
class Effects:
    """What to do around the answer of one API request."""

    drop: tuple[int | None, str] | None = None  # (close code or None for an abort, reason)
    garbage: str | bytes | None = None
    delay: float = 0.0
    interleave_room: str | None = None  # a notification on this room goes first


class StubState:
    """Scripts, limits, documents and the request log of one stub."""

    def __init__(self, options: StubOptions) -> None:
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
        self.overload_left: float = 0  # math.inf: refuse until told otherwise
        self.interleave_room: str | None = None
        self.scripts: defaultdict[str, list[_Script]] = defaultdict(list)
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self._window = -1  # the rate limits' 1-second window, and its counts so far
        self._counts: dict[object, int] = {}  # keys: ("user", id), ("socket", n), ("login", n)
        self.logins = itertools.count(1)  # numbers the JWTs auth:login hands out

    # Scripting, called from the test's thread.

    def reset(self) -> None:
        """Forget every script, limit toggle and document (the request log is kept)."""
        with self.lock:
            self.shutting_down = False
            self.overload_left = 0
            self.interleave_room = None
            self.scripts.clear()
            self.documents.clear()

    def add_script(
        self, kind: str, controller: str | None, action: str | None, value: Any, times: int | None
    ) -> None:
        """Script ``kind`` for the requests matching; scripts of one kind apply in the order
        added, except that a ``respond`` replaces the one before.

        ``fail`` and ``respond`` scripts hold an :class:`Answer`, ``slow`` seconds (or a range),
        ``drop`` a ``(close code, reason)``, ``garbage`` a frame, ``proxy`` a :class:`ProxyError`.
        """
        with self.lock:
            scripts = self.scripts[kind]
            if kind == "respond":
                scripts[:] = [
                    s for s in scripts if (s.controller, s.action) != (controller, action)
                ]
            scripts.append(_Script(controller, action, times, value))

    def take(self, kind: str, controller: str | None, action: str | None) -> Any:
        """The value of the first script of ``kind`` matching, with one use consumed (a spent
        one goes); None when none matches."""
        with self.lock:
            scripts = self.scripts[kind]
            for index, script in enumerate(scripts):
                if script.controller in (None, controller) and script.action in (None, action):
                    if script.times is not None:
                        script.times -= 1
                        if script.times <= 0:
                            del scripts[index]
                    return script.value
        return None

    def record(self, entry: RecordedRequest) -> RecordedRequest:
        with self.lock:
            self.requests.append(entry)
        return entry

    # Checks, in Kuzzle's order, called from the event loop.

    def _hit(self, key: object) -> int:
        """Count a request in the current window; Kuzzle resets its rate counters with a
        1-second ``setInterval``, so the windows are fixed."""
        window = math.floor(self.clock())
        if window != self._window:
            self._window = window
            self._counts = {}
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key]

    def socket_allowed(self, socket_key: int) -> bool:
        """The per-socket WebSocket rate limit (counted before parsing, pings included)."""
        with self.lock:
            limit = self.ws_rate_limit
            return not limit or self._hit(("socket", socket_key)) <= limit

    def is_ready(self) -> bool:
        """Not while shutting down or overloaded (nor, the funnel knows, with requests waiting)."""
        with self.lock:
            return not (self.shutting_down or self.overload_left > 0)

    def throttle_error(self, transport: str) -> dict[str, Any] | None:
        """Refusals that happen before the request runs: shutdown, scripted overload."""
        with self.lock:
            if self.shutting_down:
                # HTTP skips the entry point, so it meets the funnel's own refusal.
                if transport == "http":
                    return make_error("api.process.shutting_down")
                return make_error("network.entrypoint.shutting_down")
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
                if limit and self._hit(("login", connection)) > limit:
                    return make_error("api.process.too_many_logins_requests")
                return None
            user = jwt or ANONYMOUS
            if user != ANONYMOUS and controller == "auth" and action == "logout":
                return None
            limit = self.rate_limit
            if limit and self._hit(("user", user)) > limit:
                return make_error("api.process.too_many_requests")
        return None

    def effects(self, controller: str | None, action: str | None) -> Effects:
        """What the scripts do around this request's answer."""
        seconds = self.take("slow", controller, action) or 0.0
        return Effects(
            drop=self.take("drop", controller, action),
            garbage=self.take("garbage", controller, action),
            delay=random.uniform(*seconds) if isinstance(seconds, tuple) else float(seconds),
            interleave_room=self.interleave_room,
        )

    def answer(
        self,
        request: Mapping[str, Any],
        request_id: str,
        controller: str | None,
        action: str | None,
    ) -> dict[str, Any]:
        """The response envelope for an accepted API request: a scripted failure, else a
        scripted result, else the built-in action."""
        with self.lock:
            answer: Answer | None = self.take("fail", controller, action)
            if answer is None:
                answer = self.take("respond", controller, action)
            if answer is None:
                answer = builtin_answer(self, request, controller, action)
            return self.envelope(request, request_id, error=answer.error, result=answer.result)

    def envelope(
        self,
        request: Mapping[str, Any],
        request_id: str,
        *,
        error: Mapping[str, Any] | None = None,
        result: Any = None,
    ) -> dict[str, Any]:
        """An envelope echoing the request's context, as Kuzzle's ``RequestResponse`` does."""
        volatile = request.get("volatile")
        envelope = make_response(
            error=error,
            result=result,
            request_id=request_id,
            controller=str_or_none(request.get("controller")),
            action=str_or_none(request.get("action")),
            index=str_or_none(request.get("index")),
            collection=str_or_none(request.get("collection")),
            volatile=volatile if isinstance(volatile, Mapping) else None,
            node=self.node,
        )
        if self.version == 1:
            # Kuzzle 1's RequestResponse had neither "node" nor "headers".
            del envelope["node"], envelope["headers"]
        return envelope
