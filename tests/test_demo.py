"""``kuzzle-errors demo`` runs every scenario against the stub and exits 0."""

from __future__ import annotations

import pytest

from kuzzle_errors.cli import demo


def test_demo_runs_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    assert "UNEXPECTED" not in out
    for text in (
        "HTTP (requests",
        "WebSocket (websocket-client",
        "503 api.process.overloaded",
        "429 api.process.too_many_requests",
        "429 network.websocket.ratelimit_exceeded",
        "MultipleErrorsError api.process.incomplete_multiple_request",
        'except error_class("services.storage.not_found")',
        "ConnectionLostError",
        "close code 1011",
    ):
        assert text in out, text
    assert out.count("  overloaded ") == 2
    # Both transports really met the per-user limit (not a lucky window boundary).
    assert out.count("429 api.process.too_many_requests") == 2
    assert "429 ?" not in out
    assert out.count("  dropped ") == 2


def test_demo_one_transport_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        demo.main(["--help"])
    assert info.value.code == 0
    assert "--transport" in capsys.readouterr().out
