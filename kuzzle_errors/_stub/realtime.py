"""The stub's realtime engine: rooms, channels and notifications as Kuzzle 2.56.0 sends them
(``lib/core/realtime/``: hotelClerk, channel, notifier), with filters in Koncorde's DSL.

A room is one (index, collection, filter); its id is a hash of them (64 hex digits, like
Koncorde's), and each subscription joins a channel of the room named after it plus three
digits for ``users``, ``propagate`` and ``scope`` (``Channel.hash``). Filters are checked with
Koncorde's messages (``koncorde/lib/transform/standardize.js``); the stub evaluates every
keyword but the geospatial ones and ``select``, refused with a 500 that says so.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from kuzzle_errors._stub.request import Call, KuzzleFailure, failure
from kuzzle_errors._stub.storage import COMPARISONS, values_at

SERVER_CHANNEL: Final = "kuzzle:notification:server"
_USERS_AND_SCOPES: Final = ("all", "in", "out", "none")
_KEYWORDS: Final = frozenset(
    {
        "and",
        "bool",
        "equals",
        "exists",
        "geoBoundingBox",
        "geoDistance",
        "geoDistanceRange",
        "geoPolygon",
        "ids",
        "in",
        "match",
        "missing",
        "not",
        "nothing",
        "or",
        "select",
        "range",
        "regexp",
    }
)
_UNEVALUATED: Final = frozenset(
    {"geoBoundingBox", "geoDistance", "geoDistanceRange", "geoPolygon", "select"}
)

Test = Callable[[str | None, dict[str, Any]], bool]


class _ParseError(Exception):
    """Koncorde's KoncordeParseError: ``"path": message`` (or the message alone)."""

    def __init__(self, message: str, path: str | None) -> None:
        super().__init__(f'"{path}": {message}' if path else message)


def _add(path: str | None, leaf: str) -> str:
    return leaf if path is None else f"{path}.{leaf}"


def _is_object(
    container: dict[str, Any],
    key: str,
    path: str | None,
    *,
    properties: int = 0,
    non_empty: bool = False,
    required: tuple[str, ...] = (),
    allowed: tuple[str, ...] = (),
) -> dict[str, Any]:
    value = container.get(key)
    if not isinstance(value, dict):
        raise _ParseError("must be an object", path)
    if non_empty and not value:
        raise _ParseError("must be a non-empty object", path)
    if properties and len(value) != properties:
        plural = "ies" if properties > 1 else "y"
        raise _ParseError(
            f"expected object to have exactly {properties} propert{plural}, got {len(value)}",
            path,
        )
    for name in required:
        if name not in value:
            raise _ParseError(f'the property "{name}" is missing', path)
    if allowed:
        for name in value:
            if name not in allowed:
                raise _ParseError(
                    f'"{name}" is not an allowed attribute (allowed: {",".join(allowed)})', path
                )
    return value


def _is_array(
    container: dict[str, Any],
    key: str,
    path: str | None,
    *,
    non_empty: bool = False,
    item_type: type | None = None,
) -> list[Any]:
    value = container.get(key)
    if not isinstance(value, list):
        raise _ParseError("must be an array", path)
    if non_empty and not value:
        raise _ParseError("cannot be empty", path)
    if item_type is not None and not all(
        isinstance(item, item_type) and not isinstance(item, bool) for item in value
    ):
        raise _ParseError(
            f'must hold only values of type "{item_type.__name__.replace("str", "string")}"', path
        )
    return value


def _is_string(container: dict[str, Any], key: str, path: str | None) -> str:
    value = container.get(key)
    if not isinstance(value, str):
        raise _ParseError("must be a string", path)
    if not value:
        raise _ParseError("cannot be empty", path)
    return value


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compile_filter(filters: object, path: str | None = None) -> Test:
    """A test of ``(_id, _source)`` for a Koncorde filter; :class:`_ParseError` with
    Koncorde's message for an invalid one."""
    keys = (
        list(filters)
        if isinstance(filters, dict)
        else ([str(i) for i in range(len(filters))] if isinstance(filters, list) else [])
    )
    if not keys:
        return lambda _id, _source: True
    if len(keys) > 1:
        raise _ParseError("Invalid filter syntax. Filters must have one keyword only", path)
    keyword = keys[0]
    if keyword not in _KEYWORDS:
        raise _ParseError("unknown keyword", _add(path, keyword))
    assert isinstance(filters, dict)
    return _COMPILE[keyword](filters, _add(path, keyword))


