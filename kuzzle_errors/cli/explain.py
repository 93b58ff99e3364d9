"""``kuzzle-errors explain``: everything known about an error id, a code or a class."""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, TextIO

from kuzzle_errors import catalog, exceptions, hints
from kuzzle_errors.catalog import ErrorSpec
from kuzzle_errors.cli.style import FIELD_ROOM, WIDTH, Style, count, shorten, write_field
from kuzzle_errors.hints import RetryHint

__all__ = [
    "RECORD_FIELDS",
    "Lookup",
    "explain",
    "lookup",
    "resolve_class",
    "retry_label",
    "spec_hint",
    "spec_record",
    "styled_advice",
    "suggest",
]

_NON_ALNUM: Final = re.compile(r"[^a-z0-9.]")

# Exception classes that are the library's own (never sent by Kuzzle), explained too.
_CLIENT_CLASSES: Final = (
    "InvalidResponseError",
    "TransportError",
    "ConnectionLostError",
    "RequestTimeoutError",
)


def spec_hint(spec: ErrorSpec) -> RetryHint:
    """The retry advice for a catalogued error, as the parser would give it (no headers)."""
    return hints.advice(spec.id, spec.class_name, spec.status)


def retry_label(hint: RetryHint) -> str:
    """A one-word summary: ``safe`` (replay anything), ``idem`` (idempotent calls) or ``no``."""
    if not hint.retryable:
        return "no"
    return "safe" if hint.replay_safe else "idem"


def retry_advice(hint: RetryHint) -> str:
    """The retry advice as a sentence."""
    if not hint.retryable:
        return f"no: {hint.reason}"
    head = "yes, safe to replay" if hint.replay_safe else "only idempotent calls"
    extras = []
    if hint.delay:
        extras.append(f"wait at least {hint.delay:g} s")
    if hint.other_node:
        extras.append("another cluster node may accept it at once")
    tail = f" ({'; '.join(extras)})" if extras else ""
    return f"{head}: {hint.reason}{tail}"


def styled_advice(hint: RetryHint, style: Style) -> str:
    """:func:`retry_advice`, in green when any call may be replayed."""
    advice = retry_advice(hint)
    return style(advice, "green") if retry_label(hint) == "safe" else advice


def _python_class(spec: ErrorSpec) -> str:
    return f"kuzzle_errors.codes.{exceptions.class_name_for_id(spec.id)}"


_HEAD_FIELDS: Final = ("id", "code", "hex", "domain", "subdomain", "name")

#: The keys of :func:`spec_record`, in order: the catalogue's fields (with the parts of the
#: id after it) and then what the CLI derives: the Python class and the retry advice.
RECORD_FIELDS: Final = (
    *_HEAD_FIELDS,
    *(f.name for f in dataclasses.fields(ErrorSpec) if f.name not in _HEAD_FIELDS),
    "python_class",
    "retryable",
    "replay_safe",
    "retry_delay",
    "other_node",
    "retry_reason",
)


def spec_record(spec: ErrorSpec) -> dict[str, Any]:
    """Every field of a catalogued error plus its retry advice, JSON-ready."""
    hint = spec_hint(spec)
    derived = {
        "versions": list(spec.versions),
        "python_class": _python_class(spec),
        "retryable": hint.retryable,
        "replay_safe": hint.replay_safe,
        "retry_delay": hint.delay,
        "other_node": hint.other_node,
        "retry_reason": hint.reason,
    }
    return {
        name: derived[name] if name in derived else getattr(spec, name) for name in RECORD_FIELDS
    }


def _class_names() -> dict[str, str]:
    """Lower-cased exception class names, with and without ``Error``, to their real name."""
    names = [*catalog.CLASS_STATUS, *_CLIENT_CLASSES]
    table: dict[str, str] = {}
    for name in names:
        table[name.lower()] = name
        table.setdefault(name.lower().removesuffix("error"), name)
    return table


