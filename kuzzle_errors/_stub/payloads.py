"""Kuzzle payloads as Kuzzle 2.x serializes them (errors, envelopes, notifications) and the
JSON they travel as.

Key order follows Kuzzle's ``toJSON`` so that byte-level comparisons with real captures hold.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

from kuzzle_errors import catalog

#: The node id the stub reports (Kuzzle node ids look like ``knode-<words>-<n>``).
STUB_NODE: Final = "knode-stub-1"

# Kuzzle appends this to every PluginImplementationError message.
_PLUGIN_SUFFIX: Final = (
    "\nThis is probably not a Kuzzle error, but a problem with a plugin implementation."
)
_JSON_SCALARS: Final = (str, int, float, bool, type(None), list, dict)
_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_SAFE_INTEGER: Final = 2**53 - 1

#: How deeply the stub decodes JSON; deeper requests are answered as undecodable.
MAX_DEPTH: Final = 200


def str_or_none(value: object) -> str | None:
    """``value`` if it is a string, else None: a request's fields may hold anything."""
    return value if isinstance(value, str) else None


def encode_json(data: object, pretty: bool = False) -> bytes:
    """JSON as Kuzzle's ``JSON.stringify`` writes it (compact, UTF-8).

    Like JavaScript: a non-finite number is ``null``, a lone surrogate (JSON can carry one,
    UTF-8 cannot) is written as its ``\\u`` escape, so any value decoded can be answered.
    """
    text = json.dumps(
        _finite(data),
        ensure_ascii=False,
        indent=2 if pretty else None,
        separators=None if pretty else (",", ":"),
    )
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode()


def _finite(data: object) -> object:
    # JSON.stringify writes NaN and the infinities as null; json.dumps would write "Infinity".
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(value) for value in data]
    return data


def _js_number(text: str) -> int | float:
    # JavaScript numbers are doubles: a long integer loses its last digits, as in Kuzzle.
    value = int(text)
    if abs(value) <= _SAFE_INTEGER:
        return value
    as_float = float(text)
    return int(as_float) if abs(as_float) < 1e21 else as_float


def _no_constant(name: str) -> object:
    # JSON.parse refuses NaN and Infinity; Python's decoder would take them.
    raise ValueError(f"Unexpected token {name[0]} in JSON")


def decode_json(data: bytes) -> object:
    """Decode JSON bytes as Kuzzle's ``JSON.parse`` does; ValueError for what it refuses.

    Invalid UTF-8 becomes U+FFFD (as Node's ``Buffer.toString``), long integers become doubles,
    ``NaN``/``Infinity`` are refused. Nesting deeper than :data:`MAX_DEPTH` levels is refused
    too: Python's decoder recurses where V8's does not, and the stub must answer every
    request it decodes.
    """
    try:
        value = json.loads(
            data.decode("utf-8", "replace"), parse_int=_js_number, parse_constant=_no_constant
        )
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    if _depth(value) > MAX_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


