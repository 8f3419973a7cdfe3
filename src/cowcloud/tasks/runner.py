"""The durable task runner: background work kept as rows in the tasks table.

A task is added in the caller's own transaction (so "image importing" and "its task exists" commit
together), then claimed by a runner: status processing, `worker` set, `lease_until` renewed every
third of the lease while it runs. Every state change is one short UPDATE guarded by the expected
status and worker, so two runners sharing a database never both own a task.

Restarts. A task still `processing` whose worker is gone (lease expired, or a dead process of this
host) is abandoned; the runner runs it again, up to MAX_ABANDONED times, and then fails it. Handlers
are written for that: `run` first cleans up whatever an interrupted earlier run left behind (the
devices it names are its record), then does the work. On a graceful stop, running tasks are
cancelled (their own undo steps run) and put back to pending.

`lease_until` on a *pending* task means "not before": a handler raising Retry(delay) is run again
after the delay (the deferred-delete reaper waits for clones this way). Retry(delay, after=ID) waits
for another task: it runs again as soon as task ID ends in this runner, the delay being only the
bound (ID ended elsewhere, or this process restarted): a volume waiting for its image's copy
starts the moment the copy is done, not up to a poll later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..db import Database
from ..db.models import Task
from .records import (
    FAILURE,
    LIVE,
    PENDING,
    PROCESSING,
    SUCCESS,
    TaskRecord,
    known_dead,
    new_worker_id,
)

log = logging.getLogger("cowcloud.tasks")

MAX_ABANDONED = 3  # runs lost to dead workers before a task is failed for good
MAX_UNAVAILABLE = 5  # runs a storage outage (status 503) may cost before the task fails


class Retry(Exception):
    """Raised by a handler: not done yet, run again after `delay` seconds."""

    def __init__(self, delay: float, message: str = "", *, after: str | None = None) -> None:
        super().__init__(message)
        self.delay = delay
        self.message = message
        self.after = after  # a task id: run again as soon as it ends


class Control:
    """What a running handler may do to its own task row."""

    def __init__(self, runner: TaskRunner, task: TaskRecord) -> None:
        self._runner = runner
        self.task = task
        self.state: dict[str, Any] = dict(task.state)

    async def save_state(self, **changes: Any) -> None:
        """Merges `changes` into the task's state and persists it (progress, created devices)."""
        self.state.update(changes)
        state = dict(self.state)
        await self._runner._update(self.task.id, PROCESSING, state=state)


