"""Boot from volume: block_device_mapping_v2 whose boot_index 0 goes to a volume.

- source `volume`: the volume (available) is the root disk.
- source `image`, destination `volume` (`openstack server create --boot-from-volume SIZE`,
  Nova's volume_size): the volume service makes a volume of that size from the image (a COW
  clone of the image in the volume backend's cluster where it can), which is the root disk.
`delete_on_termination` deletes the volume with the server (default false, as Nova's).

The server is scheduled as any other (the host, its zone), but has no `<id>_disk`: its
backend stays empty and its root is the volume, attached through the volume service's
attachments API as /dev/vda. The durable task BOOT_KIND waits for the volume to be available,
reserves and connects its attachment for the host, and queues the spawn with the volume as
the root disk; the spawn's report completes the attachment (the volume in-use). The server's
`image` is "" (Nova's view of a volume-backed server).

A volume-backed server's createImage is Nova's volume snapshot plus an image of
block_device_mapping (snapshots.py).

Not built: more than the root volume in the mapping (attach data volumes afterwards),
blank/snapshot sources (so an image of block_device_mapping does not boot here yet), and
evacuating a volume-backed server.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import Server, ServerVolume, Volume
from ...tasks import Control, Retry, TaskRecord
from ..images.copies import SYSTEM
from . import servers
from .env import Env
from .errors import BadRequest

log = logging.getLogger("cowcloud.compute")

BOOT_KIND = "server_boot_volume"
ROOT_DEVICE = "/dev/vda"
WAIT_SECONDS = 0.5
VOLUME_API = (3, 54)


@dataclass(frozen=True)
class BootVolume:
    source: str            # "image" or "volume"
    uuid: str
    size_gb: int | None
    delete_on_termination: bool


@dataclass(frozen=True)
class VolumeRoot:
    """What servers.create schedules for a volume-backed server in place of an image."""
    id: str | None
    disk_format: str = "raw"
    virtual_size: int = 0
    size: int = 0
    min_disk: int = 0
    min_ram: int = 0
    copies: tuple[str, ...] = ("volume",)
    properties: dict[str, Any] = field(default_factory=dict)


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}.")


def is_root_volume(bdm: Any) -> bool:
    return (isinstance(bdm, dict) and bdm.get("destination_type") == "volume"
            and str(bdm.get("boot_index")) == "0")


def parse(mappings: Any) -> BootVolume | None:
    if mappings is None:
        return None
    if not isinstance(mappings, list):
        raise BadRequest("Invalid input for field/attribute block_device_mapping_v2.")
    roots = [m for m in mappings if is_root_volume(m)]
    if not roots:
        return None
    if len(roots) > 1:
        raise BadRequest("Block Device Mapping is Invalid: Boot sequence for the instance "
                         "and image/block device mapping combination is not valid.")
    m = roots[0]
    source = m.get("source_type")
    if source not in ("image", "volume"):
        raise BadRequest(f"Block Device Mapping is Invalid: source_type {source!r} is not "
                         "supported for the root volume here (image or volume).")
    from ..volumes import checks as vchecks
    uuid = vchecks.canonical_id(m.get("uuid")) if isinstance(m.get("uuid"), str) else None
    if uuid is None:
        raise BadRequest(f"Block Device Mapping is Invalid: uuid {m.get('uuid')!r} is not "
                         "a UUID.")
    size = m.get("volume_size")
    if source == "image":
        if isinstance(size, str) and size.isdigit():
            size = int(size)
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise BadRequest("Block Device Mapping is Invalid: volume_size must be a "
                             "positive integer (GiB) for an image to volume mapping.")
    return BootVolume(source, uuid, size if source == "image" else None,
                      _bool(m.get("delete_on_termination", False), "delete_on_termination"))


def check_volume(s: Session, ctx: Any, volume_id: str) -> None:
    """A source volume must be the caller's to see and available (Nova's 400s)."""
    from ..volumes.access import load_volume
    from ..volumes.errors import VolumeNotFound
    try:
        vol = load_volume(s, ctx, volume_id, "volume:get")
    except VolumeNotFound:
        raise BadRequest(f"Block Device Mapping is Invalid: failed to get volume "
                         f"{volume_id}.") from None
    if vol.status != "available":
        raise BadRequest(f"Invalid volume: volume {volume_id} status must be available, "
                         f"but is {vol.status}.")


def mark_volume_backed(s: Session, server_id: str) -> None:
    """The root is a volume: no ephemeral backend, no image."""
    server = s.get(Server, server_id)
    assert server is not None
    server.backend = server.cluster_id = server.pool = None
    server.image_id = None


def gone(s: Session, server_id: str) -> None:
    server = s.get(Server, server_id)
    if server is not None:
        servers._gone(server)


def root_of(s: Session, server_id: str) -> ServerVolume | None:
    return s.scalar(select(ServerVolume).where(ServerVolume.server_id == server_id,
                                               ServerVolume.device == ROOT_DEVICE))


class BootFromVolume:
    """The durable task: the volume available -> its attachment -> the spawn."""

    def __init__(self, env: Env, volumes: Any, wake: Any, cluster_id: Any) -> None:
        self.env = env
        self.volumes = volumes
        self.wake = wake
        self.cluster_id = cluster_id

    async def run(self, task: TaskRecord, control: Control) -> dict[str, Any]:
        inp = task.input
        plan, volume_id = inp["plan"], inp["volume_id"]

        def state(s: Session) -> tuple[str | None, str | None, bool]:
            vol = s.get(Volume, volume_id)
            server = s.get(Server, plan["server_id"])
            alive = server is not None and not server.deleted and \
                server.task_state != "deleting"
            return (vol.status if vol else None, vol.cluster if vol else None, alive)
        status, cluster, alive = await self.env.run(state)
        if not alive:
            return {"skipped": "server deleted"}
        if status in ("creating", "downloading"):
            raise Retry(WAIT_SECONDS, f"volume {volume_id} is {status}")
        if status != "available" or cluster is None:
            raise RuntimeError(f"its root volume {volume_id} is {status}")
        existing = await self.env.run(root_of, plan["server_id"])
        if existing is None or existing.attachment_id is None:
            connector = {"host": plan["host"], "platform": "x86_64", "os_type": "linux",
                         "multipath": False, "mountpoint": ROOT_DEVICE, "mode": "rw",
                         "initiator": f"iqn.cowcloud:{plan['host']}"}
            att = await self.volumes.create_attachment(SYSTEM, {"attachment": {
                "volume_uuid": volume_id, "instance_uuid": plan["server_id"],
                "connector": connector, "mode": "rw"}}, VOLUME_API)
            cid = self.cluster_id(cluster)

            def record(s: Session) -> None:
                row = root_of(s, plan["server_id"])
                if row is None:  # the server was deleted meanwhile: its volume is free
                    vol = s.get(Volume, volume_id)
                    if vol is not None:
                        from ..volumes import attachments as cinder
                        cinder.detach(s, vol, att["id"])
                    return
                row.attachment_id, row.cluster_id, row.status = att["id"], cid, "attaching"
                root = {**plan["root"], "volume": {
                    "volume_id": volume_id, "connection_info": att["connection_info"],
                    "cluster_id": cid}}
                servers.queue_spawn(s, {**plan, "root": root})
            await self.env.run(record)
        self.wake(plan["host"])
        return {"volume_id": volume_id}

    async def failed(self, task: TaskRecord, message: str) -> None:
        await self.env.run(servers.fail, task.input["plan"]["server_id"],
                           f"booting from volume failed: {message}")


_NO_COPY = SimpleNamespace(cluster="", cluster_id="", pool="", device="", snap="")


async def create(compute: Any, ctx: Any, req: Any, version: Any, base: str) -> dict[str, Any]:
    """POST /servers whose root is a volume: checked, scheduled, the volume made (from an
    image) or taken, and the durable boot queued; refusals leave nothing."""
    env: Env = compute.env
    volumes = compute.volume_attach.volumes
    boot: BootVolume = req.boot
    if volumes is None:
        raise BadRequest("This process runs no volume service: boot from an image.")
    if boot.source == "image":
        from ..errors import NotFound
        try:
            image = await env.images.source(ctx, boot.uuid)
        except NotFound:
            raise BadRequest(f"Image {boot.uuid} could not be found.") from None
        if boot.size_gb is not None and image.min_disk and boot.size_gb < image.min_disk:
            raise BadRequest(f"Volume size {boot.size_gb} GiB is smaller than the image's "
                             f"min_disk {image.min_disk} GiB.")
        root = VolumeRoot(id=image.id, min_ram=image.min_ram or 0, copies=(_NO_COPY,))
    else:
        await env.run(check_volume, ctx, boot.uuid)
        root = VolumeRoot(id=None, copies=(_NO_COPY,))
    settings = env.settings

    def placed() -> tuple[dict[str, Any], dict[str, Any] | None]:
        with compute._placing, env.db.session() as s:
            answer, plan = servers.create(
                s, ctx, req, root, version, base, down_after=compute.down_after,
                convert_for_rbd=settings.image.convert_to_raw_for_rbd,
                quotas=settings.compute)
            mark_volume_backed(s, answer["id"])
            return answer, plan
    answer, plan = await asyncio.to_thread(placed)
    if plan is None:
        return answer  # no host fits: ERROR with its fault, no volume made
    try:
        if boot.source == "image":
            vol = await volumes.create(ctx, {"volume": {
                "size": boot.size_gb, "imageRef": boot.uuid, "name": ""}}, (3, 0), "")
            volume_id = vol["volume"]["id"] if "volume" in vol else vol["id"]
        else:
            volume_id = boot.uuid

        def queue(s: Session) -> None:
            # the mapping from now on: a server deleted before it boots takes its volume
            # along (delete_on_termination) or leaves it available
            s.add(ServerVolume(server_id=answer["id"], volume_id=volume_id,
                               device=ROOT_DEVICE, status="reserved",
                               delete_on_termination=boot.delete_on_termination))
            env.tasks.add(s, BOOT_KIND, resource_id=answer["id"], owner=ctx.project_id,
                          input={"plan": plan, "volume_id": volume_id,
                                 "delete_on_termination": boot.delete_on_termination})
        await env.run(queue)
    except BaseException:
        await env.run(gone, answer["id"])
        raise
    env.tasks.wake()
    return answer
