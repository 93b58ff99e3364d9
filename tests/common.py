"""Requests and ids many test modules use
(a plain module: pytest's ``pythonpath`` option puts tests/ on sys.path)."""

from __future__ import annotations

from kuzzle_errors import catalog

#: The cheapest query: ``server:now``.
NOW = {"controller": "server", "action": "now"}

#: One catalogued id per Kuzzle error class.
FAMILIES: dict[str, str] = {}
for _spec in catalog.all_specs(2):
    FAMILIES.setdefault(_spec.class_name, _spec.id)
