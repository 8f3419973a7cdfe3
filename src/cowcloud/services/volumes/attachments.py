"""Volume attachments: the 3.27 attachments API and the state both it and the legacy actions
(attach_actions.py) drive, as Cinder keeps it.

An attachment goes reserved -> attaching (a connector was given: connection_info made) ->
attached (os-complete, or the legacy os-attach) and is removed when deleted (detached). The
volume's status and attach_status follow its attachments (Cinder's volume_detached): attached
> attaching > detaching > reserved, none left is available/detached. Status changes are
conditional UPDATEs (Cinder's conditional_update), so two clients reserving one volume at once
cannot both win, on SQLite and PostgreSQL alike.

What is not Cinder's: deleting an attachment that is connected to a server is not checked
against the compute service (Cinder's bug 2004555 check asks Nova); the compute service that
drives these calls is the one that knows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ...db.models import Volume, VolumeAttachment, VolumeType, utcnow
from ...tasks import PENDING, PROCESSING
from ..context import RequestContext
from ..errors import NotFound
from ..policy import allowed, enforce
from . import checks, connection, listing
from .access import load_volume, target
from .env import Env
from .errors import AttachmentNotFound, InvalidInput, InvalidVolume, ResourceConflict
from .views import Version, isotime

NEW_ATTACH = (3, 27)
ATTACH_COMPLETION = (3, 44)
CREATE_MODE_ARG = (3, 54)
MULTIATTACH_SPEC = "multiattach"
MULTIATTACH_ON = "<is> True"
# Cinder orders an attachment's statuses alphabetically to find the volume's: attached >
# attaching > detaching > reserved; errors count for nothing
_STATUS_OF = {"attached": "in-use", "detached": "available"}
_MIGRATION_DONE = (None, "success", "error", "none")
SORT_KEYS = ("id", "created_at", "updated_at", "volume_id", "instance_uuid", "attach_status")
FILTERS = {"volume_id", "status", "instance_id", "attach_status", "all_tenants",
           "project_id"}


def multiattach_type(vtype: VolumeType | None) -> bool:
    return bool(vtype and vtype.extra_specs.get(MULTIATTACH_SPEC) == MULTIATTACH_ON)


# ------------------------------------------------------------------ state


def conditional(s: Session, volume_id: str, values: dict[str, Any],
                **expected: tuple[Any, ...]) -> bool:
    """UPDATE volumes SET values WHERE id = volume_id AND each column is in its expected
    values; whether the row changed (a concurrent change makes it False)."""
    q = update(Volume).where(Volume.id == volume_id, Volume.deleted.is_(False))
    for column, values_ok in expected.items():
        col = getattr(Volume, column)
        q = q.where(col.in_([v for v in values_ok if v is not None]) | col.is_(None)
                    if None in values_ok else col.in_(values_ok))
    res = s.execute(q.values(**values, updated_at=utcnow()).execution_options(
        synchronize_session="fetch"))
    return res.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def of_volume(s: Session, volume_id: str) -> list[VolumeAttachment]:
    return list(s.scalars(select(VolumeAttachment).where(
        VolumeAttachment.volume_id == volume_id).order_by(VolumeAttachment.created_at)))


def statuses(s: Session, volume_id: str) -> tuple[str, str]:
    """(status, attach_status) the volume has by its remaining attachments."""
    found = sorted(a.attach_status for a in of_volume(s, volume_id)
                   if not a.attach_status.startswith("error_"))
    attach_status = found[0] if found else "detached"
    return _STATUS_OF.get(attach_status, attach_status), attach_status


def settle(s: Session, vol: Volume) -> None:
    """The volume's status from its attachments, unless an upload or a migration owns it
    (they put the status back themselves when they end), as Cinder's volume_detached."""
    status, attach_status = statuses(s, vol.id)
    vol.attach_status = attach_status
    if (attach_status != "detached" or (vol.migration_status in _MIGRATION_DONE
                                        and vol.status != "uploading")):
        vol.status = status
    vol.updated_at = utcnow()


def detach(s: Session, vol: Volume, attachment_id: str) -> None:
    """Removes the attachment (if still there) and settles the volume."""
    att = s.get(VolumeAttachment, attachment_id)
    if att is not None and att.volume_id == vol.id:
        s.delete(att)
        s.flush()
    settle(s, vol)


