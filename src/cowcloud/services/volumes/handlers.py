"""The volume service's durable tasks: build a volume, delete a volume, delete a snapshot.

Each is re-entrant (an abandoned run is run again by the task runner): the build removes the
device an interrupted run left before starting; the deletes skip what is already gone.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...block import devices
from ...db.models import Volume, VolumeSnapshot, utcnow
from ...storage import DeviceRef
from ...storage.errors import Busy
from ...tasks import Control, TaskRecord
from . import flatten, graph, image_copy
from .env import Env, clone_snap, snapshot_ref, volume_device

log = logging.getLogger("cowcloud.volumes")


def _set_volume(s: Session, volume_id: str, expect: str, status: str, message: str = "") -> None:
    vol = s.get(Volume, volume_id)
    if vol is not None and vol.status == expect:
        vol.status, vol.message = status, message


class CreateVolume:
    def __init__(self, env: Env) -> None:
        self.env = env

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        inp = task.input
        if inp["source"]["kind"] == "image":
            inp = {**inp, "source": await image_copy.local_source(self.env, inp, control)}
        deep = await graph.build(self.env, inp)
        await self.env.run(flatten.available, self.env, task.input, deep)
        return {"device": f"{task.input['pool']}/volume-{task.input['volume_id']}"}

    async def failed(self, task: TaskRecord, message: str) -> None:
        inp = task.input
        backend = self.env.backend(inp["cluster"])
        # the device never became available, so no clone of it exists: no graph lock needed
        try:
            await devices.remove(backend, volume_device(inp["pool"], inp["volume_id"]),
                                 fence=True)
        except Busy:
            # still held by a dead writer: the device stays under its name, and deleting the
            # volume (now in error) removes it once the hold has expired
            log.warning("volume %s: device busy, left for the delete", inp["volume_id"])
        if inp["source"]["kind"] == "volume":
            src = inp["source"]
            await graph.drop_clone_snap(self.env, self.env.backend(src["cluster"]),
                                        clone_snap(src["pool"],
                                                   src["device"].removeprefix("volume-"),
                                                   inp["volume_id"]))
        await self.env.run(_set_volume, inp["volume_id"], "creating", "error", message)


def _mark_snapshot_deleted(s: Session, snapshot_id: str) -> None:
    snap = s.get(VolumeSnapshot, snapshot_id)
    if snap is not None:
        snap.deleted, snap.status, snap.deleted_at = True, "deleted", utcnow()


def _mark_volume_deleted(s: Session, volume_id: str, held: bool) -> None:
    vol = s.get(Volume, volume_id)
    if vol is not None:
        vol.deleted, vol.held, vol.status = True, held, "deleted"
        vol.deleted_at = utcnow()


class DeleteVolume:
    def __init__(self, env: Env) -> None:
        self.env = env

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        inp = task.input
        env, vid = self.env, inp["volume_id"]
        held_snaps = []
        for sid in inp.get("snapshots", []):
            async def snap_done(held: bool, sid: str = sid) -> None:
                await env.run(_mark_snapshot_deleted, sid)
            if await graph.drop_snapshot(env, inp["cluster"],
                                         snapshot_ref(inp["pool"], vid, sid), snap_done):
                held_snaps.append(sid)

        async def done(held: bool) -> None:
            await env.run(_mark_volume_deleted, vid, held)
        held = await graph.drop_volume(env, inp["cluster"], volume_device(inp["pool"], vid),
                                       done)
        return {"held": held, "held_snapshots": held_snaps}

    async def failed(self, task: TaskRecord, message: str) -> None:
        await self.env.run(_set_volume, task.input["volume_id"], "deleting", "error_deleting",
                           message)


class DeleteSnapshot:
    def __init__(self, env: Env) -> None:
        self.env = env

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        inp = task.input

        async def done(held: bool) -> None:
            await self.env.run(_mark_snapshot_deleted, inp["snapshot_id"])
        held = await graph.drop_snapshot(
            self.env, inp["cluster"],
            snapshot_ref(inp["pool"], inp["volume_id"], inp["snapshot_id"]), done)
        return {"held": held}

    async def failed(self, task: TaskRecord, message: str) -> None:
        def work(s: Session) -> None:
            snap = s.get(VolumeSnapshot, task.input["snapshot_id"])
            if snap is not None and snap.status == "deleting":
                snap.status = "error_deleting"
        await self.env.run(work)


# ------------------------------------------------------------------ start-up sweep

def _unfinished(s: Session) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str,
                                                                             str]]]:
    held = [(v.id, v.cluster, v.pool) for v in
            s.scalars(select(Volume).where(Volume.held.is_(True)))]
    creating = []
    for snap in s.scalars(select(VolumeSnapshot).where(VolumeSnapshot.status == "creating",
                                                       VolumeSnapshot.deleted.is_(False))):
        vol = s.get(Volume, snap.volume_id)
        if vol is not None:
            creating.append((snap.id, vol.id, vol.cluster, vol.pool))
    return held, creating


async def sweep(env: Env) -> None:
    """What a crash can leave outside any task: a snapshot row written before its device
    snapshot (removed, the row goes to deleted), and held devices whose last clone went while
    the process died between removing it and collecting its parents."""
    held, creating = await env.run(_unfinished)
    for sid, vid, cluster, pool in creating:
        try:
            await graph.drop_snapshot(
                env, cluster, snapshot_ref(pool, vid, sid),
                lambda _held, sid=sid: env.run(_mark_snapshot_deleted, sid))
        except Exception:
            log.warning("sweep: snapshot %s left as it is", sid, exc_info=True)
    for vid, cluster, pool in held:
        try:
            await graph.drop_volume(
                env, cluster, DeviceRef(pool, f"volume-{vid}"),
                lambda held, vid=vid: env.run(_mark_volume_deleted, vid, held))
        except Exception:
            log.warning("sweep: held volume %s left as it is", vid, exc_info=True)
