"""Snapshots: create, list, remove, protect and unprotect."""

from __future__ import annotations

from typing import Any

from ..base import check_name
from ..contract import DeviceRef, SnapRef, SnapshotInfo
from ..errors import HasChildren, NotFound, SnapshotProtected
from .clones import snapshot_children
from .cluster import Image, RbdCluster
from .locks import ensure_unlocked

_USER_NAMESPACE = 0  # RBD_SNAP_NAMESPACE_TYPE_USER: not group/trash/mirror snapshots


def user_snapshots(image: Image) -> list[dict[str, Any]]:
    """The image's own snapshots, oldest first."""
    snaps = [s for s in image.list_snaps() if s.get("namespace", _USER_NAMESPACE) == _USER_NAMESPACE]
    return sorted(snaps, key=lambda s: s["id"])


def _require(image: Image, snap: SnapRef) -> None:
    if not any(s["name"] == snap.name for s in user_snapshots(image)):
        raise NotFound(f"snapshot {snap} does not exist")


def refuse_if_children(image: Image, snap: SnapRef, action: str) -> None:
    # librbd only says EBUSY here; the caller needs to know which clones are in the way.
    kids = snapshot_children(image, snap.name)
    if kids:
        names = ", ".join(str(k) for k in kids)
        raise HasChildren(f"cannot {action} {snap}: clones depend on it ({names})", [*kids])


class SnapshotOps:
    """The contract's snapshots operations; RbdBackend provides `cluster`."""

    cluster: RbdCluster

    async def snapshot(self, dev: DeviceRef, name: str) -> SnapRef:
        cluster = self.cluster
        check_name("snapshot", name)
        snap = dev.snap(name)

        def work(image: Image) -> None:
            ensure_unlocked(image, dev, "snapshot")
            image.create_snap(name)
        await cluster.with_image(dev, work, what=f"create snapshot {snap}")
        return snap

    async def snapshots(self, dev: DeviceRef) -> list[SnapshotInfo]:
        cluster = self.cluster
        def work(image: Image) -> list[SnapshotInfo]:
            return [SnapshotInfo(dev.snap(s["name"]), int(s["size"]),
                                 image.is_protected_snap(s["name"]))
                    for s in user_snapshots(image)]
        return await cluster.with_image(dev, work, read_only=True, what=f"list snapshots of {dev}")

    async def remove_snapshot(self, snap: SnapRef) -> None:
        cluster = self.cluster
        def work(image: Image) -> None:
            _require(image, snap)
            if image.is_protected_snap(snap.name):
                raise SnapshotProtected(f"snapshot {snap} is protected; unprotect it first")
            ensure_unlocked(image, snap.device, "remove a snapshot of")
            image.remove_snap(snap.name)
        await cluster.with_image(snap.device, work, what=f"remove snapshot {snap}")

    async def protect(self, snap: SnapRef) -> None:
        """Protects the snapshot so it can be cloned; already protected is fine."""
        cluster = self.cluster
        def work(image: Image) -> None:
            _require(image, snap)
            if not image.is_protected_snap(snap.name):
                image.protect_snap(snap.name)
        await cluster.with_image(snap.device, work, what=f"protect {snap}")

    async def unprotect(self, snap: SnapRef) -> None:
        """Unprotects; HasChildren (naming them) while clones depend on it; unprotected is fine."""
        cluster = self.cluster
        def work(image: Image) -> None:
            _require(image, snap)
            if not image.is_protected_snap(snap.name):
                return
            refuse_if_children(image, snap, "unprotect")
            image.unprotect_snap(snap.name)
        await cluster.with_image(snap.device, work, what=f"unprotect {snap}")
