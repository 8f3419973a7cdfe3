"""Where a device's files live, and how its qcow2 chain is read back from the files themselves.

    CLUSTER/cluster-id             the cluster's id, written once
    CLUSTER/POOL/NAME.qcow2        the device's active (top) layer: the device exists iff this does
    CLUSTER/POOL/NAME@SNAP.qcow2   a frozen snapshot layer; the device's own snapshots form the
                                   chain below the top, oldest at the bottom
    CLUSTER/POOL/NAME.json         exact sizes, protection, advisory locks (meta.py)
    CLUSTER/POOL/.NAME.lock        flock target; never removed (unlinking races with waiters)
    CLUSTER/POOL/.NAME.*.qcow2     files being built; renamed into place, or swept up later

The chain is the truth about structure: which snapshots a device has, in which order, and which
snapshot it was cloned from, are read from the qcow2 headers (their backing-file names), so no
record can disagree with the files. Backing names are stored relative ("NAME@S.qcow2" or
"../POOL/NAME@S.qcow2"): qemu resolves them against the layer's folder, and the cluster folder
can be moved or restored elsewhere without rewriting headers.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from ..contract import DeviceRef, SnapRef
from ..errors import NotFound, StorageError

SUFFIX = ".qcow2"
SECTOR = 512
_QCOW2_MAGIC = b"QFI\xfb"
_HEADER = struct.Struct(">4sIQIIQ")  # magic, version, backing offset, backing size, bits, size
_MAX_DEPTH = 4096  # a loop in backing names must not hang us


class _LayerVanished(Exception):
    """A lower layer named by a header is gone: raced with a remove, or the folder is damaged."""


def round_up(size: int) -> int:
    """qcow2 sizes are whole sectors; the exact byte size lives in the metadata (meta.py)."""
    return (size + SECTOR - 1) // SECTOR * SECTOR


@dataclass(frozen=True)
class Layer:
    path: Path
    snap: str | None  # None for the top layer
    size: int  # virtual size from the header (a multiple of 512)
    backing: str | None  # the backing name exactly as stored in the header


@dataclass(frozen=True)
class Chain:
    """A device's own layers, top first, and the snapshot its bottom layer is cloned from."""

    dev: DeviceRef
    layers: list[Layer]
    parent: SnapRef | None

    @property
    def top(self) -> Layer:
        return self.layers[0]

    @property
    def base(self) -> Layer:
        return self.layers[-1]

    @property
    def snaps(self) -> list[Layer]:
        """Own snapshot layers, oldest first (creation order, as `rbd snap ls`)."""
        return self.layers[:0:-1]

    def layer(self, snap: str) -> Layer:
        for layer in self.layers[1:]:
            if layer.snap == snap:
                return layer
        raise NotFound(f"snapshot {self.dev}@{snap} does not exist")

    def above(self, snap: str) -> Layer:
        """The layer whose backing file is the given snapshot's (the next snapshot, or the top)."""
        for upper, layer in zip(self.layers, self.layers[1:], strict=False):
            if layer.snap == snap:
                return upper
        raise NotFound(f"snapshot {self.dev}@{snap} does not exist")


def read_header(path: Path) -> tuple[int, str | None]:
    """(virtual size, backing name) from a qcow2 header we wrote ourselves.

    Read directly rather than through `qemu-img info`: stat() and the children scan read many
    headers, and a subprocess per header costs ~10 ms where this costs microseconds.
    """
    with open(path, "rb") as f:
        head = f.read(_HEADER.size)
        if len(head) < _HEADER.size:
            raise StorageError(f"{path} is not a qcow2 file (truncated header)")
        magic, version, boff, bsize, _bits, size = _HEADER.unpack(head)
        if magic != _QCOW2_MAGIC or version not in (2, 3):
            raise StorageError(f"{path} is not a qcow2 file")
        if not boff:
            return size, None
        f.seek(boff)
        return size, f.read(bsize).decode()


