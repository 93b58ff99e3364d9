"""Integrations with third-party retry libraries, one module each.

Each module imports its library at import time, so import only the one you use:
``kuzzle_errors.contrib.tenacity`` needs ``tenacity``. For stamina no module is needed: pass
:data:`kuzzle_errors.retry.stamina_hook` as ``stamina.retry(on=...)``.
"""