def _depth(value: object) -> int:
    """How deeply ``value`` nests (0 for a scalar), without recursing."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:
            stack.extend((child, level + 1) for child in children)
    return deepest


def decode_json_or_none(data: bytes) -> object:
    """Decode JSON bytes; None when they are not JSON."""
    try:
        return decode_json(data)
    except ValueError:
        return None


def _prop(value: object) -> object:
    # Kuzzle exposes placeholders as-is; anything JSON cannot carry becomes its text.
    return value if isinstance(value, _JSON_SCALARS) else str(value)


def make_error(
    error_id: str, *args: object, stack: str | None = None, version: int = 2, **fields: Any
) -> dict[str, Any]:
    """A Kuzzle error object, as Kuzzle serializes it.

    The message is the catalogue template filled with ``args`` (Node's ``util.format``);
    ``props`` are the ``args``. ``stack`` is included only when given (Kuzzle sends it only
    in development mode). For PartialError and MultipleErrorsError ids, ``errors`` (default
    ``[]``) and ``count`` (default ``len(errors)``) are added. Other ``fields`` override or
    extend the object (``message=``, ``status=``, ``code=``...). An id outside the catalogue
    (application or plugin errors) needs an explicit ``status=``. ``version=1`` gives the
    Kuzzle v1 shape (no ``props``).

    >>> make_error("api.process.overloaded")["status"]
    503
    >>> make_error("services.storage.not_found", "d1", "i", "c")["message"]
    'Document "d1" not found in "i":"c".'
    """
    spec = (catalog.get(error_id, version=1) if version == 1 else None) or catalog.get(error_id)
    if spec is None and "status" not in fields:
        raise ValueError(
            f"unknown Kuzzle error id {error_id!r}: pass status= (and message=, code=) "
            "to build an application or plugin error"
        )
    class_name = spec.class_name if spec is not None else ""
    if "message" in fields:
        message = str(fields.pop("message"))
    elif spec is not None:
        message = spec.format(*args)
        if class_name == "PluginImplementationError":
            message += _PLUGIN_SUFFIX
    else:
        message = error_id
    status = fields.pop("status", spec.status if spec is not None else None)
    code = fields.pop("code", spec.code if spec is not None else 0)
    errors = fields.pop("errors", None)
    count = fields.pop("count", None)
    partial = class_name in ("PartialError", "MultipleErrorsError") or errors is not None
    items = list(errors) if errors is not None else []
    count = len(items) if count is None else count

    if version == 1:
        out: dict[str, Any] = {"message": message, "status": status, "stack": stack}
        out |= {"id": error_id, "code": code}
    else:
        out = {"code": code, "id": error_id, "message": message}
        out |= {"props": [_prop(arg) for arg in args], "stack": stack, "status": status}
    if stack is None:
        del out["stack"]
    if partial:
        # PartialError serializes errors then count; MultipleErrorsError count then errors.
        if class_name == "MultipleErrorsError":
            out["count"] = count  # first: setting it again below keeps its place
        out["errors"] = items
        out["count"] = count
    out.update(fields)
    return out


def make_response(
    *,
    error: Mapping[str, Any] | str | None = None,
    result: Any = None,
    status: int | None = None,
    request_id: str | None = None,
    controller: str | None = None,
    action: str | None = None,
    index: str | None = None,
    collection: str | None = None,
    volatile: Mapping[str, Any] | None = None,
    node: str | None = STUB_NODE,
    room: str | None = None,
    headers: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Kuzzle response envelope (``RequestResponse.toJSON().content``).

    ``error`` is an error object (see :func:`make_error`) or just an error id. ``status``
    defaults to the error's status, else 200. ``request_id`` defaults to a fresh UUID.
    ``index``/``collection`` are omitted when None (as Kuzzle does); ``room`` is added only
    when given (WebSocket answers carry ``room`` = the request id).

    >>> sorted(make_response(result={"a": 1}, request_id="r1"))  # doctest: +NORMALIZE_WHITESPACE
    ['action', 'controller', 'error', 'headers', 'node', 'requestId', 'result', 'status',
     'volatile']
    """
    error_obj = make_error(error) if isinstance(error, str) else error
    if status is None:
        raw_status = error_obj.get("status") if error_obj is not None else None
        status = raw_status if isinstance(raw_status, int) else (200 if error_obj is None else 500)
    out: dict[str, Any] = {"action": action}
    if collection is not None:
        out["collection"] = collection
    out["controller"] = controller
    out["error"] = dict(error_obj) if error_obj is not None else None
    out["headers"] = dict(headers) if headers is not None else {}
    if index is not None:
        out["index"] = index
    out["node"] = node
    out["requestId"] = request_id if request_id is not None else str(uuid.uuid4())
    out["result"] = result
    out["status"] = status
    out["volatile"] = dict(volatile) if volatile is not None else None
    if room is not None:
        out["room"] = room
    return out


def make_notification(
    room: str,
    *,
    result: Any = None,
    action: str = "create",
    controller: str = "document",
    index: str | None = "index",
    collection: str | None = "collection",
    request_id: str | None = None,
    scope: str = "in",
    volatile: Mapping[str, Any] | None = None,
    node: str | None = None,
    protocol: str = "websocket",
) -> dict[str, Any]:
    """A realtime document notification, as Kuzzle 2.56 sends it on a subscription channel.

    ``room`` is the channel id; ``request_id`` is the id of the request that triggered the
    notification (it may be one of the receiving client's own request ids); ``volatile`` is
    that request's volatile data (null without). Kuzzle 2.56 sends no ``node``: one is added
    only when given.
    """
    event = "delete" if "elete" in action else ("publish" if action == "publish" else "write")
    out: dict[str, Any] = {
        "type": "document",
        "status": 200,
        "action": action,
        "scope": scope,
        "result": result if result is not None else {"_id": "stub-doc", "_source": {}},
    }
    if node is not None:
        out["node"] = node
    out |= {
        "event": event,
        "requestId": request_id if request_id is not None else str(uuid.uuid4()),
        "timestamp": int(time.time() * 1000),
        "volatile": dict(volatile) if volatile is not None else None,
    }
    if index is not None:
        out["index"] = index
    if collection is not None:
        out["collection"] = collection
    out["controller"] = controller
    out["protocol"] = protocol
    out["room"] = room
    return out


_PROXY_HTML: Final = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def reason_phrase(status: int) -> str:
    """The reason phrase a proxy puts on its status line."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def proxy_html(status: int = 502) -> str:
    """The HTML error page a reverse proxy (nginx) sends when its upstream fails."""
    return _PROXY_HTML.format(status=status, reason=reason_phrase(status))
