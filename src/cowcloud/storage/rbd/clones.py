"""Clones: create from a protected snapshot, list children across pools, parent, flatten."""

from __future__ import annotations

from ..base import check_name
from ..contract import DeviceRef, SnapRef
from ..errors import InvalidArgument, NotFound
from ._errors import map_rbd_errors
from .cluster import IMAGE_FEATURES, Image, RbdCluster
from .locks import ensure_unlocked


def parent_of(image: Image) -> SnapRef | None:
    """The snapshot a clone depends on, None for an independent image (or a flattened clone)."""
    try:
        with map_rbd_errors("parent of image"):
            spec = image.get_parent_image_spec()
    except NotFound:
        # librbd's only way to say "no parent" (stat()'s parent fields are no longer filled).
        return None
    return DeviceRef(spec["pool_name"], spec["image_name"]).snap(spec["snap_name"])


def children_at(image: Image) -> list[DeviceRef]:
    """Clones of the snapshot `image` is opened at, in every pool of the cluster.

    Children in the trash are included: they still pin the snapshot.
    """
    return sorted(DeviceRef(child["pool"], child["image"]) for child in image.list_children2())


def snapshot_children(image: Image, snap_name: str) -> list[DeviceRef]:
    """Clones of one snapshot of a head-opened image; leaves the image at its head again."""
    image.set_snap(snap_name)
    try:
        return children_at(image)
    finally:
        image.set_snap(None)


def _snap_exists(image: Image, name: str) -> bool:
    return any(s["name"] == name for s in image.list_snaps())


class CloneOps:
    """The contract's clones operations; RbdBackend provides `cluster`."""

    cluster: RbdCluster

    async def clone(self, snap: SnapRef, dst: DeviceRef) -> None:
        """COW clone of a protected snapshot, into any pool of the same cluster."""
        cluster = self.cluster
        check_name("pool", dst.pool)
        check_name("device", dst.name)

        def job() -> None:
            with cluster.image(snap.device, read_only=True) as parent:
                if not _snap_exists(parent, snap.name):
                    raise NotFound(f"snapshot {snap} does not exist")
                # librbd would only say EINVAL; say what to do about it.
                if not parent.is_protected_snap(snap.name):
                    raise InvalidArgument(
                        f"snapshot {snap} is not protected; protect it to clone it")
            cluster.rbd.clone(cluster.ioctx(snap.device.pool), snap.device.name, snap.name,
                              cluster.ioctx(dst.pool), dst.name, features=IMAGE_FEATURES)
        await cluster.call(job, what=f"clone {snap} to {dst}")

    async def children(self, snap: SnapRef) -> list[DeviceRef]:
        cluster = self.cluster
        return await cluster.with_image(snap.device, children_at, read_only=True,
                                        snapshot=snap.name, what=f"list children of {snap}")

    async def flatten(self, dev: DeviceRef) -> None:
        """Copies the parent's data in, so dev no longer depends on it; a no-op for non-clones."""
        cluster = self.cluster
        def work(image: Image) -> None:
            if parent_of(image) is None:
                return
            ensure_unlocked(image, dev, "flatten")
            image.flatten()
        await cluster.with_image(dev, work, what=f"flatten {dev}")
