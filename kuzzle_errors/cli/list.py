"""``kuzzle-errors list``: the catalogue as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import csv
import textwrap
from dataclasses import dataclass, fields
from typing import Final, TextIO

from kuzzle_errors import catalog
from kuzzle_errors.catalog import ErrorSpec
from kuzzle_errors.cli.explain import (
    RECORD_FIELDS,
    resolve_class,
    retry_label,
    spec_hint,
    spec_record,
)
from kuzzle_errors.cli.style import WIDTH, Style, count, shorten, write_json

__all__ = ["FilterError", "Filters", "run", "select"]

#: Ids longer than this are cut with "…" (like descriptions) so every column stays aligned.
MAX_ID_WIDTH: Final = 44
_RETRY_COLOURS: Final = {"safe": "green", "idem": "yellow", "no": "dim"}
_LEGEND: Final = (
    "RETRY: safe = refused before processing, any call may be replayed; "
    "idem = transient but may have run, replay idempotent calls only; no = permanent"
)


class FilterError(ValueError):
    """A filter that can never match (unknown class, domain...)."""


@dataclass(frozen=True)
class Filters:
    """What ``kuzzle-errors list`` keeps: every filter left None (or False) keeps everything.

    The fields are the ``list`` command's options, by their argparse names.
    """

    domain: str | None = None
    subdomain: str | None = None
    status: int | None = None
    class_name: str | None = None
    retryable: bool = False
    version: int | None = None


def select(filters: Filters) -> list[ErrorSpec]:
    """The catalogued errors matching every filter; raises FilterError for unknown names."""
    resolved_class = None
    if filters.class_name is not None:
        resolved_class = resolve_class(filters.class_name)
        if resolved_class is None or resolved_class not in catalog.CLASS_STATUS:
            known = ", ".join(sorted(catalog.CLASS_STATUS))
            raise FilterError(f"unknown class {filters.class_name!r} (known: {known})")
    everything = list(catalog.all_specs(filters.version))
    for name in ("domain", "subdomain"):
        value = getattr(filters, name)
        if value is None:
            continue
        known_values = sorted({getattr(spec, name) for spec in everything})
        if value not in known_values:
            raise FilterError(f"unknown {name} {value!r} (known: {', '.join(known_values)})")
    specs = catalog.find(
        domain=filters.domain,
        subdomain=filters.subdomain,
        status=filters.status,
        class_name=resolved_class,
        version=filters.version,
    )
    if filters.retryable:
        specs = [spec for spec in specs if spec_hint(spec).retryable]
    return specs


def write_table(out: TextIO, specs: list[ErrorSpec], style: Style) -> None:
    """Aligned columns fitting 100 characters; long ids and descriptions are cut with "…"."""
    id_width = min(max((len(spec.id) for spec in specs), default=2), MAX_ID_WIDTH)
    id_width = max(id_width, 2)
    columns = f"{'CODE':<10}  {'STATUS':<6}  {'ID':<{id_width}}  {'RETRY':<5}  "
    out.write(style(f"{columns}DESCRIPTION"[:WIDTH], "bold") + "\n")
    for spec in specs:
        label = retry_label(spec_hint(spec))
        line = (
            f"{spec.hex}  {style.status(f'{spec.status:<6}', spec.status)}  "
            f"{shorten(spec.id, id_width):<{id_width}}  "
            f"{style(f'{label:<5}', _RETRY_COLOURS[label])}  "
            f"{shorten(spec.description, WIDTH - len(columns))}"
        )
        out.write(line.rstrip() + "\n")
    for line in textwrap.wrap(f"{count(len(specs), 'error')}. {_LEGEND}", WIDTH):
        out.write(style(line, "dim") + "\n")


#: The CSV columns: the JSON records' keys, in their order.
_CSV_FIELDS: Final = RECORD_FIELDS


def write_csv(out: TextIO, specs: list[ErrorSpec]) -> None:
    """One row per error with every field; versions as ``1 2``, booleans as true/false."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for spec in specs:
        writer.writerow(_cell(value) for value in spec_record(spec).values())


def _cell(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return "" if value is None else value


def run(args: argparse.Namespace, out: TextIO, err: TextIO, style: Style) -> int:
    """``kuzzle-errors list``: the errors its options select; 0 if some matched, 1 if none (or
    a filter is unknown)."""
    filters = Filters(**{option.name: getattr(args, option.name) for option in fields(Filters)})
    try:
        specs = select(filters)
    except FilterError as exc:
        err.write(f"kuzzle-errors list: {exc}\n")
        return 1
    if args.format == "json":
        write_json(out, [spec_record(spec) for spec in specs])
    elif args.format == "csv":
        write_csv(out, specs)
    elif specs:
        write_table(out, specs, style)
    if not specs:
        err.write("kuzzle-errors list: no error matches these filters\n")
        return 1
    return 0
