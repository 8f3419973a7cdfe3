"""What every part of the image service works with, and the location rows that record its writes.

Location rows are the record of every device the service creates, written *before* the device:
- `pending`: being written (by an upload, a stage or an import task: meta names the writer);
- `staged`: the staging area holds the image's data, waiting for an import (store
  os_glance_staging_store, never shown);
- `active`: the image's data in that store (the only rows clients see);
- `deleting`: being removed.
Each row's meta names its cluster, pool and device, and work devices are named after the image
(stores.py), so whatever a crash interrupts is found by name and removed by recovery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...block import devices
from ...config import Settings
from ...db import Database
from ...db.errors import Duplicate, savepoint
from ...db.models import Image, ImageLocation
from ...storage import DeviceRef
from ...storage.errors import Busy
from ...tasks import TaskRunner
from .errors import Conflict
from .stores import SNAP, STAGING_STORE, Store, Stores

T = TypeVar("T")

PENDING, STAGED, ACTIVE, DELETING = "pending", "staged", "active", "deleting"
REAP_KIND = "image_reap"  # a device waiting for its clones (or a dead client's hold) to go
WORK_SUFFIXES = ("", ".convert", ".src", ".stage")  # every device an image may have in a pool


@dataclass
class Env:
    settings: Settings
    db: Database
    stores: Stores
    tasks: TaskRunner

    @property
    def worker(self) -> str:
        return self.tasks.worker

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(session, *args) in one short transaction, off the event loop."""
        def job() -> T:
            with self.db.session() as s:
                return fn(s, *args)
        return await asyncio.to_thread(job)

    # ------------------------------------------------------------- location rows

    def add_pending(self, s: Session, image_id: str, store: Store, *, task: str | None = None,
                    staging: bool = False) -> ImageLocation:
        """Records that `store` is about to receive the image's data (or, staging, its stage)."""
        suffix = ".stage" if staging else ""
        meta = {**store.describe(image_id, suffix), "writer": self.worker, "task": task}
        loc = ImageLocation(image_id=image_id, store=STAGING_STORE if staging else store.name,
                            url=store.url(image_id + suffix, None if staging else SNAP),
                            status=PENDING, meta=meta)
        try:
            with savepoint(s):
                s.add(loc)
        except Duplicate:
            what = "staged" if staging else f"in store {store.name!r}"
            raise Conflict(f"Image {image_id} is already {what} or being written there") from None
        return loc

    async def discard(self, meta: dict[str, Any], *, drop_row: tuple[str, str] | None = None,
                      fence: bool = False, defer_busy: bool = True) -> list[DeviceRef]:
        """Removes the devices a write into a store may have left for this image (its device
        and the conversion's work devices; for a stage, the stage), then optionally the
        location row (image id, store). Returns the clones that keep the device alive, in
        which case nothing of it was removed and the row is kept.

        fence: the writer is dead or was this process (devices.remove). A device still busy
        (held by a client that is not gone yet) is handed to the reaper with defer_busy, which
        removes it later; without, Busy is raised."""
        backend = self.stores.backend_of(meta["cluster"])
        name = meta["device"]
        names = [name] if name.endswith(".stage") else [name + sfx for sfx in WORK_SUFFIXES[:3]]
        blocked: list[DeviceRef] = []
        for i, dev_name in enumerate(names):
            dev = DeviceRef(meta["pool"], dev_name)
            try:
                kids = await devices.remove(backend, dev, fence=fence)
            except Busy:
                if not defer_busy:
                    raise
                await self.run(self.add_reap, meta["cluster"], dev, drop_row)
                kids = []
            if i == 0:
                blocked = kids
        if drop_row and not blocked:
            await self.run(_delete_row, *drop_row)
        return blocked

    def add_reap(self, s: Session, cluster: str, dev: DeviceRef,
                 image: tuple[str, str] | None = None, holders: list[DeviceRef] | None = None
                 ) -> None:
        """A reap task for a device that cannot be removed yet (clones, a live hold on it)."""
        self.tasks.add(s, REAP_KIND, resource_id=image[0] if image else None, input={
            "cluster": cluster, "pool": dev.pool, "device": dev.name,
            "store": image[1] if image else None,
            "held_by": [str(h) for h in holders or []]})
        self.tasks.wake()


def _delete_row(s: Session, image_id: str, store: str) -> None:
    loc = location(s, image_id, store)
    if loc is not None:
        s.delete(loc)


def location(s: Session, image_id: str, store: str) -> ImageLocation | None:
    return s.scalars(select(ImageLocation).where(ImageLocation.image_id == image_id,
                                                 ImageLocation.store == store)).first()


def image_row(s: Session, image_id: str) -> Image | None:
    image = s.get(Image, image_id)
    return image if image is not None and image.status != "deleted" else None
