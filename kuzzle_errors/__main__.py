"""``python -m kuzzle_errors``: the ``kuzzle-errors`` command line."""

from __future__ import annotations

import sys

from kuzzle_errors.cli import main

if __name__ == "__main__":
    sys.exit(main())
