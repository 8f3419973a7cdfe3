"""Leases on uploads: how a dead writer's pending row is told from a live one's.

An upload or stage writes under a lease, as a task does: its pending row's meta carries
`lease_until` (epoch seconds), which the writer renews every third of the lease while it
writes. A row whose lease ran out belongs to a dead writer, whatever its pid or host name say:
a zombie's pid still answers kill(pid, 0), a pid may be reused, and another host's processes
cannot be asked at all. A row of an import task lives as long as its task runs; once the task
is finished (or gone) nobody will clean the row but recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import ImageLocation, Task
from ...tasks import known_dead
from ...tasks.records import PENDING as TASK_PENDING
from ...tasks.records import PROCESSING
from .env import PENDING, Env, location

log = logging.getLogger("cowcloud.images")

LEASE = "lease_until"


def seconds(env: Env) -> float:
    return float(env.settings.image.task_lease_seconds)


def stamp(meta: dict[str, Any], lease: float) -> dict[str, Any]:
    return {**meta, LEASE: time.time() + lease}


def _renew(s: Session, image_id: str, store: str, writer: str, lease: float) -> bool:
    loc = location(s, image_id, store)
    if loc is None or loc.status != PENDING or loc.meta.get("writer") != writer:
        return False  # taken from us (recovered, the image deleted): the write's end sees it
    loc.meta = stamp(loc.meta, lease)
    return True


@contextlib.asynccontextmanager
async def held(env: Env, image_id: str, store: str) -> AsyncIterator[None]:
    """Keeps the lease on this writer's pending row (image_id, store) while the block runs."""
    lease = seconds(env)

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease / 3)
            try:
                if not await env.run(_renew, image_id, store, env.worker, lease):
                    return
            except Exception:  # the database may be away for a moment: next round
                log.warning("could not renew an upload's lease", exc_info=True,
                            extra={"image": image_id, "store": store})

    renewer = asyncio.create_task(renew(), name=f"upload-lease-{image_id}")
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer


def writer_gone(meta: dict[str, Any], me: str, now: float, task_running: bool) -> bool:
    """True when nobody will finish or clean the pending row with this meta."""
    if meta.get("task"):
        return not task_running
    # This runtime's own rows too: a write that ended without removing its row (its cluster
    # did not answer) stopped renewing, and its row is recovered like a dead writer's.
    lease = meta.get(LEASE)
    if lease is not None and float(lease) < now:
        return True
    return known_dead(meta.get("writer"), me)  # an exited process of this host: no need to wait


def abandoned(s: Session, me: str, image_id: str | None = None
              ) -> list[tuple[str, str, dict[str, Any]]]:
    """(image id, store, meta) of the pending rows whose writer is gone."""
    q = select(ImageLocation).where(ImageLocation.status == PENDING)
    if image_id is not None:
        q = q.where(ImageLocation.image_id == image_id)
    rows = s.scalars(q).all()
    task_ids = {loc.meta.get("task") for loc in rows if loc.meta.get("task")}
    running = set(s.scalars(select(Task.id).where(
        Task.id.in_(task_ids), Task.status.in_((TASK_PENDING, PROCESSING))))) if task_ids else set()
    now = time.time()
    return [(loc.image_id, loc.store, dict(loc.meta)) for loc in rows
            if writer_gone(loc.meta, me, now, loc.meta.get("task") in running)]
