"""A short-lived, synchronous look at one Ceph cluster for `cowcloud config check`.

The server's RbdCluster keeps one connection for the life of the process; this one connects as
the configured user, answers a few questions and goes. Every wait is bounded (mon handshake, mon
and OSD operations), so an unreachable cluster or a pool with no active OSD is reported, not
waited on. Caps are probed by doing what a role needs on a throwaway device: `auth get` would
itself be refused to the non-admin users stores run as.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from types import TracebackType

import rados  # type: ignore[import-not-found]
import rbd  # type: ignore[import-not-found]

from ._errors import map_rbd_errors

PROBE_PREFIX = "cowcloud-config-check-"


def open_probe(conf: Path, user: str, keyring: Path | None, timeout: float) -> ClusterProbe:
    """Connects as client.USER, or raises a StorageError naming why not (Unavailable on a
    timeout, PermissionDenied when cephx refuses the key)."""
    wait = str(max(1, int(timeout)))
    settings = {"client_mount_timeout": wait, "rados_mon_op_timeout": wait,
                "rados_osd_op_timeout": wait}
    if keyring:
        settings["keyring"] = str(keyring)
    with map_rbd_errors(f"connect to {conf} as client.{user}"):
        handle = rados.Rados(conffile=str(conf), rados_id=user, conf=settings)
        try:
            handle.connect()
            fsid = str(handle.get_fsid())
        except BaseException:
            handle.shutdown()
            raise
    return ClusterProbe(handle, fsid)


class ClusterProbe:
    """A connected cluster, for a `with` block that closes it."""

    def __init__(self, handle: rados.Rados, fsid: str) -> None:
        self._rados: rados.Rados | None = handle
        self.fsid = fsid

    def __enter__(self) -> ClusterProbe:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._rados is not None:
            self._rados.shutdown()
            self._rados = None

    @property
    def handle(self) -> rados.Rados:
        assert self._rados is not None, "the probe is closed"
        return self._rados

    def pool_exists(self, pool: str) -> bool:
        with map_rbd_errors(f"look up pool {pool}"):
            return bool(self.handle.pool_exists(pool))

    def read(self, pool: str) -> int:
        """Lists the pool's rbd images (what reading an image store needs); their count."""
        with map_rbd_errors(f"list rbd images in pool {pool}"), self.handle.open_ioctx(pool) as io:
            return len(rbd.RBD().list(io))

    def write(self, pool: str) -> None:
        """Creates, writes, snapshots and protects a 1 MiB device, then removes it all: the
        steps a store's upload goes through. Leaves nothing behind when a step is refused."""
        name = PROBE_PREFIX + secrets.token_hex(4)
        with map_rbd_errors(f"open pool {pool}"):
            io = self.handle.open_ioctx(pool)
        with io:
            created = False
            try:
                with map_rbd_errors(f"create rbd image {pool}/{name}"):
                    rbd.RBD().create(io, name, 1 << 20, old_format=False,
                                     features=rbd.RBD_FEATURE_LAYERING)
                created = True
                with map_rbd_errors(f"write, snapshot and protect {pool}/{name}"), \
                        rbd.Image(io, name) as image:
                    image.write(b"cowcloud", 0)
                    image.create_snap("snap")
                    image.protect_snap("snap")
                    image.unprotect_snap("snap")
                    image.remove_snap("snap")
            finally:
                if created:
                    self._remove(io, pool, name)

    @staticmethod
    def _remove(io: rados.Ioctx, pool: str, name: str) -> None:
        with map_rbd_errors(f"remove rbd image {pool}/{name}"):
            with rbd.Image(io, name) as image:
                for snap in list(image.list_snaps()):
                    if image.is_protected_snap(snap["name"]):
                        image.unprotect_snap(snap["name"])
                    image.remove_snap(snap["name"])
            rbd.RBD().remove(io, name)
