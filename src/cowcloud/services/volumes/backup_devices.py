"""Backups' bytes: taking a full or incremental backup into a backup target, restoring one into
a volume, and removing one. Names are the record (Cinder's Ceph backup driver's, BAK-02):

- the chain's device `volume-<volume>.backup.<full backup>` in the target's pool holds the
  latest backup of the chain written; each backup of the chain is its protected snapshot
  `backup.<backup>.snap.<ts>`, so a restore reads exactly that backup's bytes;
- the volume's device gets a snapshot of the same name (a backup of a volume snapshot uses
  `snapshot-<id>` instead): the point in time the backup holds, from which the next
  incremental's changed extents are counted (storage's changed_extents). It is removed with its
  backup (or with the volume's device), as Cinder keeps them (backup_ceph_max_snapshots = 0);
- the bytes of an in-use volume (or of a volume snapshot) are read from a clone of the
  snapshot (`backup-<backup>.tmp` beside the volume), so they are of one point in time while
  the guest writes on; an available volume is read where it is (its status, backing-up, keeps
  every writer away, so its bytes are the snapshot's), which spares the clone and the reads
  that a clone redirects to its parent. A restore reads a clone of the backup's snapshot
  (`backup-<backup>.restore` beside the chain), as the chain's device may have moved on.

Every step starts by removing what an interrupted run of the same backup left (names say
whose they are), so a task run again after a crash starts clean. An incremental that finds
its parent's point in time gone falls back to a full backup, as Cinder's driver does.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ...block import devices
from ...block.increments import apply_changes, coalesce, overwrite
from ...storage import BaseBackend, DeviceRef, SnapRef
from ...storage.contract import Progress
from ...storage.copy import copy_device
from ...storage.errors import Busy, HasChildren, NotFound
from ...tasks import Retry
from .env import Env, volume_device

CREATE_KIND = "volume_backup_create"
RESTORE_KIND = "volume_backup_restore"
DELETE_KIND = "volume_backup_delete"


def base_name(volume_id: str, backup_id: str) -> str:
    return f"volume-{volume_id}.backup.{backup_id}"


def snap_name(backup_id: str, stamp: float) -> str:
    return f"backup.{backup_id}.snap.{stamp:.3f}"


def read_clone(pool: str, backup_id: str) -> DeviceRef:
    return DeviceRef(pool, f"backup-{backup_id}.tmp")


def restore_clone(pool: str, backup_id: str) -> DeviceRef:
    return DeviceRef(pool, f"backup-{backup_id}.restore")


async def drop_snap(backend: BaseBackend, snap: SnapRef) -> None:
    """Unprotects and removes a snapshot if it is there; refused while clones read it."""
    with contextlib.suppress(NotFound):
        for info in await backend.snapshots(snap.device):
            if info.ref == snap:
                if info.protected:
                    await backend.unprotect(snap)
                await backend.remove_snapshot(snap)


async def _drop_device(backend: BaseBackend, dev: DeviceRef, *, fence: bool = False) -> None:
    try:
        held = await devices.remove(backend, dev, fence=fence)
    except Busy as exc:
        # A dead writer's watch outlives its fenced lock until the OSD's watch timeout (30 s),
        # as graph.build knows: the task runs again once it has expired.
        raise Retry(5, f"waiting for a dead writer's hold on {dev} to expire: {exc}") from None
    if held:
        raise Retry(5, f"{dev} still has clones")


# ------------------------------------------------------------------ backup

async def clear_take(env: Env, inp: dict[str, Any]) -> None:
    """Removes what a run of this backup left: the read clone, the volume snapshot it made,
    its snapshot on the chain's device, and the chain's device when it started the chain."""
    src, tgt = inp["source"], inp["target"]
    sb, tb = env.backend(src["cluster"]), env.backend(tgt["cluster"])
    async with env.graph_lock(sb):
        await _drop_device(sb, read_clone(src["pool"], inp["backup_id"]))
        if src["own_snap"]:
            await drop_snap(sb, SnapRef(DeviceRef(src["pool"], src["device"]), src["snap"]))
    await drop_snap(tb, SnapRef(DeviceRef(tgt["pool"], tgt["base"]), tgt["snap"]))
    await _drop_device(tb, DeviceRef(tgt["pool"], base_name(inp["volume_id"],
                                                            inp["backup_id"])), fence=True)


async def take(env: Env, inp: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Backs the source up into the target; returns {"base", "written", "full"}."""
    await clear_take(env, inp)
    src, tgt = inp["source"], inp["target"]
    sb, tb = env.backend(src["cluster"]), env.backend(tgt["cluster"])
    dev = DeviceRef(src["pool"], src["device"])
    point = SnapRef(dev, src["snap"])
    direct = src["own_snap"] and inp.get("volume_status") == "available"
    tmp = dev if direct else read_clone(src["pool"], inp["backup_id"])
    try:
        async with env.graph_lock(sb):
            if src["own_snap"]:
                await sb.snapshot(dev, point.name)
                await sb.protect(point)
            if not direct:
                await sb.clone(point, tmp)
        changed = None
        if inp["since"]:
            with contextlib.suppress(NotFound):  # the parent's point in time is gone
                changed = await sb.changed_extents(dev, inp["since"])
        if changed is None:
            base = DeviceRef(tgt["pool"], base_name(inp["volume_id"], inp["backup_id"]))
            written = (await copy_device(sb, tmp, tb, base, progress=progress)).copied
        else:
            base = DeviceRef(tgt["pool"], tgt["base"])
            size = (await sb.stat(tmp)).size
            if (await tb.stat(base)).size < size:
                await tb.resize(base, size)
            written = await apply_changes(sb, tmp, coalesce(changed, size), tb, base,
                                          progress=progress)
        snap = await tb.snapshot(base, tgt["snap"])
        await tb.protect(snap)
    except BaseException:
        with contextlib.suppress(Exception):
            await clear_take(env, inp)
        raise
    async with env.graph_lock(sb):
        if not direct:
            await _drop_device(sb, tmp)
        if src["own_snap"]:
            with contextlib.suppress(NotFound, HasChildren):
                await sb.unprotect(point)  # kept only as the next incremental's starting point
    return {"base": base.name, "written": written, "full": changed is None}


