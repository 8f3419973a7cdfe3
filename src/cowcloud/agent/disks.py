"""Root disks on the ephemeral backends an agent reaches, built where the host is (as
nova-compute builds them): `<server-id>_disk` in the backend's pool.

- A copy of the image in the backend's cluster (the control plane has one made in that
  cluster's image store before it hands out the work, as volumes do): a COW clone of its
  protected `snap`, on rbd as on a local backend (a qcow2 overlay there).
- No copy in the cluster but one in another cluster this host reaches: the image's bytes,
  converted to raw where they are not raw (qemu-img reads one cluster and writes the other).
- Otherwise the Image API's bytes (raw images only), as Nova downloads an image.
Then the disk grows to the flavor's root size. A failed build leaves no device.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from ..block import devices
from ..block.targets import Target, Targets
from ..config import RbdClusterSettings, Settings
from ..errors import Invalid
from ..hypervisor.driver import FileDisk, RbdDisk
from ..storage import BaseBackend, DeviceRef, SnapRef, Undo

RAW_FORMATS = ("raw", "iso")


class DiskError(Invalid):
    """The root disk cannot be built from what the work names."""


def root_device(target: Target, server_id: str) -> DeviceRef:
    return target.device(f"{server_id}_disk")


def _cluster_with(settings: Settings, targets: Targets, cluster_id: str
                  ) -> tuple[str, BaseBackend] | None:
    for name in settings.clusters:
        with contextlib.suppress(Exception):  # a cluster not open: not a source now
            backend = targets.backend(name)
            if backend.info.cluster_id == cluster_id:
                return name, backend
    return None


async def build_root(settings: Settings, targets: Targets, target: Target, server_id: str,
                     root: dict[str, Any],
                     fetch: Callable[[str], AsyncIterator[bytes]]) -> DeviceRef:
    backend = target.backend
    dev = root_device(target, server_id)
    await devices.remove(backend, dev, fence=True)  # what an interrupted run left
    image = root["image"]
    raw = image["disk_format"] in RAW_FORMATS
    if target.kind == "rbd" and not raw and not settings.image.convert_to_raw_for_rbd:
        raise DiskError(f"Image {image['id']} is {image['disk_format']}: RBD boots raw "
                        "images only, and conversion is off.")
    here = [c for c in image["copies"] if c["cluster_id"] == backend.info.cluster_id]
    async with Undo() as undo:
        undo.add(devices.remove, backend, dev, fence=True)
        if raw and here:
            c = here[0]
            await backend.clone(SnapRef(DeviceRef(c["pool"], c["device"]), c["snap"]), dev)
        else:
            reachable = [(c, found) for c in image["copies"]
                         if (found := _cluster_with(settings, targets, c["cluster_id"]))]
            if reachable:
                c, (_name, src) = reachable[0]
                src_dev = DeviceRef(c["pool"], c["device"])
                if raw:
                    await devices.transfer(src, src_dev, backend, dev,
                                           src_snap=src_dev.snap(c["snap"]))
                else:
                    await devices.convert_to_raw(src, src_dev, image["disk_format"], backend,
                                                 dev, size_cap=settings.image.size_cap)
                await _drop_seal(backend, dev)
            elif raw:
                size = int(image.get("size") or 0)
                await backend.create(dev, max(size, 1))
                await backend.write_stream(dev, fetch(image["id"]))
            else:
                raise DiskError(f"Image {image['id']} ({image['disk_format']}) has no copy "
                                f"this host reaches, and only raw images are downloaded.")
        if (await backend.stat(dev)).size < root["size"]:
            await backend.resize(dev, root["size"])
        undo.commit()
    return dev


async def _drop_seal(backend: BaseBackend, dev: DeviceRef) -> None:
    """transfer and convert_to_raw seal what they make (a clone source); a root disk is not."""
    for snap in await backend.snapshots(dev):
        if snap.protected:
            await backend.unprotect(snap.ref)
        await backend.remove_snapshot(snap.ref)


async def fence(target: Target, dev: DeviceRef) -> list[str]:
    """Blocklists every other holder of the disk's locks and breaks the locks (storage's
    fence: on rbd `ceph osd blocklist`, so a dead host's guest that wakes up cannot write);
    the holders fenced, as `owner (address)` strings for the record."""
    return [f"{owner.owner} ({owner.address})" if owner.address else owner.owner
            for owner in await target.backend.fence(dev)]


async def remove_root(target: Target, server_id: str) -> None:
    """The root disk goes, fencing a dead writer's lock (the guest is destroyed first)."""
    await devices.remove(target.backend, root_device(target, server_id), fence=True)


def _key(keyring: Path | None, user: str) -> str:
    if keyring is None:
        return ""
    section = None
    for line in keyring.read_text().splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == f"client.{user}" and line.startswith("key"):
            return line.split("=", 1)[1].strip()
    return ""


async def disk_source(settings: Settings, target: Target, dev: DeviceRef
                      ) -> RbdDisk | FileDisk:
    """What a driver attaches: the RBD image with the cluster's cephx user (the key read from
    its keyring, handed over in memory), or the local device's qcow2 file."""
    cluster = settings.clusters[target.cluster]
    if isinstance(cluster, RbdClusterSettings):
        return RbdDisk(dev.pool, dev.name, str(cluster.conf), cluster.user,
                       key=_key(cluster.keyring, cluster.user))
    async with target.backend.qemu_node(dev) as node:
        path = node.get("file", {}).get("filename", "")
    return FileDisk(Path(path), "qcow2")
