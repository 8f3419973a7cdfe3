"""Start-up recovery: finishing what a crashed process left half done.

- An upload or stage cut off by a crash left a `pending` location row naming a writer that no
  longer runs (tasks.known_dead): its devices are removed by name, the row goes, and the image is
  `queued` again. Rows written by an import task are left to that task, which cleans them when the
  runner resumes it.
- A deletion cut off by a crash left `deleting` rows: they are finished (or deferred to the
  reaper when clones still hold the device).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from ...db.models import Image, ImageLocation
from ...tasks import known_dead
from .deletion import deleting_rows, remove_location
from .env import PENDING, STAGED, Env
from .stores import STAGING_STORE

log = logging.getLogger("cowcloud.images")


def _abandoned(s: Session, me: str) -> list[tuple[str, str, dict[str, Any]]]:
    rows = s.query(ImageLocation).filter(ImageLocation.status == PENDING).all()
    return [(loc.image_id, loc.store, dict(loc.meta)) for loc in rows
            if not loc.meta.get("task") and known_dead(loc.meta.get("writer"), me)]


def _requeue(s: Session, image_id: str) -> None:
    image = s.get(Image, image_id)
    if image is None:
        return
    staged = any(loc.store == STAGING_STORE and loc.status == STAGED for loc in image.locations)
    if image.status == "saving" or (image.status == "uploading" and not staged):
        image.status = "queued"


async def recover(env: Env) -> None:
    for image_id, store, meta in await env.run(_abandoned, env.worker):
        log.warning("removing an interrupted upload", extra={"image": image_id, "store": store})
        await env.discard(meta, drop_row=(image_id, store), fence=True)
        await env.run(_requeue, image_id)
    for image_id, store, meta in await env.run(deleting_rows):
        log.warning("finishing an interrupted delete", extra={"image": image_id, "store": store})
        await remove_location(env, image_id, store, meta)
