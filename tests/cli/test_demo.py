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
    # The last line points to the documentation (an installed wheel has no README).
    last = out.strip().splitlines()[-1]
    assert "README" not in last
    assert last.endswith(demo.docs_url())


def test_docs_url_comes_from_the_project_urls() -> None:
    from importlib import metadata

    urls = metadata.metadata("kuzzle-errors").get_all("Project-URL") or []
    documentation = [u for u in urls if u.lower().startswith("documentation,")]
    assert documentation
    assert demo.docs_url() == documentation[0].split(",", 1)[1].strip()


def test_demo_one_transport_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        demo.main(["--help"])
    assert info.value.code == 0
    assert "--transport" in capsys.readouterr().out
