"""The API actions the stub performs itself, as Kuzzle 2.56.0's controllers do
(``lib/api/controllers/``): their checks in Kuzzle's order, their errors and their shapes.

Each action takes the stub's state and the :class:`~kuzzle_errors._stub.request.Call`, and
returns its result (:data:`NO_RESULT` where Kuzzle's answer has no ``result`` key) or raises
:class:`~kuzzle_errors._stub.request.KuzzleFailure`. :data:`KNOWN_ACTIONS` lists every action
of Kuzzle's native controllers: one the stub lacks is answered with a 500 that names it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from kuzzle_errors._stub.realtime import Change
from kuzzle_errors._stub.request import Call, KuzzleFailure, failure, is_plain_object
from kuzzle_errors._stub.security import ANONYMOUS, STRATEGIES, duration_ms
from kuzzle_errors._stub.storage import Document

if TYPE_CHECKING:
    from kuzzle_errors._stub.state import StubState

NO_RESULT: Final = object()  # Kuzzle's controller returned undefined: no "result" key

Action = Callable[["StubState", Call], Any]


def _now() -> int:
    return int(time.time() * 1000)


def _kuid(call: Call) -> str:
    return call.kuid


def _strict(call: Call, errors: list[Any], action: str) -> None:
    if call.get_boolean("strict") and errors:
        raise failure("api.process.incomplete_multiple_request", action, errors=errors)


# server


def server_now(node: StubState, call: Call) -> Any:
    return {"now": _now()}


def server_info(node: StubState, call: Call) -> Any:
    return {"serverInfo": {"kuzzle": {"version": "2.56.0", "nodeId": node.node}, "services": {}}}


def server_health_check(node: StubState, call: Call) -> Any:
    green = {"internalCache": "green", "memoryStorage": "green", "storageEngine": "green"}
    return {"services": green, "status": "green"}


def server_admin_exists(node: StubState, call: Call) -> Any:
    return {"exists": node.security.admin_exists()}


def server_public_api(node: StubState, call: Call) -> Any:
    from kuzzle_errors._stub import routes  # read with the route table

    return routes.public_api()


# auth


def auth_login(node: StubState, call: Call) -> Any:
    strategy = call.get_string("strategy")
    security = node.security
    body = call.body if isinstance(call.body, dict) else {}
    username = body.get("username", call.payload.get("username"))
    if not security.checked:
        kuid = username if isinstance(username, str) and username else "stub-user"
    else:
        if strategy not in STRATEGIES:
            raise failure("security.credentials.unknown_strategy", strategy)
        kuid = security.login(username, body.get("password", call.payload.get("password")))
    ttl = None
    if call.payload.get("expiresIn"):
        ttl = duration_ms(call.payload["expiresIn"])
        if ttl == 0:
            raise failure(
                "api.assert.invalid_argument",
                "expiresIn",
                "a number of milliseconds, or a parsable timespan string",
            )
    token = security.issue(kuid, ttl)
    if call.protocol == "websocket":
        security.link(token, call.connection)
    return {"_id": kuid, "expiresAt": token.expires_at, "jwt": token.jwt, "ttl": token.ttl}


def _assert_authenticated(call: Call) -> None:
    if call.kuid == ANONYMOUS:
        raise failure("security.rights.unauthorized", call.controller, call.action)


def auth_logout(node: StubState, call: Call) -> Any:
    _assert_authenticated(call)
    token = node.security.tokens.get(call.jwt or "")
    if call.protocol == "websocket":
        node.security.unlink(call.connection)
    if call.get_boolean("global"):
        for other in list(node.security.tokens.values()):
            if other.kuid == call.kuid:
                node.security.revoke(other)
    elif token is not None:
        node.security.revoke(token)
    return {"acknowledged": True}


def auth_check_token(node: StubState, call: Call) -> Any:
    raw = call.get_body_string("token", "") if call.body is not None else ""
    try:
        token = node.security.verify(raw or None)
    except KuzzleFailure as refused:
        return {"state": refused.error["message"], "valid": False}
    if token is None:
        return {"expiresAt": -1, "kuid": ANONYMOUS, "valid": True}
    return {"expiresAt": token.expires_at, "kuid": token.kuid, "valid": True}


def auth_get_current_user(node: StubState, call: Call) -> Any:
    user = node.security.user(call.kuid)
    # Kuzzle lists no strategy for the anonymous user as one empty list: [[]].
    strategies: list[Any] = (
        [[]] if user["_id"] == ANONYMOUS else node.security.strategies(call.kuid)
    )
    return {**user, "strategies": strategies}


def auth_get_my_rights(node: StubState, call: Call) -> Any:
    hits = []
    for profile_id in node.security.profile_ids(call.kuid):
        for policy in node.security.profiles.get(profile_id, {}).get("policies", []):
            role = node.security.roles.get(policy.get("roleId", ""), {})
            for controller, rights in role.get("controllers", {}).items():
                for action, value in (rights.get("actions") or {}).items():
                    hits.append(
                        {
                            "action": action,
                            "collection": "*",
                            "controller": controller,
                            "index": "*",
                            "value": "allowed" if value is True else "denied",
                        }
                    )
    return {"hits": hits, "total": len(hits)}


def auth_get_strategies(node: StubState, call: Call) -> Any:
    return list(STRATEGIES)


def auth_credentials_exist(node: StubState, call: Call) -> Any:
    _assert_authenticated(call)
    strategy = call.get_string("strategy")
    if strategy not in STRATEGIES:
        raise failure("security.credentials.unknown_strategy", strategy)
    return strategy in node.security.strategies(call.kuid)


# security


def _persist_user(
    node: StubState, call: Call, profile_ids: list[Any], content: dict[str, Any]
) -> Any:
    credentials = call.get_body_object("credentials", {})
    kuid = call.get_id("generate")
    assert kuid is not None
    return node.security.create_user(kuid, profile_ids, content, credentials)


def security_create_first_admin(node: StubState, call: Call) -> Any:
    if node.security.admin_exists():
        raise failure("api.process.admin_exists")
    content = call.get_body_object("content", {})
    reset = call.get_boolean("reset")
    if "profileIds" in content:
        raise failure("api.assert.forbidden_argument", "body.content.profileIds")
    user = _persist_user(node, call, ["admin"], content)
    if reset:
        node.security.restrict_default_rights()
    return user


def security_create_user(node: StubState, call: Call) -> Any:
    content = call.get_body_object("content")
    profile_ids = call.get_body_array("content.profileIds")
    return _persist_user(node, call, profile_ids, content)


def security_create_restricted_user(node: StubState, call: Call) -> Any:
    content = call.get_body_object("content", {})
    if "profileIds" in content:
        raise failure("api.assert.forbidden_argument", "body.content.profileIds")
    return _persist_user(node, call, ["default"], content)


def security_get_user(node: StubState, call: Call) -> Any:
    kuid = call.get_id()
    assert kuid is not None
    if kuid not in node.security.users:
        raise failure("security.user.not_found", kuid)
    return node.security.user(kuid)


def security_delete_user(node: StubState, call: Call) -> Any:
    kuid = call.get_id()
    assert kuid is not None
    security = node.security
    if kuid not in security.users:
        raise failure("security.user.not_found", kuid)
    del security.users[kuid]
    for username, (owner, _password) in list(security.credentials.items()):
        if owner == kuid:
            del security.credentials[username]
    for token in list(security.tokens.values()):
        if token.kuid == kuid:
            security.revoke(token)
    return {"_id": kuid}


def _put_profile_or_role(kind: str, *, create: bool) -> Action:
    """``security:create*``/``createOrReplace*`` of a profile or a role."""

    def put(node: StubState, call: Call) -> Any:
        object_id = call.get_id()
        content = call.get_body()
        if kind == "profile":
            call.get_body_array("policies")  # Kuzzle asserts it before anything
        assert object_id is not None
        put_one = node.security.put_profile if kind == "profile" else node.security.put_role
        return put_one(object_id, content, create=create)

    return put


def _get_profile_or_role(kind: str) -> Action:
    def get(node: StubState, call: Call) -> Any:
        object_id = call.get_id()
        found = (node.security.profiles if kind == "profile" else node.security.roles).get(
            object_id or ""
        )
        if found is None:
            raise failure(f"security.{kind}.not_found", object_id)
        return {"_id": object_id, "_source": copy.deepcopy(found)}

    return get


# index


def index_create(node: StubState, call: Call) -> Any:
    index = call.get_index()
    assert index is not None
    node.storage.create_index(index)
    return NO_RESULT


def index_delete(node: StubState, call: Call) -> Any:
    index = call.get_index()
    assert index is not None
    node.storage.delete_index(index)
    return {"acknowledged": True}


def index_exists(node: StubState, call: Call) -> Any:
    return call.get_index() in node.storage.indexes


def index_list(node: StubState, call: Call) -> Any:
    indexes = sorted(node.storage.indexes)
    result: dict[str, Any] = {"indexes": indexes}
    if call.get_boolean("countCollection"):
        result["collections"] = {i: len(node.storage.indexes[i]) for i in indexes}
    return result


def index_m_delete(node: StubState, call: Call) -> Any:
    wanted = call.get_body_array("indexes", [])
    deleted = []
    for index in sorted(node.storage.indexes):
        if index in wanted and node.security.allowed(call.kuid, "index", "delete", index, None):
            node.storage.delete_index(index)
            deleted.append(index)
    return {"deleted": deleted}


# collection


def collection_create(node: StubState, call: Call) -> Any:
    body = call.get_body({})
    index, collection = call.get_index_and_collection()
    if not isinstance(body, dict):
        raise failure("api.assert.invalid_type", "body", "object")
    config = {"mappings": body} if {"properties", "dynamic", "_meta"} & body.keys() else body
    node.storage.create_collection(index, collection, config)
    return {"acknowledged": True}


def collection_update(node: StubState, call: Call) -> Any:
    body = call.get_body({})
    index, collection = call.get_index_and_collection()
    node.storage.collection(index, collection)
    node.storage.create_collection(index, collection, body if isinstance(body, dict) else {})
    return None


def collection_update_mapping(node: StubState, call: Call) -> Any:
    index, collection = call.get_index_and_collection()
    mappings = call.get_body()
    node.storage.collection(index, collection)
    node.storage.create_collection(index, collection, {"mappings": mappings})
    return node.storage.mapping(index, collection)


def collection_get_mapping(node: StubState, call: Call) -> Any:
    index, collection = call.get_index_and_collection()
    return node.storage.mapping(index, collection)


def collection_exists(node: StubState, call: Call) -> Any:
    index, collection = call.get_index_and_collection()
    return collection in node.storage.indexes.get(index, {})


def collection_list(node: StubState, call: Call) -> Any:
    index = call.get_index()
    start = call.get_integer("from", 0)
    size = call.get_integer("size", 0)
    kind = call.get_string("type", "all")
    if kind not in ("all", "stored", "realtime"):
        raise failure("api.assert.invalid_argument", '"all", "stored", "realtime"')
    assert index is not None
    collections: list[dict[str, str]] = []
    if kind in ("all", "realtime"):
        collections += [{"name": c, "type": "realtime"} for c in node.realtime.collections(index)]
    if kind != "realtime":
        if index not in node.storage.indexes:
            raise failure("services.storage.unknown_index", index)
        collections += [{"name": c, "type": "stored"} for c in node.storage.indexes[index]]
    collections.sort(key=lambda c: c["name"])
    result: dict[str, Any] = {"collections": collections, "type": kind}
    if size > 0 or start > 0:
        result["collections"] = collections[start : start + size if size else None]
        result["from"], result["size"] = start, size
    return result


def collection_truncate(node: StubState, call: Call) -> Any:
    index, collection = call.get_index_and_collection()
    node.storage.collection(index, collection).documents.clear()
    return {"acknowledged": True}


def collection_delete(node: StubState, call: Call) -> Any:
    index, collection = call.get_index_and_collection()
    node.storage.delete_collection(index, collection)
    return {"acknowledged": True}


def collection_refresh(node: StubState, call: Call) -> Any:
    index, collection = call.get_index_and_collection()
    node.storage.collection(index, collection)
    return None


# document: one at a time


def _meta(kuid: str, *, created: bool, updated: bool) -> dict[str, Any]:
    now = _now()
    if created and not updated:
        return {"author": kuid, "createdAt": now, "updatedAt": None, "updater": None}
    if created:
        return {"author": kuid, "createdAt": now, "updatedAt": now, "updater": kuid}
    return {"updatedAt": now, "updater": kuid}


def _object_body(call: Call) -> dict[str, Any]:
    body = call.get_body()
    if not isinstance(body, dict):
        raise failure("api.assert.invalid_type", "body", "object")
    return body


def _without_meta(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "_kuzzle_info"}


def _notify(
    node: StubState, call: Call, action: str, result: dict[str, Any], change: Change
) -> None:
    if not call.get_boolean("silent"):
        node.realtime.notify_document(call, action, copy.deepcopy(result), change)


def document_create(node: StubState, call: Call) -> Any:
    doc_id = call.get_id("ignore")
    index, collection = call.get_index_and_collection()
    body = _without_meta(_object_body(call))
    documents = node.storage.collection(index, collection).documents
    if doc_id is not None and doc_id in documents:
        raise failure("services.storage.document_already_exists")
    source = {**body, "_kuzzle_info": _meta(call.kuid, created=True, updated=False)}
    new_id, document, _ = node.storage.put(index, collection, doc_id, source)
    result = document.view(new_id)
    _notify(node, call, "create", result, Change(new_id, None, document.source))
    return result


def document_create_or_replace(node: StubState, call: Call) -> Any:
    doc_id = call.get_id()
    body = _without_meta(_object_body(call))
    index, collection = call.get_index_and_collection()
    old = node.storage.collection(index, collection).documents.get(doc_id or "")
    source = {**body, "_kuzzle_info": _meta(call.kuid, created=True, updated=True)}
    _, document, created = node.storage.put(index, collection, doc_id, source)
    assert doc_id is not None
    result = {**document.view(doc_id), "created": created}
    _notify(
        node,
        call,
        "createOrReplace",
        result,
        Change(doc_id, old.source if old else None, document.source),
    )
    return result


def _existing(node: StubState, call: Call) -> tuple[str, str, str, dict[str, Any], Document]:
    """A replace's or an update's arguments, in Kuzzle's order, and the document they
    change: ``(index, collection, _id, body, document)``; 404 when it does not exist."""
    doc_id = call.get_id()
    body = _without_meta(_object_body(call))
    index, collection = call.get_index_and_collection()
    assert doc_id is not None
    old = node.storage.collection(index, collection).documents.get(doc_id)
    if old is None:
        raise failure("services.storage.not_found", doc_id, index, collection)
    return index, collection, doc_id, body, old


def document_replace(node: StubState, call: Call) -> Any:
    index, collection, doc_id, body, old = _existing(node, call)
    source = {**body, "_kuzzle_info": _meta(call.kuid, created=True, updated=True)}
    _, document, _ = node.storage.put(index, collection, doc_id, source)
    _notify(
        node,
        call,
        "replace",
        {"_id": doc_id, "_source": body},
        Change(doc_id, old.source, document.source),
    )
    return document.view(doc_id)


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Elasticsearch's partial update: objects merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _changed_fields(changes: dict[str, Any], prefix: str = "") -> list[str]:
    fields: list[str] = []
    for key, value in changes.items():
        if key == "_kuzzle_info":
            continue
        if isinstance(value, dict) and value:
            fields += _changed_fields(value, f"{prefix}{key}.")
        else:
            fields.append(f"{prefix}{key}")
    return fields


def _update(
    node: StubState, call: Call, where: tuple[str, str], doc_id: str, changes: dict[str, Any]
) -> Document:
    """Apply a partial update to an existing document (Kuzzle's update metadata merged in)
    and notify it: the document written."""
    index, collection = where
    old = node.storage.collection(index, collection).documents[doc_id]
    meta = _meta(call.kuid, created=False, updated=True)
    merged = deep_merge(old.source, {**changes, "_kuzzle_info": meta})
    _, document, _ = node.storage.put(index, collection, doc_id, merged)
    # Kuzzle's update notification has the document and the fields changed, no _version.
    view = document.view(doc_id)
    notified = {
        "_id": doc_id,
        "_source": view["_source"],
        "_updatedFields": _changed_fields(changes),
    }
    _notify(node, call, "update", notified, Change(doc_id, old.source, document.source))
    return document


def document_update(node: StubState, call: Call) -> Any:
    index, collection, doc_id, changes, _old = _existing(node, call)
    document = _update(node, call, (index, collection), doc_id, changes)
    if call.get_boolean("source"):
        return document.view(doc_id)
    return {
        "_id": doc_id,
        "_source": {**changes, "_kuzzle_info": document.source["_kuzzle_info"]},
        "_version": document.version,
    }


def document_upsert(node: StubState, call: Call) -> Any:
    doc_id = call.get_id()
    changes = _without_meta(call.get_body_object("changes"))
    defaults = call.get_body_object("default", {})
    index, collection = call.get_index_and_collection()
    assert doc_id is not None
    old = node.storage.collection(index, collection).documents.get(doc_id)
    now, kuid = _now(), call.kuid
    if old is None:
        source = {**defaults, **changes, "_kuzzle_info": {"author": kuid, "createdAt": now}}
    else:
        source = deep_merge(
            old.source, {**changes, "_kuzzle_info": {"updatedAt": now, "updater": kuid}}
        )
    _, document, created = node.storage.put(index, collection, doc_id, source)
    full = document.view(doc_id)
    if created:
        _notify(node, call, "create", full, Change(doc_id, None, document.source))
    else:
        _notify(
            node,
            call,
            "update",
            {**full, "_updatedFields": _changed_fields(changes)},
            Change(doc_id, old.source if old else None, document.source),
        )
    if call.get_boolean("source"):
        return {**full, "created": created}
    return {"_id": doc_id, "_version": document.version, "created": created}


def document_get(node: StubState, call: Call) -> Any:
    doc_id = call.get_id()
    index, collection = call.get_index_and_collection()
    assert doc_id is not None
    if doc_id == "_search":
        raise failure("services.storage.search_as_an_id")
    return node.storage.get(index, collection, doc_id)


def document_exists(node: StubState, call: Call) -> Any:
    doc_id = call.get_id()
    index, collection = call.get_index_and_collection()
    return doc_id in node.storage.collection(index, collection).documents


def document_delete(node: StubState, call: Call) -> Any:
    doc_id = call.get_id()
    index, collection = call.get_index_and_collection()
    assert doc_id is not None
    view = node.storage.remove(index, collection, doc_id)
    _notify(node, call, "delete", view, Change(doc_id, view["_source"], None, "delete"))
    return view if call.get_boolean("source") else {"_id": doc_id}


def document_delete_fields(node: StubState, call: Call) -> Any:
    doc_id = call.get_id()
    fields = call.get_body_array("fields")
    index, collection = call.get_index_and_collection()
    assert doc_id is not None
    view = node.storage.get(index, collection, doc_id)
    source = view["_source"]
    for path in fields:
        parts = str(path).split(".")
        target = source
        for part in parts[:-1]:
            target = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(parts[-1], None)
    source["_kuzzle_info"] = {
        **source.get("_kuzzle_info", {}),
        "updatedAt": _now(),
        "updater": call.kuid,
    }
    _, document, _ = node.storage.put(index, collection, doc_id, source)
    full = document.view(doc_id)
    _notify(
        node,
        call,
        "update",
        {"_id": doc_id, "_source": full["_source"]},
        Change(doc_id, view["_source"], document.source),
    )
    return full if call.get_boolean("source") else {"_id": doc_id, "_version": document.version}


def document_validate(node: StubState, call: Call) -> Any:
    call.get_body()
    call.get_index_and_collection()
    return {"errorMessages": {}, "valid": True}


# document: searches


def _fetch_limit(node: StubState, asked: int) -> None:
    if asked > node.documents_fetch_count:
        raise failure("services.storage.get_limit_exceeded")


def _write_limit(node: StubState, asked: int) -> None:
    if asked > node.documents_write_count:
        raise failure("services.storage.write_limit_exceeded")


def document_search(node: StubState, call: Call) -> Any:
    start, size, body = call.get_search_params()
    index = call.get_index(required=False)
    collection = call.get_collection(required=False)
    targets = call.payload.get("targets")
    if not index and not collection and not targets:
        raise failure("api.assert.missing_argument", "index, collection or targets")
    if (
        index and collection and any(c in name for name in (index, collection) for c in ",*+")
    ) or "_all" in (index, collection):
        raise failure("services.storage.invalid_multi_index_collection_usage")
    _fetch_limit(node, size - start)  # Kuzzle checks size - from, not size
    if targets:
        raise failure(
            "core.fatal.unexpected_error",
            "the Kuzzle stub does not search several collections (targets)",
        )
    if not index:
        raise failure("api.assert.missing_argument", "index")
    if not collection:
        raise failure("api.assert.missing_argument", "collection")
    hits = node.storage.search(index, collection, body)
    page = hits[start : start + size]
    return {
        "hits": [
            {
                "_id": doc_id,
                "_score": 1,
                "_source": copy.deepcopy(doc.source),
                "collection": collection,
                "index": index,
            }
            for doc_id, doc in page
        ],
        "total": len(hits),
    }


def document_count(node: StubState, call: Call) -> Any:
    _start, _size, body = call.get_search_params()
    index, collection = call.get_index_and_collection()
    return {"count": len(node.storage.search(index, collection, body))}


def document_delete_by_query(node: StubState, call: Call) -> Any:
    query = call.get_body_object("query", {})
    index, collection = call.get_index_and_collection()
    hits = node.storage.search(index, collection, {"query": query})
    _write_limit(node, len(hits))
    documents = []
    for doc_id, doc in hits:
        view = node.storage.remove(index, collection, doc_id)
        _notify(node, call, "delete", view, Change(doc_id, doc.source, None, "delete"))
        documents.append(view if call.get_boolean("source") else {"_id": doc_id})
    return {"documents": documents, "ids": [d["_id"] for d in documents]}


def document_update_by_query(node: StubState, call: Call) -> Any:
    query = call.get_body_object("query")
    changes = _without_meta(call.get_body_object("changes"))
    index, collection = call.get_index_and_collection()
    hits = node.storage.search(index, collection, {"query": query})
    _write_limit(node, len(hits))
    successes = []
    for doc_id, _old in hits:
        document = _update(node, call, (index, collection), doc_id, changes)
        item = {"_id": doc_id, "_version": document.version, "status": 200}
        if call.get_boolean("source"):
            item["_source"] = copy.deepcopy(document.source)
        successes.append(item)
    return {"errors": [], "successes": successes}


# document: m* actions (Kuzzle's _mChanges over the storage's _mExecute)


def _m_documents(node: StubState, call: Call) -> tuple[str, str, list[Any]]:
    documents = call.get_body_array("documents")
    index, collection = call.get_index_and_collection()
    _write_limit(node, len(documents))
    for i, document in enumerate(documents):
        if isinstance(document, dict) and document.get("_source"):
            raise failure(
                "api.assert.unexpected_argument", f"documents[{i}]._source", f"documents[{i}].body"
            )
        if isinstance(document, dict) and isinstance(document.get("body"), dict):
            document["body"].pop("_kuzzle_info", None)
    node.storage.collection(index, collection)
    return index, collection, documents


def _m_answer(
    node: StubState, call: Call, action: str, successes: list[Any], errors: list[Any]
) -> Any:
    if node.version == 1 and action == "mCreate":
        result = {"hits": successes, "total": len(successes)}
        if errors:
            raise KuzzleFailure(_v1_error("services.storage.incomplete_create", errors), result)
        return result
    _strict(call, errors, action)
    return {"errors": errors, "successes": successes}


def _v1_error(error_id: str, errors: list[Any]) -> dict[str, Any]:
    from kuzzle_errors._stub.payloads import make_error

    return make_error(error_id, version=1, errors=errors)


def _rejected(document: Any, reason: str, status: int = 400) -> dict[str, Any]:
    return {"document": document, "reason": reason, "status": status}


def _m_write(node: StubState, call: Call, action: str) -> Any:
    """mCreate, mCreateOrReplace and mReplace."""
    index, collection, documents = _m_documents(node, call)
    if not documents:
        return {"errors": [], "successes": []}
    stored = node.storage.collection(index, collection).documents
    created_only, needs_id = action == "mCreate", action == "mReplace"
    successes: list[Any] = []
    errors: list[Any] = []
    for document in documents:
        body = document.get("body") if isinstance(document, dict) else None
        if not is_plain_object(body):
            errors.append(_rejected(document, "document body must be an object"))
            continue
        assert isinstance(document, dict)
        assert isinstance(body, dict)
        raw_id = document.get("_id")
        doc_id = raw_id if isinstance(raw_id, str) else None
        if needs_id and doc_id is None:
            errors.append(_rejected(document, "document _id must be a string"))
            continue
        if created_only and doc_id is not None and doc_id in stored:
            errors.append(_rejected({"_id": doc_id, "body": body}, "document already exists"))
            continue
        if needs_id and doc_id not in stored:
            errors.append(_rejected({"_id": doc_id, "body": body}, "document not found", 404))
            continue
        before = stored[doc_id].source if doc_id in stored else None
        meta = _meta(call.kuid, created=True, updated=False)
        source = {"_kuzzle_info": meta, **body}
        new_id, written, created = node.storage.put(index, collection, doc_id, source)
        successes.append(
            {
                "_id": new_id,
                "_source": copy.deepcopy(written.source),
                "_version": written.version,
                "created": created,
                "result": "created" if created else "updated",
                "status": 201 if created else 200,
            }
        )
        notified = {
            "_id": new_id,
            "_source": copy.deepcopy(written.source),
            "_version": written.version,
        }
        _notify(
            node,
            call,
            "create" if created_only else "replace" if needs_id else "createOrReplace",
            notified,
            Change(new_id, before, written.source),
        )
    return _m_answer(node, call, action, successes, errors)


def document_m_create(node: StubState, call: Call) -> Any:
    return _m_write(node, call, "mCreate")


def document_m_create_or_replace(node: StubState, call: Call) -> Any:
    return _m_write(node, call, "mCreateOrReplace")


def document_m_replace(node: StubState, call: Call) -> Any:
    return _m_write(node, call, "mReplace")


def document_m_update(node: StubState, call: Call) -> Any:
    return _m_update(node, call, "mUpdate")


def document_m_upsert(node: StubState, call: Call) -> Any:
    return _m_update(node, call, "mUpsert")


def _m_update(node: StubState, call: Call, action: str) -> Any:
    index, collection, documents = _m_documents(node, call)
    if not documents:
        return {"errors": [], "successes": []}
    stored = node.storage.collection(index, collection).documents
    upsert = action == "mUpsert"
    successes: list[Any] = []
    errors: list[Any] = []
    for document in documents:
        doc = document if isinstance(document, dict) else {}
        changes = doc.get("changes") if upsert else doc.get("body")
        if not is_plain_object(changes):
            reason = (
                "document changes must be an object"
                if upsert
                else "document body must be an object"
            )
            errors.append(_rejected(document, reason))
            continue
        assert isinstance(changes, dict)
        if upsert and doc.get("default") and not is_plain_object(doc.get("default")):
            errors.append(_rejected(document, "document default must be an object"))
            continue
        doc_id = doc.get("_id")
        meta = _meta(call.kuid, created=False, updated=True)
        if not isinstance(doc_id, str):
            errors.append(
                _rejected(
                    document if upsert else {"_id": doc_id, "body": changes},
                    "document _id must be a string",
                )
            )
            continue
        old = stored.get(doc_id)
        if old is None and not upsert:
            errors.append(
                _rejected(
                    {"_id": doc_id, "body": {"_kuzzle_info": meta, **changes}},
                    "document not found",
                    404,
                )
            )
            continue
        if old is None:
            defaults = doc.get("default") or {}
            source = {
                "_kuzzle_info": {"author": call.kuid, "createdAt": meta["updatedAt"]},
                **changes,
                **defaults,
            }
        else:
            source = deep_merge(old.source, {**changes, "_kuzzle_info": meta})
        _, written, created = node.storage.put(index, collection, doc_id, source)
        item: dict[str, Any] = {
            "_id": doc_id,
            "_source": copy.deepcopy(written.source),
            "_version": written.version,
        }
        if upsert:
            item["created"] = created
        item["status"] = 201 if created else 200
        successes.append(item)
        notified = copy.deepcopy(item)
        if not created:
            notified["_updatedFields"] = _changed_fields(changes)
        _notify(
            node,
            call,
            "create" if created else "update",
            notified,
            Change(doc_id, old.source if old else None, written.source),
        )
    return _m_answer(node, call, action, successes, errors)


def _ids(call: Call) -> list[Any]:
    body = call.body
    if isinstance(body, dict) and body.get("ids"):
        return call.get_body_array("ids")
    return call.get_array("ids")


def _m_read(node: StubState, call: Call, view: Callable[[str, Document], Any]) -> Any:
    """mGet and mExists: ``view`` of each document found, the ids of the others."""
    ids = _ids(call)
    index, collection = call.get_index_and_collection()
    _fetch_limit(node, len(ids))
    stored = node.storage.collection(index, collection).documents
    if not ids:
        return {"errors": []}  # Kuzzle's storage answers {item: []} here: no "successes"
    successes = [view(i, stored[i]) for i in ids if isinstance(i, str) and i in stored]
    errors = [i for i in ids if not (isinstance(i, str) and i in stored)]
    _strict(call, errors, "get")
    return {"errors": errors, "successes": successes}


def document_m_get(node: StubState, call: Call) -> Any:
    return _m_read(node, call, lambda doc_id, document: document.view(doc_id))


def document_m_exists(node: StubState, call: Call) -> Any:
    return _m_read(node, call, lambda doc_id, _document: doc_id)


def document_m_delete(node: StubState, call: Call) -> Any:
    ids = call.get_body_array("ids")
    index, collection = call.get_index_and_collection()
    stored = node.storage.collection(index, collection).documents
    errors: list[Any] = []
    found: list[str] = []
    for doc_id in ids:
        if not isinstance(doc_id, str):
            errors.append({"_id": doc_id, "reason": "document _id must be a string", "status": 400})
    for doc_id in ids:
        if isinstance(doc_id, str):
            if doc_id in stored and doc_id not in found:
                found.append(doc_id)
            elif doc_id not in stored:
                errors.append({"_id": doc_id, "reason": "document not found", "status": 404})
    _write_limit(node, len(found))  # the deleteByQuery behind mDelete checks it
    _strict(call, errors, "delete")
    for doc_id in found:
        view = node.storage.remove(index, collection, doc_id)
        _notify(node, call, "delete", view, Change(doc_id, view["_source"], None, "delete"))
    return {"errors": errors, "successes": found}


# bulk


def bulk_import(node: StubState, call: Call) -> Any:
    index, collection = call.get_index_and_collection()
    strict = call.get_boolean("strict")
    bulk = call.get_body_array("bulkData")
    stored = node.storage.collection(index, collection).documents
    successes: list[Any] = []
    errors: list[Any] = []
    i = 0
    while i < len(bulk):
        line = bulk[i]
        if not isinstance(line, dict) or len(line) != 1:
            raise failure(
                "services.storage.unexpected_bad_request",
                f"Malformed action/metadata line [{i + 1}], expected a simple value",
            )
        ((kind, meta),) = line.items()
        meta = meta if isinstance(meta, dict) else {}
        doc_id = meta.get("_id")
        payload = bulk[i + 1] if kind != "delete" and i + 1 < len(bulk) else None
        i += 1 if kind == "delete" else 2
        if kind not in ("index", "create", "update", "delete"):
            raise failure(
                "services.storage.unexpected_bad_request",
                f"Malformed action/metadata line [{i}], expected one of "
                f"[create, delete, index, update] but found [{kind}]",
            )
        doc_id = doc_id if isinstance(doc_id, str) else None
        if kind == "delete":
            if doc_id in stored:
                node.storage.remove(index, collection, doc_id)
                successes.append({"delete": {"_id": doc_id, "status": 200}})
            else:
                errors.append({"delete": {"_id": doc_id, "status": 404}})
            continue
        body = copy.deepcopy(payload) if isinstance(payload, dict) else {}
        if kind == "update":
            changes = (
                _without_meta(body.get("doc", {})) if isinstance(body.get("doc"), dict) else {}
            )
            old = stored.get(doc_id or "")
            if old is None:
                reason = f"[{doc_id}]: document missing"
                errors.append(
                    {
                        "update": {
                            "_id": doc_id,
                            "status": 404,
                            "_source": changes,
                            "error": {"reason": reason, "type": "document_missing_exception"},
                        }
                    }
                )
                continue
            assert doc_id is not None
            _update(node, call, (index, collection), doc_id, changes)
            successes.append({"update": {"_id": doc_id, "status": 200}})
            continue
        content = _without_meta(body)
        if kind == "create" and doc_id is not None and doc_id in stored:
            version = stored[doc_id].version
            errors.append(
                {
                    "create": {
                        "_id": doc_id,
                        "status": 409,
                        "_source": content,
                        "error": {
                            "reason": f"[{doc_id}]: version conflict, document already "
                            f"exists (current version [{version}])",
                            "type": "version_conflict_engine_exception",
                        },
                    }
                }
            )
            continue
        source = {**content, "_kuzzle_info": _meta(call.kuid, created=True, updated=False)}
        new_id, _, created = node.storage.put(index, collection, doc_id, source)
        successes.append({kind: {"_id": new_id, "status": 201 if created else 200}})
    if strict and errors:
        raise failure("api.process.incomplete_multiple_request", "import", errors=errors)
    return {"errors": errors, "successes": successes}


def bulk_write(node: StubState, call: Call) -> Any:
    index, collection = call.get_index_and_collection()
    doc_id = call.get_id("ignore")
    content = _object_body(call)
    node.storage.collection(index, collection)
    new_id, document, created = node.storage.put(index, collection, doc_id, content)
    if call.get_boolean("notify"):
        _notify(
            node,
            call,
            "create" if created else "replace",
            document.view(new_id),
            Change(new_id, None, document.source),
        )
    return {**document.view(new_id), "created": created}


# realtime


def realtime_subscribe(node: StubState, call: Call) -> Any:
    result = node.realtime.subscribe(call)
    if call.protocol == "http":
        # Kuzzle drops an HTTP request's connection, and its subscriptions, once answered.
        node.realtime.remove_connection(call.connection, notify=False)
    return result


def realtime_join(node: StubState, call: Call) -> Any:
    return node.realtime.join(call)


def realtime_unsubscribe(node: StubState, call: Call) -> Any:
    room_id = call.get_body_string("roomId")
    node.realtime.unsubscribe(call.connection, room_id)
    return {"roomId": room_id}


def realtime_count(node: StubState, call: Call) -> Any:
    return {"count": node.realtime.count(call.get_body_string("roomId"))}


def realtime_list(node: StubState, call: Call) -> Any:
    return node.realtime.listing(
        lambda index, collection: node.security.allowed(
            call.kuid, "realtime", "subscribe", index, collection
        )
    )


def realtime_publish(node: StubState, call: Call) -> Any:
    body = call.get_body()
    call.get_index_and_collection()
    if not isinstance(body, dict):
        raise failure("api.assert.invalid_type", "body", "object")
    source = {**body, "_kuzzle_info": {"author": call.kuid, "createdAt": _now()}}
    doc_id = call.payload.get("_id")
    result: dict[str, Any] = {"_source": source}
    if doc_id is not None:
        result = {"_id": doc_id, **result}
    node.realtime.notify_document(
        call,
        "publish",
        result,
        Change(doc_id if isinstance(doc_id, str) else None, None, source, "publish"),
    )
    return {"published": True}


def realtime_validate(node: StubState, call: Call) -> Any:
    return document_validate(node, call)


ACTIONS: Final[dict[tuple[str, str], Action]] = {
    ("server", "now"): server_now,
    ("server", "info"): server_info,
    ("server", "healthCheck"): server_health_check,
    ("server", "adminExists"): server_admin_exists,
    ("server", "publicApi"): server_public_api,
    ("auth", "login"): auth_login,
    ("auth", "logout"): auth_logout,
    ("auth", "checkToken"): auth_check_token,
    ("auth", "getCurrentUser"): auth_get_current_user,
    ("auth", "getMyRights"): auth_get_my_rights,
    ("auth", "getStrategies"): auth_get_strategies,
    ("auth", "credentialsExist"): auth_credentials_exist,
    ("security", "createFirstAdmin"): security_create_first_admin,
    ("security", "createUser"): security_create_user,
    ("security", "createRestrictedUser"): security_create_restricted_user,
    ("security", "getUser"): security_get_user,
    ("security", "deleteUser"): security_delete_user,
    ("security", "createProfile"): _put_profile_or_role("profile", create=True),
    ("security", "createOrReplaceProfile"): _put_profile_or_role("profile", create=False),
    ("security", "getProfile"): _get_profile_or_role("profile"),
    ("security", "createRole"): _put_profile_or_role("role", create=True),
    ("security", "createOrReplaceRole"): _put_profile_or_role("role", create=False),
    ("security", "getRole"): _get_profile_or_role("role"),
    ("index", "create"): index_create,
    ("index", "delete"): index_delete,
    ("index", "exists"): index_exists,
    ("index", "list"): index_list,
    ("index", "mDelete"): index_m_delete,
    ("collection", "create"): collection_create,
    ("collection", "update"): collection_update,
    ("collection", "updateMapping"): collection_update_mapping,
    ("collection", "getMapping"): collection_get_mapping,
    ("collection", "exists"): collection_exists,
    ("collection", "list"): collection_list,
    ("collection", "truncate"): collection_truncate,
    ("collection", "delete"): collection_delete,
    ("collection", "refresh"): collection_refresh,
    ("document", "create"): document_create,
    ("document", "createOrReplace"): document_create_or_replace,
    ("document", "replace"): document_replace,
    ("document", "update"): document_update,
    ("document", "upsert"): document_upsert,
    ("document", "get"): document_get,
    ("document", "exists"): document_exists,
    ("document", "delete"): document_delete,
    ("document", "deleteFields"): document_delete_fields,
    ("document", "validate"): document_validate,
    ("document", "search"): document_search,
    ("document", "count"): document_count,
    ("document", "deleteByQuery"): document_delete_by_query,
    ("document", "updateByQuery"): document_update_by_query,
    ("document", "mCreate"): document_m_create,
    ("document", "mCreateOrReplace"): document_m_create_or_replace,
    ("document", "mReplace"): document_m_replace,
    ("document", "mUpdate"): document_m_update,
    ("document", "mUpsert"): document_m_upsert,
    ("document", "mGet"): document_m_get,
    ("document", "mExists"): document_m_exists,
    ("document", "mDelete"): document_m_delete,
    ("bulk", "import"): bulk_import,
    ("bulk", "write"): bulk_write,
    ("realtime", "subscribe"): realtime_subscribe,
    ("realtime", "join"): realtime_join,
    ("realtime", "unsubscribe"): realtime_unsubscribe,
    ("realtime", "count"): realtime_count,
    ("realtime", "list"): realtime_list,
    ("realtime", "publish"): realtime_publish,
    ("realtime", "validate"): realtime_validate,
}

# The actions of Kuzzle 2.56.0's native controllers are those of its HTTP routes, but for
# these: actions with no route, and two routes to actions its controllers no longer have.
_NO_ROUTE: Final = {
    ("debug", "addListener"),
    ("debug", "removeListener"),
    ("realtime", "count"),
    ("realtime", "join"),
    ("realtime", "subscribe"),
    ("realtime", "unsubscribe"),
    ("realtime", "validate"),
}
_GONE: Final = {("admin", "resetKuzzleData"), ("index", "getAutoRefresh")}


def known_actions(controller: str) -> frozenset[str] | None:
    """The actions of a native controller (None: not one of Kuzzle's controllers;
    ``memoryStorage`` is ``ms``'s long name)."""
    from kuzzle_errors._stub import routes  # read with the route table

    name = "ms" if controller == "memoryStorage" else controller
    pairs = {(c, a) for _verb, _path, c, a in routes.ROUTES} | _NO_ROUTE
    found = frozenset(a for c, a in pairs - _GONE if c == name)
    return found or None


def perform(node: StubState, call: Call) -> tuple[Any, bool]:
    """Run ``call``'s action: ``(result, has_result)``; KuzzleFailure for its error,
    Kuzzle's 404 for an unknown controller or action."""
    controller, action = call.controller or "", call.action or ""
    actions = known_actions(controller)
    if actions is None:
        raise failure("api.process.controller_not_found", controller)
    if action not in actions:
        raise failure("api.process.action_not_found", controller, action)
    handler = ACTIONS.get((controller, action))
    if handler is None:
        raise failure(
            "core.fatal.unexpected_error",
            f'the Kuzzle stub does not implement "{controller}:{action}"; script its answer '
            "with StubKuzzle.respond() or fail()",
        )
    result = handler(node, call)
    return (None, False) if result is NO_RESULT else (result, True)
