"""The ``kuzzle-errors`` command line (the console script is :func:`main`).

``main`` parses the arguments and dispatches; each command lives in its own module:
``explain``, ``list`` and ``parse`` (the catalogue and response readers), ``demo`` (the
library against the embedded stub), ``stub`` (the served stub's limits and failure modes)
and ``style`` (the output: 100 columns, labelled fields, JSON, colour).
"""

from __future__ import annotations

from kuzzle_errors.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
