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
"""

from __future__ import annotations

# collections.abc re-exports this; importing it would load the whole collections package.
from _collections_abc import Mapping

from kuzzle_errors._record import Record
from kuzzle_errors._redact import bounded_int, redact, safe_repr
from kuzzle_errors.exceptions import coerce_status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Final

    from kuzzle_errors.exceptions import KuzzleError

__all__ = ["PartialItem", "parse_item", "parse_items", "successes_of"]

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


class _Unsealed:
    """A :class:`PartialItem`'s slots, still writable (see ``parse_items``)."""

    __slots__ = ("id", "document", "status", "reason", "error", "action", "raw")

    id: str | None
    document: Mapping[str, Any] | None
    status: int | None
    reason: str | None
    error: KuzzleError | None
    action: str | None
    raw: Any


class PartialItem(_Unsealed, Record):
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

    __slots__ = ()
    _fields = _Unsealed.__slots__
    # The parsed error is derived from ``raw`` and compares by identity: leave it out.
    _compared = ("id", "document", "status", "reason", "action", "raw")

    def __init__(
        self,
        id: str | None = None,
        document: Mapping[str, Any] | None = None,
        status: int | None = None,
        reason: str | None = None,
        error: KuzzleError | None = None,
        action: str | None = None,
        raw: Any = None,
    ) -> None:
        _fill(self, id, document, status, reason, error, action, raw)

    def __repr__(self) -> str:
        # Shown like an error: secrets redacted, sizes bounded (``raw`` may be anything).
        fields = ", ".join(
            f"{name}={getattr(self, name) if name == 'error' else redact(getattr(self, name))!r}"
            for name in self._fields
        )
        return f"{type(self).__name__}({fields})"


# The slots' own setters: how an immutable item gets its values, in constructor order.
_SETTERS: Final = tuple(_Unsealed.__dict__[name].__set__ for name in _Unsealed.__slots__)


def _fill(
    item: PartialItem,
    id: str | None,
    document: Mapping[str, Any] | None,
    status: int | None,
    reason: str | None,
    error: KuzzleError | None,
    action: str | None,
    raw: Any,
    setters: tuple[Callable[[PartialItem, Any], None], ...] = _SETTERS,
) -> None:
    set_id, set_document, set_status, set_reason, set_error, set_action, set_raw = setters
    set_id(item, id)
    set_document(item, document)
    set_status(item, status)
    set_reason(item, reason)
    set_error(item, error)
    set_action(item, action)
    set_raw(item, raw)


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


def _parse_error_unset(item: object, *, transport: str | None = None) -> KuzzleError:
    raise RuntimeError("kuzzle_errors.parser hands the error parser over when it loads")


#: Parses an item that is an error object: ``kuzzle_errors.parser.parse_error``, handed over
#: by the parser (which sits above this module) when the package loads.
_parse_error: Callable[..., KuzzleError] = _parse_error_unset


def wire(*, parse_error: Callable[..., KuzzleError]) -> None:
    """Hand over the parser of nested error objects (called once, by ``kuzzle_errors.parser``)."""
    global _parse_error
    _parse_error = parse_error


def parse_item(item: object, *, transport: str | None = None) -> PartialItem:
    """One failed item, whatever its shape; unknown shapes keep only ``raw``."""
    if isinstance(item, (str, int)) and not isinstance(item, bool):
        return PartialItem(id=_as_id(item), raw=item)
    if not isinstance(item, Mapping):
        return PartialItem(raw=item)
    document = item.get("document")
    if isinstance(document, Mapping):
        return PartialItem(
            id=_as_id(document.get("_id")),
            document=document,
            status=coerce_status(item.get("status")),
            reason=_as_text(item.get("reason")),
            raw=item,
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
        parsed = _parse_error(item, transport=transport)
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
    """Every failed item of an ``errors`` array (anything else gives no items).

    Gives what :func:`parse_item` gives for each item; the common shapes of plain JSON (a
    ``document`` item of the v2 m* actions, an id string) take a fast path that sets the
    slots directly, as a partial failure may hold 100,000 items.
    """
    if not isinstance(errors, list):
        return []
    # The fast path fills an _Unsealed item with plain attribute stores, then seals it by
    # making it a PartialItem: the same memory layout, so ``__class__`` may change, and
    # several times cheaper than one setter call per slot.
    items: list[PartialItem] = []
    append = items.append
    new = object.__new__
    slow = parse_item
    for raw in errors:
        kind = type(raw)
        if kind is dict:
            document = raw.get("document")
            if type(document) is not dict:
                append(slow(raw, transport=transport))
                continue
            doc_id = document.get("_id")
            reason = raw.get("reason")
            item = new(_Unsealed)
            item.id = doc_id if type(doc_id) is str else _as_id(doc_id)
            item.document = document
            status = raw.get("status")
            item.status = (
                status if type(status) is int and 100 <= status <= 999 else coerce_status(status)
            )
            item.reason = reason if type(reason) is str else _as_text(reason)
            item.error = None
            item.action = None
            item.raw = raw
        elif kind is str:
            item = new(_Unsealed)
            item.id = item.raw = raw
            item.document = item.status = item.reason = item.error = item.action = None
        else:
            append(slow(raw, transport=transport))
            continue
        item.__class__ = PartialItem
        append(item)  # type: ignore[arg-type]  # sealed: a PartialItem now
    return items


def successes_of(result: object) -> list[Any] | None:
    """The succeeded items of a result sent beside (or instead of) a partial error.

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
