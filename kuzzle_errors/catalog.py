"""Kuzzle's error catalogue: every documented error id, its numeric code, class and status.

The data is generated from Kuzzle 2.56.0's ``lib/kerror/codes/*.json`` and Kuzzle v1's
error-code table by ``scripts/generate_catalog.py``; this module only indexes it.

>>> spec = get("api.process.overloaded")
>>> spec.hex, spec.class_name, spec.status
('0x02020002', 'ServiceUnavailableError', 503)
>>> get(0x01010016, version=1).id
'services.storage.index_reserved'
>>> get("0x01010016").id
'services.storage.collection_reserved'

The catalogue is built on first use, so importing this module costs next to nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CLASS_STATUS",
    "ErrorSpec",
    "all_specs",
    "find",
    "get",
    "parse_code",
]

#: The HTTP-like status each Kuzzle error class carries (Kuzzle ``lib/kerror/errors``; v1
#: ``kuzzle-common-objects``). ``KuzzleError`` itself defaults to 500.
CLASS_STATUS: Final[dict[str, int]] = {
    "KuzzleError": 500,
    "BadRequestError": 400,
    "UnauthorizedError": 401,
    "ForbiddenError": 403,
    "NotFoundError": 404,
    "PreconditionError": 412,
    "SizeLimitError": 413,
    "TooManyRequestsError": 429,
    "InternalError": 500,
    "ExternalServiceError": 500,
    "PluginImplementationError": 500,
    "ServiceUnavailableError": 503,
    "GatewayTimeoutError": 504,
    "PartialError": 206,
    "MultipleErrorsError": 400,
    "ParseError": 400,
}

_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One catalogued Kuzzle error.

    ``message`` is Kuzzle's ``util.format`` template (``%s`` placeholders) when known (v2);
    ``versions`` lists the Kuzzle major versions that define the id; ``deprecated`` is the
    Kuzzle version that deprecated it, if any.
    """

    id: str
    code: int
    class_name: str
    status: int
    description: str
    message: str | None = None
    deprecated: str | None = None
    versions: tuple[int, ...] = (2,)

    @property
    def hex(self) -> str:
        """The code as Kuzzle's docs print it: ``0x02020002``."""
        return f"0x{self.code:08x}"

    @property
    def domain(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def subdomain(self) -> str:
        return self.id.split(".", 2)[1]

    @property
    def name(self) -> str:
        return self.id.rsplit(".", 1)[-1]

    def format(self, *args: object) -> str:
        """Fill the message template the way Kuzzle's ``util.format`` does.

        Missing arguments leave their ``%s`` in place (as Node does); extra arguments are
        appended separated by spaces. Without a template, the description is returned.
        """
        template = self.message if self.message is not None else self.description
        return format_template(template, args)


def format_template(template: str, args: tuple[object, ...]) -> str:
    """A small subset of Node's ``util.format``: ``%s``/``%d``/``%i``/``%j``, ``%%``."""
    remaining = list(args)
    out: list[str] = []
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == "%" and i + 1 < len(template):
            nxt = template[i + 1]
            if nxt == "%":
                out.append("%")
                i += 2
                continue
            if nxt in "sdij" and remaining:
                out.append(_node_str(remaining.pop(0)))
                i += 2
                continue
        out.append(ch)
        i += 1
    out.extend(" " + _node_str(arg) for arg in remaining)
    return "".join(out)


def _node_str(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class _Catalog:
    """Indexes over the rows of ``_catalog_data`` (or, for the generator, the rows it builds)."""

    def __init__(
        self,
        v2: Sequence[tuple[str, int, str, str, str, str | None]],
        v1: Sequence[tuple[str, int, str, int, str]],
    ) -> None:
        v1_rows = {row[0]: row for row in v1}
        self.by_id: dict[int, dict[str, ErrorSpec]] = {1: {}, 2: {}}
        self.by_code: dict[int, dict[int, ErrorSpec]] = {1: {}, 2: {}}
        for id_, code, cls, desc, msg, dep in v2:
            versions = (1, 2) if id_ in v1_rows else (2,)
            spec = ErrorSpec(id_, code, cls, CLASS_STATUS[cls], desc, msg, dep, versions)
            self.by_id[2][id_] = spec
            self.by_code[2][code] = spec
        for id_, code, cls, status, desc in v1:
            versions = (1, 2) if id_ in self.by_id[2] else (1,)
            spec = ErrorSpec(id_, code, cls, status, desc, None, None, versions)
            self.by_id[1][id_] = spec
            self.by_code[1][code] = spec
        # The preferred spec per id: v2's when both define it.
        self.preferred: dict[str, ErrorSpec] = {**self.by_id[1], **self.by_id[2]}


_catalog: _Catalog | None = None


def _data() -> _Catalog:
    global _catalog
    if _catalog is None:
        from kuzzle_errors import _catalog_data as data

        _catalog = _Catalog(data.V2, data.V1)
    return _catalog


def parse_code(value: object) -> int | None:
    """An error code from an int, ``"0x02020002"`` or ``"33685506"``; None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 0xFFFFFFFF else None
    if isinstance(value, str) and len(value) <= 16:
        text = value.strip()
        if text[:2] in ("0x", "0X") and 2 < len(text) <= 10 and set(text[2:]) <= _HEX_DIGITS:
            return int(text[2:], 16)
        if text.isascii() and text.isdigit() and len(text) <= 10:
            code = int(text)
            return code if code <= 0xFFFFFFFF else None
    return None


def by_id(error_id: str) -> ErrorSpec | None:
    """The preferred spec of an id (v2's, else v1's): :func:`get`'s fast path for ids."""
    return (_catalog or _data()).preferred.get(error_id)


def get(key: str | int, *, version: int | None = None) -> ErrorSpec | None:
    """Look an error up by id (``"api.process.overloaded"``) or code (int or hex/decimal string).

    ``version`` picks the Kuzzle major version (1 or 2). By id, the default is the v2 entry,
    or the v1 one for an id v2 no longer has. By code, the default is 2; a code the requested
    version does not define falls back to the other version. Returns None when unknown.
    """
    cat = _data()
    if isinstance(key, str) and "." in key:
        if version is None:
            return cat.preferred.get(key)
        return cat.by_id.get(version, {}).get(key)
    code = parse_code(key)
    if code is None:
        return None
    wanted = 2 if version is None else version
    spec = cat.by_code.get(wanted, {}).get(code)
    if spec is None:
        other = 1 if wanted == 2 else 2
        spec = cat.by_code[other].get(code)
    return spec


def all_specs(version: int | None = None) -> Iterator[ErrorSpec]:
    """Every catalogued error, sorted by code; all ids (277) by default, or one version's."""
    cat = _data()
    source = cat.preferred if version is None else cat.by_id.get(version, {})
    return iter(sorted(source.values(), key=lambda s: (s.code, s.id)))


def find(
    *,
    domain: str | None = None,
    subdomain: str | None = None,
    status: int | None = None,
    class_name: str | None = None,
    version: int | None = None,
) -> list[ErrorSpec]:
    """The catalogued errors matching every criterion given, sorted by code."""
    return [
        spec
        for spec in all_specs(version)
        if (domain is None or spec.domain == domain)
        and (subdomain is None or spec.subdomain == subdomain)
        and (status is None or spec.status == status)
        and (class_name is None or spec.class_name == class_name)
    ]
