"""Deleting images, or their data in one store, without failing the user or losing a clone's data.

A delete marks the image `deleted` (its row stays, hidden, so its id is never reused: a device may
still carry that name) and its locations `deleting`, in one transaction; then each device is
removed. When volumes or instance disks are still COW clones of a device's `snap`, the device is
left exactly as it is (their data reads through to it) and an `image_reap` task takes over: it
retries every `[image] reap_interval_seconds` and removes the device once the last clone has been
flattened or deleted. The location row goes at once either way, so no image ever shows a
location that is on its way out. A crash between the steps leaves `deleting` rows, which recovery
finishes. A cluster that does not answer (not open, or its calls time out) does not fail the
delete: the row stays `deleting`, marked `retry`, and recovery finishes it once the cluster is
back. The devices of a dead writer's pending rows (leases.py) go with the image.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from ...block import devices
from ...db.models import ImageLocation
from ...errors import Error, Unavailable
from ...storage import DeviceRef
from ...tasks import Control, Retry, TaskRecord
from ..context import RequestContext
from ..errors import Denied, NotFound
from . import access, leases
from .env import ACTIVE, DELETING, STAGED, Env, location
from .errors import Conflict
from .stores import STAGING_STORE

log = logging.getLogger("cowcloud.images")

RETRY = "retry"  # in a deleting row's meta: its cluster did not answer, recovery finishes it


def _mark_image(s: Session, ctx: RequestContext, image_id: str) -> list[tuple[str, dict[str, Any]]]:
    image = access.load(s, ctx, image_id, "image:delete_image")
    if image.protected:
        raise Denied(f"Image {image.id} is protected and cannot be deleted.")
    image.status = "deleted"
    out = []
    for loc in image.locations:
        if loc.status in (ACTIVE, STAGED, DELETING):
            loc.status = DELETING
            out.append((loc.store, dict(loc.meta)))
    # Pending rows belong to a write in progress: it sees the image gone and cleans up itself.
    return out


def _mark_store(s: Session, ctx: RequestContext, env: Env, store: str,
                image_id: str) -> dict[str, Any]:
    if store not in env.stores:
        raise Conflict(f"The selected store {store} is not available on this node.")
    image = access.load(s, ctx, image_id, "image:delete_image_location")
    if image.status != "active":
        raise Conflict("It's not allowed to remove image data from store if image status is "
                       "not 'active'")
    active = [loc for loc in image.locations if loc.status == ACTIVE
              and loc.store != STAGING_STORE]
    loc = next((loc for loc in active if loc.store == store), None)
    if loc is None:
        raise NotFound(f"Image {image.id} is not stored in store {store}.")
    if len(active) == 1:
        raise Denied("Cannot delete image data from the only store containing it. Consider "
                     "deleting the image instead.")
    loc.status = DELETING
    return dict(loc.meta)


def _defer(s: Session, env: Env, image_id: str, store: str, meta: dict[str, Any],
           holders: list[DeviceRef]) -> None:
    """The location goes, a reap task keeps the device's removal pending (one transaction)."""
    loc = location(s, image_id, store)
    if loc is not None:
        s.delete(loc)
    env.add_reap(s, meta["cluster"], DeviceRef(meta["pool"], meta["device"]),
                 (image_id, store), holders)


async def remove_location(env: Env, image_id: str, store: str, meta: dict[str, Any]) -> bool:
    """Removes one `deleting` location's devices and row; True if removal had to be deferred."""
    holders = await env.discard(meta, drop_row=(image_id, store))
    if holders:
        await env.run(_defer, env, image_id, store, meta, holders)
        return True
    return False


def postpone(s: Session, image_id: str, store: str) -> None:
    loc = location(s, image_id, store)
    if loc is not None and loc.status == DELETING:
        loc.meta = {**loc.meta, RETRY: True}


async def remove_or_postpone(env: Env, image_id: str, store: str, meta: dict[str, Any]) -> None:
    """remove_location for a request: a cluster that does not answer leaves it to recovery."""
    try:
        await remove_location(env, image_id, store, meta)
    except Unavailable as exc:
        log.warning("delete postponed until cluster %s answers: %s", meta.get("cluster"), exc,
                    extra={"image": image_id, "store": store})
        await env.run(postpone, image_id, store)


async def delete_image(env: Env, ctx: RequestContext, image_id: str) -> None:
    for store, meta in await env.run(_mark_image, ctx, image_id):
        await remove_or_postpone(env, image_id, store, meta)
    # A live writer sees the image gone and cleans up itself; a dead one's leftovers go now.
    for _, store, meta in await env.run(leases.abandoned, env.worker, image_id):
        try:
            await env.discard(meta, drop_row=(image_id, store), fence=True)
        except Unavailable:
            pass  # its cluster is away: recovery removes them once it answers


async def delete_from_store(env: Env, ctx: RequestContext, store: str, image_id: str) -> None:
    meta = await env.run(_mark_store, ctx, env, store, image_id)
    await remove_or_postpone(env, image_id, store, meta)


def deleting_rows(s: Session) -> list[tuple[str, str, dict[str, Any]]]:
    rows = s.query(ImageLocation).filter(ImageLocation.status == DELETING).all()
    return [(loc.image_id, loc.store, dict(loc.meta)) for loc in rows]


class ReapTask:
    """Removes a deleted image's device once no clone depends on it any more."""

    def __init__(self, env: Env) -> None:
        self.env = env

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        inp = task.input
        backend = self.env.stores.backend_of(inp["cluster"])
        delay = self.env.settings.image.reap_interval_seconds
        try:
            holders = await devices.remove(backend, DeviceRef(inp["pool"], inp["device"]))
        except Error as exc:
            # Busy (a client still holds it: its watch runs out), or the cluster is away for a
            # while: never give up on a device only this task remembers.
            raise Retry(delay, str(exc)) from None
        if holders:
            raise Retry(delay, f"{inp['pool']}/{inp['device']} still backs "
                        f"{', '.join(str(h) for h in holders)}")
        return {"removed": f"{inp['pool']}/{inp['device']}"}

    async def failed(self, task: TaskRecord, message: str) -> None:
        pass  # only a bug gets here (storage errors retry); the row names the device

