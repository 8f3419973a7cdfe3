"""The storage contract's vocabulary and semantics; the operations are declared once, in
base.BaseBackend. What every block backend offers is in RBD's terms.

A backend is one cluster (a Ceph cluster, or a local folder) holding named block devices in pools.
It knows nothing of images or volumes; services decide what a device means.

Semantics every backend keeps (the contract suite in tests/storage checks them on each):
- `extents()` lists a superset of the bytes that may hold data (object or cluster granularity);
  everything outside it reads as zeros. A clone's extents include what it sees of its parent.
- `clone()` needs a protected snapshot, as RBD clone v1 does; `unprotect()` and `remove()` are
  refused with HasChildren while clones depend on the snapshot, naming them.
- `remove()` is refused with HasSnapshots while snapshots exist, unless `with_snapshots=True`,
  which removes unprotected snapshots first (protected ones with children still refuse).
- Exclusive locks are the ones `rbd lock add` takes: `lock()` fails with Busy while another
  owner holds one; `break_lock()` fences a dead owner and removes its lock. On RBD with the
  exclusive-lock feature that lock and librbd's own writer lock are one, so while it is held
  nobody, the holder included, may change the device: write, resize, snapshot, flatten and
  remove are refused with Busy naming the holder, on both backends alike. `lock_owners()` also
  lists a writer's own lock (a crashed QEMU's, say), which `break_lock()` recovers.
- Fencing, as `ceph osd blocklist` does it: `client_id()` names this connection (on rbd the rados
  instance address, "IP:0/NONCE", the one `LockOwner.address` shows). `blocklist(client)` makes
  the cluster refuse every later request of that client with Fenced, until it expires or
  `unblocklist(client)`; requests of a device opened before stay refused after that (reopen).
  Blocklisting a client listed already keeps its entry and expiry, as Ceph's mon does.
  Blocklisting this connection's own address (or its whole host) is refused. `fence(dev)`
  blocklists every foreign lock owner of the device, then breaks their locks: after it, a host
  thought dead cannot write the device even if it was alive, and another host may take it over.
- `pool_usage(pool)`: what the pool can still grow by, what it stores, and the sum of its
  devices' sizes (thin provisioning: the last may exceed the first two).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

# Called with the number of bytes handled so far and the total expected (0 when unknown).
Progress = Callable[[int, int], None]


@dataclass(frozen=True, order=True)
class DeviceRef:
    pool: str
    name: str

    def snap(self, name: str) -> SnapRef:
        return SnapRef(self, name)

    def __str__(self) -> str:
        return f"{self.pool}/{self.name}"


@dataclass(frozen=True, order=True)
class SnapRef:
    device: DeviceRef
    name: str

    def __str__(self) -> str:
        return f"{self.device}@{self.name}"


@dataclass(frozen=True)
class Extent:
    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True)
class Usage:
    provisioned: int  # the device's size
    used: int  # bytes actually allocated to this device (not counting its parent's)


@dataclass(frozen=True)
class DeviceInfo:
    ref: DeviceRef
    size: int
    parent: SnapRef | None


@dataclass(frozen=True)
class SnapshotInfo:
    ref: SnapRef
    size: int
    protected: bool


@dataclass(frozen=True)
class LockOwner:
    lock_id: str  # the cookie the holder chose
    owner: str  # who holds it: "client.4123" on rbd, "host:pid" locally
    address: str  # where the holder connected from, for fencing decisions


@dataclass(frozen=True)
class BlocklistEntry:
    client: str  # as the cluster spells it ("127.0.0.1:0/3107546986"; a whole host "IP:0/0")
    until: datetime  # when the cluster forgets it (UTC)


@dataclass(frozen=True)
class PoolUsage:
    available: int  # bytes the pool can still grow by (rbd: `ceph df` MAX AVAIL, under quota)
    used: int  # bytes stored in the pool (rbd: STORED, before replication)
    provisioned: int  # sum of the pool's device sizes (what they could grow to)

    @property
    def total(self) -> int:
        """used + available: the pool's capacity as Cinder's get_pools reports it."""
        return self.used + self.available


class HasInfo(Protocol):
    """A backend, as far as can_clone needs it (base.py imports this module, not the reverse)."""

    @property
    def info(self) -> BackendInfo: ...


@dataclass(frozen=True)
class BackendInfo:
    """Capabilities as data: callers branch on these flags, never on the backend's kind."""

    kind: str  # "rbd" or "local"
    # Ceph fsid, or the local folder's own id: same id means COW clones are possible
    cluster_id: str
    native_clone: bool = True
    cross_pool_clone: bool = True
    shared: bool = False  # reachable from several hosts (a Ceph cluster), not one machine's disk
    # a snapshot is consistent while a guest writes the device (RBD: crash-consistent); a local
    # qcow2 snapshot moves the top layer away under a guest that holds it open
    live_snapshot: bool = False


def can_clone(src: HasInfo, dst: HasInfo) -> bool:
    """True when a device of `src` can be COW-cloned into `dst` instead of copied."""
    return (src.info.cluster_id == dst.info.cluster_id
            and src.info.native_clone and dst.info.native_clone)
