"""The stub's HTTP route table, read from kuzzle_errors/_stub/routes.txt."""

from __future__ import annotations

import pytest

from kuzzle_errors._stub.routes import DEPRECATED, ROUTES, parse_routes, route


def test_the_table_holds_kuzzle_2_56_routes_in_order() -> None:
    assert len(ROUTES) == 298
    assert ROUTES[0] == ("GET", "/_me", "auth", "getCurrentUser")
    assert ROUTES[-1] == ("PATCH", "/:index/:collection/_bulk/_query", "bulk", "updateByQuery")
    assert ("POST", "/:index/:collection/_create", "document", "create") in ROUTES
    assert ("DELETE", "/api-keys/:_id", "auth", "deleteApiKey") in ROUTES
    assert all(len(row) == 4 and all(row) for row in ROUTES)


def test_deprecated_routes_are_flagged_and_still_served() -> None:
    assert len(DEPRECATED) == 18
    assert {("GET", "/users/_me"), ("PUT", "/_updateSelf")} <= DEPRECATED
    assert ("GET", "/_me") not in DEPRECATED
    assert {(verb, path) for verb, path, _, _ in ROUTES} >= DEPRECATED
    assert route("PUT", "/_updateSelf") == ("auth", "updateSelf", {})


def test_parse_skips_comments_and_blank_lines() -> None:
    text = "# a comment\n\nGET  /a/:id  c  act\nPUT  /b  c  old  deprecated\n"
    routes, deprecated = parse_routes(text)
    assert routes == (("GET", "/a/:id", "c", "act"), ("PUT", "/b", "c", "old"))
    assert deprecated == {("PUT", "/b")}


@pytest.mark.parametrize(
    "line", ["GET /a c", "GET /a c act obsolete", "FETCH /a c act", "GET /a c act deprecated x"]
)
def test_parse_refuses_a_malformed_line(line: str) -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_routes(f"# header\n{line}\n")
