"""Pools and devices: list/create pools, create/stat/remove/resize devices, usage."""

from __future__ import annotations

import json

from ..base import check_name, check_size, merge_extents
from ..contract import DeviceInfo, DeviceRef, Extent, Usage
from ..errors import AlreadyExists, HasChildren, HasSnapshots, InvalidArgument, NotFound
from .clones import parent_of, snapshot_children
from .cluster import IMAGE_FEATURES, Image, Ioctx, RbdCluster
from .locks import ensure_unlocked
from .snapshots import user_snapshots

RBD_APPLICATION = "rbd"


def allocated(image: Image, include_parent: bool) -> list[tuple[int, int]]:
    """(offset, length) of each object holding data; cheap with the fast-diff object map."""
    found: list[tuple[int, int]] = []

    def seen(offset: int, length: int, exists: bool) -> int:
        if exists:
            found.append((offset, length))
        return 0
    image.diff_iterate(0, image.size(), None, seen, include_parent=include_parent,
                       whole_object=True)
    return found


class DeviceOps:
    """The contract's devices operations; RbdBackend provides `cluster`."""

    cluster: RbdCluster

    async def pools(self) -> list[str]:
        """Pools with the rbd application enabled (as `rbd pool init` leaves them), not all
        pools."""
        cluster = self.cluster
        out = await cluster.mon_command({"prefix": "osd pool ls", "detail": "detail",
                                         "format": "json"}, what="list pools")
        return sorted(p["pool_name"] for p in json.loads(out)
                      if RBD_APPLICATION in (p.get("application_metadata") or {}))

    async def create_pool(self, pool: str) -> None:
        """Creates the pool if needed and initialises it for rbd; idempotent."""
        cluster = self.cluster
        check_name("pool", pool)

        def create() -> None:
            if not cluster.rados.pool_exists(pool):
                cluster.rados.create_pool(pool)
        try:
            await cluster.call(create, what=f"create pool {pool}")
        except AlreadyExists:
            pass  # created by someone else in between: fine, initialise it below

        def init(ioctx: Ioctx) -> None:
            apps = ioctx.application_list()
            if apps and RBD_APPLICATION not in apps:
                raise InvalidArgument(f"pool {pool!r} is used by {', '.join(apps)}, not rbd")
            # `rbd pool init`: enables the rbd application (a mon command) and validates the pool.
            cluster.rbd.pool_init(ioctx, False)
        await cluster.with_ioctx(pool, init, what=f"rbd pool init {pool}")

    async def create(self, dev: DeviceRef, size: int) -> None:
        cluster = self.cluster
        check_name("pool", dev.pool)
        check_name("device", dev.name)
        check_size(size)
        await cluster.with_ioctx(
            dev.pool, lambda ioctx: cluster.rbd.create(ioctx, dev.name, size, old_format=False,
                                                       features=IMAGE_FEATURES),
            what=f"create {dev}")

    async def exists(self, dev: DeviceRef) -> bool:
        cluster = self.cluster
        try:
            await cluster.with_image(dev, lambda image: None, read_only=True, what=f"open {dev}")
        except NotFound:  # the device, or its whole pool
            return False
        return True

    async def stat(self, dev: DeviceRef) -> DeviceInfo:
        cluster = self.cluster
        def work(image: Image) -> DeviceInfo:
            return DeviceInfo(ref=dev, size=int(image.size()), parent=parent_of(image))
        return await cluster.with_image(dev, work, read_only=True, what=f"stat {dev}")

    async def list_devices(self, pool: str) -> list[str]:
        cluster = self.cluster
        names: list[str] = await cluster.with_ioctx(pool, cluster.rbd.list,
                                                    what=f"list pool {pool}")
        return sorted(names)

    async def remove(self, dev: DeviceRef, *, missing_ok: bool = False,
                     with_snapshots: bool = False) -> None:
        cluster = self.cluster
        def job() -> None:
            with cluster.image(dev) as image:
                ensure_unlocked(image, dev, "remove")
                snaps = [s["name"] for s in user_snapshots(image)]
                kids = [kid for name in snaps for kid in snapshot_children(image, name)]
                if kids:  # even with_snapshots: a protected snapshot with clones must stay
                    raise HasChildren(f"cannot remove {dev}: clones depend on its snapshots "
                                      f"({', '.join(map(str, kids))})", [*kids])
                if snaps and not with_snapshots:
                    raise HasSnapshots(
                        f"cannot remove {dev}: it has snapshots ({', '.join(snaps)})")
                for name in snaps:
                    if image.is_protected_snap(name):
                        image.unprotect_snap(name)
                    image.remove_snap(name)
            # Closed first: our own open handle is a watcher, and rbd refuses to remove watched
            # images (ImageBusy -> Busy, which is also what another client's open handle gives).
            cluster.rbd.remove(cluster.ioctx(dev.pool), dev.name)
        try:
            await cluster.call(job, what=f"remove {dev}")
        except NotFound:
            # Only "the device is gone" is forgiven, not a snapshot vanishing under our feet.
            if missing_ok and not await self.exists(dev):
                return
            raise

    async def resize(self, dev: DeviceRef, size: int, *,
                     allow_shrink: bool = False) -> None:
        cluster = self.cluster
        check_size(size)

        def work(image: Image) -> None:
            current = int(image.size())
            if size == current:
                return
            if size < current and not allow_shrink:
                raise InvalidArgument(f"refusing to shrink {dev} from {current} to {size} bytes "
                                      "(pass allow_shrink)")
            ensure_unlocked(image, dev, "resize")
            image.resize(size, allow_shrink=True)
        await cluster.with_image(dev, work, what=f"resize {dev}")

    async def changed_extents(self, dev: DeviceRef, since: str) -> list[Extent]:
        """Ranges written or discarded since snapshot `since` (librbd's diff_iterate from it)."""
        cluster = self.cluster
        def work(image: Image) -> list[Extent]:
            if since not in {s["name"] for s in image.list_snaps()}:
                raise NotFound(f"snapshot {dev}@{since} does not exist")
            found: list[Extent] = []

            def seen(offset: int, length: int, _exists: bool) -> int:
                found.append(Extent(offset, length))
                return 0
            image.diff_iterate(0, image.size(), since, seen, include_parent=False)
            return merge_extents(found)
        return await cluster.with_image(dev, work, read_only=True, what=f"changes of {dev}")

    async def usage(self, dev: DeviceRef) -> Usage:
        """provisioned = size; used = objects this device holds itself (not its parent's)."""
        cluster = self.cluster
        def work(image: Image) -> Usage:
            used = sum(length for _, length in allocated(image, include_parent=False))
            return Usage(provisioned=int(image.size()), used=used)
        return await cluster.with_image(dev, work, read_only=True, what=f"usage of {dev}")
