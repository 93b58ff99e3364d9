"""The failed items of a partial failure, whatever shape Kuzzle gave them.

Kuzzle reports failed items in several shapes, depending on the action and the version:

=========================================  ==========================================
shape                                       sent by
=========================================  ==========================================
a nested error object (``id``, ``status``)  ``security:mDelete*`` (with its ``stack``)
``{document: {_id, body}, reason, status}`` v2 ``document:mCreate``/``mReplace``/...
``{_id, reason, status}``                   v2 ``document:mDelete``
a bare id string                            ``document:mGet``/``mExists``
``{"<action>": {_id, status, error}}``      ``bulk:import``
``{cause, id}`` / ``{id, reason}``          ``updateByQuery`` / ``deleteByQuery``
=========================================  ==========================================

Each item has a retry hint of its own (:attr:`PartialItem.retry_hint`), and
:func:`retry_request` rebuilds the request a partial failure answers with only the items worth
sending again, for every multi-document action (:data:`MULTI_DOCUMENT_ACTIONS`);
:func:`batches` splits documents into requests that fit Kuzzle's limits.
"""

from __future__ import annotations

import fnmatch
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from kuzzle_errors import hints
from kuzzle_errors._redact import bounded_int, redact, safe_repr
from kuzzle_errors.exceptions import KuzzleError, coerce_status
from kuzzle_errors.hints import RetryHint
from kuzzle_errors.parser import parse_error

if TYPE_CHECKING:
    from kuzzle_errors.exceptions import PartialError

_T = TypeVar("_T")

__all__ = [
    "MULTI_DOCUMENT_ACTIONS",
    "REQUEST_ROOM",
    "PartialItem",
    "batches",
    "parse_item",
    "parse_items",
    "retry_request",
    "successes_of",
]

_BULK_ACTIONS = frozenset({"create", "index", "update", "delete", "createOrReplace", "replace"})

#: Error ids whose first placeholder (``props[0]``) is the id of the item they are about.
SUBJECT_FIRST: Final = frozenset(
    {
        "security.user.not_found",
        "security.user.already_exists",
        "security.user.cannot_hydrate",
        "security.user.uninitialized",
        "security.user.no_profile",
        "security.profile.not_found",
        "security.profile.in_use",
        "security.profile.cannot_hydrate",
        "security.profile.uninitialized",
        "security.role.not_found",
        "security.role.in_use",
        "security.role.uninitialized",
        "security.role.invalid_rights",
        "security.role.closure_missing_test",
        "security.role.unknown_controller",
        "security.role.unknown_action",
        "services.storage.not_found",
        "services.storage.too_many_changes",
    }
)


