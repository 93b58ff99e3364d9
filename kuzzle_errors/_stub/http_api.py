"""Kuzzle's HTTP API in the stub: pre-routing checks, routing, envelopes and headers.

One :meth:`HttpApi.answer` call per request; the framing (h11) is
:mod:`kuzzle_errors._stub.http_wire`'s job, the API funnel :mod:`kuzzle_errors._stub.funnel`'s.
"""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any, Final

from kuzzle_errors._stub.funnel import Funnel, invalid_request
from kuzzle_errors._stub.http_wire import FramingError, HttpHead, HttpWire
from kuzzle_errors._stub.payloads import (
    decode_json,
    decode_json_or_none,
    encode_json,
    make_error,
    make_response,
    reason_phrase,
    str_or_none,
)
from kuzzle_errors._stub.request import Call
from kuzzle_errors._stub.routes import VERBS, route
from kuzzle_errors._stub.state import ProxyError, RecordedRequest, StubState

_ALLOWED_TYPES: Final = (
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
)
_JSON_HEADERS: Final = (  # on every JSON answer, with an envelope or bare
    (
        "Access-Control-Allow-Headers",
        "Content-Type, Access-Control-Allow-Headers, Authorization, X-Requested-With, "
        "Content-Encoding, Content-Length, X-Kuzzle-Volatile",
    ),
    ("Access-Control-Allow-Methods", "GET,POST,PUT,PATCH,DELETE,OPTIONS,HEAD"),
    ("Content-Type", "application/json"),
)


class _BareReply(Exception):
    """A pre-routing error: Kuzzle answers it as a bare error object, with no envelope."""

    def __init__(self, error: dict[str, Any], keep_alive: bool = True) -> None:
        super().__init__(error.get("id"))
        self.error = error
        self.keep_alive = keep_alive


class HttpApi:
    """Answers HTTP requests as Kuzzle's HTTP entry point and router do."""

    def __init__(self, state: StubState, funnel: Funnel) -> None:
        self.state = state
        self.funnel = funnel

    async def answer(self, wire: HttpWire, head: HttpHead, conn: int) -> bool:
        """Answer one request; True when the connection may carry another one."""
        auth = head.headers.get("authorization", "")
        jwt = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        record = self.state.record(
            RecordedRequest(
                "http",
                None,
                None,
                head.headers.get("x-kuzzle-request-id"),
                None,
                jwt=jwt,
                method=head.method,
                path=head.target,
                headers=dict(head.headers),
                connection=conn,
            )
        )
        proxy: ProxyError | None = self.state.take("proxy", None, None)
        if proxy is not None:
            await wire.drain()
            extra = [("Retry-After", proxy.retry_after)] if proxy.retry_after is not None else []
            headers = [("Server", "nginx"), ("Content-Type", "text/html"), *extra]
            headers.append(("Connection", "close"))
            record.status = proxy.status  # before the answer: the client may look at once
            wire.respond(proxy.status, headers, proxy.body.encode(), reason_phrase(proxy.status))
            return False
        try:
            content = await self._read_body(wire, head)
        except _BareReply as reply:
            record.status = reply.error["status"]
            headers = [*_JSON_HEADERS, *_origin_headers(head)]  # no request id, no node
            wire.respond(reply.error["status"], headers, encode_json(reply.error))
            return reply.keep_alive

        request_id = head.headers.get("x-kuzzle-request-id") or str(uuid.uuid4())
        record.request_id = request_id
        envelope = await self._routed(head, content, jwt, request_id, record)
        if envelope is None:
            wire.writer.transport.abort()  # a scripted drop: no answer at all
            return False
        record.status = envelope["status"]
        headers = [
            ("X-Kuzzle-Request-Id", request_id),
            # Kuzzle 2.56 has no node id: its header then says "undefined".
            ("X-Kuzzle-Node", self.state.node or "undefined"),
            ("Accept-Encoding", "identity"),
            *_JSON_HEADERS,
            ("Access-Control-Allow-Credentials", "true"),
            ("Content-Encoding", "identity"),
            *_origin_headers(head),
        ]
        body = encode_json(envelope, pretty="pretty" in head.query)
        wire.respond(envelope["status"], headers, body, head_only=head.method == "HEAD")
        return True

    async def _read_body(self, wire: HttpWire, head: HttpHead) -> object:
        """The decoded body; :class:`_BareReply` for what Kuzzle refuses before routing."""
        limit = self.state.max_request_size
        try:
            early = _early_error(head, limit)
            if early is not None:
                # The body must be read for the connection to carry another request.
                raise _BareReply(early, keep_alive=await wire.drain())
            body = await wire.read_body(limit)
        except FramingError as exc:
            # Broken chunked framing: Kuzzle's HTTP parser gives up on the request with a 400.
            error = make_error("network.http.unexpected_error", str(exc))
            raise _BareReply(error, keep_alive=False) from None
        if body is None:
            raise _BareReply(make_error("network.http.request_too_large"), await wire.drain())
        return _decode_body(head, body)

    async def _routed(
        self,
        head: HttpHead,
        content: object,
        jwt: str | None,
        request_id: str,
        record: RecordedRequest,
    ) -> dict[str, Any] | None:
        """The envelope for a request past the pre-routing checks (None: drop, no answer)."""

        # Refused before Kuzzle builds a request: the envelope has no request context.
        def plain(**fields: Any) -> dict[str, Any]:
            envelope = make_response(request_id=request_id, node=self.state.node, **fields)
            if self.state.node is None:
                del envelope["node"]
            return envelope

        if head.method == "GET" and head.path in ("/_ready", "/_healthcheck"):
            ready = head.path == "/_healthcheck" or (
                self.state.is_ready() and not self.funnel.waiting
            )
            return plain(status=200 if ready else 503)
        if head.method == "OPTIONS" or (head.method == "HEAD" and head.path == "/"):
            return plain(result={})
        if head.method not in VERBS:
            return plain(error=make_error("network.http.unsupported_verb", head.method))
        try:
            payload = _payload(head, content, jwt)
        except _Refused as refused:
            return plain(error=refused.error)
        if payload is None:
            return plain(error=make_error("network.http.url_not_found", head.path))
        record.payload = payload
        record.controller = str_or_none(payload.get("controller"))
        record.action = str_or_none(payload.get("action"))
        record.jwt = str_or_none(payload.get("jwt"))
        raw = head.headers.get("x-kuzzle-volatile")
        if raw and "volatile" not in payload:
            # Kuzzle reads volatile data from this header (the JS SDK sends it there).
            volatile = decode_json_or_none(raw.encode())
            if not isinstance(volatile, dict):
                return plain(error=make_error("network.http.volatile_parse_failed", raw))
            payload["volatile"] = volatile
        invalid = invalid_request(payload)
        if invalid is not None:
            return plain(error=invalid)
        # Kuzzle builds one connection per HTTP request: a Call's fresh connection id.
        call = Call(payload, "http", request_id, verb=head.method)
        envelope, _effects = await self.funnel.execute(call)
        return envelope


