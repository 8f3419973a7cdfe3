"""Volume devices and the clone graph: building a volume's device from its source, removing
it, and collecting what only existed for clones.

A device that COW clones still read through is never removed (the zombie model of incus, and
what Cinder's `.deleted` rename wants): its row is marked deleted and `held`, and the removal
of its last clone walks up the chain and collects it, then its own parent, and so on. Cinder's
driver leaks `volume-SRC.deleted` and `.clone_snap` here (REFERENCE section 7); this walk is
the fix. Image devices at the top of a chain are the image service's: its reaper removes a
deleted image's device once no clone is left.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.orm import Session

from ...block import devices
from ...db.models import Volume, VolumeSnapshot, utcnow
from ...storage import BaseBackend, DeviceRef, SnapRef, Undo, can_clone, conversion
from ...storage.copy import copy_device
from ...storage.errors import Busy, NotFound
from ...tasks import Retry
from .env import Env, GiB, is_clone_snap, snapshot_of, volume_of_device
from .errors import InvalidInput

log = logging.getLogger("cowcloud.volumes")

RAW_FORMATS = ("raw", "iso")  # bytes usable as a disk as they are


async def build(env: Env, inp: dict[str, Any]) -> bool:
    """volume-<id> := what `inp` describes; an earlier, interrupted run's device goes first.
    On failure nothing of the new device (or of a clone snapshot made for it) is left. True
    when the new device is a clone deeper than the clone-depth bound (flatten.py queues it).

    Only the steps that change the clone graph of volumes (a clone of a volume's snapshot, a
    clone snapshot) hold the graph lock: a copy of many GiB must not stall every other
    volume's delete meanwhile."""
    backend = env.backend(inp["cluster"])
    dev = DeviceRef(inp["pool"], f"volume-{inp['volume_id']}")
    size = inp["size"]
    src = inp["source"]
    # No clone of a device that never became available can exist: fence and remove. A dead
    # writer's watch outlives its fenced lock until the OSD's watch timeout (30 s).
    try:
        await devices.remove(backend, dev, fence=True)
    except Busy as exc:
        raise Retry(5, f"waiting for a dead writer's hold to expire: {exc}") from None
    if src["kind"] == "volume":
        await drop_clone_snap(env, env.backend(src["cluster"]), SnapRef(
            DeviceRef(src["pool"], src["device"]), f"volume-{inp['volume_id']}.clone_snap"))
    deep = False
    async with Undo() as undo:
        undo.add(devices.remove, backend, dev)
        if src["kind"] == "blank":
            await backend.create(dev, size)
        elif src["kind"] == "image":
            await _from_image(env, backend, dev, src, size)
        elif src["kind"] == "snapshot":
            async with env.graph_lock(backend):
                await backend.clone(_snap(src), dev)
        elif src["kind"] == "volume":
            deep = await _from_volume(env, backend, dev, src, inp["volume_id"], undo)
        else:  # pragma: no cover - the service writes the input
            raise ValueError(f"unknown volume source {src['kind']!r}")
        if (await backend.stat(dev)).size < size:
            await backend.resize(dev, size)
        undo.commit()
    return deep


def _snap(src: dict[str, Any]) -> SnapRef:
    return SnapRef(DeviceRef(src["pool"], src["device"]), src["snap"])


async def _from_image(env: Env, backend: BaseBackend, dev: DeviceRef, src: dict[str, Any],
                      size: int) -> None:
    """A COW clone of `images/<id>@snap` when a copy of the (raw) image is in this cluster;
    otherwise its bytes are copied (converted to raw first when they are not raw)."""
    raw = src["disk_format"] in RAW_FORMATS
    copies = src["copies"]
    here = [c for c in copies if c["cluster_id"] == backend.info.cluster_id]
    if raw and here:
        # No graph lock: an image's device is never collected by this graph (the image
        # service's reaper removes it, and rbd refuses it while this clone exists), so volumes
        # from one image clone side by side rather than one at a time.
        c = here[0]
        await backend.clone(SnapRef(DeviceRef(c["pool"], c["device"]), c["snap"]), dev)
        return
    c = here[0] if here else copies[0]
    src_backend = env.backend(c["cluster"])
    src_dev = DeviceRef(c["pool"], c["device"])
    if raw:
        await copy_device(src_backend, src_dev, backend, dev)
        return
    probe = await conversion.probe(src_backend, src_dev, src["disk_format"])
    if probe.virtual_size > size:
        raise InvalidInput(f"Image virtual size is {-(-probe.virtual_size // GiB)}GB and "
                           f"doesn't fit in a volume of size {size // GiB}GB.")
    await backend.create(dev, probe.virtual_size)
    await conversion.to_raw(src_backend, src_dev, src["disk_format"], backend, dev)