@dataclass(frozen=True, slots=True)
class PartialItem:
    """One failed item of a partial failure.

    Attributes:
        id: the document (or user, profile, role...) id, when the item names one.
        document: the document as sent back (``{_id, body}``), when there is one.
        status: the item's status, when sent.
        reason: why it failed (the item's ``reason``, ``cause`` or error message).
        error: the item parsed as a :class:`~kuzzle_errors.KuzzleError` when it is an error
            object, else None.
        action: the bulk action (``create``, ``index``...) of a ``bulk:import`` item.
        raw: the item exactly as received.
    """

    id: str | None = None
    document: Mapping[str, Any] | None = None
    status: int | None = None
    reason: str | None = None
    # Derived from ``raw``; an exception compares by identity: not part of equality.
    error: KuzzleError | None = field(default=None, compare=False)
    action: str | None = None
    raw: Any = None

    @property
    def error_id(self) -> str | None:
        """The id of this item's failure: a nested error object's own, else the id Kuzzle
        gives the same failure of a one-document action, read from the item's reason, status
        or Elasticsearch error type (:data:`kuzzle_errors.hints.ITEM_REASONS`): a document
        that exists already is ``services.storage.document_already_exists``, a missing one
        (an id alone, as ``mGet`` reports it) ``services.storage.not_found``; None when
        nothing names it (an invalid item: its ``reason`` says why).
        """
        if self.error is not None:
            return self.error.id
        raw = self.raw
        if isinstance(raw, (str, int)) and not isinstance(raw, bool):
            return "services.storage.not_found"  # mGet, mExists: an id alone, not found
        return hints.item_error_id(self.status, self.reason, self._error_type())

    @property
    def retry_hint(self) -> RetryHint:
        """Whether sending this item again may succeed: the nested error's hint, else
        :func:`kuzzle_errors.hints.item_advice` for :attr:`error_id` and :attr:`status`
        (a document that exists already: no; Elasticsearch's queue refusing it: yes, safely;
        a storage timeout: yes, but it may have been written)."""
        if self.error is not None:
            return self.error.retry_hint
        return hints.item_advice(self.error_id, self.status)

    @property
    def retryable(self) -> bool:
        """Shortcut for ``retry_hint.retryable``."""
        return self.retry_hint.retryable

    def matches(self, *patterns: str) -> bool:
        """True if :attr:`error_id` matches one of the shell-style ``patterns``."""
        error_id = self.error_id
        return error_id is not None and any(fnmatch.fnmatchcase(error_id, p) for p in patterns)

    def _error_type(self) -> str | None:
        """The Elasticsearch error type of a ``bulk:import`` item (``{action: {error}}``)."""
        raw = self.raw
        if self.action is None or not isinstance(raw, Mapping):
            return None
        inner = raw.get(self.action)
        error = inner.get("error") if isinstance(inner, Mapping) else None
        kind = error.get("type") if isinstance(error, Mapping) else None
        return kind if isinstance(kind, str) else None

    def __repr__(self) -> str:
        # Shown like an error: secrets redacted, sizes bounded (``raw`` may be anything).
        shown = []
        for name in (f.name for f in fields(self)):
            value = getattr(self, name)
            shown.append(f"{name}={value if name == 'error' else redact(value)!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in ("reason", "message", "type"):
            inner = value.get(key)
            if isinstance(inner, str):
                return inner
    return safe_repr(value)


def _as_id(value: object) -> str | None:
    if type(value) is str:  # what Kuzzle sends: first
        return value
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    if isinstance(value, int):
        return str(bounded_int(value))  # past 4,300 digits, str() raises
    return str(value)


def _subject_id(item: Mapping[str, Any], error_id: str | None) -> str | None:
    """The id a nested error object is about: ``_id``, else its first placeholder.

    ``security:mDelete*`` items carry no ``_id``: ``security.user.not_found`` names the user
    only in ``props[0]``.
    """
    own = item.get("_id")
    if own is not None:
        return _as_id(own)
    props = item.get("props")
    if error_id in SUBJECT_FIRST and isinstance(props, list) and props:
        first = props[0]
        return first if isinstance(first, str) else _as_id(first)
    return None


def parse_item(item: object, *, transport: str | None = None) -> PartialItem:
    """One failed item, whatever its shape; unknown shapes keep only ``raw``."""
    # JSON's own dict is checked first: a partial failure may hold 100,000 items.
    if type(item) is not dict and not isinstance(item, Mapping):
        if isinstance(item, (str, int)) and not isinstance(item, bool):
            return PartialItem(id=_as_id(item), raw=item)
        return PartialItem(raw=item)
    document = item.get("document")
    if type(document) is dict or isinstance(document, Mapping):
        reason = item.get("reason")
        return PartialItem(
            _as_id(document.get("_id")),
            document,
            coerce_status(item.get("status")),
            reason if type(reason) is str else _as_text(reason),
            None,
            None,
            item,
        )
    if len(item) == 1:
        ((action, inner),) = item.items()
        if action in _BULK_ACTIONS and isinstance(inner, Mapping):
            error = inner.get("error")
            return PartialItem(
                id=_as_id(inner.get("_id")),
                status=coerce_status(inner.get("status")),
                reason=_as_text(error) if error is not None else _as_text(inner.get("reason")),
                action=action,
                raw=item,
            )
    if "message" in item and ("status" in item or "id" in item or "code" in item):
        parsed = parse_error(item, transport=transport)
        return PartialItem(
            id=_subject_id(item, parsed.id),
            status=parsed.status,
            reason=parsed.message,
            error=parsed,
            raw=item,
        )
    reason = item.get("reason", item.get("cause", item.get("message")))
    return PartialItem(
        id=_as_id(item.get("_id", item.get("id"))),
        status=coerce_status(item.get("status")),
        reason=_as_text(reason),
        raw=item,
    )


def parse_items(errors: object, *, transport: str | None = None) -> list[PartialItem]:
    """Every failed item of an ``errors`` array (anything else gives no items)."""
    if not isinstance(errors, list):
        return []
    return [parse_item(item, transport=transport) for item in errors]


def successes_of(result: object) -> list[Any] | None:
    """The succeeded items of a result sent beside (or instead of) a partial error, or None
    when the result says nothing of them (a ``strict`` m* action's error comes with none).

    v2 m* actions: ``{successes, errors}``; v1: ``{hits, total}``; ``security:mDelete*``: the
    list of deleted ids.
    """
    if isinstance(result, list):
        return result
    if isinstance(result, Mapping):
        for key in ("successes", "hits"):
            value = result.get(key)
            if isinstance(value, list):
                return value
    return None


# -- sending again the items worth it ---------------------------------------------------------

#: Where a multi-document action holds its items, in the request and in its failed items:
#: ``documents`` (``body.documents``: ``[{_id, body}]``, mUpsert's ``[{_id, changes,
#: default}]``; failed as ``{document, reason, status}``), ``ids`` (``body.ids``, which mGet
#: and mExists also take beside the body, a list or a comma-separated string; failed as
#: ``{_id, reason, status}``, a bare id, or a nested error naming it) or ``bulkData``
#: (``body.bulkData``: an action line, then a document line but for ``delete``; failed as
#: ``{action: {_id, status, _source, error}}``).
ItemKind = Literal["documents", "ids", "bulkData"]

#: Kuzzle 2's actions that report failed items (the ``security:mGet*`` actions leave missing
#: ids out instead, and ``index:mDelete`` answers the indexes it deleted), by
#: ``controller:action``.
MULTI_DOCUMENT_ACTIONS: Final[Mapping[str, ItemKind]] = {
    "document:mCreate": "documents",
    "document:mCreateOrReplace": "documents",
    "document:mReplace": "documents",
    "document:mUpdate": "documents",
    "document:mUpsert": "documents",
    "bulk:mWrite": "documents",
    "document:mDelete": "ids",
    "document:mGet": "ids",
    "document:mExists": "ids",
    "security:mDeleteUsers": "ids",
    "security:mDeleteProfiles": "ids",
    "security:mDeleteRoles": "ids",
    "bulk:import": "bulkData",
}

#: Which failed items :func:`retry_request` keeps: the retryable ones (their own hint), all of
#: them, or those a function chooses.
Which = Literal["retryable", "all"] | Callable[[PartialItem], bool]


def retry_request(
    error: PartialError,
    which: Which = "retryable",
    *,
    request: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The request ``error`` answers, holding only its failed items that ``which`` keeps
    (by default those whose :attr:`PartialItem.retry_hint` is retryable); None when it keeps
    none. See :meth:`kuzzle_errors.PartialError.retry_request`.

    Items are matched to the request's own: a document by its ``_id`` (else by its body, as
    Kuzzle sends it back), an id by its value, a ``bulkData`` operation by its action and
    ``_id`` (a line without ``_id``: by its document, whatever id Elasticsearch made). Items
    sharing an id are told apart by their body; a ``security:mDelete*`` failure naming no id
    is the request's id neither deleted nor named by another. What is sent again is what the
    request held, in its order, with every other argument as it was. Raises ValueError when
    the request is not known, is no multi-document action, or a kept item matches none of its
    items (it is not the request this error answers).
    """
    sent = request if request is not None else error.request
    if not isinstance(sent, Mapping):
        raise ValueError(
            "this error does not know the request it answers (the clients attach it; one "
            "parsed by hand does not): pass it, retry_request(request=...)"
        )
    name = f"{sent.get('controller')}:{sent.get('action')}"
    kind = MULTI_DOCUMENT_ACTIONS.get(name)
    if kind is None:
        raise ValueError(f"{name[:100]} is no multi-document action Kuzzle reports items of")
    if which == "retryable":
        chosen = [item for item in error.items if item.retry_hint.retryable]
    elif which == "all":
        chosen = list(error.items)
    elif callable(which):
        chosen = [item for item in error.items if which(item)]
    else:
        raise TypeError(f"which: 'retryable', 'all' or a function of an item, not {which!r}")
    if not chosen:
        return None
    body = sent.get("body")
    body = body if isinstance(body, Mapping) else {}
    if name.startswith("security:") and any(item.id is None for item in chosen):
        chosen = _unnamed_ids(error, chosen, _list(body.get("ids"), "body.ids"))
    if kind == "ids" and "ids" not in body and "ids" in sent:  # mGet/mExists: ids beside
        ids = sent["ids"]
        if isinstance(ids, str):  # "a,b", as Kuzzle splits an argument
            return {**sent, "ids": ",".join(_pick_ids(ids.split(","), chosen))}
        return {**sent, "ids": _pick_ids(_list(ids, "ids"), chosen)}
    key = "ids" if kind == "ids" else kind
    items = _list(body.get(key), f"body.{key}")
    if kind == "documents":
        picked = _pick_documents(items, chosen)
    elif kind == "ids":
        picked = _pick_ids(items, chosen)
    else:
        picked = _pick_bulk(items, chosen)
    return {**sent, "body": {**body, key: picked}}


def _unnamed_ids(error: PartialError, chosen: list[PartialItem], ids: list[Any]) -> list[Any]:
    """``chosen`` with its failures that name no id (a raw error such as
    ``services.storage.not_connected``, which ``security:mDelete*`` reports as it came) given
    the ids they are: the request's, less those deleted and those the other failures name.
    Raises ValueError when that does not say which is which."""
    unnamed = [item for item in error.items if item.id is None]
    left = [item for item in chosen if item.id is None]
    successes = error.successes
    missing: list[str] = []
    if successes is not None:
        done = {_as_id(value) for value in successes}
        done.update(item.id for item in error.items if item.id is not None)
        missing = [key for key in map(_as_id, ids) if key is not None and key not in done]
    if successes is None or len(missing) != len(unnamed) or len(left) != len(unnamed):
        raise ValueError(
            f"{len(left)} failed item{'s name' if len(left) != 1 else ' names'} no id, and the "
            "request's ids less those deleted and named do not say which: not sent again blindly"
        )
    named = [item for item in chosen if item.id is not None]
    return named + [replace(item, id=key) for item, key in zip(left, missing, strict=True)]


def _list(value: object, where: str) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
        return list(value)  # a tuple is sent as a JSON array too
    raise ValueError(f"the request holds no list in {where}: not the request this error answers")


def _unmatched(left: int) -> ValueError:
    plural = "s match" if left != 1 else " matches"
    return ValueError(
        f"{left} failed item{plural} none of the request's: is it the request this error answers?"
    )


def _without_meta(body: object) -> object:
    """``body`` without Kuzzle's metadata, which Kuzzle adds to what it sends back."""
    if isinstance(body, Mapping) and "_kuzzle_info" in body:
        return {key: value for key, value in body.items() if key != "_kuzzle_info"}
    return body


def _same_document(item: PartialItem, document: object) -> bool:
    """Whether ``item`` failed for ``document`` (one of the request's, with no string id)."""
    sent = item.raw.get("document") if isinstance(item.raw, Mapping) else None
    if sent == document:  # Kuzzle's own pre-checks send the document back as it came
        return True
    if not (isinstance(sent, Mapping) and isinstance(document, Mapping)):
        return False
    if sent.get("_id") != document.get("_id"):
        return False
    # Kuzzle's copy: {_id, body} or, from Elasticsearch, {_id, _source} with its metadata.
    theirs = sent.get("body", sent.get("_source"))
    ours = document.get("body", document.get("changes"))  # mUpsert sends "changes"
    return _without_meta(theirs) == _without_meta(ours)


def _pick_documents(documents: list[Any], chosen: list[PartialItem]) -> list[Any]:
    used: set[int] = set()
    left = 0
    for item in chosen:
        own = item.document.get("_id") if item.document is not None else None
        candidates = [
            at
            for at, document in enumerate(documents)
            if at not in used
            and (document.get("_id") if isinstance(document, Mapping) else None) == own
        ]
        if isinstance(own, str):
            found = _one_of(candidates, documents, functools.partial(_same_document, item))
        else:  # no id of its own: its body, as Kuzzle sent it back, says which it is
            found = next((at for at in candidates if _same_document(item, documents[at])), -1)
        if found < 0:
            left += 1
        used.add(found)
    if left:
        raise _unmatched(left)
    return [document for at, document in enumerate(documents) if at in used]


def _one_of(candidates: list[int], items: list[Any], same: Callable[[Any], bool]) -> int:
    """Which of ``candidates`` (unused request items of a failed item's id, in the request's
    order) the failed item is, or -1 for none. Several items may share an id: the one whose
    body Kuzzle sent back is it (replaying another would overwrite what was written); request
    order decides only between identical ones."""
    if len(candidates) <= 1:
        return candidates[0] if candidates else -1
    matching = [at for at in candidates if same(items[at])]
    if matching:
        return matching[0]
    if all(items[at] == items[candidates[0]] for at in candidates):
        return candidates[0]
    raise ValueError(
        f"a failed item's id is {len(candidates)} different items of the request, and the "
        "body it sends back is none of them: which one failed is not known"
    )


def _pick_ids(ids: list[Any], chosen: list[PartialItem]) -> list[Any]:
    wanted: dict[str, int] = {}
    left = 0
    for item in chosen:
        if item.id is None:
            left += 1
        else:
            wanted[item.id] = wanted.get(item.id, 0) + 1
    picked = []
    for value in ids:
        key = _as_id(value)
        if key is not None and wanted.get(key, 0) > 0:
            wanted[key] -= 1
            picked.append(value)
    left += sum(wanted.values())
    if left:
        raise _unmatched(left)
    return picked


def _bulk_source(action: str | None, document: object) -> object:
    # Kuzzle sends back an update's "doc", anything else's whole document line.
    if action == "update" and isinstance(document, Mapping):
        return _without_meta(document.get("doc"))
    return _without_meta(document)


def _same_operation(action: str | None, source: object, operation: list[Any]) -> bool:
    """Whether an item that failed sending back ``source`` is ``operation`` (its lines)."""
    return source == _bulk_source(action, operation[1] if len(operation) == 2 else None)


def _pick_bulk(bulk_data: list[Any], chosen: list[PartialItem]) -> list[Any]:
    operations: list[tuple[str, object, list[Any]]] = []  # action, _id, its lines
    at = 0
    while at < len(bulk_data):
        line = bulk_data[at]
        if not (isinstance(line, Mapping) and len(line) == 1):
            raise ValueError(f"body.bulkData[{at}] is no action line: not Kuzzle's bulk format")
        ((action, meta),) = line.items()
        width = 1 if action == "delete" else 2
        own = meta.get("_id") if isinstance(meta, Mapping) else None
        operations.append((action, own, bulk_data[at : at + width]))
        at += width
    used: set[int] = set()
    left = 0
    for item in chosen:
        inner = item.raw.get(item.action) if isinstance(item.raw, Mapping) else None
        source = _without_meta(inner.get("_source") if isinstance(inner, Mapping) else None)
        same = functools.partial(_same_operation, item.action, source)
        unused = [at for at in range(len(operations)) if at not in used]
        same_id = [
            at
            for at in unused
            if operations[at][0] == item.action
            and isinstance(operations[at][1], str)
            and operations[at][1] == item.id
        ]
        found = _one_of(same_id, [operation for _, _, operation in operations], same)
        if found < 0:  # a line without _id: Elasticsearch put the id it made into the item
            found = next(
                (
                    at
                    for at in unused
                    if operations[at][0] == item.action
                    and not isinstance(operations[at][1], str)
                    and same(operations[at][2])
                ),
                -1,
            )
        if found < 0:
            left += 1
        used.add(found)
    if left:
        raise _unmatched(left)
    return [
        line for at, (_, _, operation) in enumerate(operations) if at in used for line in operation
    ]


# -- batches that fit ---------------------------------------------------------------------------

#: What a request holds besides its documents (controller, action, index, collection, options),
#: kept free under ``server.maxRequestSize`` by :func:`batches`, in bytes.
REQUEST_ROOM: Final = 4096


def batches(
    documents: Iterable[_T],
    *,
    size: int = hints.DOCUMENTS_WRITE_COUNT,
    max_bytes: int | None = hints.MAX_REQUEST_SIZE - REQUEST_ROOM,
) -> Iterator[list[_T]]:
    """Split ``documents`` into lists that fit one request of Kuzzle's default limits: at
    most ``size`` documents (``limits.documentsWriteCount``, 200) and at most ``max_bytes``
    of JSON as the clients send it (``server.maxRequestSize``, 1 MB, less
    :data:`REQUEST_ROOM` for the rest of the request; None: no bound). Pass the node's own
    settings when they differ.

    Lazy and in order: ``for batch in batches(docs): kuzzle.query({..., "body":
    {"documents": batch}})``. A document larger than ``max_bytes`` alone raises ValueError:
    no request could carry it. For ``bulk:import``, batch the operations (action and document
    lines together), then flatten each batch.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be an int >= 1, not {size!r}")
    if max_bytes is not None and (
        isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1
    ):
        raise ValueError(f"max_bytes must be an int >= 1 or None, not {max_bytes!r}")
    batch: list[_T] = []
    used = 2  # the list's brackets
    for number, document in enumerate(documents):
        cost = 0
        if max_bytes is not None:
            cost = _json_bytes(document) + 1  # its comma
            if cost + 2 > max_bytes:
                raise ValueError(
                    f"document {number} alone is {cost - 1} bytes of JSON, over max_bytes "
                    f"({max_bytes}): no request can carry it"
                )
        if batch and (len(batch) >= size or (max_bytes is not None and used + cost > max_bytes)):
            yield batch
            batch, used = [], 2
        batch.append(document)
        used += cost
    if batch:
        yield batch


def _json_bytes(value: object) -> int:
    # As the clients encode a request (kuzzle_errors._protocol.queries.encode).
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return len(text.encode("utf-8", "surrogatepass"))
