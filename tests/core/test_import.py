"""``import kuzzle_errors`` loads no transport library and no asyncio (in a fresh interpreter)."""

from __future__ import annotations

from fresh_python import imported

#: What a user who only parses errors must not pay for: every client's library, the stub's
#: server libraries, the retry libraries the hooks serve, and asyncio.
TRANSPORTS_AND_ASYNCIO = (
    "requests",
    "urllib3",
    "websocket",
    "websockets",
    "httpx",
    "httpcore",
    "anyio",
    "h11",
    "tenacity",
    "stamina",
    "asyncio",
)


def test_import_loads_no_transport_library_and_no_asyncio() -> None:
    assert imported("import kuzzle_errors", TRANSPORTS_AND_ASYNCIO) == []


def test_using_the_core_does_not_pull_transports_either() -> None:
    code = (
        "import kuzzle_errors as k;"
        'e = k.parse_response(b\'{"status":503,"error":{"id":"api.process.overloaded",'
        '"status":503,"message":"m"}}\', http_status=503, headers={\'Retry-After\': \'1\'});'
        "k.error_class('services.storage.not_found'); e.retry_hint; e.to_dict(); str(e);"
        "import kuzzle_errors.retry"
    )
    assert imported(code, ("requests", "websocket", "websockets", "tenacity", "stamina")) == []
