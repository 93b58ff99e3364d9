"""The ``kuzzle-errors`` command line: its arguments, and the dispatch to each command.

Only the standard library is imported here; each command loads its module (and ``demo`` and
``stub`` their optional dependencies) when it runs. The commands: docs/reference/cli.md.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from kuzzle_errors.cli.stub import add_arguments as add_stub_arguments
from kuzzle_errors.cli.style import Style, use_colour

__all__ = ["build_parser", "main"]

_PROG = "kuzzle-errors"
# The package is not on an index: install it from a checkout of its repository.
_EXTRAS_HINT = "from a checkout of kuzzle-errors: pip install '.[http,websocket,stub]'"

_EPILOG = """\
examples:
  kuzzle-errors explain services.storage.not_found
  kuzzle-errors explain 0x02020002
  kuzzle-errors explain NotFoundError
  kuzzle-errors explain document:create
  kuzzle-errors list --domain api --subdomain process
  kuzzle-errors list --retryable --format csv
  curl -si -X POST http://localhost:7512/_query -H 'Content-Type: application/json' \\
       -d '{"controller":"server","action":"now"}' | kuzzle-errors parse
  kuzzle-errors demo

exit status:
  0  success: found, listed, or (parse) a success response
  1  not found (explain, list), or (parse) input that is not a response, or a command that
     cannot run (missing optional dependency, port in use)
  2  usage error: unknown command or option, or a bad option value
  3  parse: the input is an error response
"""


class _VersionAction(argparse.Action):
    """``--version``, computed only when asked (counting ids builds the catalogue)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from kuzzle_errors import __version__, catalog

        ids = sum(1 for _ in catalog.all_specs())
        sys.stdout.write(
            f"{_PROG} {__version__} (catalogue: Kuzzle 2.56 and 1.x, {ids} error ids)\n"
        )
        parser.exit()


def _kuzzle_version(text: str) -> int:
    if text not in ("1", "2"):
        raise argparse.ArgumentTypeError(f"Kuzzle major version 1 or 2 expected, got {text!r}")
    return int(text)


