"""LocalBackend: the storage contract over qcow2 files in a folder, with RBD's semantics.

Pools are sub-folders; devices, snapshots and clones are qcow2 layers (layout.py, snapshots.py);
bytes move through one qemu-nbd per device in use (handles.py, dataio.py); exact sizes,
protection and advisory locks live in a small JSON record per device (meta.py).

Sizes are exact bytes as on RBD: qcow2 can only hold whole 512-byte sectors, so the file is
rounded up, the exact size is recorded, and the bytes past it are kept zero and out of reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ..base import BaseBackend, check_name, check_range, check_size
from ..contract import (
    BackendInfo,
    BlocklistEntry,
    DeviceInfo,
    DeviceRef,
    Extent,
    LockOwner,
    MiB,
    PoolUsage,
    Progress,
    SnapRef,
    SnapshotInfo,
    Usage,
)
from ..errors import AlreadyExists, Busy, HasSnapshots, InvalidArgument, NotFound
from . import dataio, locks, qemu_img, snapshots
from . import meta as metadata
from ._errors import map_errors
from .fencing import Blocklist, check_client
from .handles import Handles
from .layout import Layout, round_up

_MAX_CLUSTER = 2 * MiB  # qcow2's largest cluster size; ours use the default 64 KiB
# How long fence() waits for a fenced backend to let go of the device (its janitor does so
# within a second of noticing); past it, the holder is stuck and fence() says Busy.
RELEASE_TIMEOUT = 15.0


def _ref(dev: DeviceRef) -> DeviceRef:
    # Every entry point checks names: they become file names, and "../x" must not escape.
    check_name("pool", dev.pool)
    check_name("device", dev.name)
    return dev


def _snap(snap: SnapRef) -> SnapRef:
    _ref(snap.device)
    check_name("snapshot", snap.name)
    return snap


def _qcow2_node(path: Path, *, locking: bool) -> dict[str, Any]:
    return {"driver": "qcow2",
            "file": {"driver": "file", "filename": str(path),
                     "locking": "on" if locking else "off"}}


class LocalBackend(BaseBackend):
    """qcow2 overlays in `path` (the cluster folder), one sub-folder per pool."""

    def __init__(self, name: str, path: Path, *, idle_timeout: float = 5.0) -> None:
        self.name = name
        self.path = Path(path)
        self._layout = Layout(self.path)
        self._blocklist = Blocklist(self._layout.root)
        self._handles = Handles(self._layout, idle_timeout, guard=self._unfenced)
        self._cluster_id: str | None = None
        host = socket.gethostname()
        self._owner = f"{host}:{os.getpid()}"
        # This instance's client id, as a Ceph connection's instance address: the address its
        # locks show, and what fencing names. Each backend object is its own client.
        self._address = f"{host}:{os.getpid()}/{secrets.randbelow(1 << 32)}"

    # -- lifecycle and identity ------------------------------------------------------------

    @property
    def info(self) -> BackendInfo:
        return BackendInfo(kind="local", cluster_id=self._load_cluster_id(), native_clone=True,
                           cross_pool_clone=True, shared=False)

    def _load_cluster_id(self) -> str:
        if self._cluster_id is None:
            id_file = self.path / "cluster-id"
            if not id_file.exists():
                self.path.mkdir(parents=True, exist_ok=True)
                tmp = self.path / f".cluster-id.{uuid.uuid4().hex}"
                with open(tmp, "w") as f:
                    f.write(f"{uuid.uuid4()}\n")
                    f.flush()
                    os.fsync(f.fileno())  # callers record this id: it must survive a crash
                # link() fails if another process got there first; then its id stands.
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, id_file)
                tmp.unlink()
                metadata.fsync_dir(self.path)
            self._cluster_id = id_file.read_text().strip()
        return self._cluster_id

    async def open(self) -> None:
        with map_errors(f"open cluster folder {self.path}"):
            self.path.mkdir(parents=True, exist_ok=True)
            self._load_cluster_id()
        await self._handles.start()

    async def close(self) -> None:
        await self._handles.shutdown()

    def nbd_servers(self) -> list[int]:
        """Process ids of this backend's running qemu-nbd servers (tests, diagnostics)."""
        return self._handles.open_servers()

    # -- pools and devices -----------------------------------------------------------------

    async def pools(self) -> list[str]:
        return sorted(p.name for p in self.path.iterdir()
                      if p.is_dir() and not p.name.startswith("."))

    async def create_pool(self, pool: str) -> None:
        """Creates the pool's folder; idempotent, as on rbd."""
        check_name("pool", pool)
        with map_errors(f"create pool {pool}"):
            self._layout.pool_dir(pool).mkdir(exist_ok=True)

    def _pool(self, pool: str) -> Path:
        folder = self._layout.pool_dir(check_name("pool", pool))
        if not folder.is_dir():
            raise NotFound(f"pool {pool!r} does not exist")
        return folder

    async def create(self, dev: DeviceRef, size: int) -> None:
        _ref(dev)
        check_size(size)
        self._pool(dev.pool)
        async with self._handles.exclusive(dev, drain=False):
            top, tmp = self._layout.top(dev), self._layout.tmp(dev, "new")
            if top.exists():
                raise AlreadyExists(f"device {dev} already exists")
            with map_errors(f"create {dev}"):
                for stale in self._layout.stale_files(dev):
                    stale.unlink(missing_ok=True)  # what a crashed create or remove left
                try:
                    await qemu_img.create(tmp, round_up(size))
                    metadata.save(self._layout.meta(dev), metadata.Meta(size=size))
                    os.replace(tmp, top)  # the commit point: the device exists from here
                finally:
                    tmp.unlink(missing_ok=True)
                metadata.fsync_dir(top.parent)

    async def exists(self, dev: DeviceRef) -> bool:
        return self._layout.top(_ref(dev)).exists()

    async def stat(self, dev: DeviceRef) -> DeviceInfo:
        chain = self._layout.chain(_ref(dev))
        size = metadata.load(self._layout.meta(dev)).exact_size(chain.top.size)
        return DeviceInfo(dev, size, chain.parent)

    async def list_devices(self, pool: str) -> list[str]:
        self._pool(pool)
        return self._layout.device_names(pool)

    async def remove(self, dev: DeviceRef, *, missing_ok: bool = False,
                     with_snapshots: bool = False) -> None:
        _ref(dev)
        if missing_ok and not self._layout.top(dev).exists():
            return  # its whole pool may be missing too: nothing to lock
        async with self._handles.exclusive(dev):
            try:
                chain = self._layout.chain(dev)
            except NotFound:
                if missing_ok:
                    return
                raise
            kids = await asyncio.to_thread(snapshots.scan_children, self._layout, dev)
            if kids:
                raise snapshots.has_children(dev, kids)
            if chain.snaps and not with_snapshots:
                names = ", ".join(s.snap or "" for s in chain.snaps)
                raise HasSnapshots(f"device {dev} has snapshots ({names}); remove them first "
                                   "or remove with_snapshots")
            metadata.ensure_unlocked(metadata.load(self._layout.meta(dev)), dev, "remove")
            await snapshots.probe_unused(chain)
            with map_errors(f"remove {dev}"):
                chain.top.path.unlink()  # the commit point: the device is gone from here
                for layer in chain.layers[1:]:  # no clones depend on them (checked above)
                    layer.path.unlink(missing_ok=True)
                for stale in self._layout.stale_files(dev):
                    stale.unlink(missing_ok=True)
                metadata.remove(self._layout.meta(dev))
                metadata.fsync_dir(chain.top.path.parent)

    async def resize(self, dev: DeviceRef, size: int, *, allow_shrink: bool = False) -> None:
        _ref(dev)
        check_size(size)
        if size == (await self.stat(dev)).size:
            return  # without stopping the device's server for nothing
        async with self._handles.exclusive(dev):
            chain = self._layout.chain(dev)
            meta = metadata.load(self._layout.meta(dev))
            current = meta.exact_size(chain.top.size)
            if size < current and not allow_shrink:
                raise InvalidArgument(f"shrinking {dev} from {current} to {size} bytes needs "
                                      "allow_shrink")
            metadata.ensure_unlocked(meta, dev, "resize")
            top, hdr = chain.top.path, chain.top.size
            cut_end = min(hdr, -(-size // _MAX_CLUSTER) * _MAX_CLUSTER)
            if size < current and cut_end > size:
                # As on rbd, what a shrink cuts off must read as zeros if the device grows
                # again; but qcow2 keeps the whole last cluster, stale bytes and all, and only
                # zero-fills what lies past it. So zero the cut part of that cluster first.
                async with self._handles.private(dev) as client:
                    with map_errors(f"resize {dev}"):
                        await client.write_zeroes(size, cut_end - size)
            with map_errors(f"resize {dev}"):
                if round_up(size) != hdr:
                    await qemu_img.resize(top, round_up(size), shrink=round_up(size) < hdr)
                meta.size = size
                metadata.save(self._layout.meta(dev), meta, {s.snap or "" for s in chain.snaps})

    async def usage(self, dev: DeviceRef) -> Usage:
        return await dataio.usage(self._layout, self._handles, _ref(dev))

    async def pool_usage(self, pool: str) -> PoolUsage:
        """The pool folder's file system free space (statvfs, as an unprivileged user sees it),
        the blocks the pool's files take, and its devices' exact sizes."""
        folder = self._pool(pool)

        def measure() -> PoolUsage:
            with map_errors(f"usage of pool {pool}"):
                st = os.statvfs(folder)
                used = provisioned = 0
                for entry in os.scandir(folder):
                    with contextlib.suppress(FileNotFoundError):  # removed while we count
                        used += entry.stat(follow_symlinks=False).st_blocks * 512
                for name in self._layout.device_names(pool):
                    with contextlib.suppress(NotFound):
                        provisioned += dataio.exact_size(self._layout, DeviceRef(pool, name))
            return PoolUsage(available=st.f_bavail * st.f_frsize, used=used,
                             provisioned=provisioned)
        return await asyncio.to_thread(measure)

    async def changed_extents(self, dev: DeviceRef, since: str) -> list[Extent]:
        return await dataio.changed_extents(self._layout, self._handles, _ref(dev),
                                            check_name("snapshot", since))

    async def attach_spec(self, dev: DeviceRef) -> dict[str, Any]:
        # The top layer's path never changes (a snapshot renames the frozen layer below it);
        # the guest's qemu opens it with its backing chain.
        dev = _ref(dev)
        self._layout.chain(dev)  # NotFound if the device is gone
        return {"kind": "local", "path": str(self._layout.top(dev)), "format": "qcow2"}

    @asynccontextmanager
    async def qemu_node(self, what: DeviceRef | SnapRef) -> AsyncIterator[dict[str, Any]]:
        # A snapshot layer never changes: qemu may read it beside anyone. A device's top is
        # held exclusively (its qemu-nbd stopped, so its cached qcow2 metadata is on disk, and
        # no new one starts) for as long as qemu-img works on it.
        if isinstance(what, SnapRef):
            self._layout.chain(_snap(what).device).layer(what.name)  # NotFound if missing
            yield _qcow2_node(self._layout.snap_file(what), locking=False)
            return
        dev = _ref(what)
        async with self._handles.exclusive(dev):
            top = self._layout.chain(dev).top.path  # NotFound if the device is gone
            yield _qcow2_node(top, locking=True)

    # -- data ------------------------------------------------------------------------------

    async def write(self, dev: DeviceRef, offset: int, data: bytes) -> None:
        async with self._handles.io(_ref(dev)) as h:
            check_range(h.size, offset, len(data))
            metadata.ensure_unlocked(metadata.load(self._layout.meta(dev)), dev, "write to")
            if data:
                assert h.client is not None
                with map_errors(f"write {dev}"):
                    await h.client.write(offset, data)

    async def read(self, dev: DeviceRef, offset: int, length: int) -> bytes:
        async with self._handles.io(_ref(dev)) as h:
            check_range(h.size, offset, length)
            if not length:
                return b""
            assert h.client is not None
            with map_errors(f"read {dev}"):
                return await h.client.read(offset, length)

    async def extents(self, dev: DeviceRef) -> list[Extent]:
        return await dataio.extents(self._layout, self._handles, _ref(dev))

    async def read_extents(self, dev: DeviceRef, chunk_size: int = 8 * MiB
                           ) -> AsyncIterator[tuple[int, bytes]]:
        async for item in dataio.read_extents(self._layout, self._handles, _ref(dev),
                                              chunk_size):
            yield item

    async def write_stream(self, dev: DeviceRef, chunks: AsyncIterable[bytes], *, offset: int = 0,
                           grow: bool = False, progress: Progress | None = None) -> int:
        async def resize(d: DeviceRef, size: int) -> None:
            await self.resize(d, size, allow_shrink=True)
        metadata.ensure_unlocked(metadata.load(self._layout.meta(_ref(dev))), dev, "write to")
        return await dataio.write_stream(self._layout, self._handles, resize, _ref(dev), chunks,
                                         offset=offset, grow=grow, progress=progress)

    # -- snapshots and clones --------------------------------------------------------------

    async def snapshot(self, dev: DeviceRef, name: str) -> SnapRef:
        return await snapshots.create(self._layout, self._handles, _ref(dev), name)

    async def snapshots(self, dev: DeviceRef) -> list[SnapshotInfo]:
        return snapshots.snapshot_infos(self._layout, self._layout.chain(_ref(dev)))

    async def remove_snapshot(self, snap: SnapRef) -> None:
        await snapshots.remove(self._layout, self._handles, _snap(snap))

    async def protect(self, snap: SnapRef) -> None:
        await snapshots.set_protected(self._layout, self._handles, _snap(snap), True)

    async def unprotect(self, snap: SnapRef) -> None:
        await snapshots.set_protected(self._layout, self._handles, _snap(snap), False)

    async def clone(self, snap: SnapRef, dst: DeviceRef) -> None:
        await snapshots.clone(self._layout, self._handles, _snap(snap), _ref(dst))

    async def children(self, snap: SnapRef) -> list[DeviceRef]:
        return await snapshots.children(self._layout, _snap(snap))

    async def flatten(self, dev: DeviceRef) -> None:
        await snapshots.flatten(self._layout, self._handles, _ref(dev))

    # -- advisory locks (as `rbd lock add/ls/rm`; locks.py) ---------------------------------

    async def lock(self, dev: DeviceRef, lock_id: str) -> None:
        mine = LockOwner(lock_id, self._owner, self._address)
        await locks.lock(self._layout, self._handles, _ref(dev), mine)

    async def unlock(self, dev: DeviceRef, lock_id: str) -> None:
        """Releases a lock this process holds under `lock_id`; NotFound if it holds none."""
        await locks.drop(self._layout, self._handles, _ref(dev), lock_id, self._owner)

    async def lock_owners(self, dev: DeviceRef) -> list[LockOwner]:
        return locks.owners(self._layout, _ref(dev))

    async def break_lock(self, dev: DeviceRef, owner: LockOwner) -> None:
        """Drops another holder's lock. Unlike rbd it does not blocklist the holder itself:
        fence() does, and a live holder's own writes are refused while locked anyway."""
        await locks.drop(self._layout, self._handles, _ref(dev), owner.lock_id, owner.owner)

    # -- fencing, emulated for the processes sharing this folder (fencing.py) ---------------

    def _unfenced(self) -> None:
        self._blocklist.check(self._address)

    async def client_id(self) -> str:
        return self._address

    async def blocklist(self, client: str, expire_seconds: float | None = None) -> None:
        if check_client(client) == self._address:
            raise InvalidArgument(f"refusing to blocklist {client}: it is this backend")
        await self._blocklist.add(client, expire_seconds)

    async def unblocklist(self, client: str) -> None:
        await self._blocklist.remove(check_client(client))

    async def blocklisted(self) -> list[BlocklistEntry]:
        return self._blocklist.entries()

    async def fence(self, dev: DeviceRef, *, expire_seconds: float | None = None
                    ) -> list[LockOwner]:
        """As on rbd; then waits until the fenced clients have closed the device, which
        qemu's image lock keeps to one process (on Ceph the OSDs cut them off at once)."""
        owners = await super().fence(dev, expire_seconds=expire_seconds)
        if any(o.address != self._address for o in owners):
            await self._released(dev)
        return owners

    async def _released(self, dev: DeviceRef) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RELEASE_TIMEOUT
        while True:
            async with self._handles.exclusive(dev):  # our own server closed too
                try:
                    await snapshots.probe_unused(self._layout.chain(dev))
                    return
                except Busy as exc:
                    if loop.time() > deadline:
                        raise Busy(f"{dev} is fenced, but another process still has it open "
                                   f"after {RELEASE_TIMEOUT:.0f} s: {exc}") from exc
            await asyncio.sleep(0.1)
