"""os-volume_upload_image: a volume becomes a new image in the image service.

The request checks the volume (available, or in-use with `force`), marks it `uploading`,
creates the image (queued, the caller's) and queues a durable task; the answer is Cinder's.
The task takes a protected snapshot `upload-<image id>` of the volume's device (what the image
holds is the volume at that moment, even while a guest writes it) and then:
- raw: the image service lands the snapshot in the target store (images/from_device.py). In
  the volume's own cluster that is the block layer's transfer, a clone flattened, so no byte
  passes through this process; in another cluster, extents stream from a temporary COW clone
  of the snapshot (`upload-<image id>` beside the volume).
- qcow2 (and the other formats qemu-img writes): qemu-img converts the snapshot into a file in
  DATA_DIR/tmp (qcow2 metadata needs a seekable target), which is then uploaded as any image
  data is (inspected, hashed; an rbd store that holds raw only converts it back, as for any
  upload, keeping the qcow2's checksum).
The snapshot and the clone go at the end, and the volume returns to available or in-use (by
its attachments then). A failure deletes the image. The target store is the volume type's
`image_service:store_id` (Cinder's extra spec), else the image store in the volume's cluster,
else the default store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ...db.models import Volume, VolumeType
from ...storage import BaseBackend, DeviceRef, SnapRef, can_clone, conversion
from ...storage.errors import NotFound
from ...tasks import Control, TaskRecord
from ..images.copies import SYSTEM
from ..policy import enforce
from . import checks
from .access import load_volume
from .attachments import conditional, statuses
from .calls import Call, Handler, Reply
from .env import Env, volume_device
from .errors import InvalidInput, InvalidVolume
from .views import isotime

log = logging.getLogger("cowcloud.volumes")

UPLOAD_KIND = "volume_upload"
UPLOAD_PARAMS = (3, 1)  # visibility and protected
DISK_FORMATS = ("raw", "vmdk", "vdi", "qcow2", "vhd", "vhdx", "ploop")  # Cinder's schema
WRITABLE = ("raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx")  # what qemu-img writes (not ploop)
VISIBILITIES = ("community", "public", "private", "shared")
STORE_SPEC = "image_service:store_id"
CHUNK = 8 << 20


@dataclass(frozen=True)
class Request:
    image_name: str
    force: bool
    disk_format: str
    container_format: str
    visibility: str | None
    protected: bool | None


def parse(arg: Any, version: tuple[int, int]) -> Request:
    if not isinstance(arg, dict):
        raise InvalidInput("os-volume_upload_image takes an object")
    known = {"image_name", "force", "disk_format", "container_format"} | (
        {"visibility", "protected"} if version >= UPLOAD_PARAMS else set())
    unknown = sorted(set(arg) - known)
    if unknown:
        raise InvalidInput(f"Additional properties are not allowed ({', '.join(unknown)} "
                           "were unexpected)")
    name = arg.get("image_name")
    if not isinstance(name, str) or not 0 < len(name) <= 255:
        raise InvalidInput("'image_name' is a required property: a string of 1-255 "
                           "characters")
    disk_format = arg.get("disk_format", "raw")
    if disk_format not in DISK_FORMATS:
        raise InvalidInput(f"disk_format {disk_format!r} is not one of "
                           f"{', '.join(DISK_FORMATS)}")
    if disk_format not in WRITABLE:
        raise InvalidInput(f"disk_format {disk_format} cannot be written here: one of "
                           f"{', '.join(WRITABLE)}")
    container = checks.text(arg.get("container_format", "bare"), "container_format",
                            nullable=False) or "bare"
    visibility = arg.get("visibility")
    if visibility is not None and visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")
    if version >= UPLOAD_PARAMS and visibility is None:
        visibility = "private"
    protected = checks.boolean(arg["protected"], "protected") if "protected" in arg else (
        False if version >= UPLOAD_PARAMS else None)
    return Request(name, checks.boolean(arg.get("force", False), "force"), disk_format,
                   container, visibility, protected)


def _type_view(vtype: VolumeType | None) -> dict[str, Any] | None:
    if vtype is None:
        return None
    return {"id": vtype.id, "name": vtype.name, "description": vtype.description,
            "is_public": vtype.is_public, "extra_specs": dict(vtype.extra_specs),
            "qos_specs_id": None, "created_at": isotime(vtype.created_at),
            "updated_at": isotime(vtype.updated_at), "deleted": False, "deleted_at": None}


def _begin(s: Session, env: Env, call: Call, req: Request) -> dict[str, Any]:
    """Checks and marks the volume uploading; what the task and the answer need."""
    vol = load_volume(s, call.ctx, call.volume_id, "volume_extension:volume_actions:upload_image")
    if req.visibility == "public":
        enforce(call.ctx, "volume_extension:volume_actions:upload_public")
    vtype = s.get(VolumeType, vol.volume_type_id)
    store = (vtype.extra_specs.get(STORE_SPEC) if vtype else None) or \
        env.images.store_in_cluster(vol.cluster) or env.images.stores.default.name
    if not env.images.has_store(store):
        raise InvalidVolume(f"Volume type {vtype.name if vtype else '?'} names image store "
                            f"{store!r} ({STORE_SPEC}), which is not configured")
    ok = ("available", "in-use") if req.force else ("available",)
    if vol.status == "in-use" and req.force and not env.backend(vol.cluster).info.live_snapshot:
        raise InvalidVolume(f"Volume {vol.id} is in use on backend {vol.backend}, whose "
                            "snapshots cannot be taken under a running guest: detach it first.")
    previous = vol.status
    if not conditional(s, vol.id, {"status": "uploading", "previous_status": previous},
                       status=ok):
        raise InvalidVolume(f"Volume {vol.id} status must be {' or '.join(ok)}, but current "
                            f"status is: {vol.status}.")
    return {"volume_id": vol.id, "cluster": vol.cluster, "pool": vol.pool, "store": store,
            "size": vol.size, "description": vol.description,
            "updated_at": isotime(vol.updated_at), "volume_type": _type_view(vtype)}


def _restore(s: Session, volume_id: str) -> None:
    """Back from uploading: in-use if attachments are left (or were made meanwhile), else
    available (Cinder puts previous_status back; attachments may have changed since)."""
    vol = s.get(Volume, volume_id)
    if vol is None or vol.status != "uploading":
        return
    vol.status, vol.attach_status = statuses(s, vol.id)
    vol.previous_status = None


def _queue(s: Session, env: Env, owner: str | None, inp: dict[str, Any]) -> None:
    env.tasks.add(s, UPLOAD_KIND, resource_id=inp["volume_id"], owner=owner, input=inp)


async def upload_image(env: Env, call: Call) -> Reply:
    req = parse(call.arg, call.version)
    row = await env.run(_begin, env, call, req)
    body: dict[str, Any] = {"name": req.image_name, "disk_format": req.disk_format,
                            "container_format": req.container_format}
    if req.visibility is not None:
        body["visibility"] = req.visibility
    if req.protected is not None:
        body["protected"] = req.protected
    image: dict[str, Any] | None = None
    try:
        image = await env.images.create(call.ctx, body)
        await env.run(_queue, env, call.ctx.project_id, {
            "volume_id": row["volume_id"], "cluster": row["cluster"], "pool": row["pool"],
            "store": row["store"], "image_id": image["id"], "disk_format": req.disk_format})
    except BaseException:
        if image is not None:
            await env.images.discard(image["id"])
        await env.run(_restore, row["volume_id"])
        raise
    env.tasks.wake()
    out = {"id": row["volume_id"], "updated_at": row["updated_at"], "status": "uploading",
           "display_description": row["description"], "size": row["size"],
           "volume_type": row["volume_type"], "image_id": image["id"],
           "container_format": image["container_format"],
           "disk_format": image["disk_format"], "image_name": image["name"]}
    if call.version >= UPLOAD_PARAMS:
        out["protected"] = image["protected"]
        out["visibility"] = image["visibility"]
    return Reply(202, {"os-volume_upload_image": out})


# ------------------------------------------------------------------ the task


async def _drop_snapshot(backend: BaseBackend, snap: SnapRef) -> None:
    with contextlib.suppress(NotFound):
        for info in await backend.snapshots(snap.device):
            if info.ref == snap:
                if info.protected:
                    await backend.unprotect(snap)
                await backend.remove_snapshot(snap)


async def _file_chunks(path: str) -> AsyncIterator[bytes]:
    with open(path, "rb") as f:
        while chunk := await asyncio.to_thread(f.read, CHUNK):
            yield chunk


class UploadVolume:
    def __init__(self, env: Env) -> None:
        self.env = env

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        env, inp = self.env, task.input
        backend = env.backend(inp["cluster"])
        dev = volume_device(inp["pool"], inp["volume_id"])
        snap = SnapRef(dev, f"upload-{inp['image_id']}")
        temp = DeviceRef(inp["pool"], f"upload-{inp['image_id']}")
        await self._cleanup(backend, snap, temp)  # an interrupted run's
        try:
            await backend.snapshot(dev, snap.name)
            await backend.protect(snap)
            if inp["disk_format"] == "raw":
                src = dev
                store_backend = env.images.stores[inp["store"]].backend
                if not can_clone(backend, store_backend):
                    # streamed from a COW clone of the snapshot, not the live device
                    await backend.clone(snap, temp)
                    src = temp
                await env.images.fill_from_device(inp["image_id"], inp["store"], backend, src,
                                                  snap, task.id)
            else:
                await self._converted(inp, backend, snap)
        finally:
            await self._cleanup(backend, snap, temp)
        await env.run(_restore, inp["volume_id"])
        return {"image_id": inp["image_id"], "store": inp["store"]}

    async def _converted(self, inp: dict[str, Any], backend: BaseBackend, snap: SnapRef
                         ) -> None:
        tmp_dir = self.env.settings.server.data_dir / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix=f"upload-{inp['image_id']}.", dir=tmp_dir)
        os.close(fd)
        try:
            await conversion.to_file(backend, snap, inp["disk_format"], path)
            size = os.path.getsize(path)
            await self.env.images.upload(SYSTEM, inp["image_id"], _file_chunks(path),
                                         store=inp["store"], size=size)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    async def _cleanup(self, backend: BaseBackend, snap: SnapRef, temp: DeviceRef) -> None:
        await backend.remove(temp, missing_ok=True, with_snapshots=True)
        await _drop_snapshot(backend, snap)

    async def failed(self, task: TaskRecord, message: str) -> None:
        inp = task.input
        log.warning("volume %s: upload to image %s failed: %s", inp["volume_id"],
                    inp["image_id"], message)
        try:
            await self._cleanup(self.env.backend(inp["cluster"]),
                                SnapRef(volume_device(inp["pool"], inp["volume_id"]),
                                        f"upload-{inp['image_id']}"),
                                DeviceRef(inp["pool"], f"upload-{inp['image_id']}"))
        finally:
            try:
                with contextlib.suppress(NotFound):  # the user deleted it meanwhile
                    await self.env.images.discard(inp["image_id"])
            finally:
                await self.env.run(_restore, inp["volume_id"])


ACTIONS: dict[str, Handler] = {
    "os-volume_upload_image": upload_image,
}
