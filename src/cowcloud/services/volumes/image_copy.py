"""A volume from an image that has no copy in the volume's cluster: the image is copied once
into that cluster's image store (if it has one), and the volume, like every later one there,
is a COW clone of that copy. This is what the DCN guide asks operators to do by hand (copy the
image to the edge store before booting there); Cinder itself would download the image into
every volume.

The build task waits for the copy by retrying (Retry, run again the moment the copy task
ends), never holding the clone graph or a runner slot while it waits. It falls back to copying
the bytes straight into the volume when there is no store in the cluster, the image is not raw
(copy-image never converts), or the copy fails or is refused for good.
"""

from __future__ import annotations

import logging
from typing import Any

from ...tasks import FAILURE, PENDING, PROCESSING, Control, Retry
from ..errors import Conflict, Error
from .env import Env
from .graph import RAW_FORMATS

log = logging.getLogger("cowcloud.volumes")

POLL_SECONDS = 1
MAX_REFUSALS = 120  # another import of the image runs: wait that many polls, then copy bytes


def copies_of(image: Any) -> list[dict[str, str]]:
    return [{"cluster": c.cluster, "cluster_id": c.cluster_id, "pool": c.pool,
             "device": c.device, "snap": c.snap} for c in image.copies]


async def local_source(env: Env, inp: dict[str, Any], control: Control) -> dict[str, Any]:
    """The task's image source, with a copy in the volume's cluster when one can be had."""
    src = inp["source"]
    cluster_id = env.backend(inp["cluster"]).info.cluster_id
    if (src["disk_format"] not in RAW_FORMATS or control.state.get("direct")
            or any(c["cluster_id"] == cluster_id for c in src["copies"])):
        return src
    store = env.images.store_in_cluster(inp["cluster"])
    if store is None:
        return src
    image = await env.images.source_now(src["image_id"])
    fresh = {**src, "copies": copies_of(image)}
    if any(c["cluster_id"] == cluster_id for c in fresh["copies"]):
        return fresh  # the copy is there: clone it
    task_id = control.state.get("copy_task")
    if task_id:
        record = env.tasks.get(task_id)
        if record is not None and record.status in (PENDING, PROCESSING):
            raise Retry(POLL_SECONDS, f"waiting for the copy of image {src['image_id']} "
                                      f"into store {store}", after=task_id)
        why = record.message if record is not None and record.status == FAILURE else "gone"
        return await _direct(control, fresh, f"the copy into store {store} failed: {why}")
    try:
        task_id = await env.images.copy_into(src["image_id"], store)
    except Conflict as exc:
        refusals = control.state.get("refusals", 0) + 1
        if refusals >= MAX_REFUSALS:
            return await _direct(control, fresh, str(exc))
        await control.save_state(refusals=refusals)
        raise Retry(POLL_SECONDS, f"waiting to copy image {src['image_id']}: {exc}") from None
    except Error as exc:
        return await _direct(control, fresh, str(exc))
    if task_id is None:
        return fresh
    await control.save_state(copy_task=task_id)
    raise Retry(POLL_SECONDS, f"copying image {src['image_id']} into store {store}",
                after=task_id)


async def _direct(control: Control, src: dict[str, Any], why: str) -> dict[str, Any]:
    log.warning("volume from image %s: copying its bytes instead (%s)", src["image_id"], why)
    await control.save_state(direct=True)
    return src
