"""Volumes attached to servers, as Nova attaches them: through the volume service's
attachments API (Cinder 3.27+), never around it.

Attach: the volume service reserves an attachment for the server with the host's connector
and answers the connection_info (rbd: pool/image and the cluster's monitors; local: the qcow2
path) -> a row of ServerVolume (Nova's block device mapping) -> the host's agent attaches the
disk to the guest (driver.attach_disk, the volume id as the disk's serial; on rbd with the
agent's own cephx key for that cluster) -> its report completes the attachment: the volume is
in-use. An agent that fails deletes the attachment again (the volume back to available).
Detach is the reverse: the attachment goes `detaching`, the agent detaches the disk, its report
removes the attachment (available). Deleting a server releases all of its volumes once its
agent has destroyed the guest.

How compute reaches the volume service: in-process. The runtime builds one VolumeService and
hands it to ComputeService (services/runtime.py); the request that attaches calls its async
`create_attachment` with the caller's own context, so the volume service's policy and checks
(unknown volume, in use, error state, multiattach) are the ones its API applies. The agents'
reports arrive with the agent's context, not the owner's: they change the attachment inside
the report's own transaction with the volume service's session functions
(attachments.completed / detach), which is what its os-complete and attachment delete do.

Not Nova's: a volume in another availability zone attaches (Nova's default,
[cinder] cross_az_attach = True); a volume is not swapped (PUT answers 405).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import Server, ServerVolume, Volume, VolumeAttachment
from ..context import RequestContext
from ..errors import NotFound, Unavailable
from ..volumes import attachments as cinder
from . import checks, servers, work
from .env import Env
from .errors import BadRequest, ComputeConflict
from .views import Version

log = logging.getLogger("cowcloud.compute")

ATTACH, DETACH = "attach_volume", "detach_volume"
KINDS = (ATTACH, DETACH)
TAG_VERSION = (2, 49)
DELETE_ON_TERMINATION_VERSION = (2, 79)
VOLUME_API = (3, 54)   # the attachments API with `mode`, as Nova asks for it
DEVICE_PREFIX = "/dev/vd"


class VolumeNotAttached(NotFound):
    def __init__(self, volume_id: str) -> None:
        super().__init__(f"volume_id not found: {volume_id}")


def _uuid(value: Any, name: str) -> str:
    from ..volumes import checks as vchecks
    found = vchecks.canonical_id(value) if isinstance(value, str) else None
    if found is None:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                         f"'{value}' is not a 'uuid'")
    return found


def rows(s: Session, server_id: str) -> list[ServerVolume]:
    return list(s.scalars(select(ServerVolume).where(ServerVolume.server_id == server_id)
                          .order_by(ServerVolume.id)))


def view(row: ServerVolume, version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.volume_id, "volumeId": row.volume_id,
                           "serverId": row.server_id, "device": row.device}
    if version >= (2, 70):
        out["tag"] = row.tag
    if version >= DELETE_ON_TERMINATION_VERSION:
        out["delete_on_termination"] = row.delete_on_termination
    return out


def in_server(s: Session, server_id: str, version: Version) -> list[dict[str, Any]]:
    """The server view's `os-extended-volumes:volumes_attached`."""
    out = []
    for row in rows(s, server_id):
        item: dict[str, Any] = {"id": row.volume_id}
        if version >= (2, 3):
            item["delete_on_termination"] = row.delete_on_termination
        out.append(item)
    return out


def _next_device(taken: set[str], wanted: str | None) -> str:
    if wanted and wanted not in taken:
        return wanted
    for letter in "bcdefghijklmnopqrstuvwxyz":
        if f"{DEVICE_PREFIX}{letter}" not in taken:
            return f"{DEVICE_PREFIX}{letter}"
    raise BadRequest("The server has no free device name left.")


def parse_attach(body: Any, version: Version) -> dict[str, Any]:
    spec = checks.body_of(body, "volumeAttachment")
    allowed = {"volumeId", "device"}
    if version >= TAG_VERSION:
        allowed.add("tag")
    if version >= DELETE_ON_TERMINATION_VERSION:
        allowed.add("delete_on_termination")
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise BadRequest("Additional properties are not allowed "
                         f"({', '.join(repr(k) for k in unknown)} were unexpected)")
    device = spec.get("device")
    if device is not None and (not isinstance(device, str)
                               or not device.startswith("/dev/")):
        raise BadRequest(f"Invalid input for field/attribute device. Value: {device}.")
    tag = spec.get("tag")
    if tag is not None and not isinstance(tag, str):
        raise BadRequest("Invalid input for field/attribute tag.")
    dot = spec.get("delete_on_termination", False)
    if not isinstance(dot, bool):
        raise BadRequest("Invalid input for field/attribute delete_on_termination.")
    return {"volume_id": _uuid(spec.get("volumeId"), "volumeId"), "device": device,
            "tag": tag, "delete_on_termination": dot}


