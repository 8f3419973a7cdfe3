"""RbdBackend: the storage contract on one Ceph cluster, composed from the modules beside it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ..base import BaseBackend, check_name
from ..contract import BackendInfo, DeviceRef, SnapRef
from ..errors import NotFound, Unavailable
from .attach import AttachOps
from .capacity import CapacityOps
from .clones import CloneOps
from .cluster import RbdCluster
from .devices import DeviceOps
from .fencing import FenceOps
from .io import IoOps
from .locks import LockOps
from .snapshots import SnapshotOps
from .timeouts import Timeouts


class RbdBackend(DeviceOps, CapacityOps, IoOps, SnapshotOps, CloneOps, LockOps, FenceOps,
                 AttachOps, BaseBackend):
    """Block devices are RBD images (format 2, layering + exclusive-lock + object-map +
    fast-diff + deep-flatten) in the pools of one cluster, over one long-lived connection.

    The contract's operations live with their concern (devices.py, capacity.py, io.py,
    snapshots.py, clones.py, locks.py, fencing.py), each a mixin over `self.cluster`; this
    class holds the lifecycle."""

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
                                 cross_pool_clone=True, shared=True, live_snapshot=True)

    async def close(self) -> None:
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            await cluster.close()

    # ---------------------------------------------------------------- qemu

    @asynccontextmanager
    async def qemu_node(self, what: DeviceRef | SnapRef) -> AsyncIterator[dict[str, Any]]:
        # qemu opens the cluster itself (its own librbd client): the legacy filename is the
        # one form that carries a keyring given apart from ceph.conf. Names are storage-checked
        # ([A-Za-z0-9._-]); paths get qemu's escapes.
        dev, snap = (what.device, what.name) if isinstance(what, SnapRef) else (what, None)
        for kind, name in (("pool", dev.pool), ("device", dev.name), ("snapshot", snap)):
            if name is not None:
                check_name(kind, name)
        if not await self.exists(dev):
            raise NotFound(f"device {dev} does not exist")
        spec = f"rbd:{dev.pool}/{dev.name}" + (f"@{snap}" if snap else "")
        spec += f":conf={_esc(self.conf)}:id={_esc(self.user)}"
        if self.keyring:
            spec += f":keyring={_esc(self.keyring)}"
        yield {"driver": "raw", "file": {"driver": "rbd", "filename": spec}}


def _esc(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace(":", "\\:")
