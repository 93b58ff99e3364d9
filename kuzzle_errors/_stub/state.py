"""The state of :class:`kuzzle_errors.testing.StubKuzzle`: the node (limits, storage, security,
realtime), the scripts and the request log.

Tests mutate this state from their own thread while the server's event loop reads it, so
every access goes through one lock. Nothing here does I/O: the server (``_stub.server``)
asks this module what to answer and then does the waiting, writing and dropping.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from kuzzle_errors._stub import actions
from kuzzle_errors._stub.payloads import STUB_NODE, make_error, make_response, str_or_none
from kuzzle_errors._stub.realtime import Realtime
from kuzzle_errors._stub.request import Call, KuzzleFailure, failure
from kuzzle_errors._stub.security import ANONYMOUS, DEFAULT_TTL_MS, Security, duration_ms
from kuzzle_errors._stub.storage import Storage

if TYPE_CHECKING:
    from kuzzle_errors.testing import StubOptions

_log = logging.getLogger("kuzzle_errors.testing")

#: Kuzzle's defaults (``lib/config/default.config.ts``), under the stub's option names.
DEFAULTS: Final[dict[str, Any]] = {
    "version": 2,
    "max_request_size": 1024 * 1024,  # server.maxRequestSize "1mb"
    "concurrent_requests": 100,  # limits.concurrentRequests
    "requests_buffer_size": 50_000,  # limits.requestsBufferSize
    "documents_write_count": 200,  # limits.documentsWriteCount
    "documents_fetch_count": 10_000,  # limits.documentsFetchCount
    "logins_per_second": 1,  # limits.loginsPerSecond
    "rate_limit": None,  # one rateLimit for every profile (None: the profiles' own)
    "ws_rate_limit": None,  # server.protocols.websocket.rateLimit (0 or None: off)
    "security": True,
    "token_ttl": DEFAULT_TTL_MS / 1000,  # security.authToken.expiresIn "1h", in seconds
}
#: Kuzzle's configuration names (a ``.kuzzlerc`` path) of the limits.
KUZZLE_NAMES: Final[dict[str, str]] = {
    "limits.concurrentRequests": "concurrent_requests",
    "limits.requestsBufferSize": "requests_buffer_size",
    "limits.documentsWriteCount": "documents_write_count",
    "limits.documentsFetchCount": "documents_fetch_count",
    "limits.loginsPerSecond": "logins_per_second",
    "server.maxRequestSize": "max_request_size",
    "server.protocols.websocket.rateLimit": "ws_rate_limit",
    "security.authToken.expiresIn": "token_ttl",
    "security.jwt.expiresIn": "token_ttl",
}
_LEAST: Final = {
    "max_request_size": 1,
    "concurrent_requests": 1,
    "requests_buffer_size": 0,
    "documents_write_count": 0,
    "documents_fetch_count": 0,
    "logins_per_second": 0,
    "rate_limit": 0,
    "ws_rate_limit": 0,
}
_SIZE_UNITS: Final = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}


def _size(value: object) -> object:
    # Kuzzle's server.maxRequestSize: bytes, or a "1mb"-like text (the bytes package).
    if isinstance(value, str):
        text = value.strip().lower()
        for unit in ("kb", "mb", "gb", "tb", "b"):
            if text.endswith(unit) and text[: -len(unit)].strip().replace(".", "", 1).isdigit():
                return int(float(text[: -len(unit)]) * _SIZE_UNITS[unit])
        if text.isdigit():
            return int(text)
        raise ValueError(f"server.maxRequestSize: not a size: {value!r}")
    return value


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A ``.kuzzlerc``-shaped mapping as the stub's options (ValueError for a name the stub
    does not know)."""
    if not isinstance(config, Mapping):
        raise ValueError(f"config{'.' + prefix if prefix else ''}: a mapping expected")
    options: dict[str, Any] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if path in KUZZLE_NAMES:
            name = KUZZLE_NAMES[path]
            if name == "max_request_size":
                value = _size(value)
            elif name == "token_ttl":
                ms = duration_ms(value)
                if ms == 0:
                    raise ValueError(f"{path}: not a duration: {value!r}")
                value = None if ms == -1 else ms / 1000
            options[name] = value
        elif isinstance(value, Mapping) and any(k.startswith(path + ".") for k in KUZZLE_NAMES):
            options |= flatten_config(value, path + ".")
        else:
            known = ", ".join(sorted(KUZZLE_NAMES))
            raise ValueError(f"unknown Kuzzle configuration {path!r} (the stub knows: {known})")
    return options


