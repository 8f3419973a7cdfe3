"""What every backend shares: name checks, generic streams built on read/write, and undo steps."""

from __future__ import annotations

import abc
import contextlib
import logging
import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from .contract import (
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
from .errors import InvalidArgument, NotSupported
from .streams import is_zero, rechunk

log = logging.getLogger("cowcloud.storage")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_name(kind: str, name: str) -> str:
    """Pool, device and snapshot names: safe as RBD names and as file names alike."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidArgument(
            f"invalid {kind} name {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit")
    return name


def check_size(size: int) -> int:
    """A device size: a whole number of bytes, 0 or more (bool is not a number here)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidArgument(f"invalid size {size!r}: a whole number of bytes, 0 or more")
    return size


def check_lock_id(lock_id: str) -> str:
    """A lock's cookie: what `rbd lock add` accepts, and safe in a JSON record."""
    if not isinstance(lock_id, str) or not lock_id or len(lock_id) > 256 or "\0" in lock_id:
        raise InvalidArgument(f"invalid lock id {lock_id!r}: use 1-256 characters")
    return lock_id


def check_expiry(expire_seconds: float | None) -> float | None:
    """A blocklist entry's lifetime: None for the cluster's default (one hour on Ceph)."""
    if expire_seconds is None:
        return None
    if (isinstance(expire_seconds, bool) or not isinstance(expire_seconds, int | float)
            or not 0 < expire_seconds < 10 * 365 * 86400):
        raise InvalidArgument(f"invalid expiry {expire_seconds!r}: seconds, more than 0 and "
                              "less than ten years (None: the cluster's default)")
    return float(expire_seconds)


def check_range(size: int, offset: int, length: int) -> None:
    if offset < 0 or length < 0:
        raise InvalidArgument(f"negative offset or length ({offset}, {length})")
    if offset + length > size:
        raise InvalidArgument(f"range {offset}+{length} is past the device end ({size})")


def merge_extents(extents: list[Extent]) -> list[Extent]:
    """Sorted, with touching or overlapping extents joined."""
    out: list[Extent] = []
    for ext in sorted(extents, key=lambda e: e.offset):
        if ext.length <= 0:
            continue
        if out and ext.offset <= out[-1].end:
            last = out[-1]
            out[-1] = Extent(last.offset, max(last.end, ext.end) - last.offset)
        else:
            out.append(ext)
    return out


class Undo:
    """Undo steps registered as a multi-step operation goes (incus' reverter, as an async stack).

        async with Undo() as undo:
            await backend.create(dev, size); undo.add(backend.remove, dev)
            ...
            undo.commit()           # success: forget the steps
    On an exception before commit(), the steps run newest first and the exception propagates.
    """

    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()

    def add(self, fn: Callable[..., Awaitable[object]], *args: object, **kwargs: object) -> None:
        async def step(*_exc: object) -> None:
            # An undo that fails must not hide the error that triggered it; it is logged, and
            # what it left is found by name later (the names are the record).
            try:
                await fn(*args, **kwargs)
            except Exception:
                log.warning("undo step %s%r failed", getattr(fn, "__name__", fn), args,
                            exc_info=True)
        self._stack.push_async_exit(step)

    def commit(self) -> None:
        self._stack.pop_all()

    async def __aenter__(self) -> Undo:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()


class BaseBackend(abc.ABC):
    """The storage contract, declared once: what every block backend offers, in RBD's terms.

    As incus' `common` driver, every operation answers NotSupported until a backend provides
    it, so a caller can tell "not offered here" (`except NotSupported`) from "done"; what a
    backend can do is data (`info`), never its class or kind. A backend implements what it
    offers and may override the generic streams below where it can do better.
    """

    name: str = ""
    io_chunk: int = 8 * MiB
    # A copy touching this backend that makes no progress for this long fails (watchdog.py);
    # None: local disks, whose waits end by themselves.
    stall_timeout: float | None = None

    @property
    def available(self) -> bool:
        """False while the backend is not open (its cluster has not answered yet)."""
        return True

    @property
    @abc.abstractmethod
    def info(self) -> BackendInfo: ...

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    # pools and devices

    async def pools(self) -> list[str]:
        raise NotSupported("pools", backend=self.name)

    async def create_pool(self, pool: str) -> None:
        raise NotSupported("create_pool", backend=self.name)

    async def create(self, dev: DeviceRef, size: int) -> None:
        raise NotSupported("create", backend=self.name)

    async def exists(self, dev: DeviceRef) -> bool:
        raise NotSupported("exists", backend=self.name)

    async def stat(self, dev: DeviceRef) -> DeviceInfo:
        raise NotSupported("stat", backend=self.name)

    async def list_devices(self, pool: str) -> list[str]:
        raise NotSupported("list_devices", backend=self.name)

    async def remove(self, dev: DeviceRef, *, missing_ok: bool = False,
                     with_snapshots: bool = False) -> None:
        raise NotSupported("remove", backend=self.name)

    async def resize(self, dev: DeviceRef, size: int, *, allow_shrink: bool = False) -> None:
        raise NotSupported("resize", backend=self.name)

    async def usage(self, dev: DeviceRef) -> Usage:
        raise NotSupported("usage", backend=self.name)

    async def pool_usage(self, pool: str) -> PoolUsage:
        raise NotSupported("pool_usage", backend=self.name)

    # data

    async def write(self, dev: DeviceRef, offset: int, data: bytes) -> None:
        raise NotSupported("write", backend=self.name)

    async def read(self, dev: DeviceRef, offset: int, length: int) -> bytes:
        raise NotSupported("read", backend=self.name)

    async def extents(self, dev: DeviceRef) -> list[Extent]:
        raise NotSupported("extents", backend=self.name)

    # snapshots and clones

    async def snapshot(self, dev: DeviceRef, name: str) -> SnapRef:
        raise NotSupported("snapshot", backend=self.name)

    async def snapshots(self, dev: DeviceRef) -> list[SnapshotInfo]:
        raise NotSupported("snapshots", backend=self.name)

    async def remove_snapshot(self, snap: SnapRef) -> None:
        raise NotSupported("remove_snapshot", backend=self.name)

    async def protect(self, snap: SnapRef) -> None:
        raise NotSupported("protect", backend=self.name)

    async def unprotect(self, snap: SnapRef) -> None:
        raise NotSupported("unprotect", backend=self.name)

    async def clone(self, snap: SnapRef, dst: DeviceRef) -> None:
        raise NotSupported("clone", backend=self.name)

    async def children(self, snap: SnapRef) -> list[DeviceRef]:
        raise NotSupported("children", backend=self.name)

    async def flatten(self, dev: DeviceRef) -> None:
        raise NotSupported("flatten", backend=self.name)

    # advisory exclusive locks

    async def lock(self, dev: DeviceRef, lock_id: str) -> None:
        raise NotSupported("lock", backend=self.name)

    async def unlock(self, dev: DeviceRef, lock_id: str) -> None:
        raise NotSupported("unlock", backend=self.name)

    async def lock_owners(self, dev: DeviceRef) -> list[LockOwner]:
        raise NotSupported("lock_owners", backend=self.name)

    async def break_lock(self, dev: DeviceRef, owner: LockOwner) -> None:
        raise NotSupported("break_lock", backend=self.name)

    # fencing (`ceph osd blocklist`)

    async def client_id(self) -> str:
        raise NotSupported("client_id", backend=self.name)

    async def blocklist(self, client: str, expire_seconds: float | None = None) -> None:
        raise NotSupported("blocklist", backend=self.name)

    async def unblocklist(self, client: str) -> None:
        raise NotSupported("unblocklist", backend=self.name)

    async def blocklisted(self) -> list[BlocklistEntry]:
        raise NotSupported("blocklisted", backend=self.name)

    async def fence(self, dev: DeviceRef, *, expire_seconds: float | None = None
                    ) -> list[LockOwner]:
        """Blocklists every lock owner of `dev` but this connection, then breaks every lock:
        the takeover of a device whose holder is taken for dead (an evacuation). Returns the
        owners it found, for the caller's record; none is a no-op.

        Blocklisting goes first: once a lock is gone, a holder that was alive after all
        could write again, unless the cluster already refuses it. Our own lock is broken
        without fencing ourselves."""
        check_expiry(expire_seconds)
        me = await self.client_id()
        owners = await self.lock_owners(dev)
        for owner in owners:
            if owner.address and owner.address != me:
                await self.blocklist(owner.address, expire_seconds)
        for owner in owners:
            await self.break_lock(dev, owner)
        return owners

    # ------------------------------------------------ optional, "not supported" by default

    async def changed_extents(self, dev: DeviceRef, since: str) -> list[Extent]:
        """Ranges written (data or zeros) in `dev` since its snapshot `since`: what an
        incremental backup or a replication pass must carry. Reading them gives the new bytes."""
        raise NotSupported("changed_extents", backend=self.name)

    async def attach_spec(self, dev: DeviceRef) -> dict[str, Any]:
        """How a hypervisor on a host reaches `dev` to run a guest on it (what a volume's
        connection_info is built from): on rbd {"kind": "rbd", "pool", "name", "hosts",
        "ports", "user", "auth_enabled", "cluster_name", "fsid"} (the monitors as the mon map
        lists them); on local {"kind": "local", "path", "format": "qcow2"} (the device's
        active qcow2 layer, whose backing chain qemu follows). NotFound if `dev` is gone."""
        raise NotSupported("attach_spec", backend=self.name)

    @asynccontextmanager
    async def qemu_node(self, what: DeviceRef | SnapRef) -> AsyncIterator[dict[str, Any]]:
        """A qemu block node (blockdev options) presenting the bytes of a device or snapshot,
        usable by qemu-img while the context is held (nothing else writes the device then).
        Only storage.conversion uses it: qemu-img runs nowhere else."""
        raise NotSupported("qemu_node", backend=self.name)
        yield {}  # pragma: no cover - makes this an async generator

    async def read_extents(self, dev: DeviceRef, chunk_size: int = 8 * MiB
                           ) -> AsyncIterator[tuple[int, bytes]]:
        for ext in await self.extents(dev):
            pos = ext.offset
            while pos < ext.end:
                n = min(chunk_size, ext.end - pos)
                data = await self.read(dev, pos, n)
                if not is_zero(data):
                    yield pos, data
                pos += n

    async def write_extents(self, dev: DeviceRef, items: AsyncIterable[tuple[int, bytes]], *,
                            progress: Progress | None = None) -> int:
        """Writes (offset, data) pieces, as read_extents yields them; returns the bytes written.

        Progress is reported as the furthest offset reached. Backends override this to keep the
        device open and several writes in flight.
        """
        written = reached = 0
        size = (await self.stat(dev)).size
        async for offset, data in items:
            await self.write(dev, offset, data)
            written += len(data)
            reached = max(reached, offset + len(data))
            if progress:
                progress(reached, size)
        return written

    async def write_stream(self, dev: DeviceRef, chunks: AsyncIterable[bytes], *, offset: int = 0,
                           grow: bool = False, progress: Progress | None = None) -> int:
        """Writes the stream from `offset`; afterwards the range holds exactly the stream.

        With grow=True the device is resized to fit, ending exactly as long as what was written
        (for uploads of unknown size); otherwise a longer stream is refused with InvalidArgument.
        Returns the number of bytes consumed.
        """
        size = (await self.stat(dev)).size
        pos = offset
        async for piece in rechunk(chunks, self.io_chunk):
            end = pos + len(piece)
            if end > size:
                if not grow:
                    raise InvalidArgument(f"stream is longer than {dev} ({size} bytes)")
                size = max(end, size * 2)
                await self.resize(dev, size)
            # Zeros are written too: the device may hold older data there. Backends override
            # this with a hole-punching write (discard / write-zeroes) to keep them sparse.
            await self.write(dev, pos, piece)
            pos = end
            if progress:
                progress(pos - offset, size)
        if grow and size != pos:
            await self.resize(dev, pos, allow_shrink=True)
        return pos - offset