async def _from_volume(env: Env, backend: BaseBackend, dev: DeviceRef, src: dict[str, Any],
                       volume_id: str, undo: Undo) -> bool:
    """Same cluster: a protected `volume-<dst>.clone_snap` on the source and a clone of it
    (CIN-04); otherwise a streamed copy. True when the clone is deeper than the bound."""
    src_backend = env.backend(src["cluster"])
    src_dev = DeviceRef(src["pool"], src["device"])
    if can_clone(src_backend, backend):
        async with env.graph_lock(src_backend):
            snap = await src_backend.snapshot(src_dev, f"volume-{volume_id}.clone_snap")
            undo.add(drop_clone_snap, env, src_backend, snap)
            await src_backend.protect(snap)
            await backend.clone(snap, dev)
        # Every read of a deep chain walks it, and each link keeps a deleted source alive:
        # past Cinder's rbd_max_clone_depth the new volume is flattened, in the background
        # (flatten.py) so the create answers at clone speed whatever the volume's size.
        return await clone_depth(backend, dev) > env.settings.volume.max_clone_depth
    await copy_device(src_backend, src_dev, backend, dev)
    return False


async def clone_depth(backend: BaseBackend, dev: DeviceRef) -> int:
    """How many volume-from-volume links lie above `dev` (Cinder counts only these)."""
    depth = 0
    parent = (await backend.stat(dev)).parent
    while parent is not None and is_clone_snap(parent):
        depth += 1
        parent = (await backend.stat(parent.device)).parent
    return depth


async def drop_clone_snap(env: Env, backend: BaseBackend, snap: SnapRef) -> None:
    """Removes a clone snapshot that no clone reads through (any more)."""
    async with env.graph_lock(backend):
        try:
            if await backend.children(snap):
                return
        except NotFound:
            return
        await _remove_snap(backend, snap)


# ------------------------------------------------------------------ removal and collection

async def drop_volume(env: Env, cluster: str, dev: DeviceRef,
                      done: Callable[[bool], Awaitable[None]] | None = None) -> bool:
    """Removes a deleted volume's device and collects what it alone kept alive; True when
    clones still read through it (the device stays, held). `done(held)` records the outcome
    under the graph lock, so no clone's removal can look for the row in between."""
    backend = env.backend(cluster)
    async with env.graph_lock(backend):
        try:
            parent = (await backend.stat(dev)).parent
        except NotFound:
            parent = None
        try:
            held = bool(await devices.remove(backend, dev))
        except Busy as exc:  # a dead client's watch (see build): the task runs again later
            raise Retry(5, f"waiting for a hold on {dev} to expire: {exc}") from None
        if not held and parent is not None:
            await _collect(env, cluster, backend, parent)
        if done is not None:
            await done(held)
        return held


async def drop_snapshot(env: Env, cluster: str, snap: SnapRef,
                        done: Callable[[bool], Awaitable[None]] | None = None) -> bool:
    """Removes a deleted snapshot's device snapshot; True when clones still read through it.
    `done(held)` as for drop_volume."""
    backend = env.backend(cluster)
    async with env.graph_lock(backend):
        try:
            held = bool(await backend.children(snap))
        except NotFound:
            held = False
        if not held:
            await _remove_snap(backend, snap)
        if done is not None:
            await done(held)
        return held


async def _remove_snap(backend: BaseBackend, snap: SnapRef) -> None:
    with contextlib.suppress(NotFound):
        for info in await backend.snapshots(snap.device):
            if info.ref == snap:
                if info.protected:
                    await backend.unprotect(snap)
                await backend.remove_snapshot(snap)


async def collect_parent(env: Env, cluster: str, snap: SnapRef) -> None:
    """After a device stopped reading through `snap` (it was flattened): removes what only
    that device kept alive, as the removal of a device does (_collect)."""
    backend = env.backend(cluster)
    async with env.graph_lock(backend):
        await _collect(env, cluster, backend, snap)


async def _collect(env: Env, cluster: str, backend: BaseBackend, snap: SnapRef) -> None:
    """Walks up from the parent snapshot of a device just removed (graph lock held)."""
    while snap is not None:
        volume_id = volume_of_device(snap.device)
        if volume_id is None:
            return  # an image's device: the image service's reaper collects it
        try:
            if await backend.children(snap):
                return
        except NotFound:
            return
        if is_clone_snap(snap) or await env.run(_snapshot_gone, snapshot_of(snap)):
            await _remove_snap(backend, snap)
        if not await env.run(_is_held, volume_id):
            return
        try:
            parent = (await backend.stat(snap.device)).parent
        except NotFound:
            parent = None
        if await devices.remove(backend, snap.device):
            return
        await env.run(_release, volume_id)
        log.info("collected held volume device", extra={"device": str(snap.device)})
        snap = parent


def _snapshot_gone(s: Session, snapshot_id: str | None) -> bool:
    if snapshot_id is None:
        return False
    row = s.get(VolumeSnapshot, snapshot_id)
    return row is None or row.deleted


def _is_held(s: Session, volume_id: str) -> bool:
    row = s.get(Volume, volume_id)
    return row is not None and row.deleted and row.held


def _release(s: Session, volume_id: str) -> None:
    row = s.get(Volume, volume_id)
    if row is not None:
        row.held = False
        row.deleted_at = row.deleted_at or utcnow()
