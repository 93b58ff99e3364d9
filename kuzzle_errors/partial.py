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

from collections.abc import Mapping

from kuzzle_errors._record import Record
from kuzzle_errors._redact import safe_repr

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from kuzzle_errors.exceptions import KuzzleError

__all__ = ["PartialItem", "parse_item", "parse_items", "successes_of"]

_BULK_ACTIONS = frozenset({"create", "index", "update", "delete", "createOrReplace", "replace"})


class PartialItem(Record):
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

    __slots__ = ("id", "document", "status", "reason", "error", "action", "raw")
    _fields = __slots__
    # The parsed error is derived from ``raw`` and compares by identity: leave it out.
    _compared = ("id", "document", "status", "reason", "action", "raw")

    id: str | None
    document: Mapping[str, Any] | None
    status: int | None
    reason: str | None
    error: KuzzleError | None
    action: str | None
    raw: Any

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
        self._set(
            id=id,
            document=document,
            status=status,
            reason=reason,
            error=error,
            action=action,
            raw=raw,
        )


def _as_int(value: object) -> int | None:
    from kuzzle_errors.parser import coerce_status

    return coerce_status(value)


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
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def parse_item(item: object, *, transport: str | None = None) -> PartialItem:
    """One failed item, whatever its shape; unknown shapes keep only ``raw``."""
    if isinstance(item, (str, int)) and not isinstance(item, bool):
        return PartialItem(id=str(item), raw=item)
    if not isinstance(item, Mapping):
        return PartialItem(raw=item)
    document = item.get("document")
    if isinstance(document, Mapping):
        return PartialItem(
            id=_as_id(document.get("_id")),
            document=document,
            status=_as_int(item.get("status")),
            reason=_as_text(item.get("reason")),
            raw=item,
        )
    if len(item) == 1:
        ((action, inner),) = item.items()
        if action in _BULK_ACTIONS and isinstance(inner, Mapping):
            error = inner.get("error")
            return PartialItem(
                id=_as_id(inner.get("_id")),
                status=_as_int(inner.get("status")),
                reason=_as_text(error) if error is not None else _as_text(inner.get("reason")),
                action=action,
                raw=item,
            )
    if "message" in item and ("status" in item or "id" in item or "code" in item):
        from kuzzle_errors.parser import parse_error

        parsed = parse_error(item, transport=transport)
        return PartialItem(
            id=_as_id(item.get("_id")),
            status=parsed.status,
            reason=parsed.message,
            error=parsed,
            raw=item,
        )
    reason = item.get("reason", item.get("cause", item.get("message")))
    return PartialItem(
        id=_as_id(item.get("_id", item.get("id"))),
        status=_as_int(item.get("status")),
        reason=_as_text(reason),
        raw=item,
    )


def parse_items(errors: object, *, transport: str | None = None) -> list[PartialItem]:
    """Every failed item of an ``errors`` array (anything else gives no items)."""
    if not isinstance(errors, list):
        return []
    return [parse_item(item, transport=transport) for item in errors]


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
