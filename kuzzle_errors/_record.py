"""Tiny value types: an immutable record base and a default-argument sentinel.

``Record`` is what ``dataclass(frozen=True, slots=True)`` gives, hand-written because
``dataclasses`` imports ``inspect``, which alone would cost ``import kuzzle_errors`` several
milliseconds. ``Sentinel`` marks "argument not given" and reads well in ``help()``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar


class Record:
    """Immutable slotted object with field-wise equality, hashing, repr and pickling."""

    __slots__ = ()
    #: Fields in constructor order (the subclass's ``__slots__``).
    _fields: ClassVar[tuple[str, ...]] = ()
    #: Fields taking part in ``==`` and ``hash`` (default: all).
    _compared: ClassVar[tuple[str, ...] | None] = None

    def _set(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot delete {name!r}")

    def _key(self) -> tuple[Any, ...]:
        names = self._fields if self._compared is None else self._compared
        return tuple(getattr(self, name) for name in names)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), tuple(getattr(self, name) for name in self._fields))


class Sentinel:
    """A unique marker for "argument not given"; its repr is what signatures show."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text