# ------------------------------------------------------------------ restore

async def clear_restore(env: Env, inp: dict[str, Any]) -> None:
    bk, vol = inp["backup"], inp["volume"]
    await _drop_device(env.backend(bk["cluster"]), restore_clone(bk["pool"], inp["backup_id"]))
    if inp["new"]:  # a volume made for this restore: nothing else has touched its device
        await _drop_device(env.backend(vol["cluster"]),
                           volume_device(vol["pool"], inp["volume_id"]), fence=True)


async def restore(env: Env, inp: dict[str, Any], progress: Progress) -> None:
    """The backup's bytes into the volume: a new volume's device is made from them; an existing
    volume is written over, zeros past the backup's end."""
    await clear_restore(env, inp)
    bk, vol = inp["backup"], inp["volume"]
    bb, vb = env.backend(bk["cluster"]), env.backend(vol["cluster"])
    tmp = restore_clone(bk["pool"], inp["backup_id"])
    target = volume_device(vol["pool"], inp["volume_id"])
    await bb.clone(SnapRef(DeviceRef(bk["pool"], bk["base"]), bk["snap"]), tmp)
    try:
        if inp["new"]:
            await copy_device(bb, tmp, vb, target, progress=progress)
            if (await vb.stat(target)).size < inp["size"]:
                await vb.resize(target, inp["size"])
        else:
            await overwrite(bb, tmp, vb, target, progress=progress)
    finally:
        await _drop_device(bb, tmp)


# ------------------------------------------------------------------ delete

async def drop(env: Env, inp: dict[str, Any]) -> None:
    """Removes a backup's snapshot of its chain, the chain's device with its last snapshot,
    and the backup's point in time on the volume's device (if both are still there)."""
    tb = env.backend(inp["cluster"])
    base = DeviceRef(inp["pool"], inp["base"])
    try:
        await drop_snap(tb, SnapRef(base, inp["snap"]))
    except HasChildren:
        raise Retry(5, f"a restore still reads {base}@{inp['snap']}") from None
    try:
        left = await tb.snapshots(base)
    except NotFound:
        left = None
    if left == []:
        await _drop_device(tb, base)
    src = inp.get("source")
    if src:
        sb = env.backend(src["cluster"])
        async with env.graph_lock(sb):
            with contextlib.suppress(HasChildren):
                await drop_snap(sb, SnapRef(DeviceRef(src["pool"], src["device"]),
                                            src["snap"]))
