"""The replay safety of Kuzzle's API actions (issue 22): generated from Kuzzle 2.56's own
action lists and route table, with a verdict for every action and none for anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fresh_python import import_script

from kuzzle_errors import hints

ROOT = Path(__file__).resolve().parents[2]
generate_catalog = import_script("generate_catalog")


def test_every_action_of_kuzzle_s_controllers_has_a_verdict() -> None:
    declared = json.loads((ROOT / "data/kuzzle-v2-api/controllers.json").read_text("utf-8"))
    names = {f"{c}:{a}" for c, actions in declared.items() for a in actions}
    assert len(names) == 278
    assert set(hints.ACTIONS) == names


@pytest.mark.parametrize(
    ("action", "safe"),
    [
        # the reads, replacing writes and auth:login...
        ("document:get", True),
        ("document:mGet", True),
        ("document:search", True),
        ("document:count", True),
        ("document:exists", True),
        ("server:now", True),
        ("server:info", True),
        ("document:createOrReplace", True),
        ("document:replace", True),
        ("document:mCreateOrReplace", True),
        ("document:delete", True),
        ("auth:login", True),
        # ...and not create, mCreate, import, counters, cursors, publish
        ("document:create", False),
        ("document:mCreate", False),
        ("bulk:import", False),
        ("ms:incr", False),
        ("document:scroll", False),
        ("realtime:publish", False),
        ("admin:shutdown", False),
        # refreshToken revokes the token it was sent with: a replay goes out with a dead one
        ("auth:refreshToken", False),
        # a destination among the sources is combined again (scores summed twice)
        ("ms:zunionstore", False),
        ("ms:zinterstore", False),
        ("ms:bitop", False),
        # by position: a replay after it ran removes the next members
        ("ms:zremrangebyrank", False),
        # a replay goes out with the token the first run revoked: 401 for a logout that worked
        ("auth:logout", False),
    ],
)
def test_verdicts(action: str, safe: bool) -> None:
    assert hints.ACTIONS[action].replay_safe is safe
    controller, name = action.split(":")
    assert hints.replay_safe({"controller": controller, "action": name}) is safe


def test_memory_storage_is_ms_and_unknown_actions_are_not_replayed() -> None:
    assert hints.action_safety("memoryStorage", "get") == hints.ACTIONS["ms:get"]
    assert hints.action_safety("myplugin/ctrl", "doIt") is None
    assert hints.action_safety(None, 3) is None
    assert hints.replay_safe({"controller": "myplugin/ctrl", "action": "doIt"}) is False
    assert hints.replay_safe({}) is False


def test_a_conditional_ms_set_is_not_replayed() -> None:
    def ms_set(**body: object) -> dict[str, object]:
        return {"controller": "ms", "action": "set", "_id": "lock", "body": {"value": 1, **body}}

    assert hints.replay_safe(ms_set()) is True
    assert hints.replay_safe(ms_set(ex=10)) is True
    assert hints.replay_safe(ms_set(nx=True)) is False
    assert hints.replay_safe(ms_set(xx=True, px=100)) is False


def test_a_bulk_write_without_an_id_is_not_replayed() -> None:
    # Kuzzle makes an id up for a document without one: a replay would write a second copy.
    write = {"controller": "bulk", "action": "write", "body": {"v": 1}}
    assert hints.replay_safe(write) is False
    assert hints.replay_safe({**write, "_id": "d1"}) is True
    mwrite = {"controller": "bulk", "action": "mWrite"}
    documents = [{"_id": "a", "body": {}}, {"body": {}}]
    assert hints.replay_safe({**mwrite, "body": {"documents": documents}}) is False
    assert hints.replay_safe({**mwrite, "body": {"documents": documents[:1]}}) is True
    assert hints.replay_safe(mwrite) is False


def test_get_only_actions_are_reads_from_the_route_table() -> None:
    routes = generate_catalog.load_routes(ROOT / "kuzzle_errors/_stub/routes.txt")
    for name, found in hints.ACTIONS.items():
        assert found.verbs == " ".join(sorted(routes.get(name, ())))
        if routes.get(name) == {"GET"} and found.kind != "page":
            assert found.kind == "read", name


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[kinds]\nread safe ok\nread safe again\n", "kind 'read' again"),
        ("[kinds]\nread sure ok\n", "not a line of its section"),
        ("[kinds]\nread safe ok\n[actions]\na:b nope\n", "unknown kind 'nope'"),
        ("[kinds]\nread safe ok\n[actions]\na:b read\na:b read\n", "a:b again"),
        ("a:b read\n", "not a line of its section"),
    ],
)
def test_a_malformed_verdict_file_is_refused(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        generate_catalog.parse_replay_safety(text)


def test_the_generator_fails_on_a_missing_or_an_unknown_action(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = (ROOT / "data/replay-safety.txt").read_text("utf-8")
    data = tmp_path / "data"
    (data / "kuzzle-v2-api").mkdir(parents=True)
    controllers = (ROOT / "data/kuzzle-v2-api/controllers.json").read_text("utf-8")
    (data / "kuzzle-v2-api/controllers.json").write_text(controllers, "utf-8")
    monkeypatch.setattr(generate_catalog, "DATA", data)
    (data / "replay-safety.txt").write_text(real.replace("document:create ", "#"), "utf-8")
    with pytest.raises(ValueError, match=r"gives no kind to document:create \(POST\)"):
        generate_catalog.load_actions()
    (data / "replay-safety.txt").write_text(real + "document:teleport create\n", "utf-8")
    with pytest.raises(ValueError, match="lists actions Kuzzle lacks"):
        generate_catalog.load_actions()