def check_limits(options: Mapping[str, Any]) -> dict[str, Any]:
    """The limits given, checked (ValueError naming a wrong one)."""
    out = dict(options)
    if "config" in out:
        config = out.pop("config")
        out = {**flatten_config(config), **out}
    for name, value in out.items():
        if name == "version":
            if value not in (1, 2):
                raise ValueError(f"version: 1 or 2, not {value!r}")
        elif name == "security":
            if not isinstance(value, bool):
                raise ValueError(f"security: True or False, not {value!r}")
        elif name == "token_ttl":
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
            ):
                raise ValueError(f"token_ttl: seconds > 0 or None (no expiry), not {value!r}")
        elif name in _LEAST:
            optional = name in (
                "concurrent_requests",
                "rate_limit",
                "ws_rate_limit",
                "logins_per_second",
            )
            if value is None and optional:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < _LEAST[name]:
                raise ValueError(f"{name}: a whole number >= {_LEAST[name]}, not {value!r}")
    return out


@dataclass
class RecordedRequest:
    """One request the stub received (refused ones included).

    ``payload`` is the decoded Kuzzle request (None when it could not be decoded);
    ``status`` is the status answered, None while unanswered or when no answer was sent
    (a dropped connection).
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
class Drop:
    """A scripted drop: a close code (None: abort, no close frame) and reason; ``ran``: the
    request runs first, only its answer is lost."""

    code: int | None = None
    reason: str = ""
    ran: bool = False


@dataclass(frozen=True)
class Effects:
    """What to do around the answer of one API request."""

    drop: Drop | None = None
    garbage: str | bytes | None = None
    delay: float = 0.0
    interleave_room: str | None = None  # a notification on this room goes first


@dataclass(frozen=True)
class Answer:
    """What an action answers: a result, or an error (with a partial result, maybe);
    ``has_result`` False where Kuzzle's answer has no ``result`` key."""

    error: Mapping[str, Any] | None = None
    result: Any = None
    has_result: bool = True


