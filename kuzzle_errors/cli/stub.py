"""``kuzzle-errors stub``: the options that give the served stub Kuzzle's failure modes.

The limits are :class:`~kuzzle_errors.testing.StubKuzzle`'s constructor arguments; overload,
shutdown, slow and failing actions are the scripts its methods set. A JavaScript SDK or curl
user plays them from the command line as a Python test does from code. Only the standard
library is imported here; the stub itself is loaded when the command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kuzzle_errors.testing import StubKuzzle

__all__ = ["add_arguments", "setup", "stub_options"]

_ANY = "*"


def _whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``low`` (and at most ``high``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"a whole number expected, got {text!r}") from None
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"between {low} and {high} expected, got {text!r}")
        if value < low:
            raise argparse.ArgumentTypeError(f"a number >= {low} expected, got {text!r}")
        return value

    return parse


def _rule(text: str) -> tuple[str | None, str | None, str]:
    """``CONTROLLER:ACTION:VALUE`` (``*`` matches any controller or action)."""
    parts = text.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError(f"CONTROLLER:ACTION:VALUE expected, got {text!r}")
    controller, action, value = parts
    return (None if controller == _ANY else controller, None if action == _ANY else action, value)


def _slow_rule(text: str) -> tuple[str | None, str | None, float]:
    controller, action, value = _rule(text)
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"seconds between 0 and 3600 expected, got {value!r}")
    return controller, action, seconds


def _fail_rule(text: str) -> tuple[str | None, str | None, str]:
    controller, action, error_id = _rule(text)
    from kuzzle_errors import catalog

    if catalog.by_id(error_id) is None:
        raise argparse.ArgumentTypeError(
            f"unknown Kuzzle error id {error_id!r} (kuzzle-errors list shows them)"
        )
    return controller, action, error_id


# StubKuzzle's limits: (its argument, its least value, what it plays). The help shows the text
# with the metavar, the banner with the value given.
_LIMITS = (
    ("rate_limit", 0, "{} request(s)/s per user, then 429 api.process.too_many_requests"),
    (
        "ws_rate_limit",
        0,
        "{} message(s)/s per WebSocket, then 429 network.websocket.ratelimit_exceeded",
    ),
    ("logins_per_second", 0, "{} login(s)/s per connection, then 429 too_many_logins_requests"),
    ("documents_write_count", 0, "m* writes of over {} documents get 413 write_limit_exceeded"),
    ("documents_fetch_count", 0, "reads of over {} documents get 413 get_limit_exceeded"),
    ("concurrent_requests", 1, "{} requests at once, the next ones wait for a slot"),
    ("requests_buffer_size", 0, "{} requests may wait, then 503 api.process.overloaded"),
    ("max_request_size", 1, "requests over {} bytes get 413 network.http.request_too_large"),
)
_OFF_AT_ZERO = frozenset({"rate_limit", "ws_rate_limit", "logins_per_second"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``stub`` command's options."""
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    parser.add_argument(
        "--port", type=_whole(0, 65535), default=7512, help="default: 7512, Kuzzle's port"
    )
    kuzzle = parser.add_argument_group("the Kuzzle node served")
    kuzzle.add_argument(
        "--version",
        type=int,
        choices=(1, 2),
        default=2,
        metavar="1|2",
        help="answer as Kuzzle 2.x (default) or 1.x (partial mCreate failures are a 206)",
    )
    kuzzle.add_argument("--node", help="the node id sent in answers and X-Kuzzle-Node")
    kuzzle.add_argument(
        "--open",
        action="store_true",
        help="no security: every login succeeds, tokens are not checked, no rights (by "
        "default tokens and rights are checked as Kuzzle does)",
    )
    limits = parser.add_argument_group(
        "limits (Kuzzle's configuration; a rate limit of 0 is off)",
        "By default Kuzzle 2.56's: 100 concurrent requests (limits.concurrentRequests), 50000 "
        "waiting (requestsBufferSize), 1 login/s per connection (loginsPerSecond), 200 "
        "documents written and 10000 read per request (documentsWriteCount, "
        "documentsFetchCount), requests up to 1048576 bytes (server.maxRequestSize), the "
        "per-user limits of the profiles' rateLimit.",
    )
    for name, low, text in _LIMITS:
        metavar = "BYTES" if name == "max_request_size" else "N"
        option = "--" + name.replace("_", "-")
        limits.add_argument(option, type=_whole(low), metavar=metavar, help=text.format(metavar))
    scripts = parser.add_argument_group(
        "scripted failures (CONTROLLER and ACTION may be '*' for any)"
    )
    scripts.add_argument(
        "--overload",
        nargs="?",
        type=_whole(1),
        const=0,  # no N: every request (an N given is >= 1)
        metavar="N",
        help="refuse the first N API requests (all, without N) with 503 api.process.overloaded;"
        " GET /_ready answers 503 meanwhile",
    )
    scripts.add_argument(
        "--shutdown",
        action="store_true",
        help="act as a node draining requests before it shuts down: every request gets a 503",
    )
    scripts.add_argument(
        "--slow",
        type=_slow_rule,
        action="append",
        default=[],
        metavar="CONTROLLER:ACTION:SECONDS",
        help="delay these answers (a slow request holds its concurrency slot); repeatable",
    )
    scripts.add_argument(
        "--fail",
        type=_fail_rule,
        action="append",
        default=[],
        metavar="CONTROLLER:ACTION:ERROR_ID",
        help="answer these requests with that Kuzzle error; repeatable",
    )


def stub_options(args: argparse.Namespace) -> dict[str, Any]:
    """:class:`StubKuzzle`'s keyword arguments the command line set."""
    options: dict[str, Any] = {"version": args.version}
    if args.node:
        options["node"] = args.node
    if args.open:
        options["security"] = False
    for name, _low, _text in _LIMITS:
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    return options


def _target(controller: str | None, action: str | None) -> str:
    return f"{controller or _ANY}:{action or _ANY}"


def setup(args: argparse.Namespace) -> Callable[[StubKuzzle], list[str]]:
    """Scripts the stub before it serves; returns what the banner says it plays."""

    def script(stub: StubKuzzle) -> list[str]:
        notes = [f"answers as Kuzzle {args.version}.x"] if args.version != 2 else []
        for name, _low, text in _LIMITS:
            value = getattr(args, name)
            if value or (value == 0 and name not in _OFF_AT_ZERO):
                notes.append(text.format(value))
        if args.overload is not None:
            times = args.overload or None
            stub.overload(times)
            count = "every API request" if times is None else f"the first {times} API request(s)"
            notes.append(f"{count}: 503 api.process.overloaded")
        if args.open:
            notes.append("open: no token or rights checked, every login succeeds")
        if args.shutdown:
            stub.shutdown(halt=False)  # a node that halted would serve nothing
            notes.append("shutting down: every request gets a 503 (shutting_down)")
        for controller, action, seconds in args.slow:
            stub.slow(controller, action, seconds)
            notes.append(f"{_target(controller, action)} answers after {seconds:g} s")
        for controller, action, error_id in args.fail:
            stub.fail(controller, action, error_id)
            notes.append(f"{_target(controller, action)} fails with {error_id}")
        return notes

    return script