def reserve(s: Session, ctx: RequestContext, vol: Volume, instance_uuid: str | None,
            mode: str) -> VolumeAttachment:
    """A new `reserved` attachment; the volume goes `reserved` (Cinder's _attachment_reserve).
    Refused unless available (or in-use, for a multiattach volume), except for the same server
    again (an instance moving between hosts keeps its volume)."""
    if "error" in vol.status:
        raise InvalidVolume(f"Volume attachments can not be created if the volume is in an "
                            f"error state. The Volume {vol.id} currently has a status of: "
                            f"{vol.status} ")
    ok = ("available", "in-use", "downloading") if vol.multiattach else ("available",
                                                                          "downloading")
    if not conditional(s, vol.id, {"status": "reserved"}, status=ok):
        s.refresh(vol)
        same = instance_uuid is not None and vol.status in ("in-use", "reserved") and any(
            a.instance_uuid == instance_uuid for a in of_volume(s, vol.id))
        if not same:
            raise InvalidVolume(f"Volume {vol.id} status must be {' or '.join(ok)} to "
                                f"reserve, but the current status is {vol.status}.")
    att = VolumeAttachment(id=str(uuid.uuid4()), volume_id=vol.id, project_id=vol.project_id,
                           instance_uuid=instance_uuid, attach_status="reserved",
                           attach_mode=mode)
    s.add(att)
    s.flush()
    return att


def connected(s: Session, attachment_id: str, connector: dict[str, Any],
              info: dict[str, Any], mode: str) -> VolumeAttachment:
    """The attachment has its connection: attaching, as the volume (Cinder's volume_attached
    with mark_attached=False)."""
    att = s.get(VolumeAttachment, attachment_id)
    if att is None:
        raise AttachmentNotFound(attachment_id)
    vol = s.get(Volume, att.volume_id)
    assert vol is not None
    host = connector.get("host")
    mountpoint = connector.get("mountpoint")
    att.connector, att.connection_info = dict(connector), info
    att.attach_status, att.attach_mode = "attaching", mode
    att.attached_host = str(host) if host is not None else None
    att.mountpoint = str(mountpoint) if mountpoint is not None else "na"
    att.attach_time = utcnow()
    vol.status, vol.attach_status = "attaching", "attaching"
    vol.updated_at = utcnow()
    return att


def completed(s: Session, att: VolumeAttachment) -> None:
    vol = s.get(Volume, att.volume_id)
    assert vol is not None
    att.attach_status = "attached"
    att.updated_at = utcnow()
    vol.status, vol.attach_status = "in-use", "attached"
    vol.updated_at = utcnow()


def attached_to_server(s: Session, vol: Volume) -> bool:
    return any(a.attach_status in ("attached", "attaching", "detaching")
               for a in of_volume(s, vol.id))


# ------------------------------------------------------------------ views


def summary(att: VolumeAttachment) -> dict[str, Any]:
    return {"id": att.id, "status": att.attach_status, "instance": att.instance_uuid,
            "volume_id": att.volume_id}


def detail(att: VolumeAttachment) -> dict[str, Any]:
    return {**summary(att), "attached_at": isotime(att.attach_time) or "",
            "detached_at": isotime(att.detach_time) or "", "attach_mode": att.attach_mode,
            "connection_info": att.connection_info or {}}


def in_volume(s: Session, vol: Volume, ctx: RequestContext) -> list[dict[str, Any]]:
    """A volume's `attachments`, as Cinder's volume view lists them (attached ones only; the
    host for admins)."""
    return in_volumes(s, [vol.id], ctx)[vol.id]


def in_volumes(s: Session, volume_ids: list[str], ctx: RequestContext
               ) -> dict[str, list[dict[str, Any]]]:
    """in_volume for many volumes in one query: a listing of N volumes is then not N+1
    queries (a client polling /volumes/detail during a burst of creates pays for each)."""
    out: dict[str, list[dict[str, Any]]] = {vid: [] for vid in volume_ids}
    if not volume_ids:
        return out
    for a in s.scalars(select(VolumeAttachment).where(
            VolumeAttachment.volume_id.in_(volume_ids),
            VolumeAttachment.attach_status == "attached").order_by(
                VolumeAttachment.created_at)):
        out[a.volume_id].append({
            "id": a.volume_id, "attachment_id": a.id, "volume_id": a.volume_id,
            "server_id": a.instance_uuid, "host_name": a.attached_host if ctx.is_admin else None,
            "device": a.mountpoint, "attached_at": isotime(a.attach_time)})
    return out


