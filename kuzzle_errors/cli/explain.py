"""``kuzzle-errors explain``: everything known about an error id, a code or a class, and
whether an API action (``document:create``) may be replayed after "it may have run"."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Final, TextIO

from kuzzle_errors import catalog, exceptions, hints
from kuzzle_errors.catalog import ErrorSpec
from kuzzle_errors.cli.style import WIDTH, Style, count, shorten, write_field, write_json
from kuzzle_errors.hints import RetryHint

__all__ = [
    "RECORD_FIELDS",
    "Lookup",
    "action_record",
    "advice_colour",
    "lookup",
    "resolve_class",
    "retry_advice",
    "retry_label",
    "run",
    "spec_hint",
    "spec_record",
    "suggest",
]

_NON_ALNUM: Final = re.compile(r"[^a-z0-9.]")


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


def advice_colour(hint: RetryHint) -> str:
    """The colour of :func:`retry_advice`: green when any call may be replayed."""
    return "green" if retry_label(hint) == "safe" else ""


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
    """Lower-cased class names, with and without ``Error``, to their real name: Kuzzle's
    classes, then the library's own (the exceptions with no status: Kuzzle never sends them)."""
    names = list(catalog.CLASS_STATUS)
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        is_error = isinstance(cls, type) and issubclass(cls, exceptions.KuzzleError)
        if is_error and cls.default_status is None:
            names.append(name)
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

    #: The errors named; for a bare :attr:`status`, the errors that answer it.
    specs: list[ErrorSpec] = field(default_factory=list)
    class_name: str | None = None
    #: A bare HTTP status (``503``) that is no catalogued code.
    status: int | None = None
    #: An API action (``controller:action``) and its replay safety.
    action: hints.ActionSafety | None = None

    @property
    def found(self) -> bool:
        named = self.class_name is not None or self.status is not None or self.action is not None
        return bool(self.specs) or named

    @property
    def ambiguous_code(self) -> bool:
        """A code meaning one error in Kuzzle 1 and another in Kuzzle 2."""
        return self.status is None and len(self.specs) > 1


def _specs_for_code(code: int, version: int | None) -> list[ErrorSpec]:
    # Code 0x01010016 is index_reserved in v1 but collection_reserved in v2: show both
    # unless a version was asked for.
    found: list[ErrorSpec] = []
    for wanted in (version,) if version is not None else (2, 1):
        spec = catalog.get(code, version=wanted)
        known = spec is not None and wanted in spec.versions and spec.code == code
        if spec is not None and known and all(spec.id != other.id for other in found):
            found.append(spec)
    return found


def lookup(query: str, version: int | None = None) -> Lookup:
    """Resolve an id, a hex or decimal code, a Kuzzle class or a ``codes`` class name."""
    text = query.strip()
    result = Lookup()
    if ":" in text:  # controller:action
        controller, _, action = text.partition(":")
        result.action = hints.action_safety(controller, action)
        return result
    if "." in text and not text.lower().startswith("0x"):
        spec = catalog.get(text, version=version)
        if spec is None and version is None:
            spec = catalog.get(text.lower())
        result.specs = [spec] if spec is not None else []
        return result
    code = catalog.parse_code(text)
    if code is not None:
        result.specs = _specs_for_code(code, version)
        if not result.specs and text.isdigit() and code in catalog.CLASS_STATUS.values():
            result.status = code
            result.specs = catalog.find(status=code, version=version)
        return result
    result.class_name = resolve_class(text)
    if result.class_name is None:
        by_class_name = {
            exceptions.class_name_for_id(spec.id).lower(): spec.id for spec in catalog.all_specs()
        }
        error_id = by_class_name.get(text.lower())
        spec = catalog.get(error_id, version=version) if error_id is not None else None
        result.specs = [spec] if spec is not None else []
    return result


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
    depth = min(len([part for part in wanted.split(".") if part]), 3)
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
    return list(dict.fromkeys(name for _, name in scored))[:limit]


# -- output --------------------------------------------------------------------------------


_VERSIONS: Final = {
    (1, 2): "Kuzzle 1 and 2",
    (1,): "Kuzzle 1 only (removed in Kuzzle 2)",
    (2,): "Kuzzle 2 only",
}