def begin_attach(s: Session, ctx: RequestContext, server_id: str, req: dict[str, Any]
                 ) -> dict[str, Any]:
    """Checks the server can take the volume; the connector the volume service is handed."""
    server = servers.load(s, ctx, server_id, "compute:servers:action")
    if server.vm_state not in ("active", "stopped") or server.task_state \
            or server.host is None:
        raise ComputeConflict(f"Cannot 'attach_volume' instance {server.id} while it is in "
                              f"vm_state {server.vm_state}")
    present = rows(s, server.id)
    if any(r.volume_id == req["volume_id"] for r in present):
        raise BadRequest(f"Invalid volume: volume {req['volume_id']} already attached")
    device = _next_device({"/dev/vda", *(r.device for r in present)}, req["device"])
    # Nova's connector (os-brick's get_connector_properties), for the host the server is on
    return {"host": server.host, "platform": "x86_64", "os_type": "linux",
            "multipath": False, "mountpoint": device, "mode": "rw",
            "initiator": f"iqn.cowcloud:{server.host}"}


def record_attach(s: Session, server_id: str, req: dict[str, Any], connector: dict[str, Any],
                  attachment: dict[str, Any], cluster_id: str | None
                  ) -> tuple[str, ServerVolume]:
    """The mapping row and the agent's work; (host, the attachment view)."""
    server = s.get(Server, server_id)
    if server is None or server.deleted or server.task_state or server.host is None:
        raise ComputeConflict(f"Instance {server_id} changed while the volume was reserved.")
    row = ServerVolume(server_id=server_id, volume_id=req["volume_id"],
                       attachment_id=attachment["id"], cluster_id=cluster_id,
                       device=connector["mountpoint"],
                       tag=req["tag"], delete_on_termination=req["delete_on_termination"],
                       status="attaching")
    s.add(row)
    s.flush()
    work.add(s, server.host, ATTACH, {
        "server_id": server_id, "volume_id": row.volume_id, "device": row.device,
        "connection_info": attachment["connection_info"], "cluster_id": cluster_id},
        server_id=server_id)
    return server.host, row


def begin_detach(s: Session, ctx: RequestContext, server_id: str, volume_id: str) -> str:
    """Marks the volume detaching and queues the agent's detach; the host to wake."""
    server = servers.load(s, ctx, server_id, "compute:servers:action")
    row = _row(s, server, volume_id)
    if server.vm_state not in ("active", "stopped") or server.task_state \
            or server.host is None:
        raise ComputeConflict(f"Cannot 'detach_volume' instance {server.id} while it is in "
                              f"vm_state {server.vm_state}")
    if row.status != "attached":
        raise ComputeConflict(f"Volume {volume_id} is {row.status} on instance {server.id}; "
                              "it can be detached once that ends.")
    if row.device == "/dev/vda":
        raise BadRequest("Cannot detach a root device volume")
    row.status = "detaching"
    _attachment_status(s, row, "detaching")
    work.add(s, server.host, DETACH, {"server_id": server.id, "volume_id": volume_id},
             server_id=server.id)
    return server.host


def _row(s: Session, server: Server, volume_id: str) -> ServerVolume:
    row = s.scalar(select(ServerVolume).where(ServerVolume.server_id == server.id,
                                              ServerVolume.volume_id == volume_id))
    if row is None:
        raise VolumeNotAttached(volume_id)
    return row


def show(s: Session, ctx: RequestContext, server_id: str, volume_id: str,
         version: Version) -> dict[str, Any]:
    server = servers.load(s, ctx, server_id, "compute:servers:get")
    return view(_row(s, server, volume_id), version)


def list_for(s: Session, ctx: RequestContext, server_id: str, version: Version
             ) -> list[dict[str, Any]]:
    server = servers.load(s, ctx, server_id, "compute:servers:get")
    return [view(r, version) for r in rows(s, server.id)]


# ------------------------------------------------------------------ state of the attachment


def _attachment_status(s: Session, row: ServerVolume, status: str) -> None:
    att = s.get(VolumeAttachment, row.attachment_id) if row.attachment_id else None
    vol = s.get(Volume, row.volume_id)
    if att is not None and vol is not None:
        att.attach_status = status
        s.flush()
        cinder.settle(s, vol)


