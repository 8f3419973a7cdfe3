"""The clone-depth bound (Cinder's rbd_max_clone_depth, [volume] max_clone_depth): a volume
cloned from a volume deeper than the bound is flattened in the background.

The create answers as soon as the clone exists (a clone is quick whatever the size; a flatten
copies every byte the chain holds). The flatten is a durable task, queued in the transaction
that makes the volume available, so a crash loses none: the queue is the pending tasks, and at
most [volume] flatten_workers of them flatten at once in a process (a task finding the limit
reached goes back to the queue for a second). Once flat, the volume no longer reads through its
source's clone snapshot: that snapshot is removed, and a source deleted meanwhile (held only
for this clone) is collected with it.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from ...db.models import Volume
from ...storage.errors import NotFound
from ...tasks import Control, Retry, TaskRecord
from . import graph
from .env import Env, volume_device

log = logging.getLogger("cowcloud.volumes")

KIND = "volume_flatten"


def available(s: Session, env: Env, inp: dict[str, Any], deep: bool) -> None:
    """The built volume becomes available; a deep clone's flatten is queued with it."""
    vol = s.get(Volume, inp["volume_id"])
    if vol is None or vol.status != "creating":
        return
    vol.status, vol.message = "available", ""
    if deep:
        env.tasks.add(s, KIND, resource_id=vol.id, owner=vol.project_id, input={
            "volume_id": vol.id, "cluster": inp["cluster"], "pool": inp["pool"]})


class Flatten:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.running = 0
        self.peak = 0  # the most flattens seen at once (for tests and the operator)

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        if self.running >= self.env.settings.volume.flatten_workers:
            raise Retry(1, "waiting for a flatten slot")
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            return await self._flatten(task.input)
        finally:
            self.running -= 1

    async def _flatten(self, inp: dict[str, Any]) -> dict[str, Any]:
        backend = self.env.backend(inp["cluster"])
        dev = volume_device(inp["pool"], inp["volume_id"])
        try:
            parent = (await backend.stat(dev)).parent
            if parent is None:
                return {"flattened": False}  # an earlier run got this far
            await backend.flatten(dev)
        except NotFound:
            return {"flattened": False, "gone": True}  # deleted meanwhile
        await graph.collect_parent(self.env, inp["cluster"], parent)
        return {"flattened": True, "parent": f"{parent.device}@{parent.name}"}

    async def failed(self, task: TaskRecord, message: str) -> None:
        # the volume stays a (deep) clone, usable as it is; the next one cloned from it is
        # measured again
        log.warning("volume %s: flatten failed: %s", task.input["volume_id"], message)
