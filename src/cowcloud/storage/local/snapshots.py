"""Snapshots, protection, clones, children and flatten, as qcow2 layers.

A snapshot freezes the device's current top layer under the name NAME@SNAP.qcow2 and gives the
device a new empty top over it, so the snapshot is an immutable file that clones (in any pool)
can use as their backing file. Each change has one commit point, after which it is visible:
    snapshot        rename of the new top over the old name (the old top was hard-linked first)
    remove_snapshot rebase of the layer above onto the snapshot's own backing, or for the
                    bottom snapshot, rename of a standalone copy of the layer above over it
                    (then the snapshot layer is unlinked)
    clone           rename of the new overlay into place
    flatten         rename of a standalone copy of the bottom layer over it
A crash before the commit point leaves only hidden work files and unreferenced layers, swept up
by the next create/snapshot of that device or its removal.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from ..base import Undo, check_name
from ..contract import DeviceRef, SnapRef, SnapshotInfo
from ..errors import AlreadyExists, HasChildren, InvalidArgument, NotFound, SnapshotProtected
from . import meta as metadata
from . import qemu_img
from ._errors import map_errors
from .handles import Handles
from .layout import Chain, Layer, Layout


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def scan_children(layout: Layout, parent: DeviceRef) -> dict[str, list[DeviceRef]]:
    """Clones of each snapshot of `parent`, found from every device's chain in every pool."""
    found: dict[str, list[DeviceRef]] = {}
    for pool in sorted(p.name for p in layout.root.iterdir() if p.is_dir()):
        if pool.startswith("."):
            continue
        for name in layout.device_names(pool):
            dev = DeviceRef(pool, name)
            try:
                chain = layout.chain(dev)
            except Exception:  # noqa: BLE001 - removed meanwhile, or damaged: not a child
                continue
            if chain.parent is not None and chain.parent.device == parent:
                found.setdefault(chain.parent.name, []).append(dev)
    return {snap: sorted(devs) for snap, devs in found.items()}


async def children(layout: Layout, snap: SnapRef) -> list[DeviceRef]:
    layout.chain(snap.device).layer(snap.name)  # NotFound for a missing snapshot
    # Reading every device's headers is plain file I/O: keep it off the event loop.
    found = await asyncio.to_thread(scan_children, layout, snap.device)
    return found.get(snap.name, [])


def has_children(of: SnapRef | DeviceRef, kids: list[DeviceRef] | dict[str, list[DeviceRef]]
                 ) -> HasChildren:
    """The refusal, naming every clone (per snapshot when refusing a whole device)."""
    if isinstance(kids, dict):
        assert isinstance(of, DeviceRef)
        parts = [f"{of.snap(s)} has clones {', '.join(map(str, d))}"
                 for s, d in sorted(kids.items())]
        flat = sorted({d for devs in kids.values() for d in devs})
        return HasChildren(f"device {of} has cloned snapshots: {'; '.join(parts)} "
                           "(flatten or remove the clones first)", list(flat))
    names = ", ".join(str(k) for k in kids)
    return HasChildren(f"snapshot {of} has clones: {names} (flatten or remove them first)",
                       list(kids))


def snapshot_infos(layout: Layout, chain: Chain) -> list[SnapshotInfo]:
    meta = metadata.load(layout.meta(chain.dev))
    return [SnapshotInfo(chain.dev.snap(s.snap), meta.snap_size(s.snap, s.size),
                         meta.protected(s.snap))
            for s in chain.snaps if s.snap is not None]


async def probe_unused(chain: Chain) -> None:
    """Busy if another process has the top open for writing (qemu's image lock says so);
    the analogue of RBD refusing to remove an image that still has watchers."""
    with map_errors(f"{chain.dev} is in use by another process"):
        await qemu_img.info(chain.top.path)


async def create(layout: Layout, handles: Handles, dev: DeviceRef, name: str) -> SnapRef:
    check_name("snapshot", name)
    snap = dev.snap(name)
    async with handles.exclusive(dev):
        chain = layout.chain(dev)
        if any(layer.snap == name for layer in chain.snaps):
            raise AlreadyExists(f"snapshot {snap} already exists")
        meta = metadata.load(layout.meta(dev))
        metadata.ensure_unlocked(meta, dev, "snapshot")
        await probe_unused(chain)
        frozen, tmp = layout.snap_file(snap), layout.tmp(dev, "new")
        with map_errors(f"snapshot {snap}"):
            _unlink(frozen)  # leftovers of a crashed attempt: nothing refers to them
            _unlink(tmp)
            # Recorded first: until the rename below, an entry for a snapshot the chain does
            # not have is ignored, so a crash in between shows nothing.
            meta.snaps[name] = metadata.SnapMeta(meta.exact_size(chain.top.size))
            metadata.save(layout.meta(dev), meta, {s.snap or "" for s in chain.snaps} | {name})
            async with Undo() as undo:
                os.link(chain.top.path, frozen)
                undo.add(asyncio.to_thread, _unlink, frozen)
                undo.add(asyncio.to_thread, _unlink, tmp)
                await qemu_img.create(tmp, chain.top.size, backing=frozen.name)
                os.replace(tmp, chain.top.path)  # the commit point
                undo.commit()
            metadata.fsync_dir(frozen.parent)
    return snap