def resolve_class(text: str) -> str | None:
    """``notfound``, ``NotFound`` or ``NotFoundError`` -> ``NotFoundError``; else None."""
    return _class_names().get(text.strip().lower())


@dataclass
class Lookup:
    """What a query names: catalogued errors (two for an ambiguous code), a class, or a status."""

    query: str
    #: The errors named; for a bare :attr:`status`, the errors that answer it.
    specs: list[ErrorSpec] = field(default_factory=list)
    class_name: str | None = None
    ambiguous_code: bool = False
    #: A bare HTTP status (``503``) that is no catalogued code.
    status: int | None = None

    @property
    def found(self) -> bool:
        return bool(self.specs) or self.class_name is not None or self.status is not None


def _specs_for_code(code: int, version: int | None) -> list[ErrorSpec]:
    # Code 0x01010016 is index_reserved in v1 but collection_reserved in v2: show both
    # unless a version was asked for.
    versions = (version,) if version is not None else (2, 1)
    found: list[ErrorSpec] = []
    for wanted in versions:
        spec = catalog.get(code, version=wanted)
        known = spec is not None and wanted in spec.versions and spec.code == code
        if spec is not None and known and all(spec.id != other.id for other in found):
            found.append(spec)
    return found


def lookup(query: str, version: int | None = None) -> Lookup:
    """Resolve an id, a hex or decimal code, a Kuzzle class or a ``codes`` class name."""
    text = query.strip()
    result = Lookup(query)
    if "." in text and not text.lower().startswith("0x"):
        spec = catalog.get(text, version=version)
        if spec is None and version is None:
            spec = catalog.get(text.lower())
        if spec is not None:
            result.specs.append(spec)
        return result
    code = catalog.parse_code(text)
    if code is not None:
        result.specs.extend(_specs_for_code(code, version))
        result.ambiguous_code = len(result.specs) > 1
        if not result.specs and text.isdigit() and code in catalog.CLASS_STATUS.values():
            result.status = code
            result.specs = catalog.find(status=code, version=version)
        return result
    class_name = resolve_class(text)
    if class_name is not None:
        result.class_name = class_name
        return result
    error_id = _ids_by_class_name().get(text.lower())
    if error_id is not None:
        spec = catalog.get(error_id, version=version)
        if spec is not None:
            result.specs.append(spec)
    return result


def _ids_by_class_name() -> dict[str, str]:
    return {exceptions.class_name_for_id(spec.id).lower(): spec.id for spec in catalog.all_specs()}


def _squash(text: str) -> str:
    # Compare ids without case, underscores or dashes: "notFound" ~ "not_found".
    return _NON_ALNUM.sub("", text.lower())


def suggest(query: str, limit: int = 5) -> list[str]:
    """The ids (or class names) closest to a mistyped query, best first.

    Compares the query with the same number of trailing segments of every id
    (``storage.notfound`` with ``storage.not_found``), ignoring case and underscores, and
    with the whole id, so both a partial and a misspelt full id find their match.
    """
    wanted = _squash(query).strip(".")
    if not wanted:
        return []
    parts = [part for part in wanted.split(".") if part]
    depth = min(len(parts), 3)
    scored: list[tuple[float, str]] = []
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(wanted)
    for spec in catalog.all_specs():
        segments = [_squash(part) for part in spec.id.split(".")]
        tail = ".".join(segments[-depth:])
        if tail == wanted:
            scored.append((2.0, spec.id))
            continue
        best = 0.0
        for candidate in (tail, ".".join(segments)):
            matcher.set_seq1(candidate)
            if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6:
                best = max(best, matcher.ratio())
        if best >= 0.75:
            scored.append((best, spec.id))
    for lowered, name in _class_names().items():
        matcher.set_seq1(lowered)
        ratio = matcher.ratio()
        if ratio >= 0.75:
            scored.append((ratio, name))
    if any(score == 2.0 for score, _ in scored):  # an exact match modulo case and "_"
        scored = [item for item in scored if item[0] == 2.0]
    scored.sort(key=lambda item: (-item[0], item[1]))
    unique = list(dict.fromkeys(name for _, name in scored))
    return unique[:limit]


