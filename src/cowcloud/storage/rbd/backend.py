"""RbdBackend: the storage contract on one Ceph cluster, composed from the modules beside it."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from ..base import BaseBackend
from ..contract import (
    BackendInfo,
    DeviceInfo,
    DeviceRef,
    Extent,
    LockOwner,
    MiB,
    Progress,
    SnapRef,
    SnapshotInfo,
    Usage,
)
from ..errors import Unavailable
from . import clones, devices, io, locks, snapshots
from .cluster import RbdCluster
from .timeouts import Timeouts


class RbdBackend(BaseBackend):
    """Block devices are RBD images (format 2, layering + exclusive-lock + object-map +
    fast-diff + deep-flatten) in the pools of one cluster, over one long-lived connection."""

    kind = "rbd"

    def __init__(self, name: str, conf: Path, user: str = "admin", keyring: Path | None = None,
                 io_threads: int = 8, timeouts: Timeouts | None = None) -> None:
        self.name = name
        self.timeouts = timeouts or Timeouts()
        self.stall_timeout = self.timeouts.stall
        self.conf = Path(conf)
        self.user = user
        self.keyring = Path(keyring) if keyring else None
        self.io_threads = io_threads
        self._cluster: RbdCluster | None = None
        self._info: BackendInfo | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def info(self) -> BackendInfo:
        if self._info is None:
            raise Unavailable(f"backend {self.name!r} is not open: its cluster id is unknown")
        return self._info

    @property
    def available(self) -> bool:
        return self._cluster is not None

    @property
    def cluster(self) -> RbdCluster:
        if self._cluster is None:
            raise Unavailable(f"backend {self.name!r} is not open")
        return self._cluster

    async def open(self) -> None:
        if self._cluster is not None:
            return
        cluster = RbdCluster(self.conf, self.user, self.keyring, io_threads=self.io_threads,
                             timeouts=self.timeouts)
        try:
            await cluster.connect()
        except BaseException:
            await cluster.close()
            raise
        self._cluster = cluster
        self._info = BackendInfo(kind="rbd", cluster_id=cluster.fsid, native_clone=True,
                                 cross_pool_clone=True, shared=True)

    async def close(self) -> None:
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            await cluster.close()

    # ---------------------------------------------------------------- pools and devices

    async def pools(self) -> list[str]:
        return await devices.pools(self.cluster)

    async def create_pool(self, pool: str) -> None:
        await devices.create_pool(self.cluster, pool)

    async def create(self, dev: DeviceRef, size: int) -> None:
        await devices.create(self.cluster, dev, size)

    async def exists(self, dev: DeviceRef) -> bool:
        return await devices.exists(self.cluster, dev)

    async def stat(self, dev: DeviceRef) -> DeviceInfo:
        return await devices.stat(self.cluster, dev)

    async def list_devices(self, pool: str) -> list[str]:
        return await devices.list_devices(self.cluster, pool)

    async def remove(self, dev: DeviceRef, *, missing_ok: bool = False,
                     with_snapshots: bool = False) -> None:
        await devices.remove(self.cluster, dev, missing_ok=missing_ok,
                             with_snapshots=with_snapshots)

    async def resize(self, dev: DeviceRef, size: int, *, allow_shrink: bool = False) -> None:
        await devices.resize(self.cluster, dev, size, allow_shrink=allow_shrink)

    async def usage(self, dev: DeviceRef) -> Usage:
        return await devices.usage(self.cluster, dev)

    # ---------------------------------------------------------------- data

    async def write(self, dev: DeviceRef, offset: int, data: bytes) -> None:
        await io.write(self.cluster, dev, offset, data)

    async def read(self, dev: DeviceRef, offset: int, length: int) -> bytes:
        return await io.read(self.cluster, dev, offset, length)

    async def extents(self, dev: DeviceRef) -> list[Extent]:
        return await io.extents(self.cluster, dev)

    async def read_extents(self, dev: DeviceRef, chunk_size: int = 8 * MiB
                           ) -> AsyncIterator[tuple[int, bytes]]:
        async for item in io.read_extents(self.cluster, dev, chunk_size):
            yield item

    async def write_stream(self, dev: DeviceRef, chunks: AsyncIterable[bytes], *, offset: int = 0,
                           grow: bool = False, progress: Progress | None = None) -> int:
        return await io.write_stream(self.cluster, dev, chunks, offset=offset, grow=grow,
                                     progress=progress, chunk_size=self.io_chunk)

    async def write_extents(self, dev: DeviceRef, items: AsyncIterable[tuple[int, bytes]], *,
                            progress: Progress | None = None) -> int:
        return await io.write_extents(self.cluster, dev, items, progress=progress)

    # ---------------------------------------------------------------- snapshots and clones

    async def snapshot(self, dev: DeviceRef, name: str) -> SnapRef:
        return await snapshots.snapshot(self.cluster, dev, name)

    async def snapshots(self, dev: DeviceRef) -> list[SnapshotInfo]:
        return await snapshots.snapshots(self.cluster, dev)

    async def remove_snapshot(self, snap: SnapRef) -> None:
        await snapshots.remove_snapshot(self.cluster, snap)

    async def protect(self, snap: SnapRef) -> None:
        await snapshots.protect(self.cluster, snap)

    async def unprotect(self, snap: SnapRef) -> None:
        await snapshots.unprotect(self.cluster, snap)

    async def clone(self, snap: SnapRef, dst: DeviceRef) -> None:
        await clones.clone(self.cluster, snap, dst)

    async def children(self, snap: SnapRef) -> list[DeviceRef]:
        return await clones.children(self.cluster, snap)

    async def flatten(self, dev: DeviceRef) -> None:
        await clones.flatten(self.cluster, dev)

    # ---------------------------------------------------------------- advisory locks

    async def lock(self, dev: DeviceRef, lock_id: str) -> None:
        await locks.lock(self.cluster, dev, lock_id)

    async def unlock(self, dev: DeviceRef, lock_id: str) -> None:
        await locks.unlock(self.cluster, dev, lock_id)

    async def lock_owners(self, dev: DeviceRef) -> list[LockOwner]:
        return await locks.lock_owners(self.cluster, dev)

    async def break_lock(self, dev: DeviceRef, owner: LockOwner) -> None:
        await locks.break_lock(self.cluster, dev, owner)