def _equals(f: dict[str, Any], path: str) -> Test:
    spec = _is_object(f, "equals", path, properties=1)
    ((name, wanted),) = spec.items()
    if isinstance(wanted, (dict, list)):
        raise _ParseError("must either be a string, a number, a boolean, or null", _add(path, name))
    return _field_test(
        name,
        lambda value: (
            (value == wanted and type(value) is type(wanted))
            or (_number(value) and _number(wanted) and value == wanted)
        ),
    )


def _field_test(name: str, check: Callable[[Any], bool]) -> Test:
    if name == "_id":
        return lambda _id, _source: _id is not None and check(_id)
    return lambda _id, source: any(check(v) for v in _values(source, name))


def _values(source: dict[str, Any], name: str) -> list[Any]:
    found = values_at(source, name)
    return found


def _exists(f: dict[str, Any], path: str, name: str = "exists") -> Test:
    spec = f.get(name)
    if isinstance(spec, str):
        if not spec:
            raise _ParseError("cannot test empty field name", path)
        field_name = spec
    else:
        body = _is_object(f, name, path, properties=1, required=("field",))
        field_name = _is_string(body, "field", _add(path, "field"))
    array = re.match(r"^(.*?[^\\])\[(.*)]$", field_name)
    if array is not None:
        try:
            member = json.loads(array.group(2))
        except ValueError:
            raise _ParseError(
                f'contains an invalid array value ("{array.group(2)}")', path
            ) from None
        list_name = array.group(1)
        return lambda _id, source: any(
            isinstance(v, list) and member in v for v in _raw_values(source, list_name)
        )
    return lambda _id, source: source is not None and bool(_raw_values(source, field_name))


def _raw_values(source: dict[str, Any], name: str) -> list[Any]:
    current: Any = source
    for part in name.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return []
    return [] if current is None else [current]


def _missing(f: dict[str, Any], path: str) -> Test:
    exists = _exists(f, path, "missing")
    return lambda _id, source: not exists(_id, source)


def _ids(f: dict[str, Any], path: str) -> Test:
    spec = _is_object(f, "ids", path, properties=1, required=("values",))
    values = _is_array(spec, "values", _add(path, "values"), non_empty=True, item_type=str)
    return lambda _id, _source: _id in values


def _in(f: dict[str, Any], path: str) -> Test:
    spec = _is_object(f, "in", path, properties=1)
    ((name, _),) = spec.items()
    values = _is_array(spec, name, _add(path, name), non_empty=True, item_type=str)
    return _field_test(name, lambda value: value in values)


def _range(f: dict[str, Any], path: str) -> Test:
    spec = _is_object(f, "range", path, properties=1)
    ((name, _),) = spec.items()
    bounds = _is_object(
        spec, name, _add(path, name), non_empty=True, allowed=("gt", "gte", "lt", "lte")
    )
    field_path = f"{path}.{name}"
    low = high = None
    for op, bound in bounds.items():
        if not _number(bound):
            raise _ParseError("must be a number", _add(field_path, op))
        if op in ("lt", "lte"):
            if high is not None:
                raise _ParseError("only 1 upper boundary allowed", field_path)
            high = bound
        else:
            if low is not None:
                raise _ParseError("only 1 lower boundary allowed", field_path)
            low = bound
    if high is not None and low is not None and high <= low:
        raise _ParseError("lower boundary must be strictly inferior to the upper one", field_path)

    def within(value: Any) -> bool:
        return _number(value) and all(COMPARISONS[op](value, b) for op, b in bounds.items())

    return _field_test(name, within)


