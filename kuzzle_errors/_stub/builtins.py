"""The actions the stub performs itself, like a tiny Kuzzle node.

``server:now/info/publicApi/healthCheck``, ``auth:login/logout/checkToken``,
``document:create/createOrReplace/get/exists/delete/mCreate`` on an in-memory store and
``realtime:subscribe/unsubscribe``; any other action answers Kuzzle's ``*_not_found``.
Scripted answers and failures (:mod:`kuzzle_errors._stub.state`) are tried first.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from kuzzle_errors._stub.payloads import make_error, str_or_none

if TYPE_CHECKING:
    from kuzzle_errors._stub.state import StubState

_CREATED: Final = {"created": True, "result": "created", "status": 201}  # an mCreate success's end


@dataclass(frozen=True)
class Answer:
    """What an action answers: a result, or an error (with a partial result, maybe).

    :class:`~kuzzle_errors._stub.state.StubState` wraps it in the request's envelope.
    """

    error: Mapping[str, Any] | None = None
    result: Any = None


def _ok(result: Any) -> Answer:
    return Answer(result=result)


def _fail(error_id: str, *args: object) -> Answer:
    return Answer(error=make_error(error_id, *args))


def _flag(value: object) -> bool:
    # Kuzzle's getBoolean: HTTP query strings give "true"/"" (present) as well as booleans.
    if isinstance(value, str):
        return value.lower() not in ("false", "0", "no")
    return bool(value)


def builtin_answer(
    state: StubState, request: Mapping[str, Any], controller: str | None, action: str | None
) -> Answer:
    """What ``controller:action`` answers to ``request`` (``*_not_found`` if it lacks it);
    the documents, the node id and the version answered as are the ``state``'s."""
    # Imported here: testing imports this module, and routes.txt is read with the server.
    from kuzzle_errors._stub import routes

    index = str_or_none(request.get("index")) or ""
    collection = str_or_none(request.get("collection")) or ""
    doc_id = str_or_none(request.get("_id"))
    body = request.get("body")
    store = state.documents.setdefault((index, collection), {})
    match (controller, action):
        case ("server", "now"):
            return _ok({"now": int(time.time() * 1000)})
        case ("server", "info"):
            return _ok({"serverInfo": {"kuzzle": {"version": "2.56.0", "nodeId": state.node}}})
        case ("server", "publicApi"):
            return _ok(routes.public_api())
        case ("server", "healthCheck"):
            return _ok({"status": "green", "services": {}})
        case ("auth", "login"):
            user = body.get("username") if isinstance(body, Mapping) else None
            return _ok(
                {
                    "_id": str_or_none(user) or "stub-user",
                    "jwt": f"stub-jwt-{next(state.logins)}",
                    "expiresAt": int(time.time() * 1000) + 3_600_000,
                    "ttl": 3_600_000,
                }
            )
        case ("auth", "logout"):
            return _ok({"acknowledged": True})
        case ("auth", "checkToken"):
            return _ok({"valid": True, "expiresAt": int(time.time() * 1000) + 3_600_000})
        case ("document", "create" | "createOrReplace"):
            new_id = doc_id or uuid.uuid4().hex[:20]
            if action == "create" and new_id in store:
                return _fail("services.storage.document_already_exists")
            store[new_id] = body if isinstance(body, Mapping) else {}
            return _ok({"_id": new_id, "_source": store[new_id], "_version": 1})
        case ("document", "get"):
            if doc_id is None or doc_id not in store:
                return _fail("services.storage.not_found", doc_id, index, collection)
            return _ok({"_id": doc_id, "_source": store[doc_id], "_version": 1})
        case ("document", "exists"):
            return _ok(doc_id is not None and doc_id in store)
        case ("document", "delete"):
            if doc_id is None or doc_id not in store:
                return _fail("services.storage.not_found", doc_id, index, collection)
            del store[doc_id]
            return _ok({"_id": doc_id})
        case ("document", "mCreate"):
            return _m_create(request, store, state.version)
        case ("realtime", "subscribe"):
            channel = f"stub-channel-{uuid.uuid4().hex[:12]}"
            return _ok({"roomId": channel, "channel": channel})
        case ("realtime", "unsubscribe"):
            room = body.get("roomId") if isinstance(body, Mapping) else None
            return _ok({"roomId": room})
    if controller not in routes.CONTROLLERS:
        return _fail("api.process.controller_not_found", controller)
    return _fail("api.process.action_not_found", controller, action)


def _m_create(request: Mapping[str, Any], store: dict[str, Any], version: int) -> Answer:
    """``document:mCreate``: v2 ``{successes, errors}``, ``strict``, or v1's 206."""
    body = request.get("body")
    raw_docs = body.get("documents") if isinstance(body, Mapping) else None
    if not isinstance(raw_docs, list):
        return _fail("api.assert.missing_argument", "body.documents")
    successes: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for doc in raw_docs:
        doc = doc if isinstance(doc, Mapping) else {}
        raw_id = doc.get("_id")
        content = doc.get("body") if isinstance(doc.get("body"), Mapping) else {}
        if raw_id is not None and not isinstance(raw_id, str):
            reason = "document _id must be a string"
        elif raw_id is not None and raw_id in store:
            reason = "document already exists"
        else:
            new_id = raw_id or uuid.uuid4().hex[:20]
            store[new_id] = content
            successes.append({"_id": new_id, "_source": content, "_version": 1, **_CREATED})
            continue
        errors.append(
            {"document": {"_id": raw_id, "body": content}, "reason": reason, "status": 400}
        )
    if version == 1:
        result = {"hits": successes, "total": len(successes)}
        if not errors:
            return _ok(result)
        error = make_error("services.storage.incomplete_create", version=1, errors=errors)
        return Answer(error=error, result=result)
    if errors and _flag(request.get("strict", False)):
        # The successful writes above are kept: Kuzzle checks strict after writing.
        error = make_error("api.process.incomplete_multiple_request", "mCreate", errors=errors)
        return Answer(error=error)
    return _ok({"successes": successes, "errors": errors})
