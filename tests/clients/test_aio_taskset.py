"""TaskSet: background tasks kept alive, their failures reported, cancelled on demand."""

from __future__ import annotations

import asyncio

from kuzzle_errors._aio import TaskSet


def test_failures_are_reported_and_finished_tasks_let_go() -> None:
    reported: list[tuple[str, str]] = []

    async def fail() -> None:
        raise RuntimeError("boom")

    async def main() -> int:
        tasks = TaskSet(lambda what, exc: reported.append((what, str(exc))))
        tasks.spawn(fail(), "sending a pong")
        tasks.spawn(asyncio.sleep(0), "a quick one")
        assert len(tasks) == 2
        await asyncio.sleep(0.01)
        return len(tasks)

    assert asyncio.run(main()) == 0
    assert reported == [("sending a pong", "boom")]


def test_cancel_stops_every_task_without_reporting_it() -> None:
    reported: list[str] = []

    async def main() -> bool:
        tasks = TaskSet(lambda what, exc: reported.append(what))
        forever = asyncio.ensure_future(asyncio.sleep(3600))
        tasks.track(forever, "connection handler")
        await tasks.cancel(wait=1.0)
        return forever.cancelled()

    assert asyncio.run(main())
    assert reported == []
