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
from dataclasses import dataclass, field, fields
from typing import Any, Final

from kuzzle_errors._redact import bounded_int, redact, safe_repr
from kuzzle_errors.exceptions import KuzzleError, coerce_status
from kuzzle_errors.parser import parse_error

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