class _Refused(Exception):
    """What Kuzzle's router refuses while building the request: an envelope with no context."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.error = error


def _early_error(head: HttpHead, limit: int) -> dict[str, Any] | None:
    """What Kuzzle refuses from the head alone: size, content type, charset."""
    if head.content_length() > limit:
        return make_error("network.http.request_too_large")
    content_type = head.headers.get("content-type")
    if not content_type:
        return None
    base = content_type.split(";", 1)[0].strip()
    if base not in _ALLOWED_TYPES:
        return make_error("network.http.unsupported_content", base)
    charset = [
        p.split("=", 1)[1].strip() for p in content_type.split(";")[1:] if "charset=" in p.lower()
    ]
    if charset and charset[0].lower() != "utf-8":
        return make_error("network.http.unsupported_charset", charset[0].lower())
    return None


def _decode_body(head: HttpHead, body: bytes) -> object:
    if not body:
        return None
    content_type = head.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type:
        text = body.decode("utf-8", "replace")
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    if "multipart/form-data" in content_type:
        return {}  # not decoded by the stub
    try:
        return decode_json(body)
    except ValueError:
        text = body[:200].decode("utf-8", "replace")
        raise _BareReply(make_error("network.http.body_parse_failed", text[:50])) from None


def _payload(head: HttpHead, content: object, jwt: str | None) -> dict[str, Any] | None:
    """The Kuzzle request an HTTP request stands for; None for an unknown URL; _Refused for
    what Kuzzle's ``Request`` constructor throws while routing."""
    if content is not None and not isinstance(content, (dict, list)):
        raise _Refused(
            {"message": 'Attribute body must be of type "object" or "array"', "status": 400}
        )
    if head.method == "POST" and head.path.rstrip("/") == "/_query":
        if content is None and jwt is not None:
            # Kuzzle reads the body's jwt before checking the body is an object.
            message = "Cannot read properties of null (reading 'jwt')"
            raise _Refused(make_error("network.http.unexpected_error", message))
        if not isinstance(content, dict):
            raise _Refused(
                {"message": "Input request data must be a non-null object", "status": 500}
            )
        payload = dict(content)
    else:
        routed = route(head.method, head.path)
        if routed is None:
            return None
        controller, action, params = routed
        payload = {**head.query, **params, "controller": controller, "action": action}
        payload.pop("pretty", None)
        if content is not None:
            payload["body"] = content
        if jwt is not None:
            payload["jwt"] = jwt  # the Authorization header wins over a jwt argument
        return payload
    if jwt is not None:
        payload.setdefault("jwt", jwt)  # the body's jwt wins over the header
    return payload


def _origin_headers(head: HttpHead) -> list[tuple[str, str]]:
    origin = head.headers.get("origin")
    return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")] if origin else []
