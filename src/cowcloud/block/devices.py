"""Devices as clone sources, and moving them between targets.

- `seal`: snapshot `snap` and protect it, as glance_store rbd does, so clones can be made.
- `transfer`: a device into another target. Same cluster (storage.can_clone): server-side, a COW
  clone of the protected snapshot then flattened, so the copy is independent of its source and
  either can be deleted alone. Otherwise extents stream cluster to cluster (storage.copy), holes
  skipped, nothing staged on this host.
- `remove`: unprotect and delete a device and its snapshots; when clones (volumes, instance disks)
  still depend on it, nothing is touched and the clones are returned: the caller keeps the device
  as pending and collects it with its last child (incus' zombie model).
"""

from __future__ import annotations

import contextlib

from ..storage import BaseBackend, DeviceRef, SnapRef, Undo, can_clone, conversion
from ..storage.contract import Progress
from ..storage.copy import copy_device
from ..storage.errors import HasChildren, NotFound
from .ingest import check_virtual_size
from .taps import HASH_ALGO, DualHasher, zero_filled

SNAP = "snap"  # the protected snapshot every clone source has


async def seal(backend: BaseBackend, dev: DeviceRef) -> SnapRef:
    snap = await backend.snapshot(dev, SNAP)
    await backend.protect(snap)
    return snap


async def hash_device(backend: BaseBackend, dev: DeviceRef,
                      algo: str = HASH_ALGO) -> tuple[int, str, str]:
    """(size, md5, `algo` hash) of a device's whole content (holes hash as zeros)."""
    size = (await backend.stat(dev)).size
    hasher = DualHasher(algo)
    try:
        async for chunk in zero_filled(backend.read_extents(dev), size):
            await hasher.update(chunk)
        md5, sha = await hasher.digests()
    finally:
        hasher.close()
    return size, md5, sha


async def transfer(src: BaseBackend, src_dev: DeviceRef, dst: BaseBackend, dst_dev: DeviceRef,
                   *, src_snap: SnapRef | None = None,
                   progress: Progress | None = None, sealed: bool = True) -> None:
    """dst_dev := src_dev's content, sealed (unless `sealed` is False: a volume moved to
    another backend is no clone source). Same cluster and a protected snapshot: clone and
    flatten inside the cluster; otherwise a streamed copy. On failure dst_dev is removed."""
    async with Undo() as undo:
        if src_snap is not None and can_clone(src, dst):
            undo.add(dst.remove, dst_dev, missing_ok=True, with_snapshots=True)
            await dst.clone(src_snap, dst_dev)
            await dst.flatten(dst_dev)
            if progress:
                size = (await dst.stat(dst_dev)).size
                progress(size, size)
        else:
            await copy_device(src, src_dev, dst, dst_dev, progress=progress)
            undo.add(dst.remove, dst_dev, missing_ok=True, with_snapshots=True)
        if sealed:
            undo.add(remove, dst, dst_dev)  # a half-sealed device has a protected snapshot
            await seal(dst, dst_dev)
        undo.commit()


async def convert_to_raw(src: BaseBackend, src_dev: DeviceRef, disk_format: str,
                         dst: BaseBackend, dst_dev: DeviceRef, *, size_cap: int) -> int:
    """dst_dev := the disk that src_dev holds in `disk_format`, as raw bytes, sealed; returns
    its virtual size. qemu-img reads the source where it lies and writes the target where it
    lies (one qemu process can hold both clusters), so nothing is staged. A virtual size over
    `size_cap` is refused before anything is written, and the target is created at that size,
    so the conversion cannot outgrow it. On failure nothing of dst_dev is left."""
    probe = await conversion.probe(src, src_dev, disk_format)
    check_virtual_size(probe.virtual_size, size_cap)
    async with Undo() as undo:
        await dst.create(dst_dev, probe.virtual_size)
        undo.add(remove, dst, dst_dev)
        await conversion.to_raw(src, src_dev, disk_format, dst, dst_dev)
        await seal(dst, dst_dev)
        undo.commit()
    return probe.virtual_size


async def remove(backend: BaseBackend, dev: DeviceRef, *, fence: bool = False
                 ) -> list[DeviceRef]:
    """Removes dev with its snapshots; returns the clones that keep it alive (then nothing was
    removed), [] when it is gone (or was never there).

    fence: dev was being written by a process that died (or by this one). A dead librbd client
    keeps its exclusive lock and watch for the OSD's watch timeout (30 s), and rbd refuses to
    remove a watched image; breaking the dead holder's lock blocklists it, which ends both at
    once. Only for devices no live process may hold: half-written work of a known-dead writer."""
    try:
        snaps = await backend.snapshots(dev)
    except NotFound:
        return []
    for snap in snaps:
        kids = await backend.children(snap.ref)
        if kids:
            return kids
    if fence:
        for owner in await backend.lock_owners(dev):
            with contextlib.suppress(NotFound):  # released meanwhile
                await backend.break_lock(dev, owner)
    try:
        for snap in snaps:
            if snap.protected:
                await backend.unprotect(snap.ref)
        await backend.remove(dev, missing_ok=True, with_snapshots=True)
    except HasChildren as exc:  # a clone appeared meanwhile
        return [c for c in exc.children if isinstance(c, DeviceRef)] or [dev]
    return []