class Handler(Protocol):
    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        """Does the work (re-entrant: cleans an interrupted run's leftovers first); returns the
        result. Raises Retry to be run again later, anything else to fail the task."""

    async def failed(self, task: TaskRecord, message: str) -> None:
        """The task failed for good: undo what it left and put its resource back in order."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class TaskRunner:
    def __init__(self, db: Database, *, lease_seconds: float = 30, poll_seconds: float = 1.0,
                 max_running: int = 4, worker: str | None = None) -> None:
        self.db = db
        self.worker = worker or new_worker_id()
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.max_running = max_running
        self._handlers: dict[str, Handler] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._waiters: dict[str, set[str]] = {}  # task id -> tasks to run again when it ends
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._stopping = False
        self._claiming = False  # a claim is under way: tasks may be taken but not launched yet

    def register(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    # --------------------------------------------------------------- adding and reading

    def add(self, s: Session, kind: str, *, input: dict[str, Any], owner: str | None = None,
            resource_id: str | None = None, not_before: datetime | None = None) -> Task:
        """A new pending task in the caller's transaction; call wake() after it commits."""
        task = Task(kind=kind, status=PENDING, owner=owner, resource_id=resource_id,
                    input=input, state={}, result={}, message="", attempts=0,
                    lease_until=not_before)
        s.add(task)
        s.flush()
        return task

    def wake(self) -> None:
        """Looks for work now rather than at the next poll; callable from any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def get(self, task_id: str) -> TaskRecord | None:
        with self.db.session() as s:
            row = s.get(Task, task_id)
            return TaskRecord.of(row) if row else None

    def for_resource(self, resource_id: str, kind: str | None = None) -> list[TaskRecord]:
        with self.db.session() as s:
            q = select(Task).where(Task.resource_id == resource_id)
            if kind:
                q = q.where(Task.kind == kind)
            return [TaskRecord.of(t) for t in s.scalars(q.order_by(Task.created_at))]

    # --------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        LIVE.add(self.worker)
        self._main = asyncio.create_task(self._main_loop(), name="cowcloud-task-runner")

    async def stop(self, grace: float | None = None) -> None:
        """Cancels running tasks (their undo steps run) and hands them back as pending.

        grace: at most this long for them; a task still stuck after it (a storage call that
        does not return) is left as it is: its lease runs out and another runtime resumes it."""
        self._stopping = True
        if self._main is not None:
            self._main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._main
            self._main = None
        running = list(self._running.values())
        for t in running:
            t.cancel()
        if running:
            done, stuck = await asyncio.wait(running, timeout=grace)
            for t in done:
                if not t.cancelled():
                    t.exception()  # seen: a failure was handled (logged) by _execute
            if stuck:
                log.warning("%d tasks did not stop in %s s; their leases will run out",
                            len(stuck), grace)
        self._loop = None
        LIVE.discard(self.worker)

    async def wait_idle(self, timeout: float = 60) -> None:
        """Until no task runs here and none is claimable (for tests and `cowcloud` commands)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            # Query first, then look at the in-memory state: a claim that commits while the
            # query runs is then already visible as _claiming or _running.
            claimable = await self._db(self._claimable_ids, 1)
            if not (claimable or self._running or self._claiming):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("tasks still running")
            await asyncio.sleep(0.05)

    # --------------------------------------------------------------- the loop

    async def _main_loop(self) -> None:
        renew_every = self.lease.total_seconds() / 3
        last_renew = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                if loop.time() - last_renew >= renew_every:
                    await self._db(self._renew, list(self._running))
                    last_renew = loop.time()
                free = self.max_running - len(self._running)
                if free > 0:
                    self._claiming = True
                    try:
                        for task, abandoned in await self._db(self._claim, free):
                            self._launch(task, abandoned)
                    finally:
                        self._claiming = False
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly unavailable: try again next round
                log.exception("task runner round failed")
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(self.poll_seconds,
                                                                      renew_every))

    def _launch(self, task: TaskRecord, abandoned: bool) -> None:
        t = asyncio.create_task(self._execute(task, abandoned), name=f"task-{task.id}")
        self._running[task.id] = t

        def done(_t: asyncio.Task[None]) -> None:
            self._running.pop(task.id, None)
            self.wake()  # a slot is free
        t.add_done_callback(done)

    async def _execute(self, task: TaskRecord, abandoned: bool) -> None:
        handler = self._handlers.get(task.kind)
        if handler is None:
            await self._finish(task, FAILURE, message=f"no handler for task kind {task.kind!r}")
            return
        if abandoned and task.attempts > MAX_ABANDONED:
            await self._fail(handler, task, f"abandoned by {MAX_ABANDONED} dead workers")
            return
        if abandoned:
            log.warning("resuming abandoned task", extra={"task": task.id, "kind": task.kind})
        try:
            result = await handler.run(task, Control(self, task))
        except asyncio.CancelledError:
            if self._stopping:  # graceful stop: someone runs it again later
                await asyncio.shield(self._db(self._release, task.id))
            raise
        except Retry as retry:
            await self._db(self._release, task.id, retry.delay, retry.message)
            if retry.delay and self._loop is not None:
                self._loop.call_later(retry.delay, self.wake)  # due then, not a poll later
            if retry.after:
                self._waiters.setdefault(retry.after, set()).add(task.id)
                if await self._db(self._ended, retry.after):  # it ended before we listened
                    await self._release_waiters(retry.after)
        except Exception as exc:
            if getattr(exc, "status", None) == 503 and task.attempts < MAX_UNAVAILABLE:
                # A cluster that does not answer (still opening, or away for a while): run
                # again after a lease rather than fail work that may succeed in a minute.
                log.warning("task waits for storage: %s", exc,
                            extra={"task": task.id, "kind": task.kind})
                await self._db(self._release, task.id, self.lease.total_seconds(), str(exc),
                               task.attempts + 1)
                return
            log.warning("task failed", extra={"task": task.id, "kind": task.kind},
                        exc_info=not _expected(exc))
            await self._fail(handler, task, str(exc) or type(exc).__name__)
        else:
            await self._finish(task, SUCCESS, result=result)

    async def _fail(self, handler: Handler, task: TaskRecord, message: str) -> None:
        try:
            await handler.failed(task, message)
        finally:
            await self._finish(task, FAILURE, message=message)

    async def _finish(self, task: TaskRecord, status: str, *, message: str = "",
                      result: dict[str, Any] | None = None) -> None:
        await self._update(task.id, status, message=message, result=result or {}, worker=None,
                           lease_until=None)
        await self._release_waiters(task.id)

    async def _release_waiters(self, task_id: str) -> None:
        """The tasks that Retry(after=task_id) put to wait are due now."""
        waiters = self._waiters.pop(task_id, None)
        if waiters:
            await self._db(self._due_now, list(waiters))
            self.wake()

    async def _update(self, task_id: str, status: str, **values: Any) -> None:
        def work(s: Session) -> None:
            s.execute(update(Task).where(Task.id == task_id, Task.worker == self.worker)
                      .values(status=status, updated_at=utcnow(), **values))
        await self._db(work)

    # --------------------------------------------------------------- database steps

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        def job() -> Any:
            with self.db.session() as s:
                return fn(s, *args)
        return await asyncio.to_thread(job)

    def _claimable(self, s: Session, limit: int) -> list[tuple[Task, bool]]:
        now = utcnow()
        rows = s.scalars(select(Task).where(or_(
            (Task.status == PENDING) & (or_(Task.lease_until.is_(None), Task.lease_until <= now)),
            Task.status == PROCESSING)).order_by(Task.created_at)).all()
        out = []
        for row in rows:
            if row.id in self._running:
                continue
            if row.status == PENDING:
                out.append((row, False))
            elif (row.lease_until is None or row.lease_until < now
                  or known_dead(row.worker, self.worker)):
                out.append((row, True))
            if len(out) >= limit:
                break
        return out

    def _claimable_ids(self, s: Session, limit: int) -> list[str]:
        return [row.id for row, _ in self._claimable(s, limit)]

    def _claim(self, s: Session, limit: int) -> list[tuple[TaskRecord, bool]]:
        claimed = []
        for row, abandoned in self._claimable(s, limit):
            guard = [Task.id == row.id, Task.status == row.status]
            guard.append(Task.worker.is_(None) if row.worker is None else Task.worker == row.worker)
            res = s.execute(update(Task).where(*guard).values(
                status=PROCESSING, worker=self.worker, lease_until=utcnow() + self.lease,
                attempts=row.attempts + (1 if abandoned else 0), updated_at=utcnow()))
            if res.rowcount == 1:  # type: ignore[attr-defined]
                s.refresh(row)
                claimed.append((TaskRecord.of(row), abandoned))
        return claimed

    def _renew(self, s: Session, ids: list[str]) -> None:
        if ids:
            s.execute(update(Task).where(Task.id.in_(ids), Task.worker == self.worker)
                      .values(lease_until=utcnow() + self.lease))

    def _ended(self, s: Session, task_id: str) -> bool:
        row = s.get(Task, task_id)
        return row is None or row.status in (SUCCESS, FAILURE)

    def _due_now(self, s: Session, ids: list[str]) -> None:
        s.execute(update(Task).where(Task.id.in_(ids), Task.status == PENDING,
                                     Task.worker.is_(None)).values(lease_until=None))

    def _release(self, s: Session, task_id: str, delay: float = 0, message: str = "",
                 attempts: int | None = None) -> None:
        values: dict[str, Any] = {"status": PENDING, "worker": None, "updated_at": utcnow(),
                                  "lease_until": utcnow() + timedelta(seconds=delay) if delay
                                  else None}
        if attempts is not None:
            values["attempts"] = attempts
        if message:
            values["message"] = message
        s.execute(update(Task).where(Task.id == task_id, Task.worker == self.worker)
                  .values(**values))


def _expected(exc: BaseException) -> bool:
    """Refusals (bad image data, a store saying no) are outcomes, not bugs: no traceback."""
    return hasattr(exc, "status") and getattr(exc, "status", 500) < 500