# -- output --------------------------------------------------------------------------------


def _versions_text(spec: ErrorSpec) -> str:
    if spec.versions == (1, 2):
        return "Kuzzle 1 and 2"
    if spec.versions == (1,):
        return "Kuzzle 1 only (removed in Kuzzle 2)"
    return "Kuzzle 2 only"


def _field(out: TextIO, style: Style, name: str, value: str) -> None:
    lines = textwrap.wrap(value, FIELD_ROOM, break_long_words=False, break_on_hyphens=False)
    write_field(out, style, name, lines or [""])


def _write_spec(out: TextIO, style: Style, spec: ErrorSpec, title: str = "") -> None:
    hint = spec_hint(spec)
    out.write(f"{title}{style(spec.id, 'bold')}\n")
    _field(out, style, "code", f"{spec.hex} ({spec.code})")
    _field(
        out, style, "class", style.status(f"{spec.class_name}, status {spec.status}", spec.status)
    )
    _field(out, style, "python", f"{_python_class(spec)} (subclass of {spec.class_name})")
    _field(out, style, "description", spec.description)
    template = spec.message if spec.message is not None else "(unknown: Kuzzle 1 sends no template)"
    _field(out, style, "message", template)
    _field(out, style, "versions", _versions_text(spec))
    _field(out, style, "deprecated", f"since Kuzzle {spec.deprecated}" if spec.deprecated else "no")
    _field(out, style, "retry", styled_advice(hint, style))
    for prop, advice in _misreport_notes(spec):
        _field(out, style, "", f"but with props naming {prop}: {retry_advice(advice)}")


def _misreport_notes(spec: ErrorSpec) -> Iterable[tuple[str, RetryHint]]:
    # Kuzzle hides some transient failures behind core.fatal.unexpected_error; the hint
    # then depends on props, which explain should mention.
    plain = spec_hint(spec)
    for prop in hints.MISREPORTS:
        advice = hints.advice(spec.id, spec.class_name, spec.status, [prop])
        if advice != plain:
            yield prop, advice


def _write_class(out: TextIO, style: Style, name: str, version: int | None) -> None:
    cls = getattr(exceptions, name)
    doc = inspect.getdoc(cls) or ""
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").replace("``", "")
    out.write(f"{style(name, 'bold')}\n")
    _field(out, style, "python", f"kuzzle_errors.{name}")
    if name in _CLIENT_CLASSES:
        _field(out, style, "kind", "raised by this library, never sent by Kuzzle")
        _field(out, style, "about", summary)
        return
    status = catalog.CLASS_STATUS[name]
    _field(out, style, "status", style.status(str(status), status))
    _field(out, style, "about", summary)
    _field(out, style, "retry", retry_advice(hints.advice(None, name, status)))
    if name == "KuzzleError":
        _field(out, style, "ids", "every Kuzzle error: all the classes derive from it")
        return
    specs = catalog.find(class_name=name, version=version)
    scope = f" in Kuzzle {version}" if version else ""
    _field(out, style, "ids", f"{len(specs)}{scope}:" if specs else f"none in the catalogue{scope}")
    _write_ids(out, style, specs)


def _write_status(
    out: TextIO, style: Style, status: int, specs: list[ErrorSpec], version: int | None
) -> None:
    out.write(
        f"{style(str(status), 'bold')} is an HTTP status, not an error id or code: "
        f"{count(len(specs), 'id')} answer it{f' in Kuzzle {version}' if version else ''}\n"
        f"(kuzzle-errors list --status {status}{f' --version {version}' if version else ''}"
        " gives their retry advice):\n"
    )
    _write_ids(out, style, specs)


