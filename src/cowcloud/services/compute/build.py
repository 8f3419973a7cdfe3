"""Before a server's spawn goes to its host: a copy of its image in the cluster of the
server's ephemeral backend, so the root disk is a COW clone there. The control plane has the
image service copy it once into that cluster's image store, exactly as a volume from an image
does (services/volumes/image_copy.py, reused as it is), and every later server or volume in
that cluster clones the same copy. Where no copy can be had the agent falls back to copying
the bytes (agent/disks.py)."""

from __future__ import annotations

from typing import Any

from ...tasks import Control, TaskRecord
from ..volumes import image_copy
from . import servers
from .env import Env


def needs_copy(env: Env, plan: dict[str, Any]) -> str | None:
    """The control plane's name of the cluster a copy should go into, or None (a copy is
    there, or cannot be made here)."""
    root = plan["root"]
    image = root["image"]
    if image["disk_format"] not in image_copy.RAW_FORMATS:
        return None
    if any(c["cluster_id"] == root["cluster_id"] for c in image["copies"]):
        return None
    cluster = env.cluster_named(root["cluster_id"])
    if cluster is None or env.images.store_in_cluster(cluster) is None:
        return None
    return cluster


class CopyImage:
    """The durable task: wait for the copy (Retry while it runs), then queue the spawn."""

    def __init__(self, env: Env, wake: Any) -> None:
        self.env = env
        self.wake = wake

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        plan = task.input["plan"]
        image = plan["root"]["image"]
        inp = {"cluster": task.input["cluster"],
               "source": {"kind": "image", "image_id": image["id"],
                          "disk_format": image["disk_format"], "copies": image["copies"]}}
        src = await image_copy.local_source(self.env, inp, control)  # type: ignore[arg-type]
        plan = {**plan, "root": {**plan["root"], "image": {**image, "copies": src["copies"]}}}
        await self.env.run(servers.queue_spawn, plan)
        self.wake(plan["host"])
        return {"copies": len(src["copies"])}

    async def failed(self, task: TaskRecord, message: str) -> None:
        await self.env.run(servers.fail, task.input["plan"]["server_id"],
                           f"copying its image into the host's cluster failed: {message}")
