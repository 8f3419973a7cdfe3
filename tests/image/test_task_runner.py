"""The durable task runner on a real database: success, retry, failure, graceful stop,
abandoned tasks of dead workers resumed (then given up), and one owner per task."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cowcloud.db import Database
from cowcloud.db.models import Task
from cowcloud.tasks import Control, Retry, TaskRecord, TaskRunner
from cowcloud.tasks.runner import MAX_ABANDONED


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 't.db'}")
    database.migrate()
    yield database
    database.dispose()


class Recorder:
    def __init__(self, behaviour: Any = None) -> None:
        self.runs: list[str] = []
        self.failures: list[str] = []
        self.behaviour = behaviour

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        self.runs.append(task.id)
        await control.save_state(step=len(self.runs))
        if self.behaviour:
            return await self.behaviour(task, len(self.runs))
        return {"ok": True}

    async def failed(self, task: TaskRecord, message: str) -> None:
        self.failures.append(message)


def add(db: Database, runner: TaskRunner, kind: str = "k", **row: Any) -> str:
    with db.session() as s:
        if row:
            task = Task(kind=kind, input={}, state={}, result={}, message="", **row)
            s.add(task)
            s.flush()
            return task.id
        return runner.add(s, kind, input={"x": 1}).id


def row(db: Database, task_id: str) -> Task:
    with db.session() as s:
        return s.get(Task, task_id)  # type: ignore[return-value]


async def until(pred: Any, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)


async def test_success_and_failure(db: Database) -> None:
    async def boom(task: TaskRecord, n: int) -> dict[str, Any]:
        raise ValueError("it broke")
    ok, bad = Recorder(), Recorder(boom)
    runner = TaskRunner(db, poll_seconds=0.05)
    runner.register("ok", ok)
    runner.register("bad", bad)
    await runner.start()
    try:
        t1, t2 = add(db, runner, "ok"), add(db, runner, "bad")
        runner.wake()
        await runner.wait_idle()
    finally:
        await runner.stop()
    r1, r2 = row(db, t1), row(db, t2)
    assert (r1.status, r1.result, r1.state, r1.worker) == ("success", {"ok": True},
                                                           {"step": 1}, None)
    assert (r2.status, r2.message) == ("failure", "it broke")
    assert bad.failures == ["it broke"]


async def test_retry_waits_then_runs_again(db: Database) -> None:
    async def twice(task: TaskRecord, n: int) -> dict[str, Any]:
        if n == 1:
            raise Retry(0.3, "not yet")
        return {"n": n}
    rec = Recorder(twice)
    runner = TaskRunner(db, poll_seconds=0.05)
    runner.register("k", rec)
    await runner.start()
    try:
        tid = add(db, runner)
        runner.wake()
        await until(lambda: len(rec.runs) == 1 and row(db, tid).status == "pending")
        assert row(db, tid).message == "not yet"
        await asyncio.sleep(0.1)
        assert len(rec.runs) == 1  # not before its time
        await until(lambda: row(db, tid).status == "success")
    finally:
        await runner.stop()
    assert row(db, tid).attempts == 0 and row(db, tid).result == {"n": 2}


async def test_retry_after_a_task_runs_when_that_task_ends(db: Database) -> None:
    # The delay is far beyond the test's timeout: only the end of the awaited task (a failure
    # too) can make the waiting one due.
    gate = asyncio.Event()

    async def slow(task: TaskRecord, n: int) -> dict[str, Any]:
        await gate.wait()
        raise ValueError("copy failed")
    copy = Recorder(slow)
    ids: dict[str, str] = {}

    async def wait_for_copy(task: TaskRecord, n: int) -> dict[str, Any]:
        if n == 1:
            raise Retry(3600, "waiting for the copy", after=ids["copy"])
        return {"n": n}
    vol = Recorder(wait_for_copy)
    runner = TaskRunner(db, poll_seconds=0.05)
    runner.register("copy", copy)
    runner.register("vol", vol)
    await runner.start()
    try:
        ids["copy"] = add(db, runner, "copy")
        runner.wake()
        await until(lambda: len(copy.runs) == 1)
        tid = add(db, runner, "vol")
        runner.wake()
        await until(lambda: len(vol.runs) == 1 and row(db, tid).status == "pending")
        await asyncio.sleep(0.2)
        assert len(vol.runs) == 1  # still waiting: the copy runs
        gate.set()
        await until(lambda: row(db, tid).status == "success")
        assert row(db, ids["copy"]).status == "failure"

        # a task that already ended when the Retry names it: run again at once
        tid2 = add(db, runner, "vol")
        vol.runs.clear()
        runner.wake()
        await until(lambda: row(db, tid2).status == "success")
        assert len(vol.runs) == 2
    finally:
        await runner.stop()


async def test_graceful_stop_hands_the_task_back(db: Database) -> None:
    started = asyncio.Event()

    async def slow(task: TaskRecord, n: int) -> dict[str, Any]:
        if n == 1:
            started.set()
            await asyncio.sleep(60)
        return {"n": n}
    rec = Recorder(slow)
    runner = TaskRunner(db, poll_seconds=0.05)
    runner.register("k", rec)
    await runner.start()
    tid = add(db, runner)
    runner.wake()
    await asyncio.wait_for(started.wait(), 10)
    await runner.stop()
    r = row(db, tid)
    assert (r.status, r.worker, r.lease_until) == ("pending", None, None)
    second = TaskRunner(db, poll_seconds=0.05)
    second.register("k", rec)
    await second.start()
    try:
        await until(lambda: row(db, tid).status == "success")
    finally:
        await second.stop()


def _dead_worker() -> str:
    import subprocess
    proc = subprocess.Popen(["true"])
    proc.wait()  # a pid that has just exited
    return f"{socket.gethostname()}:{proc.pid}:deadbeef"


async def test_abandoned_task_is_resumed_at_once_then_given_up(db: Database) -> None:
    rec = Recorder()
    runner = TaskRunner(db, poll_seconds=0.05, lease_seconds=300)
    runner.register("k", rec)
    far = datetime.now(timezone.utc) + timedelta(hours=1)  # its lease has not run out...
    tid = add(db, runner, status="processing", worker=_dead_worker(), lease_until=far,
              attempts=0)
    # ...but its worker is a dead process of this host: resumed without waiting
    lost = add(db, runner, status="processing", worker=_dead_worker(), lease_until=far,
               attempts=MAX_ABANDONED)
    other_host = add(db, runner, status="processing", worker="elsewhere:1:x", lease_until=far)
    await runner.start()
    try:
        await until(lambda: row(db, tid).status == "success" and
                    row(db, lost).status == "failure")
        await asyncio.sleep(0.2)
    finally:
        await runner.stop()
    assert row(db, tid).attempts == 1 and rec.runs == [tid]
    assert "abandoned" in row(db, lost).message and len(rec.failures) == 1
    assert row(db, other_host).status == "processing"  # a live lease elsewhere is respected


async def test_one_owner_per_task(db: Database) -> None:
    rec = Recorder()
    a, b = TaskRunner(db, poll_seconds=0.01), TaskRunner(db, poll_seconds=0.01)
    for r in (a, b):
        r.register("k", rec)
    ids = [add(db, a) for _ in range(20)]
    await a.start()
    await b.start()
    try:
        await until(lambda: all(row(db, i).status == "success" for i in ids))
    finally:
        await a.stop()
        await b.stop()
    assert sorted(rec.runs) == sorted(ids)  # each exactly once, though both share a process


async def test_storage_outage_runs_again_then_fails(db: Database) -> None:
    """A handler failing with 503 (a cluster that does not answer) is run again after a lease,
    up to MAX_UNAVAILABLE times, instead of failing at once."""
    from cowcloud.storage.errors import Unavailable
    from cowcloud.tasks.runner import MAX_UNAVAILABLE

    async def away_once(task: TaskRecord, n: int) -> dict[str, Any]:
        if n == 1:
            raise Unavailable("cluster x does not answer")
        return {"n": n}

    async def away(task: TaskRecord, n: int) -> dict[str, Any]:
        raise Unavailable("cluster x does not answer")
    back, gone = Recorder(away_once), Recorder(away)
    runner = TaskRunner(db, poll_seconds=0.05, lease_seconds=0.2)
    runner.register("back", back)
    runner.register("gone", gone)
    await runner.start()
    try:
        t1, t2 = add(db, runner, "back"), add(db, runner, "gone")
        runner.wake()
        await until(lambda: row(db, t1).status == "success" and row(db, t2).status == "failure")
    finally:
        await runner.stop()
    assert row(db, t1).result == {"n": 2}
    assert len(gone.runs) == MAX_UNAVAILABLE + 1
    assert gone.failures == ["cluster x does not answer"]


async def test_stop_is_bounded_when_a_task_does_not_stop(db: Database) -> None:
    """A task stuck where cancellation cannot reach (a storage call that never returns) does not
    hold the stop up; its row stays claimed and its lease runs out."""
    started, freed = asyncio.Event(), asyncio.Event()

    async def stuck(task: TaskRecord, n: int) -> dict[str, Any]:
        started.set()
        while not freed.is_set():
            try:
                await freed.wait()
            except asyncio.CancelledError:
                continue  # as a job waiting on a worker thread that never returns
        return {}
    rec = Recorder(stuck)
    runner = TaskRunner(db, poll_seconds=0.05)
    runner.register("k", rec)
    await runner.start()
    tid = add(db, runner)
    runner.wake()
    await asyncio.wait_for(started.wait(), 10)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await runner.stop(grace=0.5)
    assert loop.time() - t0 < 3
    assert row(db, tid).status == "processing"
    freed.set()  # let it end with the test
    await asyncio.sleep(0.1)