async def remove(layout: Layout, handles: Handles, snap: SnapRef) -> None:
    dev = snap.device
    while True:
        # Rewriting a snapshot layer (when the removed one is not the newest) affects every
        # chain that reads it, so all servers stop; rewriting the top affects this device only.
        shared = layout.chain(dev).above(snap.name).snap is not None
        async with handles.exclusive(dev, shared_files=shared):
            chain = layout.chain(dev)
            layer, upper = chain.layer(snap.name), chain.above(snap.name)
            if upper.snap is not None and not shared:
                continue  # raced with a new snapshot: retry with every server stopped
            meta = metadata.load(layout.meta(dev))
            if meta.protected(snap.name):
                raise SnapshotProtected(f"snapshot {snap} is protected; unprotect it first")
            metadata.ensure_unlocked(meta, dev, "remove a snapshot of")
            kids = (await asyncio.to_thread(scan_children, layout, dev)).get(snap.name, [])
            if kids:
                raise has_children(snap, kids)
            with map_errors(f"remove snapshot {snap}"):
                await _merge_down(layout, dev, layer, upper)
                layer.path.unlink()  # nothing refers to it any more
                metadata.fsync_dir(layer.path.parent)
                metadata.save(layout.meta(dev), metadata.load(layout.meta(dev)),
                              {s.snap for s in chain.snaps if s.snap and s.snap != snap.name})
            return


async def _merge_down(layout: Layout, dev: DeviceRef, layer: Layer, upper: Layer) -> None:
    """Makes `upper` independent of `layer` without changing what `upper` shows."""
    if layer.backing is not None:
        # Safe rebase onto the layer's own backing file: an ancestor in the same chain, so
        # qemu-img reads only what `layer` itself holds and copies it up where `upper` has
        # nothing. The header update is the commit point.
        await qemu_img.rebase(upper.path, layer.backing)
        return
    # The bottom layer: rebasing onto nothing would read the whole virtual size. A standalone
    # copy of `upper`'s view reads only allocated data; renaming it over `upper` commits.
    tmp = layout.tmp(dev, "merge")
    async with Undo() as undo:
        undo.add(asyncio.to_thread, _unlink, tmp)
        await qemu_img.convert(upper.path, tmp)
        os.replace(tmp, upper.path)
        undo.commit()


async def set_protected(layout: Layout, handles: Handles, snap: SnapRef, protect: bool) -> None:
    async with handles.exclusive(snap.device, drain=False):
        chain = layout.chain(snap.device)
        layer = chain.layer(snap.name)
        meta = metadata.load(layout.meta(snap.device))
        if protect == meta.protected(snap.name):
            return  # already so: fine, as the rbd backend has it (librbd would say EBUSY/EINVAL)
        if not protect:
            kids = (await asyncio.to_thread(scan_children, layout, snap.device)).get(snap.name)
            if kids:
                raise has_children(snap, kids)
        entry = meta.snaps.setdefault(snap.name,
                                      metadata.SnapMeta(meta.snap_size(snap.name, layer.size)))
        entry.protected = protect
        with map_errors(f"protect {snap}"):
            metadata.save(layout.meta(snap.device), meta, {s.snap or "" for s in chain.snaps})


async def clone(layout: Layout, handles: Handles, snap: SnapRef, dst: DeviceRef) -> None:
    if not layout.pool_dir(dst.pool).is_dir():
        raise NotFound(f"pool {dst.pool!r} does not exist")
    async with handles.exclusive(snap.device, dst, drain=False):
        layer = layout.chain(snap.device).layer(snap.name)
        meta = metadata.load(layout.meta(snap.device))
        if not meta.protected(snap.name):
            raise InvalidArgument(f"snapshot {snap} is not protected; protect it before cloning")
        if layout.top(dst).exists():
            raise AlreadyExists(f"device {dst} already exists")
        tmp = layout.tmp(dst, "new")
        with map_errors(f"clone {snap} to {dst}"):
            for stale in layout.stale_files(dst):
                _unlink(stale)
            async with Undo() as undo:
                undo.add(asyncio.to_thread, _unlink, tmp)
                await qemu_img.create(tmp, layer.size, layout.backing_name(snap, dst.pool))
                metadata.save(layout.meta(dst),
                              metadata.Meta(size=meta.snap_size(snap.name, layer.size)))
                os.replace(tmp, layout.top(dst))  # the commit point
                undo.commit()
            metadata.fsync_dir(layout.pool_dir(dst.pool))


async def flatten(layout: Layout, handles: Handles, dev: DeviceRef) -> None:
    """Makes `dev` standalone; a no-op for a device that is not a clone (as on rbd)."""
    while True:
        chain = layout.chain(dev)
        if chain.parent is None:
            return
        # Rewriting a snapshot layer affects every chain that reads it: then all servers stop.
        shared = len(chain.layers) > 1
        async with handles.exclusive(dev, shared_files=shared):
            chain = layout.chain(dev)
            if chain.parent is None:
                return  # flattened meanwhile
            if len(chain.layers) > 1 and not shared:
                continue  # raced with a new snapshot: retry with every server stopped
            metadata.ensure_unlocked(metadata.load(layout.meta(dev)), dev, "flatten")
            tmp = layout.tmp(dev, "flat")
            with map_errors(f"flatten {dev}"):
                async with Undo() as undo:
                    undo.add(asyncio.to_thread, _unlink, tmp)
                    # A standalone copy of the bottom layer's view replaces it: the layers
                    # above (and clones of this device's snapshots) name it, and see the same
                    # bytes.
                    await qemu_img.convert(chain.base.path, tmp)
                    os.replace(tmp, chain.base.path)  # the commit point
                    undo.commit()
                metadata.fsync_dir(chain.base.path.parent)
            return
