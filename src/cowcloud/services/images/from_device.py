"""An image made from another domain's device (a volume's snapshot, for Cinder's
os-volume_upload_image): the device's bytes become the image's data in one store.

The caller made the image record (queued) and holds a protected snapshot of its device. The
data lands as every import lands it: a `pending` location row naming the caller's task first,
then the device, sealed; its size and hashes are read from what landed, and the image turns
active with the location. In the snapshot's own cluster the copy is the block layer's transfer
(a clone of the snapshot, flattened: no byte passes through this process and the image does
not depend on the volume); elsewhere extents stream cluster to cluster. A failed or repeated
run removes what an earlier run of the same task left (its row names the task).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ...block import devices
from ...storage import BaseBackend, DeviceRef, SnapRef, Undo
from .env import ACTIVE, PENDING, Env, image_row, location
from .errors import Conflict, Invalid
from .landing import Landed, apply


def _begin(s: Session, env: Env, image_id: str, store_name: str, task_id: str
           ) -> dict[str, Any] | None:
    """Marks the image saving with a pending row in the store; returns the meta of what an
    earlier run of this task left there (to remove first), or None."""
    image = image_row(s, image_id)
    if image is None:
        raise Invalid(f"Image {image_id} was deleted before its data was written")
    loc = location(s, image_id, store_name)
    if loc is not None:
        if loc.status == PENDING and loc.meta.get("task") == task_id:
            return dict(loc.meta)
        raise Conflict(f"Image {image_id} already has data in store {store_name}")
    if image.status not in ("queued", "saving"):
        raise Conflict(f"Image {image_id} is {image.status}: its data cannot be written")
    image.status = "saving"
    env.add_pending(s, image_id, env.stores[store_name], task=task_id)
    return None


def _finish(s: Session, image_id: str, store_name: str, landed: Landed) -> bool:
    image = image_row(s, image_id)
    loc = location(s, image_id, store_name)
    if image is None or image.status != "saving" or loc is None:
        return False  # deleted while we wrote
    apply(image, landed)
    image.status = "active"
    loc.status = ACTIVE
    return True


async def fill(env: Env, image_id: str, store_name: str, src: BaseBackend, src_dev: DeviceRef,
               src_snap: SnapRef, task_id: str) -> Landed:
    store = env.stores[store_name]
    left = await env.run(_begin, env, image_id, store_name, task_id)
    if left is not None:  # an interrupted run of this task: its writer was this task
        await env.discard(left, drop_row=(image_id, store_name), fence=True, defer_busy=False)
        left = await env.run(_begin, env, image_id, store_name, task_id)
        assert left is None
    dst = store.device(image_id)
    async with Undo() as undo:
        undo.add(env.discard, store.describe(image_id), drop_row=(image_id, store_name))
        await devices.transfer(src, src_dev, store.backend, dst, src_snap=src_snap)
        algo = env.settings.image.hashing_algorithm
        size, md5, digest = await devices.hash_device(store.backend, dst, algo)
        landed = Landed(size=size, virtual_size=size, checksum=md5, os_hash_value=digest,
                        disk_format="raw", os_hash_algo=algo)
        if not await env.run(_finish, image_id, store_name, landed):
            raise Invalid(f"Image {image_id} was deleted while its data was written")
        undo.commit()
    return landed
