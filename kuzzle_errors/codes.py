"""One exception class per catalogued Kuzzle error id, created on first access.

``kuzzle_errors.codes.ServicesStorageNotFound is error_class("services.storage.not_found")``.
The names are the id in CamelCase; ``codes.pyi`` lists them all for IDEs and type checkers.
"""

from __future__ import annotations

from kuzzle_errors import catalog
from kuzzle_errors.exceptions import KuzzleError, class_name_for_id, error_class

_names: dict[str, str] | None = None


def _ids_by_name() -> dict[str, str]:
    global _names
    if _names is None:
        _names = {class_name_for_id(spec.id): spec.id for spec in catalog.all_specs()}
    return _names


def __getattr__(name: str) -> type[KuzzleError]:
    """The class of the error id whose CamelCase name is ``name``, created on first access."""
    error_id = _ids_by_name().get(name)
    if error_id is None:
        raise AttributeError(f"module 'kuzzle_errors.codes' has no attribute {name!r}")
    return error_class(error_id)


def __dir__() -> list[str]:
    """Every per-id class name, for completion in a REPL."""
    return sorted(_ids_by_name())