def _regexp(f: dict[str, Any], path: str) -> Test:
    spec = _is_object(f, "regexp", path, properties=1)
    ((name, value),) = spec.items()
    flags = ""
    if isinstance(value, dict):
        body = _is_object(
            spec,
            name,
            _add(path, name),
            non_empty=True,
            required=("value",),
            allowed=("flags", "value"),
        )
        value = body["value"]
        if body.get("flags"):
            flags = _is_string(body, "flags", _add(_add(path, name), "flags"))
    elif not isinstance(value, str):
        raise _ParseError("must be either a string or a non-empty object", _add(path, name))
    re_flags = (
        (re.I if "i" in flags else 0)
        | (re.M if "m" in flags else 0)
        | (re.S if "s" in flags else 0)
    )
    try:
        pattern = re.compile(str(value), re_flags)
    except (re.error, OverflowError) as exc:
        raise _ParseError(
            f'cannot parse regexp expression "/{value}/{flags or "undefined"}" ({exc})',
            _add(path, name),
        ) from None
    return _field_test(name, lambda v: isinstance(v, str) and pattern.search(v) is not None)


def _match(f: dict[str, Any], path: str) -> Test:
    spec = _is_object(f, "match", path, non_empty=True)
    return lambda _id, source: _contains(source, spec)


def _contains(source: object, wanted: object) -> bool:
    if isinstance(wanted, dict):
        return isinstance(source, dict) and all(
            k in source and _contains(source[k], v) for k, v in wanted.items()
        )
    if isinstance(wanted, list):
        return isinstance(source, list) and all(
            any(_contains(s, w) for s in source) for w in wanted
        )
    return source == wanted


def _array(f: dict[str, Any], key: str, path: str) -> list[Test]:
    items = _is_array(f, key, path, non_empty=True)
    if any(not isinstance(item, dict) or not item for item in items):
        raise _ParseError("can only contain non-empty objects", path)
    parent = path.rsplit(".", 1)[0] if "." in path else None
    return [compile_filter(item, parent) for item in items]


def _and(f: dict[str, Any], path: str) -> Test:
    tests = _array(f, "and", path)
    return lambda _id, source: all(t(_id, source) for t in tests)


def _or(f: dict[str, Any], path: str) -> Test:
    tests = _array(f, "or", path)
    return lambda _id, source: any(t(_id, source) for t in tests)


def _not(f: dict[str, Any], path: str) -> Test:
    _is_object(f, "not", path, properties=1)
    parent = path.rsplit(".", 1)[0] if "." in path else None
    test = compile_filter(f["not"], parent)
    return lambda _id, source: not test(_id, source)


def _bool(f: dict[str, Any], path: str) -> Test:
    spec = _is_object(
        f, "bool", path, non_empty=True, allowed=("must", "must_not", "should", "should_not")
    )
    parent = path.rsplit(".", 1)[0] if "." in path else None

    def group(key: str) -> list[Test]:
        items = spec.get(key) or []
        return [
            compile_filter(item, parent) for item in (items if isinstance(items, list) else [items])
        ]

    must, must_not, should, should_not = (
        group(k) for k in ("must", "must_not", "should", "should_not")
    )

    def test(_id: str | None, source: dict[str, Any]) -> bool:
        return (
            all(t(_id, source) for t in must)
            and not any(t(_id, source) for t in must_not)
            and (not should or any(t(_id, source) for t in should))
            and (not should_not or not all(t(_id, source) for t in should_not))
        )

    return test


def _unevaluated(keyword: str) -> Callable[[dict[str, Any], str], Test]:
    def check(f: dict[str, Any], path: str) -> Test:
        spec = f.get(keyword)
        if keyword == "geoDistance":
            spec = _is_object(f, keyword, path, properties=2, required=("distance",))
            _is_string(spec, "distance", _add(path, "distance"))
            point = next(k for k in spec if k != "distance")
            if not _geopoint(spec[point]):
                raise _ParseError("unrecognized point format", _add(path, point))
        elif not isinstance(spec, dict):
            raise _ParseError("must be an object", path)
        raise KuzzleFailure(
            failure(
                "core.fatal.unexpected_error",
                f'the Kuzzle stub does not evaluate the "{keyword}" filter',
            ).error
        )

    return check


