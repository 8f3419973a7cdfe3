"""Recovery: finishing what a dead writer or an unreachable cluster left half done.

- An upload or stage whose writer is gone (its lease ran out, leases.py) left a `pending`
  location row: the dead writer's hold on its devices is broken (fence), the devices are removed
  by name, the row goes, and the image is `queued` again. Rows of an import task are left to
  that task while it runs, and recovered like the others once it is finished.
- A deletion cut off by a crash left `deleting` rows: they are finished (or deferred to the
  reaper when clones still hold the device). A deletion whose cluster did not answer left its
  row `deleting` with `retry` set: it is finished once the cluster answers again.

This runs for each cluster as soon as it opens (in the background: a cluster that does not
answer delays nothing else), then every third of a lease, so a writer that died while this
process runs (a SIGKILLed peer, a zombie, another host) is cleaned up without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from ...db.models import Image
from ...errors import Error
from . import leases
from .deletion import RETRY, deleting_rows, postpone, remove_location
from .env import STAGED, Env
from .stores import STAGING_STORE

log = logging.getLogger("cowcloud.images")


def _requeue(s: Session, image_id: str) -> None:
    image = s.get(Image, image_id)
    if image is None:
        return
    staged = any(loc.store == STAGING_STORE and loc.status == STAGED for loc in image.locations)
    if image.status == "saving" or (image.status == "uploading" and not staged):
        image.status = "queued"


async def remove_abandoned(env: Env, image_id: str, store: str, meta: dict[str, Any]) -> None:
    """Removes a dead writer's pending row and what it wrote; the image is queued again."""
    log.warning("removing an interrupted upload", extra={"image": image_id, "store": store})
    await env.discard(meta, drop_row=(image_id, store), fence=True)
    await env.run(_requeue, image_id)


def _deleting(s: Session, retry_only: bool) -> list[tuple[str, str, dict[str, Any]]]:
    rows = deleting_rows(s)
    return [r for r in rows if r[2].get(RETRY)] if retry_only else rows


async def sweep(env: Env, ready: Callable[[str], bool], *, cluster: str | None = None,
                all_deleting: bool = False) -> None:
    """One round over the rows of the clusters that are open (or of `cluster` only).

    A cluster that fails a step is skipped for the rest of the round: each of its calls would
    wait for its timeout again."""
    failed: set[str] = set()

    def mine(meta: dict[str, Any]) -> bool:
        name = meta.get("cluster", "")
        return (name == cluster if cluster else ready(name)) and name not in failed

    async def attempt(what: str, meta: dict[str, Any], step: Any, *args: Any) -> bool:
        try:
            await step(env, *args)
        except Error as exc:
            failed.add(meta.get("cluster", ""))
            log.warning("%s: cluster %s did not answer, trying again later: %s", what,
                        meta.get("cluster"), exc)
            return False
        return True

    for image_id, store, meta in await env.run(leases.abandoned, env.worker):
        if mine(meta):
            await attempt("interrupted upload", meta, remove_abandoned, image_id, store, meta)
    for image_id, store, meta in await env.run(_deleting, not all_deleting):
        if mine(meta):
            log.warning("finishing an interrupted delete", extra={"image": image_id,
                                                                  "store": store})
            if not await attempt("interrupted delete", meta, remove_location, image_id, store,
                                 meta):
                await env.run(postpone, image_id, store)  # later rounds take it up again


async def keep_sweeping(env: Env, ready: Callable[[str], bool]) -> None:
    """Sweeps every third of a lease until cancelled."""
    every = max(0.5, leases.seconds(env) / 3)
    while True:
        await asyncio.sleep(every)
        try:
            await sweep(env, ready)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("recovery round failed")

