"""The embedded Kuzzle stub server (private: its public face is :mod:`kuzzle_errors.testing`).

How its modules fit together: docs/contributing.md, "Where the code lives".
"""