def _geopoint(point: object) -> bool:
    if isinstance(point, str):
        return bool(re.fullmatch(r"\s*-?[\d.]+\s*,\s*-?[\d.]+\s*|[0-9a-z]{4,}", point))
    if isinstance(point, list):
        return len(point) == 2 and all(_number(p) for p in point)
    if isinstance(point, dict):
        keys = {k.lower().replace("_", "") for k in point}
        return {"lat", "lon"} <= keys or "latlon" in keys
    return False


_COMPILE: Final[dict[str, Callable[[dict[str, Any], str], Test]]] = {
    "and": _and,
    "bool": _bool,
    "equals": _equals,
    "exists": _exists,
    "ids": _ids,
    "in": _in,
    "match": _match,
    "missing": _missing,
    "not": _not,
    "nothing": lambda f, path: lambda _id, _source: False,
    "or": _or,
    "range": _range,
    "regexp": _regexp,
    **{keyword: _unevaluated(keyword) for keyword in _UNEVALUATED},
}


def channel_name(room_id: str, users: str, scope: str) -> str:
    """Kuzzle's ``Channel.hash``: users (1 all, 2 in, 3 out or none), propagate (always 1
    here), scope (1 all, 2 in, 3 out, nothing for none)."""
    digits = {"all": "1", "in": "2", "out": "3", "none": "3"}[users] + "1"
    digits += {"all": "1", "in": "2", "out": "3", "none": ""}[scope]
    return f"{room_id}-{digits}"


def _channel_options(call: Call) -> tuple[str, str]:
    """A subscription's ``users`` (default none) and ``scope`` (default all), checked as
    Kuzzle's Channel constructor does."""
    scope = call.payload.get("scope", "all")
    users = call.payload.get("users", "none")
    if scope not in _USERS_AND_SCOPES:
        raise failure("core.realtime.invalid_scope")
    if users not in _USERS_AND_SCOPES:
        raise failure("core.realtime.invalid_users")
    return users, scope


@dataclass(frozen=True)
class Change:
    """What a write did to one document: its id, its source before (None: it did not exist)
    and after (None: deleted), and the notification's ``event``."""

    doc_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    event: str = "write"


@dataclass
class Room:
    id: str
    index: str
    collection: str
    test: Test
    channels: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: (users, scope)
    members: dict[str, set[str]] = field(default_factory=dict)  # connection: channel names


def _now() -> int:
    return int(time.time() * 1000)