class Layout:
    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))

    def pool_dir(self, pool: str) -> Path:
        return self.root / pool

    def top(self, dev: DeviceRef) -> Path:
        return self.root / dev.pool / f"{dev.name}{SUFFIX}"

    def snap_file(self, snap: SnapRef) -> Path:
        return self.root / snap.device.pool / f"{snap.device.name}@{snap.name}{SUFFIX}"

    def meta(self, dev: DeviceRef) -> Path:
        return self.root / dev.pool / f"{dev.name}.json"

    def lock_file(self, dev: DeviceRef) -> Path:
        return self.root / dev.pool / f".{dev.name}.lock"

    def tmp(self, dev: DeviceRef, tag: str) -> Path:
        """A hidden work file; device names cannot start with '.', so it never lists as one."""
        return self.root / dev.pool / f".{dev.name}.{tag}{SUFFIX}"

    def backing_name(self, snap: SnapRef, for_pool: str) -> str:
        """The backing name a layer in `for_pool` stores to reach `snap`'s file."""
        name = f"{snap.device.name}@{snap.name}{SUFFIX}"
        return name if snap.device.pool == for_pool else f"../{snap.device.pool}/{name}"

    def identify(self, path: Path) -> tuple[DeviceRef, str | None] | None:
        """Which device (and snapshot) a layer file belongs to; None if it is not one of ours."""
        path = Path(os.path.realpath(path))
        if path.parent.parent != self.root or not path.name.endswith(SUFFIX):
            return None
        stem = path.name[:-len(SUFFIX)]
        if stem.startswith("."):
            return None
        name, _, snap = stem.partition("@")
        return DeviceRef(path.parent.name, name), (snap or None)

    def device_names(self, pool: str) -> list[str]:
        names = []
        for entry in os.scandir(self.pool_dir(pool)):
            stem = entry.name[:-len(SUFFIX)]
            if entry.name.endswith(SUFFIX) and not stem.startswith(".") and "@" not in stem:
                names.append(stem)
        return sorted(names)

    def stale_files(self, dev: DeviceRef) -> list[Path]:
        """Snapshot layers and work files named after `dev`: all of them once `dev` is gone."""
        prefix, hidden = f"{dev.name}@", f".{dev.name}."
        return [Path(e.path) for e in os.scandir(self.pool_dir(dev.pool))
                if e.name.endswith(SUFFIX) and (e.name.startswith(prefix)
                                                or e.name.startswith(hidden))]

    def chain(self, dev: DeviceRef) -> Chain:
        """Walks the device's own layers down to its parent snapshot (if it is a clone)."""
        for _ in range(3):
            try:
                return self._chain(dev)
            except _LayerVanished as exc:
                # Usually a concurrent remove_snapshot unlinked a layer we had just read of.
                vanished = exc
        raise StorageError(f"{vanished} (the cluster folder is damaged)")

    def _chain(self, dev: DeviceRef) -> Chain:
        path = self.top(dev)
        try:
            size, backing = read_header(path)
        except FileNotFoundError:
            raise NotFound(f"device {dev} does not exist") from None
        layers = [Layer(path, None, size, backing)]
        while backing is not None:
            if len(layers) >= _MAX_DEPTH:
                raise StorageError(f"{dev}: backing chain deeper than {_MAX_DEPTH} (a loop?)")
            path = Path(os.path.normpath(path.parent / backing))
            ref, snap = self.identify(path) or (None, None)
            if ref is None or snap is None:
                raise StorageError(f"{dev}: layer {layers[-1].path} has a backing file that is "
                                   f"no snapshot layer of this cluster: {backing!r}")
            if ref != dev:
                return Chain(dev, layers, SnapRef(ref, snap))
            try:
                size, backing = read_header(path)
            except FileNotFoundError:
                raise _LayerVanished(f"{dev}: layer {path} is missing") from None
            layers.append(Layer(path, snap, size, backing))
        return Chain(dev, layers, None)
