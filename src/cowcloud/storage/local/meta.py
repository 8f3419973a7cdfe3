"""What the qcow2 files cannot say: exact byte sizes, snapshot protection, advisory locks.

One small JSON file per device, replaced atomically (temp file, fsync, rename, fsync folder), so a
crash leaves the old or the new version, never half of one. It is an annex to the files, not a
second source of truth: entries for snapshots the chain does not have are ignored (and dropped on
the next write), and a size that does not round up to the header's size is not trusted.
A missing file means defaults, so a device whose metadata was never written still works.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..contract import DeviceRef, LockOwner
from ..errors import Busy, NotFound, StorageError
from .layout import round_up


@dataclass
class SnapMeta:
    size: int
    protected: bool = False


@dataclass
class Meta:
    size: int | None = None  # exact byte size; the header holds it rounded up to 512
    snaps: dict[str, SnapMeta] = field(default_factory=dict)
    locks: list[LockOwner] = field(default_factory=list)

    def exact_size(self, header_size: int) -> int:
        if self.size is not None and round_up(self.size) == header_size:
            return self.size
        return header_size  # crash between a resize and this record: the header wins

    def snap_size(self, snap: str, header_size: int) -> int:
        sm = self.snaps.get(snap)
        return sm.size if sm and round_up(sm.size) == header_size else header_size

    def protected(self, snap: str) -> bool:
        sm = self.snaps.get(snap)
        return bool(sm and sm.protected)


def ensure_unlocked(meta: Meta, dev: DeviceRef, action: str) -> None:
    """Busy while an advisory lock is held, as on rbd.

    On rbd an advisory lock is the same cls lock librbd's exclusive-lock feature uses, so while
    one is held nobody (its holder included) can write, resize, snapshot, flatten or remove the
    image (storage/rbd/locks.py). The local backend refuses the same operations, so that code
    written against the embedded default does not break only once it meets Ceph.
    """
    if meta.locks:
        held = ", ".join(f"{lk.lock_id!r} by {lk.owner}" for lk in meta.locks)
        raise Busy(f"cannot {action} {dev}: it is locked ({held}); unlock or break the lock "
                   "first")


def load(path: Path) -> Meta:
    try:
        raw: dict[str, Any] = json.loads(path.read_bytes())
    except FileNotFoundError:
        return Meta()
    except ValueError as exc:
        # Writes are atomic, so this is damage from outside; refusing beats silently
        # forgetting that a snapshot is protected.
        raise StorageError(f"metadata {path} is unreadable: {exc}") from exc
    return Meta(size=raw.get("size"),
                snaps={k: SnapMeta(**v) for k, v in raw.get("snaps", {}).items()},
                locks=[LockOwner(**lk) for lk in raw.get("locks", [])])


def save(path: Path, meta: Meta, keep_snaps: set[str] | None = None) -> None:
    """Atomically replaces the record; `keep_snaps` drops entries of snapshots that are gone."""
    if keep_snaps is not None:
        meta.snaps = {k: v for k, v in meta.snaps.items() if k in keep_snaps}
    data = json.dumps({"size": meta.size,
                       "snaps": {k: asdict(v) for k, v in sorted(meta.snaps.items())},
                       "locks": [asdict(lk) for lk in meta.locks]}, indent=1).encode()
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def remove(path: Path) -> None:
    """Drops the record (and a temp file a crash may have left next to it)."""
    path.unlink(missing_ok=True)
    path.with_name(f".{path.name}.tmp").unlink(missing_ok=True)


def fsync_dir(folder: Path) -> None:
    """Makes renames and unlinks in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileLock:
    """An exclusive flock on a device's lock file, for processes sharing the cluster folder.

    Taken without blocking and retried on the event loop: a blocking flock would stall every
    other coroutine, and two backends in one process hold separate descriptors and so exclude
    each other like two processes would.
    """

    def __init__(self, path: Path, timeout: float = 120.0) -> None:
        self._path = path
        self._timeout = timeout
        self._fd: int | None = None

    async def __aenter__(self) -> FileLock:
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            raise NotFound(f"pool {self._path.parent.name!r} does not exist") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if loop.time() > deadline:
                        raise Busy(f"{self._path.name}: another process holds the device lock "
                                   f"for more than {self._timeout:.0f} s") from None
                    await asyncio.sleep(0.01)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