# ------------------------------------------------------------------ the /attachments API


@dataclass(frozen=True)
class Ready:
    """An attachment whose connection is to be made (device work runs outside the session)."""

    attachment_id: str
    volume_id: str
    cluster: str
    pool: str
    mode: str
    connector: dict[str, Any]


def _version(version: Version, needed: Version = NEW_ATTACH) -> None:
    """Below its microversion the call does not exist: 404, as Cinder answers."""
    if version < needed:
        raise NotFound(f"The resource could not be found: this call needs microversion "
                       f"{needed[0]}.{needed[1]} or later (OpenStack-API-Version: volume "
                       f"{needed[0]}.{needed[1]}).")


def _connector(value: Any, *, required: bool) -> dict[str, Any] | None:
    if value is None and not required:
        return None
    if not isinstance(value, dict) or (required and not value):
        raise InvalidInput("connector must be an object with at least one property")
    return value


def _mode_of(att_mode: str, connector: dict[str, Any]) -> str:
    mode = att_mode if att_mode != "null" else connector.get("mode") or "rw"
    if mode not in ("rw", "ro"):
        raise InvalidInput(f"Invalid attach mode {mode!r}: rw or ro")
    return str(mode)


def load(s: Session, ctx: RequestContext, attachment_id: str, rule: str) -> VolumeAttachment:
    canonical = checks.canonical_id(attachment_id)
    att = s.get(VolumeAttachment, canonical) if canonical else None
    if att is None or not allowed(ctx, "volume:attachment_get", target(att.project_id)):
        raise AttachmentNotFound(attachment_id)
    enforce(ctx, rule, target(att.project_id))
    return att


def begin_create(s: Session, ctx: RequestContext, body: Any, version: Version
                 ) -> tuple[dict[str, Any], Ready | None]:
    _version(version)
    spec = checks.body_of(body, "attachment")
    known = {"volume_uuid", "instance_uuid", "connector"} | (
        {"mode"} if version >= CREATE_MODE_ARG else set())
    unknown = sorted(set(spec) - known)
    if unknown:
        raise InvalidInput(f"Additional properties are not allowed ({', '.join(unknown)} "
                           "were unexpected)")
    volume_uuid = spec.get("volume_uuid")
    if checks.canonical_id(volume_uuid) is None:
        raise InvalidInput("'volume_uuid' is a required property and must be a UUID")
    instance = spec.get("instance_uuid")
    if instance is not None and checks.canonical_id(instance) is None:
        raise InvalidInput(f"instance_uuid {instance!r} is not a UUID")
    connector = _connector(spec.get("connector"), required=False)
    mode = spec.get("mode", "null")
    if mode not in ("null", "rw", "ro"):
        raise InvalidInput(f"Invalid attach mode {mode!r}: rw or ro")
    vol = load_volume(s, ctx, volume_uuid, "volume:attachment_create")
    att = reserve(s, ctx, vol, checks.canonical_id(instance) if instance else None, mode)
    if connector is None:
        return detail(att), None
    return detail(att), Ready(att.id, vol.id, vol.cluster, vol.pool,
                              _mode_of(mode, connector), connector)


def begin_update(s: Session, ctx: RequestContext, attachment_id: str, body: Any,
                 version: Version) -> Ready:
    _version(version)
    spec = checks.body_of(body, "attachment")
    unknown = sorted(set(spec) - {"connector"})
    if unknown:
        raise InvalidInput(f"Additional properties are not allowed ({', '.join(unknown)} "
                           "were unexpected)")
    connector = _connector(spec.get("connector"), required=True)
    assert connector is not None
    att = load(s, ctx, attachment_id, "volume:attachment_update")
    vol = s.get(Volume, att.volume_id)
    assert vol is not None
    if "error" in vol.status:
        raise ResourceConflict(f"Volume attachments can not be updated if the volume is in "
                               f"an error state. The Volume {vol.id} currently has a status "
                               f"of: {vol.status} ")
    others = [a for a in of_volume(s, vol.id) if a.id != att.id and a.connection_info]
    if others and not vol.multiattach:
        # Two servers writing one non-multiattach volume: refused, as Cinder does (the same
        # server on two hosts, while it moves, is one attachment each, each reserved first)
        raise ResourceConflict(f"duplicate connectors detected on volume {vol.id}")
    return Ready(att.id, vol.id, vol.cluster, vol.pool, _mode_of(att.attach_mode, connector),
                 connector)