def _write_spec(out: TextIO, style: Style, spec: ErrorSpec, title: str = "") -> None:
    hint = spec_hint(spec)
    template = spec.message if spec.message is not None else "(unknown: Kuzzle 1 sends no template)"
    out.write(f"{title}{style(spec.id, 'bold')}\n")
    for name, value, colour in (
        ("code", f"{spec.hex} ({spec.code})", ""),
        ("class", f"{spec.class_name}, status {spec.status}", style.status_colour(spec.status)),
        ("python", f"{_python_class(spec)} (subclass of {spec.class_name})", ""),
        ("description", spec.description, ""),
        ("message", template, ""),
        ("versions", _VERSIONS[spec.versions], ""),
        ("deprecated", f"since Kuzzle {spec.deprecated}" if spec.deprecated else "no", ""),
        ("retry", retry_advice(hint), advice_colour(hint)),
    ):
        write_field(out, style, name, value, colour)
    limit = hints.LIMITS.get(spec.id)
    if limit is not None:  # the Kuzzle setting that refuses such requests
        default = f"{limit.default:,}" if isinstance(limit.default, int) else limit.default
        write_field(out, style, "limit", f"{limit.setting} ({default} by default): {limit.what}")
    # Kuzzle hides some transient failures behind core.fatal.unexpected_error; the advice
    # then depends on its props, which explain should mention.
    for prop in hints.MISREPORTS:
        advice = hints.advice(spec.id, spec.class_name, spec.status, [prop])
        if advice != hint:
            write_field(out, style, "", f"but with props naming {prop}: {retry_advice(advice)}")


def action_record(found: hints.ActionSafety) -> dict[str, Any]:
    """An API action's replay safety, JSON-ready."""
    return {
        "action": found.action,
        "replay_safe": found.replay_safe,
        "kind": found.kind,
        "reason": found.reason,
        "http_verbs": found.verbs.split(),
    }


def _write_action(out: TextIO, style: Style, found: hints.ActionSafety) -> None:
    out.write(f"{style(found.action, 'bold')}\n")
    if found.replay_safe:
        verdict, colour = f"safe ({found.kind}): {found.reason}", "green"
        default = "query(..., idempotent=None), the default, replays it after it may have run"
    else:
        verdict, colour = f"not safe ({found.kind}): {found.reason}", "red"
        default = (
            "query(..., idempotent=None), the default, does not replay it after it may have "
            "run; idempotent=True does, when you know a replay is harmless"
        )
    write_field(out, style, "replay", verdict, colour)
    write_field(out, style, "default", default)
    write_field(out, style, "http", found.verbs or "none: WebSocket only")


def _write_class(out: TextIO, style: Style, name: str, version: int | None) -> None:
    doc = inspect.getdoc(getattr(exceptions, name)) or ""
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").replace("``", "")
    status = catalog.CLASS_STATUS.get(name)
    out.write(f"{style(name, 'bold')}\n")
    write_field(out, style, "python", f"kuzzle_errors.{name}")
    if status is None:
        write_field(out, style, "kind", "raised by this library, never sent by Kuzzle")
        write_field(out, style, "about", summary)
        return
    write_field(out, style, "status", str(status), style.status_colour(status))
    write_field(out, style, "about", summary)
    write_field(out, style, "retry", retry_advice(hints.advice(None, name, status)))
    if name == "KuzzleError":
        write_field(out, style, "ids", "every Kuzzle error: all the classes derive from it")
        return
    specs = catalog.find(class_name=name, version=version)
    scope = f" in Kuzzle {version}" if version else ""
    ids = f"{len(specs)}{scope}:" if specs else f"none in the catalogue{scope}"
    write_field(out, style, "ids", ids)
    _write_ids(out, style, specs)


def _class_record(name: str, version: int | None) -> dict[str, Any]:
    status = catalog.CLASS_STATUS.get(name)
    specs = catalog.find(class_name=name, version=version) if status is not None else []
    return {
        "class_name": name,
        "python_class": f"kuzzle_errors.{name}",
        "status": status,
        "sent_by_kuzzle": status is not None,
        "ids": [spec.id for spec in specs],
    }