def release(s: Session, row: ServerVolume) -> None:
    """The attachment goes (the volume settles: available once none is left), the row too."""
    vol = s.get(Volume, row.volume_id)
    if vol is not None and row.attachment_id:
        cinder.detach(s, vol, row.attachment_id)
    s.delete(row)
    s.flush()


def apply(s: Session, item: Any, result: dict[str, Any]) -> list[str]:
    """An agent's report, in the report's transaction; the volumes to delete now (their
    server is gone and they were to go with it)."""
    ok = bool(result.get("ok"))
    if item.kind == "destroy":
        doomed = []
        if ok:  # the guest is gone: its volumes are free again
            for row in rows(s, item.server_id):
                if row.delete_on_termination:
                    doomed.append(row.volume_id)
                release(s, row)
        return doomed
    if item.kind == "spawn" and ok:  # a root volume: attached now that the guest runs
        for row in rows(s, item.server_id):
            att = s.get(VolumeAttachment, row.attachment_id) if row.attachment_id else None
            if row.status == "attaching" and att is not None:
                cinder.completed(s, att)
                row.status = "attached"
        return []
    if item.kind not in KINDS:
        return []
    server = s.get(Server, item.server_id)
    row = s.scalar(select(ServerVolume).where(
        ServerVolume.server_id == item.server_id,
        ServerVolume.volume_id == item.payload["volume_id"]))
    if row is None or server is None:
        return []
    if item.kind == ATTACH:
        att = s.get(VolumeAttachment, row.attachment_id) if row.attachment_id else None
        if ok and att is not None:
            cinder.completed(s, att)
            row.status = "attached"
        else:
            release(s, row)
    elif ok:
        release(s, row)
    else:
        row.status = "attached"
        _attachment_status(s, row, "attached")
    if not ok and server is not None:
        server.fault = {"code": 500, "message": f"{item.kind} of volume "
                        f"{item.payload['volume_id']} failed: {result.get('error')}"}
    return []


def guest_volumes(s: Session, server_id: str) -> list[dict[str, Any]]:
    """What an agent needs to give a guest its volumes again (a start after a stop: the
    driver is handed the whole spec)."""
    out = []
    for row in rows(s, server_id):
        att = s.get(VolumeAttachment, row.attachment_id) if row.attachment_id else None
        if row.status == "attached" and att is not None and att.connection_info:
            out.append({"volume_id": row.volume_id, "device": row.device,
                        "connection_info": att.connection_info,
                        "cluster_id": row.cluster_id})
    return out


class VolumeAttacher:
    """The async side: the volume service's calls between the short transactions."""

    def __init__(self, env: Env, volumes: Any, wake: Callable[[str | None], None]) -> None:
        self.env = env
        self.volumes = volumes   # the runtime's VolumeService (in-process, no HTTP)
        self.wake = wake

    def cluster_id(self, cluster: str) -> str | None:
        with contextlib.suppress(Exception):  # a cluster not open: the agent cannot match it
            return str(self.env.backend(cluster).info.cluster_id)
        return None

    async def attach(self, ctx: RequestContext, server_id: str, body: Any,
                     version: Version) -> dict[str, Any]:
        if self.volumes is None:
            raise Unavailable("This process runs no volume service.")
        req = parse_attach(body, version)
        connector = await self.env.run(begin_attach, ctx, server_id, req)
        attachment = await self.volumes.create_attachment(ctx, {"attachment": {
            "volume_uuid": req["volume_id"], "instance_uuid": server_id,
            "connector": connector, "mode": "rw"}}, VOLUME_API)
        try:
            def record(s: Session) -> tuple[str, dict[str, Any]]:
                vol = s.get(Volume, req["volume_id"])
                cid = self.cluster_id(vol.cluster) if vol is not None else None
                host, row = record_attach(s, server_id, req, connector, attachment, cid)
                return host, view(row, version)
            host, answer = await self.env.run(record)
        except BaseException:
            # nothing left behind: the reservation made for this request goes with it
            await self.env.run(cinder.drop, attachment["id"])
            raise
        self.wake(host)
        return answer

    async def delete_volumes(self, volume_ids: list[str]) -> None:
        """Deletes the volumes a deleted server was to take with it (delete_on_termination),
        as the service (the owner's token is long gone); a failure is logged, the volume
        stays for its owner to delete."""
        from ..images.copies import SYSTEM
        for vid in volume_ids:
            try:
                await self.volumes.delete(SYSTEM, vid, cascade=False)
            except Exception as exc:
                log.warning("volume %s was to be deleted with its server: %s", vid, exc)

    async def detach(self, ctx: RequestContext, server_id: str, volume_id: str) -> None:
        self.wake(await self.env.run(begin_detach, ctx, server_id, volume_id))