class Realtime:
    """Every room of one stub and who listens to them."""

    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        self.volatiles: dict[str, dict[str, Any]] = {}  # connection: {room id: volatile}
        #: Sends one frame to one connection (set by the WebSocket side).
        self.send: Callable[[str, dict[str, Any]], None] = lambda connection, frame: None

    def clear(self) -> None:
        self.rooms.clear()
        self.volatiles.clear()

    def collections(self, index: str) -> list[str]:
        return sorted({room.collection for room in self.rooms.values() if room.index == index})

    # Subscriptions.

    def subscribe(self, call: Call) -> dict[str, str]:
        index, collection = call.get_index_and_collection()
        body = call.get_body()
        try:
            test = compile_filter(body)
        except _ParseError as exc:
            raise failure("api.assert.koncorde_dsl_error", str(exc)) from None
        users, scope = _channel_options(call)
        canonical = json.dumps([index, collection, body or {}], sort_keys=True, default=str)
        room_id = hashlib.sha256(canonical.encode()).hexdigest()
        room = self.rooms.setdefault(room_id, Room(room_id, index, collection, test))
        return {"channel": self._join(room, call, users, scope), "roomId": room_id}

    def join(self, call: Call) -> dict[str, str]:
        room_id = call.get_body_string("roomId")
        room = self.rooms.get(room_id)
        if room is None:
            raise failure("core.realtime.room_not_found", room_id)
        users, scope = _channel_options(call)
        return {"channel": self._join(room, call, users, scope), "roomId": room_id}

    def _join(self, room: Room, call: Call, users: str, scope: str) -> str:
        # Kuzzle picks the channels to tell before this subscription's own channel exists,
        # and sends once the new subscriber has joined: it hears of itself only on a channel
        # that was already there.
        told = dict(room.channels)
        name = channel_name(room.id, users, scope)
        room.channels[name] = (users, scope)
        connection = call.connection
        first = connection not in room.members
        room.members.setdefault(connection, set()).add(name)
        if first:
            self.volatiles.setdefault(connection, {})[room.id] = copy.deepcopy(call.volatile)
            self._notify_users(room, call.payload, "in", call.protocol, call.volatile, told)
        return name

    def unsubscribe(self, connection: str, room_id: str, *, notify: bool = True) -> None:
        rooms = self.volatiles.get(connection)
        if rooms is None or room_id not in rooms:
            raise failure("core.realtime.not_subscribed", connection, room_id)
        volatile = rooms.pop(room_id)
        if not rooms:
            del self.volatiles[connection]
        room = self.rooms.get(room_id)
        if room is None:
            raise failure("core.realtime.room_not_found", room_id)
        room.members.pop(connection, None)
        if not room.members:
            del self.rooms[room_id]
            return
        if notify:
            request = {
                "index": room.index,
                "collection": room.collection,
                "controller": "realtime",
                "action": "unsubscribe",
            }
            self._notify_users(room, request, "out", None, volatile, room.channels)

    def remove_connection(self, connection: str, *, notify: bool = True) -> None:
        for room_id in list(self.volatiles.get(connection, {})):
            self.unsubscribe(connection, room_id, notify=notify)

    def count(self, room_id: str) -> int:
        room = self.rooms.get(room_id)
        return len(room.members) if room else 0

    def listing(self, allowed: Callable[[str, str], bool]) -> dict[str, dict[str, dict[str, int]]]:
        out: dict[str, dict[str, dict[str, int]]] = {}
        for room in self.rooms.values():
            if allowed(room.index, room.collection):
                out.setdefault(room.index, {}).setdefault(room.collection, {})[room.id] = len(
                    room.members
                )
        return out

    # Notifications.

    def _notify_users(
        self,
        room: Room,
        request: dict[str, Any],
        user: str,
        protocol: str | None,
        volatile: dict[str, Any] | None,
        channels: dict[str, tuple[str, str]],
    ) -> None:
        base: dict[str, Any] = {
            "type": "user",
            "status": 200,
            "user": user,
            "result": {"count": len(room.members)},
            "timestamp": _now(),
            "volatile": copy.deepcopy(volatile),
        }
        for key in ("index", "collection"):
            if isinstance(request.get(key), str):
                base[key] = request[key]
        base |= {"controller": "realtime", "action": request.get("action"), "protocol": protocol}
        for name, (users, _scope) in channels.items():
            if users in ("all", user):
                self._deliver(room, name, base)

    def _deliver(self, room: Room, name: str, frame: dict[str, Any]) -> None:
        for connection, channels in list(room.members.items()):
            if name in channels:
                self.send(connection, {**frame, "room": name})

    def notify_document(
        self, call: Call, action: str, result: dict[str, Any], change: Change
    ) -> None:
        """Notify the rooms of the request's collection the document entered (``after``
        matches), or left (``before`` matched, ``after`` does not, or it was deleted)."""
        before, after, doc_id, event = change.before, change.after, change.doc_id, change.event
        index, collection = call.payload.get("index"), call.payload.get("collection")
        frame: dict[str, Any] = {
            "type": "document",
            "status": 200,
            "action": action,
            "scope": "in",
            "result": result,
            "event": event,
            "requestId": call.request_id,
            "timestamp": _now(),
            "volatile": copy.deepcopy(call.volatile),
            "index": index,
            "collection": collection,
            "controller": call.controller,
            "protocol": call.protocol,
        }
        for room in list(self.rooms.values()):
            if (room.index, room.collection) != (index, collection):
                continue
            now_in = after is not None and room.test(doc_id, after)
            was_in = before is not None and room.test(doc_id, before)
            if now_in:
                scope = "in"
            elif was_in:
                scope = "out"
            else:
                continue
            for name, (_users, channel_scope) in room.channels.items():
                if channel_scope in ("all", scope):
                    self._deliver(room, name, {**frame, "scope": scope})

    def forget(self) -> None:
        """Drop every subscription without a word (a node shutting down)."""
        self.clear()
