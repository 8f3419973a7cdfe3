"""VolumeService: the Block Storage v3 domain behind /volume, in one object the API calls.

Methods take the caller's RequestContext, the negotiated microversion and the endpoint URL (for
links) and return dicts shaped as Cinder's API; database work runs in short transactions off
the event loop, device work in graph.py (directly for snapshots and extend, which are quick;
through durable tasks for building and deleting volumes).
"""

from __future__ import annotations

from typing import Any

from ...block.targets import Targets
from ...config import Settings
from ...db import Database
from ...storage.registry import Clusters
from ...tasks import TaskRunner
from ..context import RequestContext
from ..images import ImageService
from ..policy import enforce
from . import (
    actions,
    attachments,
    flatten,
    handlers,
    migration,
    snapshot_actions,
    snapshots,
    types,
    upload,
    volumes,
)
from .backup_service import BackupService
from .calls import Reply
from .env import CREATE_KIND, DELETE_KIND, SNAPSHOT_DELETE_KIND, Env, snapshot_ref
from .views import Version


class VolumeService:
    def __init__(self, settings: Settings, db: Database, clusters: Clusters, tasks: TaskRunner,
                 images: ImageService) -> None:
        self.env = Env(settings, db, Targets(settings, clusters), tasks, images)
        tasks.register(CREATE_KIND, handlers.CreateVolume(self.env))
        tasks.register(DELETE_KIND, handlers.DeleteVolume(self.env))
        tasks.register(SNAPSHOT_DELETE_KIND, handlers.DeleteSnapshot(self.env))
        tasks.register(upload.UPLOAD_KIND, upload.UploadVolume(self.env))
        self.backups = BackupService(self.env)
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

    async def delete(self, ctx: RequestContext, volume_id: str, cascade: bool, *,
                     force: bool = False) -> None:
        if force:
            enforce(ctx, "volume_extension:volume_admin_actions:force_delete")
        await self.env.run(lambda s: volumes.start_delete(s, self.env, ctx, volume_id, cascade,
                                                          force=force))
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

    async def action(self, ctx: RequestContext, volume_id: str, body: Any, version: Version,
                     base: str) -> Reply:
        """POST /volumes/{id}/action: actions.ACTIONS names the handler of each action."""
        return await actions.dispatch(self.env, ctx, volume_id, body, version, base)

    # ---------------------------------------------------------------- attachments (3.27)

    async def create_attachment(self, ctx: RequestContext, body: Any, version: Version
                                ) -> dict[str, Any]:
        view, ready = await self.env.run(attachments.begin_create, ctx, body, version)
        return await self._connect(ready) if ready else view

    async def update_attachment(self, ctx: RequestContext, attachment_id: str, body: Any,
                                version: Version) -> dict[str, Any]:
        ready = await self.env.run(attachments.begin_update, ctx, attachment_id, body, version)
        return await self._connect(ready, new=False)

    async def _connect(self, ready: attachments.Ready, new: bool = True) -> dict[str, Any]:
        try:
            return await attachments.connect(self.env, ready)
        except BaseException:
            if new:  # the reservation made for this request goes with it
                await self.env.run(attachments.drop, ready.attachment_id)
            raise

    async def get_attachment(self, ctx: RequestContext, attachment_id: str, version: Version
                             ) -> dict[str, Any]:
        return await self.env.run(attachments.show, ctx, attachment_id, version)

    async def list_attachments(self, ctx: RequestContext, params: dict[str, str],
                               version: Version, *, detail: bool) -> list[dict[str, Any]]:
        return await self.env.run(lambda s: attachments.list_attachments(
            s, ctx, params, version, detailed=detail))

    async def delete_attachment(self, ctx: RequestContext, attachment_id: str,
                                version: Version) -> list[dict[str, Any]]:
        return await self.env.run(attachments.delete, ctx, attachment_id, version)

    async def complete_attachment(self, ctx: RequestContext, attachment_id: str, body: Any,
                                  version: Version) -> None:
        await self.env.run(attachments.complete, ctx, attachment_id, body, version)

    # ---------------------------------------------------------------- snapshots

    async def create_snapshot(self, ctx: RequestContext, body: Any, version: Version
                              ) -> dict[str, Any]:
        row = await self.env.run(snapshots.begin_create, self.env, ctx, body, version)
        backend = self.env.backend(row["cluster"])
        ref = snapshot_ref(row["pool"], row["volume_id"], row["id"])
        ok = False
        try:
            async with self.env.graph_lock(backend):
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

    async def snapshot_action(self, ctx: RequestContext, snapshot_id: str, body: Any) -> None:
        """POST /snapshots/{id}/action (snapshot_actions.ACTIONS)."""
        await snapshot_actions.dispatch(self.env, ctx, snapshot_id, body)
        self.env.tasks.wake()  # a forced delete's task