class StubState:
    """The node, the scripts and the request log of one stub."""

    def __init__(self, options: StubOptions) -> None:
        self.lock: threading.RLock = threading.RLock()
        settings = {
            **DEFAULTS,
            **check_limits({k: v for k, v in options.items() if k not in ("node", "clock")}),
        }
        self.node: str | None = options.get("node", STUB_NODE)
        self.clock: Callable[[], float] = options.get("clock", time.monotonic)
        self.version: int = settings["version"]
        self.max_request_size: int = settings["max_request_size"]
        self.concurrent_requests: int | None = settings["concurrent_requests"]
        self.requests_buffer_size: int = settings["requests_buffer_size"]
        self.documents_write_count: int = settings["documents_write_count"]
        self.documents_fetch_count: int = settings["documents_fetch_count"]
        self.rate_limit: int | None = settings["rate_limit"]
        self.ws_rate_limit: int | None = settings["ws_rate_limit"]
        self.logins_per_second: int | None = settings["logins_per_second"]
        self.storage = Storage()
        self.security = Security(checked=settings["security"])
        self.token_ttl = settings["token_ttl"]
        self.realtime = Realtime()
        self.shutting_down: bool = False
        self.overload_left: float = 0  # math.inf: refuse until told otherwise
        self.interleave_room: str | None = None
        self.scripts: defaultdict[str, list[_Script]] = defaultdict(list)
        self.requests: list[RecordedRequest] = []
        self._window = -1  # the rate limits' 1-second window, and its counts so far
        self._counts: dict[object, int] = {}  # keys: ("user", id), ("socket", n), ("login", n)

    @property
    def token_ttl(self) -> float | None:
        ttl = self.security.ttl_ms
        return None if ttl == -1 else ttl / 1000

    @token_ttl.setter
    def token_ttl(self, seconds: float | None) -> None:
        self.security.ttl_ms = -1 if seconds is None else int(seconds * 1000)

    @property
    def security_checked(self) -> bool:
        return self.security.checked

    def configure(self, limits: Mapping[str, Any]) -> None:
        """Change limits (checked first, so a wrong one changes nothing)."""
        checked = check_limits(limits)
        with self.lock:
            for name, value in checked.items():
                if name == "security":
                    self.security.checked = value
                else:
                    setattr(self, name, value)

    # Scripting, called from the test's thread.

    def reset(self) -> None:
        """Forget every script, limit toggle, document, user and subscription (the request
        log is kept)."""
        with self.lock:
            self.shutting_down = False
            self.overload_left = 0
            self.interleave_room = None
            self.scripts.clear()
            self.storage.clear()
            self.security.reset()
            self.realtime.clear()

    def add_script(
        self, kind: str, controller: str | None, action: str | None, value: Any, times: int | None
    ) -> None:
        """Script ``kind`` for the requests matching; scripts of one kind apply in the order
        added, except that a ``respond`` replaces the one before.

        ``fail`` and ``respond`` scripts hold an :class:`Answer`, ``slow`` seconds (or a range),
        ``drop`` a :class:`Drop`, ``garbage`` a frame, ``proxy`` a :class:`ProxyError`.
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

    def socket_allowed(self, socket_key: object) -> bool:
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

    def check_rights(self, call: Call) -> None:
        """Kuzzle's ``funnel.checkRights``: the token, then whether its user may run the
        action (before Kuzzle looks for the controller: 403 rather than 404)."""
        with self.lock:
            jwt = call.payload.get("jwt")
            token = self.security.verify(jwt if isinstance(jwt, str) else None)
            if token is not None:
                call.kuid, call.jwt = token.kuid, token.jwt
            if call.protocol == "websocket":
                self.security.link(token, call.connection)
            controller, action = call.controller or "", call.action or ""
            index, collection = call.payload.get("index"), call.payload.get("collection")
            if not self.security.allowed(call.kuid, controller, action, index, collection):
                if call.kuid == ANONYMOUS:
                    raise failure("security.rights.unauthorized", controller, action, ANONYMOUS)
                raise failure("security.rights.forbidden", controller, action, call.kuid)

    def rate_error(self, call: Call) -> dict[str, Any] | None:
        """Kuzzle's rate limiter: logins per connection, other requests per user."""
        with self.lock:
            if call.controller == "auth" and call.action == "login":
                limit = self.logins_per_second
                if limit and self._hit(("login", call.connection)) > limit:
                    return make_error("api.process.too_many_logins_requests")
                return None
            if call.kuid != ANONYMOUS and call.controller == "auth" and call.action == "logout":
                return None
            limit = (
                self.rate_limit
                if self.rate_limit is not None
                else self.security.rate_limit(call.kuid)
            )
            if limit and self._hit(("user", call.kuid)) > limit:
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

    def run(self, call: Call) -> Answer:
        """A scripted failure, else a scripted result, else the action itself."""
        with self.lock:
            scripted: Answer | None = self.take("fail", call.controller, call.action)
            if scripted is None:
                scripted = self.take("respond", call.controller, call.action)
            if scripted is not None:
                return scripted
            try:
                result, has_result = actions.perform(self, call)
            except KuzzleFailure as refused:
                return Answer(refused.error, refused.result)
            except Exception as exc:  # a stub bug: answered as Kuzzle answers its own, and logged
                _log.error("Kuzzle stub: %s:%s failed", call.controller, call.action, exc_info=exc)
                error = make_error("core.fatal.unexpected_error", f"{type(exc).__name__}: {exc}")
                return Answer(error)
            return Answer(result=result, has_result=has_result)

    def envelope(
        self,
        request: Mapping[str, Any],
        request_id: object,
        answer: Answer | None = None,
        *,
        error: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An envelope echoing the request's context, as Kuzzle's ``RequestResponse`` does."""
        answer = answer if answer is not None else Answer(error)
        volatile = request.get("volatile")
        envelope = make_response(
            error=answer.error,
            result=answer.result,
            request_id=request_id if isinstance(request_id, str) else None,
            controller=str_or_none(request.get("controller")),
            action=str_or_none(request.get("action")),
            index=str_or_none(request.get("index")),
            collection=str_or_none(request.get("collection")),
            volatile=volatile if isinstance(volatile, Mapping) else None,
            node=self.node,
        )
        if not isinstance(request_id, str) and request_id is not None:
            envelope["requestId"] = request_id  # Kuzzle echoes a non-string id as it came
        if not answer.has_result:
            del envelope["result"]
        if self.node is None:
            del envelope["node"]  # as Kuzzle 2.56, which has no node id to send
        if self.version == 1:
            # Kuzzle 1's RequestResponse had neither "node" nor "headers".
            del envelope["node"], envelope["headers"]
        return envelope