def _status(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a status number expected, got {text!r}") from None
    if not 100 <= value <= 999:
        raise argparse.ArgumentTypeError(f"a 3-digit status expected, got {text!r}")
    return value


def _header(text: str) -> tuple[str, str]:
    from kuzzle_errors.cli.parse import parse_header

    try:
        return parse_header(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the whole command line."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Explain, list and parse the errors of a Kuzzle server.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="show the version and catalogue size, then exit"
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--color",
        "--colour",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output: auto (default) colours a terminal unless NO_COLOR is set",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    explain = commands.add_parser(
        "explain",
        parents=[common],
        help="explain an error id, code (hex or decimal) or class, or an API action",
        description=(
            "Explain a Kuzzle error: id, codes, class, status, description, message template, "
            "versions, deprecation and retry advice. Accepts an id "
            "(services.storage.not_found), a code (0x0101000b or 16842763), a class "
            "(NotFoundError) or a kuzzle_errors.codes class name. A near miss suggests the "
            "closest ids. An API action (document:create) says whether a replay after it may "
            "have run is safe, the default of query(idempotent=None). Exit status 0 if "
            "everything was found, 1 otherwise."
        ),
    )
    explain.add_argument("queries", nargs="+", metavar="ID_OR_CODE")
    explain.add_argument(
        "--version",
        type=_kuzzle_version,
        metavar="1|2",
        help="the Kuzzle major version (codes can mean different errors in v1 and v2)",
    )
    explain.add_argument(
        "--format", choices=("text", "json"), default="text", help="json: the records of list"
    )

    list_ = commands.add_parser(
        "list",
        parents=[common],
        help="list the error catalogue, filtered",
        description=(
            "List the catalogued Kuzzle errors as a table (100 columns), JSON or CSV (every "
            "field). Exit status 1 when nothing matches."
        ),
    )
    list_.add_argument("--domain", help="e.g. api, services, network")
    list_.add_argument("--subdomain", help="e.g. process, storage, http")
    list_.add_argument("--status", type=_status, help="e.g. 503")
    list_.add_argument("--class", dest="class_name", metavar="CLASS", help="e.g. NotFoundError")
    list_.add_argument("--retryable", action="store_true", help="only errors a retry may overcome")
    list_.add_argument("--version", type=_kuzzle_version, metavar="1|2", help="one Kuzzle version")
    list_.add_argument("--format", choices=("table", "json", "csv"), default="table")

    parse = commands.add_parser(
        "parse",
        parents=[common],
        help="parse a response body or curl -i output",
        description=(
            "Parse a Kuzzle response (a JSON body, a line pasted from a log, or curl -i output "
            "with its status line and headers) and print the exception it gives. Exit status "
            "0 for a success, 3 for an error response, 1 for unusable input, 2 for a usage "
            "error."
        ),
    )
    parse.add_argument("file", nargs="?", metavar="FILE|-", help="default: standard input")
    parse.add_argument("--http-status", type=_status, metavar="N", help="the HTTP status")
    parse.add_argument(
        "--header",
        action="append",
        default=[],
        type=_header,
        metavar="'Name: value'",
        help="a response header (repeatable), e.g. 'Retry-After: 5'",
    )
    parse.add_argument(
        "--strict", action="store_true", help="a success holding failed items is a PartialError"
    )
    parse.add_argument("--transport", choices=("http", "websocket"), help="where it came from")
    parse.add_argument("--format", choices=("text", "json"), default="text")

    commands.add_parser(
        "demo",
        help="run the library against an embedded Kuzzle stub",
        description="Run the demo (options after 'demo' go to it: kuzzle-errors demo --help).",
        add_help=False,
    )

    stub = commands.add_parser(
        "stub",
        help="serve the Kuzzle stub (HTTP and WebSocket) until interrupted",
        description=(
            "Serve the embedded Kuzzle stand-in (HTTP, and WebSocket when the websockets "
            "package is installed) until interrupted (Ctrl-C), with Kuzzle's limits and "
            "failure modes set below."
        ),
    )
    add_stub_arguments(stub)
    return parser


def _missing(command: str, module: str, exc: ModuleNotFoundError, err: TextIO) -> int:
    """Say why an optional command cannot run: its module, or a package it needs, is missing."""
    if exc.name == module:
        err.write(f"{_PROG} {command}: not available ({module} is not installed)\n")
    else:
        err.write(f"{_PROG} {command}: needs the {exc.name!r} package: {_EXTRAS_HINT}\n")
    return 1


def _run_demo(argv: list[str], err: TextIO) -> int:
    module = "kuzzle_errors.cli.demo"
    try:
        return int(importlib.import_module(module).main(argv))
    except ModuleNotFoundError as exc:
        return _missing("demo", module, exc, err)


def _run_stub(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from kuzzle_errors.cli.stub import setup, stub_options

    module = "kuzzle_errors.testing"
    try:
        serve = importlib.import_module(module).serve
        serve(args.host, args.port, setup=setup(args), **stub_options(args))
    except ModuleNotFoundError as exc:  # the stub, or the server's own dependency (h11)
        return _missing("stub", module, exc, err)
    except KeyboardInterrupt:
        out.write("stub stopped\n")
    except OSError as exc:  # port in use, address not available...
        err.write(f"{_PROG} stub: cannot serve on {args.host}:{args.port}: {exc}\n")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (console script ``kuzzle-errors``)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    out, err = sys.stdout, sys.stderr
    if isinstance(out, io.TextIOWrapper):  # non-ASCII text must not crash a non-UTF-8 console
        out.reconfigure(errors="backslashreplace")
    try:
        if args_list[:1] == ["demo"]:  # every later argument belongs to the demo
            return _run_demo(args_list[1:], err)
        args = build_parser().parse_args(args_list)
        return _dispatch(args, out, err)
    except BrokenPipeError:
        # `kuzzle-errors list | head`: the reader left; silence the flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.command == "stub":
        return _run_stub(args, out, err)
    if args.command == "explain":
        from kuzzle_errors.cli.explain import run
    elif args.command == "list":
        from kuzzle_errors.cli.list import run
    else:
        from kuzzle_errors.cli.parse import run
    return run(args, out, err, Style(use_colour(out, args.color)))
