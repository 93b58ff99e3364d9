"""The embedded Kuzzle stub server (private: its public face is :mod:`kuzzle_errors.testing`).

``payloads`` builds Kuzzle-shaped bodies, ``state`` holds the scripted failures and the
recorded requests (no I/O), ``routes`` maps a request to Kuzzle's controller/action, and
``server`` speaks HTTP/1.1 and WebSocket on one loopback port.
"""
