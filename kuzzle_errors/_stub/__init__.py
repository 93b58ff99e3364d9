"""The embedded Kuzzle stub server (private: its public face is :mod:`kuzzle_errors.testing`).

- ``payloads`` builds Kuzzle-shaped bodies; ``jsonio`` reads and writes JSON as Kuzzle does.
- ``state`` holds the scripted failures and the recorded requests (no I/O); ``builtins``
  performs Kuzzle's own actions (login, an in-memory document store...) when nothing is scripted.
- ``routes`` is Kuzzle's HTTP route table, ``router`` matches URLs against it.
- ``funnel`` admits API requests (throttle, concurrency slots, rate limits) for both transports;
  ``request_checks`` refuses payloads Kuzzle cannot build a request from.
- ``http_wire`` frames HTTP/1.1 with h11, ``http_api`` answers as Kuzzle's HTTP side does.
- ``ws_api`` speaks Kuzzle's WebSocket protocol over ``websockets``' sans-I/O protocol.
- ``server`` runs the event loop thread and hands each connection to the right side.
"""
