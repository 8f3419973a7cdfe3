"""VolumeService: the Block Storage v3 domain behind /volume, in one object the API calls.

Methods take the caller's RequestContext, the negotiated microversion and the endpoint URL (for
links) and return dicts shaped as Cinder's API; database work runs in short transactions off
the event loop, device work in graph.py (directly for snapshots and extend, which are quick;
through durable tasks for building and deleting volumes).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ...block.targets import Targets
from ...config import Settings
from ...db import Database
from ...storage.registry import Clusters
from ...tasks import TaskRunner
from ..context import RequestContext
from ..images import ImageService
from . import checks, flatten, handlers, migration, snapshots, types, volumes
from .env import (
    CREATE_KIND,
    DELETE_KIND,
    SNAPSHOT_DELETE_KIND,
    Env,
    GiB,
    snapshot_ref,
    volume_device,
)
from .errors import InvalidInput
from .views import Version


class VolumeService:
    def __init__(self, settings: Settings, db: Database, clusters: Clusters, tasks: TaskRunner,
                 images: ImageService) -> None:
        self.env = Env(settings, db, Targets(settings, clusters), tasks, images)
        tasks.register(CREATE_KIND, handlers.CreateVolume(self.env))
        tasks.register(DELETE_KIND, handlers.DeleteVolume(self.env))
        tasks.register(SNAPSHOT_DELETE_KIND, handlers.DeleteSnapshot(self.env))
        # volume operations: moves between backends, the clone-depth flatten queue
        tasks.register(migration.KIND, migration.Migrate(self.env))
        self.flattens = flatten.Flatten(self.env)
        tasks.register(flatten.KIND, self.flattens)

    async def start(self) -> None:
        """The default type, then what a crash left outside the tasks (the runner resumes
        those after this)."""
        await self.env.run(types.ensure_default)
        await handlers.sweep(self.env)
        await migration.sweep(self.env)

    # ---------------------------------------------------------------- types

    async def list_types(self, ctx: RequestContext, params: dict[str, str]
                         ) -> list[dict[str, Any]]:
        return await self.env.run(types.list_types, ctx, params)

    async def get_type(self, ctx: RequestContext, type_id: str) -> dict[str, Any]:
        return await self.env.run(types.show, ctx, type_id)

    async def create_type(self, ctx: RequestContext, body: Any) -> dict[str, Any]:
        return await self.env.run(types.create, self.env, ctx, body)

    async def update_type(self, ctx: RequestContext, type_id: str, body: Any) -> dict[str, Any]:
        return await self.env.run(types.update, ctx, type_id, body)

    async def delete_type(self, ctx: RequestContext, type_id: str) -> None:
        await self.env.run(types.delete, ctx, type_id)

    async def type_specs(self, ctx: RequestContext, type_id: str) -> dict[str, str]:
        return await self.env.run(types.get_specs, ctx, type_id)

    async def set_type_specs(self, ctx: RequestContext, type_id: str, specs: Any
                             ) -> dict[str, str]:
        return await self.env.run(types.set_specs, self.env, ctx, type_id, specs)

    async def unset_type_spec(self, ctx: RequestContext, type_id: str, key: str) -> None:
        await self.env.run(types.unset_spec, ctx, type_id, key)

    # ---------------------------------------------------------------- volumes

    async def create(self, ctx: RequestContext, body: Any, version: Version, base: str
                     ) -> dict[str, Any]:
        req = volumes.parse_create(body)
        image = await self.env.images.source(ctx, req.image_id) if req.image_id else None
        out = await self.env.run(volumes.create, self.env, ctx, req, image, version, base)
        self.env.tasks.wake()
        return out

    async def get(self, ctx: RequestContext, volume_id: str, version: Version, base: str
                  ) -> dict[str, Any]:
        return await self.env.run(volumes.show, ctx, volume_id, version, base)

    async def list_volumes(self, ctx: RequestContext, params: dict[str, str], version: Version,
                           base: str, *, detail: bool) -> dict[str, Any]:
        return await self.env.run(lambda s: volumes.list_volumes(s, ctx, params, version, base,
                                                                 detail=detail))

    async def update(self, ctx: RequestContext, volume_id: str, body: Any, version: Version,
                     base: str) -> dict[str, Any]:
        return await self.env.run(volumes.update, ctx, volume_id, body, version, base)

    async def delete(self, ctx: RequestContext, volume_id: str, cascade: bool) -> None:
        await self.env.run(volumes.start_delete, self.env, ctx, volume_id, cascade)
        self.env.tasks.wake()

    async def metadata(self, ctx: RequestContext, volume_id: str) -> dict[str, str]:
        return await self.env.run(volumes.get_metadata, ctx, volume_id)

    async def set_metadata(self, ctx: RequestContext, volume_id: str, body: Any, *,
                           replace: bool) -> dict[str, str]:
        return await self.env.run(lambda s: volumes.set_metadata(s, ctx, volume_id, body,
                                                                 replace=replace))

    async def metadata_item(self, ctx: RequestContext, volume_id: str, key: str
                            ) -> dict[str, str]:
        return await self.env.run(volumes.get_metadata_item, ctx, volume_id, key)

    async def set_metadata_item(self, ctx: RequestContext, volume_id: str, key: str,
                                body: Any) -> dict[str, str]:
        return await self.env.run(volumes.set_metadata_item, ctx, volume_id, key, body)

    async def delete_metadata_item(self, ctx: RequestContext, volume_id: str, key: str) -> None:
        await self.env.run(volumes.delete_metadata_item, ctx, volume_id, key)

    async def action(self, ctx: RequestContext, volume_id: str, body: Any) -> None:
        if not isinstance(body, dict) or len(body) != 1:
            raise InvalidInput("An action body names exactly one action.")
        (name, arg), = body.items()
        if name == "os-extend":
            if not isinstance(arg, dict) or "new_size" not in arg:
                raise InvalidInput("'new_size' is a required property")
            await self._extend(ctx, volume_id, arg["new_size"])
        elif name == "os-set_bootable":
            if not isinstance(arg, dict) or "bootable" not in arg:
                raise InvalidInput("'bootable' is a required property")
            await self.env.run(volumes.set_bootable, ctx, volume_id, arg["bootable"])
        elif name in migration.ACTIONS:
            await migration.ACTIONS[name](self.env, SimpleNamespace(
                ctx=ctx, volume_id=volume_id, arg=arg))
        else:
            raise InvalidInput(f"There is no such action: {name}")

    async def _extend(self, ctx: RequestContext, volume_id: str, new_size: Any) -> None:
        size = checks.size_gib(new_size, "new_size")
        cluster, pool, vid, _old = await self.env.run(volumes.start_extend, ctx, volume_id,
                                                      new_size, self.env.settings.volume)
        done = None
        try:
            await self.env.backend(cluster).resize(volume_device(pool, vid), size * GiB)
            done = size
        finally:
            await self.env.run(volumes.finish_extend, vid, done)

    # ---------------------------------------------------------------- snapshots

    async def create_snapshot(self, ctx: RequestContext, body: Any, version: Version
                              ) -> dict[str, Any]:
        row = await self.env.run(snapshots.begin_create, self.env, ctx, body)
        backend = self.env.backend(row["cluster"])
        ref = snapshot_ref(row["pool"], row["volume_id"], row["id"])
        ok = False
        try:
            async with self.env.graph_lock:
                await backend.snapshot(ref.device, ref.name)
                try:
                    await backend.protect(ref)
                except BaseException:
                    await backend.remove_snapshot(ref)
                    raise
            ok = True
        finally:
            out = await self.env.run(snapshots.finish_create, row["id"], ok, version)
        assert out is not None
        return out

    async def get_snapshot(self, ctx: RequestContext, snapshot_id: str, version: Version
                           ) -> dict[str, Any]:
        return await self.env.run(snapshots.show, ctx, snapshot_id, version)

    async def list_snapshots(self, ctx: RequestContext, params: dict[str, str],
                             version: Version, base: str, *, detail: bool) -> dict[str, Any]:
        return await self.env.run(lambda s: snapshots.list_snapshots(
            s, ctx, params, version, base, detail=detail))

    async def update_snapshot(self, ctx: RequestContext, snapshot_id: str, body: Any,
                              version: Version) -> dict[str, Any]:
        return await self.env.run(snapshots.update, ctx, snapshot_id, body, version)

    async def delete_snapshot(self, ctx: RequestContext, snapshot_id: str) -> None:
        await self.env.run(snapshots.start_delete, self.env, ctx, snapshot_id)
        self.env.tasks.wake()