async def connect(env: Env, ready: Ready) -> dict[str, Any]:
    """Makes the connection_info and records it; the attachment's detail."""
    info = await connection.build(env, ready.cluster, ready.pool, ready.volume_id, ready.mode)
    flat = connection.flat(info, ready.attachment_id, ready.connector)

    def record(s: Session) -> dict[str, Any]:
        return detail(connected(s, ready.attachment_id, ready.connector, flat, ready.mode))
    return await env.run(record)


def drop(s: Session, attachment_id: str) -> None:
    """Undoes a reservation whose connection could not be made."""
    att = s.get(VolumeAttachment, attachment_id)
    if att is not None:
        vol = s.get(Volume, att.volume_id)
        assert vol is not None
        detach(s, vol, att.id)


def show(s: Session, ctx: RequestContext, attachment_id: str, version: Version
         ) -> dict[str, Any]:
    _version(version)
    return detail(load(s, ctx, attachment_id, "volume:attachment_get"))


def list_attachments(s: Session, ctx: RequestContext, params: dict[str, str],
                     version: Version, *, detailed: bool) -> list[dict[str, Any]]:
    _version(version)
    listing.check_known(params, FILTERS, version)
    q = select(VolumeAttachment)
    all_tenants = ctx.is_admin and checks.boolean(params.get("all_tenants", "0"), "all_tenants")
    if all_tenants and "project_id" in params:
        q = q.where(VolumeAttachment.project_id == params["project_id"])
    elif not all_tenants:
        q = q.where(VolumeAttachment.project_id == ctx.project_id)
    if "volume_id" in params:
        q = q.where(VolumeAttachment.volume_id == params["volume_id"])
    if "instance_id" in params:
        q = q.where(VolumeAttachment.instance_uuid == params["instance_id"])
    for key in ("status", "attach_status"):
        if key in params:
            q = q.where(VolumeAttachment.attach_status == params[key])
    rows = listing.sort_rows(list(s.scalars(q)), listing.sort_keys(params, SORT_KEYS),
                             getattr)
    chunk, _more = listing.page(rows, params, lambda r: r.id, AttachmentNotFound)
    return [detail(r) if detailed else summary(r) for r in chunk]


def delete(s: Session, ctx: RequestContext, attachment_id: str, version: Version
           ) -> list[dict[str, Any]]:
    """Removes the attachment (the volume settles: available once none is left); the
    volume's remaining attachments, as Cinder answers."""
    _version(version)
    att = load(s, ctx, attachment_id, "volume:attachment_delete")
    vol = s.get(Volume, att.volume_id)
    assert vol is not None
    detach(s, vol, att.id)
    return [summary(a) for a in of_volume(s, vol.id)]


def complete(s: Session, ctx: RequestContext, attachment_id: str, body: Any,
             version: Version) -> None:
    _version(version, ATTACH_COMPLETION)
    if not isinstance(body, dict) or list(body) != ["os-complete"]:
        raise InvalidInput("'os-complete' is a required property (and the only one)")
    att = load(s, ctx, attachment_id, "volume:attachment_complete")
    if att.attach_status not in ("attaching", "attached"):
        raise InvalidInput(f"Attachment {att.id} has no connection yet (status "
                           f"{att.attach_status}): update it with a connector first")
    completed(s, att)


# ------------------------------------------------------------------ deleting a volume


def check_deletable(s: Session, env: Env, vol: Volume, *, force: bool) -> None:
    """A volume attached to a server is never deleted, forced or not (as Cinder, whose force
    delete still needs attach_status other than attached); nor one whose device a running
    task of this service holds (a build, a delete, an upload), which forcing cannot stop.
    Forced, the reservations left without a connection go with the volume."""
    if vol.attach_status == "attached" or attached_to_server(s, vol):
        raise InvalidVolume(f"Volume {vol.id} is attached (status {vol.status}): detach it "
                            "before deleting it.")
    if force:
        busy = [t for t in env.tasks.for_resource(vol.id) if t.status in (PENDING, PROCESSING)]
        if busy:
            raise InvalidVolume(f"Volume {vol.id} is being worked on ({busy[0].kind}): it "
                                "can be deleted once that ends.")
        for att in of_volume(s, vol.id):
            s.delete(att)
        vol.attach_status = "detached"
    elif of_volume(s, vol.id):
        raise InvalidVolume(f"Volume {vol.id} has attachments: delete them first.")