def _write_ids(out: TextIO, style: Style, specs: list[ErrorSpec]) -> None:
    id_width = max((len(spec.id) for spec in specs), default=0)
    room = WIDTH - 4 - 10 - 2 - id_width - 2
    for spec in specs:
        desc = shorten(spec.description, room) if room > 10 else ""
        line = f"    {spec.hex}  {spec.id.ljust(id_width)}  {style(desc, 'dim')}"
        out.write(line.rstrip() + "\n")


def _write_not_found(err: TextIO, query: str, version: int | None) -> None:
    if ":" in query:
        err.write(
            f"kuzzle-errors: {query!r} is no action of Kuzzle 2.56's own controllers "
            "(a plugin's action is replayed only when its caller says so: idempotent=True)\n"
        )
        return
    other = lookup(query) if version is not None else None
    if other is not None and other.found:
        found_in = sorted({v for spec in other.specs for v in spec.versions})
        versions = " and ".join(f"Kuzzle {v}" for v in found_in)
        err.write(f"kuzzle-errors: {query!r} is not in Kuzzle {version}, only in {versions}\n")
        return
    err.write(f"kuzzle-errors: unknown error id, code or class: {query!r}\n")
    code = catalog.parse_code(query.strip())
    if code is not None and query.strip().isdigit() and 100 <= code <= 599:
        statuses = ", ".join(str(s) for s in sorted(set(catalog.CLASS_STATUS.values())))
        err.write(f"as an HTTP status: no Kuzzle error answers {code} (they use {statuses})\n")
    elif code is not None:
        # Codes are 0xDDSSNNNN: name the domain and subdomain the code would belong to.
        siblings = [spec for spec in catalog.all_specs() if spec.code >> 16 == code >> 16]
        if siblings:
            first = siblings[0]
            err.write(
                f"codes 0x{code >> 16:04x}xxxx belong to {first.domain}.{first.subdomain} "
                f"({count(len(siblings), 'id')}): kuzzle-errors list --domain {first.domain} "
                f"--subdomain {first.subdomain}\n"
            )
    elif close := suggest(query):
        err.write("did you mean:\n")
        err.writelines(f"  {name}\n" for name in close)


def _write_found(out: TextIO, style: Style, found: Lookup, version: int | None) -> None:
    if found.action is not None:
        _write_action(out, style, found.action)
    elif found.class_name is not None:
        _write_class(out, style, found.class_name, version)
    elif found.status is not None:
        scope = f" in Kuzzle {version}" if version else ""
        option = f" --version {version}" if version else ""
        out.write(
            f"{style(str(found.status), 'bold')} is an HTTP status, not an error id or code: "
            f"{count(len(found.specs), 'id')} answer it{scope}\n"
            f"(kuzzle-errors list --status {found.status}{option} gives their retry advice):\n"
        )
        _write_ids(out, style, found.specs)
    elif found.ambiguous_code:
        out.write(f"{found.specs[0].hex} means a different error in each Kuzzle version:\n")
        for spec in found.specs:
            label = "/".join(str(v) for v in spec.versions)
            out.write("\n")
            _write_spec(out, style, spec, title=f"Kuzzle {label}: ")
    else:
        for spec in found.specs:
            _write_spec(out, style, spec)


def run(args: argparse.Namespace, out: TextIO, err: TextIO, style: Style) -> int:
    """``kuzzle-errors explain``: every query explained (as text, or one JSON array); 0 if all
    were found, else 1."""
    version, fmt = args.version, args.format
    status = 0
    records: list[dict[str, Any]] = []
    wrote = False
    for query in args.queries:
        found = lookup(query, version)
        if not found.found:
            _write_not_found(err, query, version)
            status = 1
        elif fmt == "json" and found.action is not None:
            records.append(action_record(found.action))
        elif fmt == "json" and found.class_name is not None:
            records.append(_class_record(found.class_name, version))
        elif fmt == "json":  # the ids named, or those answering a bare status
            records.extend(spec_record(spec) for spec in found.specs)
        else:
            if wrote:
                out.write("\n")
            wrote = True
            _write_found(out, style, found, version)
    if fmt == "json":
        write_json(out, records)
    return status
