"""Volumes on a host: the agent turns a volume's connection_info (what the volume service's
attachments API answers, as Cinder gives Nova) into a disk its driver attaches to the guest.

rbd: the agent opens the volume with its OWN cephx user and key for that cluster (the cluster
of its configuration whose id the control plane names), as nova-compute uses its rbd_user and
the libvirt secret of that cluster; the auth_username in connection_info is the volume
service's and is not used here. local: the volume's qcow2 layer on this machine.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..block.targets import Targets
from ..config import RbdClusterSettings, Settings
from ..errors import Conflict
from ..hypervisor.driver import Driver, FileDisk, GuestDisk, GuestExists, GuestSpec, RbdDisk
from .disks import DiskError, _cluster_with, _key

log = logging.getLogger("cowcloud.agent")

ATTACH, DETACH = "attach_volume", "detach_volume"
KINDS = (ATTACH, DETACH)


def guest_disk(settings: Settings, targets: Targets, volume: dict[str, Any]) -> GuestDisk:
    """A GuestDisk (serial = the volume id, as Nova's) from {volume_id, connection_info,
    cluster_id}."""
    info = volume["connection_info"]
    kind = info.get("driver_volume_type")
    if kind == "rbd":
        found = _cluster_with(settings, targets, str(volume.get("cluster_id")))
        if found is None:
            raise DiskError(f"Volume {volume['volume_id']} is in Ceph cluster "
                            f"{volume.get('cluster_id')}, which this host does not reach.")
        name, _backend = found
        cluster = settings.clusters[name]
        assert isinstance(cluster, RbdClusterSettings)
        pool, image = str(info["name"]).split("/", 1)
        source: RbdDisk | FileDisk = RbdDisk(pool, image, str(cluster.conf), cluster.user,
                                             key=_key(cluster.keyring, cluster.user))
    elif kind == "local":
        path = Path(str(info["device_path"]))
        if not path.exists():
            raise DiskError(f"Volume {volume['volume_id']} is on another machine's local "
                            "store: this host cannot open it.")
        source = FileDisk(path, str(info.get("format", "qcow2")))
    else:
        raise DiskError(f"Volume {volume['volume_id']}: connection type {kind!r} is not "
                        "supported here.")
    return GuestDisk(source, str(volume["volume_id"]),
                     readonly=info.get("access_mode") == "ro")


async def handle(settings: Settings, targets: Targets, driver: Driver, kind: str,
                 p: dict[str, Any]) -> dict[str, Any]:
    uuid = p["server_id"]
    if kind == ATTACH:
        disk = guest_disk(settings, targets, p)
        try:
            await driver.attach_disk(uuid, disk)
        except Conflict:
            # work handed out again (this agent died before it reported): the qemu driver
            # refuses a serial the guest has; the volume is attached, which was asked
            state = await driver.state(uuid)  # GuestNotFound still fails the work
            log.info("guest %s (%s) already has volume %s", uuid, state.value, disk.serial)
    else:
        await driver.detach_disk(uuid, str(p["volume_id"]))
    return {"ok": True}


async def spawn(settings: Settings, targets: Targets, driver: Driver, p: dict[str, Any]
                ) -> None:
    """A guest whose root disk is a volume (boot from volume): no `<id>_disk` is built."""
    root = guest_disk(settings, targets, p["root"]["volume"])
    spec = GuestSpec(uuid=p["server_id"], name=p["name"], vcpus=p["vcpus"],
                     memory_mib=p["memory_mb"], disks=(root,),
                     nic="user" if p.get("nic") == "auto" else "none")
    try:
        await driver.spawn(spec)
    except GuestExists:
        pass
