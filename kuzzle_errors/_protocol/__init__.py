"""The I/O-free protocol core every client feeds: what is sent, and how what comes back (bytes,
frames, failures of the library moving them) becomes a result or an error.

Imports only the core (no transport library, no asyncio): the clients add their library's I/O.
"""