def _write_ids(out: TextIO, style: Style, specs: list[ErrorSpec]) -> None:
    id_width = max((len(spec.id) for spec in specs), default=0)
    for spec in specs:
        room = WIDTH - 4 - 10 - 2 - id_width - 2
        desc = shorten(spec.description, room) if room > 10 else ""
        out.write(
            f"    {spec.hex}  {spec.id.ljust(id_width)}  {style(desc, 'dim')}".rstrip() + "\n"
        )


def _write_not_found(err: TextIO, query: str, version: int | None) -> None:
    if version is not None:
        other = lookup(query)
        if other.found:
            found_in = sorted({v for spec in other.specs for v in spec.versions})
            versions = " and ".join(f"Kuzzle {v}" for v in found_in)
            err.write(f"kuzzle-errors: {query!r} is not in Kuzzle {version}, only in {versions}\n")
            return
    err.write(f"kuzzle-errors: unknown error id, code or class: {query!r}\n")
    code = catalog.parse_code(query.strip())
    if code is not None and query.strip().isdigit() and 100 <= code <= 599:
        statuses = ", ".join(str(s) for s in sorted(set(catalog.CLASS_STATUS.values())))
        err.write(f"as an HTTP status: no Kuzzle error answers {code} (they use {statuses})\n")
        return
    if code is not None:
        # Codes are 0xDDSSNNNN: name the domain and subdomain the code would belong to.
        siblings = [spec for spec in catalog.all_specs() if spec.code >> 16 == code >> 16]
        if siblings:
            first = siblings[0]
            err.write(
                f"codes 0x{code >> 16:04x}xxxx belong to {first.domain}.{first.subdomain} "
                f"({count(len(siblings), 'id')}): kuzzle-errors list --domain {first.domain} "
                f"--subdomain {first.subdomain}\n"
            )
        return
    close = suggest(query)
    if close:
        err.write("did you mean:\n")
        for name in close:
            err.write(f"  {name}\n")


def _class_record(name: str, version: int | None) -> dict[str, Any]:
    record: dict[str, Any] = {"class_name": name, "python_class": f"kuzzle_errors.{name}"}
    if name in _CLIENT_CLASSES:
        record.update(status=None, sent_by_kuzzle=False, ids=[])
    else:
        specs = catalog.find(class_name=name, version=version)
        record.update(
            status=catalog.CLASS_STATUS[name],
            sent_by_kuzzle=True,
            ids=[spec.id for spec in specs],
        )
    return record


def explain(
    queries: list[str],
    *,
    version: int | None,
    out: TextIO,
    err: TextIO,
    style: Style,
    fmt: str = "text",
) -> int:
    """Print every query's explanation (text, or one JSON array); 0 if all were found, else 1."""
    status = 0
    records: list[dict[str, Any]] = []
    wrote = False
    for query in queries:
        found = lookup(query, version)
        if not found.found:
            _write_not_found(err, query, version)
            status = 1
            continue
        if fmt == "json":
            if found.class_name is not None:
                records.append(_class_record(found.class_name, version))
            else:  # the ids named, or those answering a bare status
                records.extend(spec_record(spec) for spec in found.specs)
            continue
        if wrote:
            out.write("\n")
        wrote = True
        if found.class_name is not None:
            _write_class(out, style, found.class_name, version)
        elif found.status is not None:
            _write_status(out, style, found.status, found.specs, version)
        elif found.ambiguous_code:
            code = found.specs[0].hex
            out.write(f"{code} means a different error in each Kuzzle version:\n\n")
            for index, spec in enumerate(found.specs):
                if index:
                    out.write("\n")
                label = "/".join(str(v) for v in spec.versions)
                _write_spec(out, style, spec, title=f"Kuzzle {label}: ")
        else:
            for spec in found.specs:
                _write_spec(out, style, spec)
    if fmt == "json":
        json.dump(records, out, indent=2, ensure_ascii=False)
        out.write("\n")
    return status
