"""BackupService: Cinder's /backups behind the volume service (VolumeService.backups)."""

from __future__ import annotations

import asyncio
from typing import Any

from ...tasks import PROCESSING
from ..context import RequestContext
from . import backup_tasks, backups
from .env import Env
from .errors import InvalidInput
from .views import Version


class BackupService:
    def __init__(self, env: Env) -> None:
        self.env = env
        backup_tasks.register(env)

    async def create(self, ctx: RequestContext, body: Any, version: Version, base: str
                     ) -> dict[str, Any]:
        req = backups.parse_create(body)
        out = await self.env.run(backups.create, self.env, ctx, req, version, base)
        self.env.tasks.wake()
        return out

    async def get(self, ctx: RequestContext, backup_id: str, version: Version, base: str
                  ) -> dict[str, Any]:
        return await self.env.run(backups.show, ctx, backup_id, version, base)

    async def list(self, ctx: RequestContext, params: dict[str, str], version: Version,
                   base: str, *, detail: bool) -> dict[str, Any]:
        return await self.env.run(lambda s: backups.list_backups(s, ctx, params, version, base,
                                                                 detail=detail))

    async def update(self, ctx: RequestContext, backup_id: str, body: Any, version: Version,
                     base: str) -> dict[str, Any]:
        return await self.env.run(backups.update, ctx, backup_id, body, version, base)

    async def delete(self, ctx: RequestContext, backup_id: str) -> None:
        await self.env.run(backups.start_delete, self.env, ctx, backup_id)
        self.env.tasks.wake()

    async def restore(self, ctx: RequestContext, backup_id: str, body: Any, base: str
                      ) -> dict[str, Any]:
        out = await self.env.run(backups.start_restore, self.env, ctx, backup_id, body, base)
        self.env.tasks.wake()
        return out

    async def action(self, ctx: RequestContext, backup_id: str, body: Any) -> None:
        if not isinstance(body, dict) or len(body) != 1:
            raise InvalidInput("An action body names exactly one action.")
        (name, arg), = body.items()
        if name != "os-reset_status":
            raise InvalidInput(f"There is no such action: {name}")
        await self.env.run(backups.reset_status, ctx, backup_id, arg)

    async def progress(self, backup_id: str) -> tuple[int, int] | None:
        """(bytes done, bytes to do) of the backup's running create or restore, if any."""
        records = await asyncio.to_thread(self.env.tasks.for_resource, backup_id)
        for record in reversed(records):
            if record.status == PROCESSING and "progress" in record.state:
                done, total = record.state["progress"]
                return int(done), int(total)
        return None
