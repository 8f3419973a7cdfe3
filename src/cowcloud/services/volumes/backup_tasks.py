"""The backups' durable tasks: take a backup, restore one, delete one. Each run starts by
clearing what an interrupted run of the same task left (backup_devices), so the task runner
may run it again after a crash; `failed` clears it too and puts the records back in order.

Progress (bytes done, bytes to do) goes into the task's state, at most twice a second, where
the API finds it for `cowcloud volume backup` progress bars.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from ...tasks import Control, TaskRecord
from . import backup_devices, backups
from .env import Env

log = logging.getLogger("cowcloud.volumes")

SAVE_EVERY = 0.5  # seconds between progress writes


class ProgressSaver:
    """A storage Progress callback (sync) that persists into the task's state, throttled."""

    def __init__(self, control: Control) -> None:
        self._control = control
        self._last = 0.0
        self._pending: asyncio.Task[None] | None = None
        self.latest = (0, 0)

    def __call__(self, done: int, total: int) -> None:
        self.latest = (done, total)
        now = time.monotonic()
        if now - self._last < SAVE_EVERY or (self._pending and not self._pending.done()):
            return
        self._last = now
        self._pending = asyncio.get_running_loop().create_task(self._save())

    async def _save(self) -> None:
        with contextlib.suppress(Exception):  # progress is best effort, never the task's end
            await self._control.save_state(progress=list(self.latest))

    async def close(self) -> None:
        if self._pending and not self._pending.done():
            with contextlib.suppress(BaseException):
                await self._pending
        await self._save()


class CreateBackup:
    def __init__(self, env: Env) -> None:
        self.env = env

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        saver = ProgressSaver(control)
        result = await backup_devices.take(self.env, task.input, saver)
        await saver.close()
        await self.env.run(backups.finish_create, task.input, result)
        return result

    async def failed(self, task: TaskRecord, message: str) -> None:
        try:
            await backup_devices.clear_take(self.env, task.input)
        except Exception:
            log.warning("backup %s: leftovers stay until it is deleted",
                        task.input["backup_id"], exc_info=True)
        await self.env.run(backups.finish_create, task.input, None, message)


class RestoreBackup:
    def __init__(self, env: Env) -> None:
        self.env = env

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        saver = ProgressSaver(control)
        await backup_devices.restore(self.env, task.input, saver)
        await saver.close()
        await self.env.run(backups.finish_restore, task.input, True)
        return {"volume_id": task.input["volume_id"]}

    async def failed(self, task: TaskRecord, message: str) -> None:
        try:
            await backup_devices.clear_restore(self.env, task.input)
        except Exception:
            log.warning("restore of %s: leftovers stay", task.input["backup_id"], exc_info=True)
        await self.env.run(backups.finish_restore, task.input, False, message)


class DeleteBackup:
    def __init__(self, env: Env) -> None:
        self.env = env

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        await backup_devices.drop(self.env, task.input)
        await self.env.run(backups.finish_delete, task.input["backup_id"], True)
        return {}

    async def failed(self, task: TaskRecord, message: str) -> None:
        await self.env.run(backups.finish_delete, task.input["backup_id"], False, message)


def register(env: Env) -> None:
    env.tasks.register(backup_devices.CREATE_KIND, CreateBackup(env))
    env.tasks.register(backup_devices.RESTORE_KIND, RestoreBackup(env))
    env.tasks.register(backup_devices.DELETE_KIND, DeleteBackup(env))
