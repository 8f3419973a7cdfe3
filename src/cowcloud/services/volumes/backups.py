"""Backup records: create (the row and its task in one transaction), read, list, update,
delete, restore, reset status, in Cinder's shapes and words. Bytes move in backup_devices.py,
run by the tasks in backup_tasks.py.

Where a backup goes: Cinder has one backup backend per service and no choice per backup but
`container` (the Swift container; the Ceph driver ignores it) and, from 3.51, the backup
service's `availability_zone`. Here `container` names a configured [backup_targets.NAME];
else `availability_zone` picks the default target if it is in that zone, or the first one
there; else the default target. An incremental's parent is the volume's newest backup (in the chosen
target, if one was chosen), and the incremental goes where its parent is (its chain's device).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...block.targets import Target
from ...db.models import Volume, VolumeBackup, VolumeSnapshot, utcnow
from ..context import RequestContext
from ..errors import Unavailable
from ..policy import allowed, enforce
from . import checks, listing, quotas, types
from .access import load_snapshot, load_volume, target
from .backup_devices import CREATE_KIND, DELETE_KIND, RESTORE_KIND, base_name, snap_name
from .env import Env, GiB
from .errors import BackupNotFound, InvalidBackup, InvalidInput, InvalidVolume
from .views import Version, isotime, links

SORT_KEYS = ("id", "name", "status", "size", "created_at", "updated_at", "volume_id",
             "data_timestamp", "availability_zone", "container", "object_count")
FILTERS = {"name", "status", "volume_id", "all_tenants", "project_id", "availability_zone"}
DELETABLE = ("available", "error", "error_deleting")
RESET_TO = ("available", "error")  # what Cinder's os-reset_status accepts for a backup


@dataclass(frozen=True)
class CreateRequest:
    volume_id: str
    container: str | None
    name: str | None
    description: str | None
    incremental: bool
    force: bool
    snapshot_id: str | None
    metadata: dict[str, str]
    availability_zone: str | None


def parse_create(body: Any) -> CreateRequest:
    spec = checks.body_of(body, "backup")
    volume_id = spec.get("volume_id")
    if not isinstance(volume_id, str):
        raise InvalidInput("'volume_id' is a required property")
    snapshot_id = spec.get("snapshot_id")
    if snapshot_id is not None and not isinstance(snapshot_id, str):
        raise InvalidInput("snapshot_id must be a string")
    return CreateRequest(
        volume_id=volume_id, container=checks.text(spec.get("container"), "container"),
        name=checks.text(spec.get("name"), "name"),
        description=checks.text(spec.get("description"), "description"),
        incremental=checks.boolean(spec.get("incremental", False), "incremental"),
        force=checks.boolean(spec.get("force", False), "force"), snapshot_id=snapshot_id,
        metadata=checks.metadata(spec.get("metadata") or {}),
        availability_zone=checks.text(spec.get("availability_zone"), "availability_zone"))


def choose_target(env: Env, container: str | None, zone: str | None) -> Target:
    found = env.targets.of("backup_targets")
    if container is not None:
        chosen = found.get(container)
        if chosen is None:
            raise InvalidInput(f"Backup container {container!r} is not a configured backup "
                               f"target (configured: {', '.join(found) or 'none'})")
        if zone is not None and chosen.site != zone:
            raise InvalidInput(f"Backup container {container!r} is in availability zone "
                               f"{chosen.site!r}, not {zone!r}")
        return chosen
    default = env.targets.default("backup_targets")
    if zone is not None:
        here = [t for t in found.values() if t.site == zone]
        if not here:
            raise InvalidInput(f"Availability zone '{zone}' has no backup target.")
        return default if default in here else here[0]
    if default is None:
        raise Unavailable("No backup target is configured: backups need a "
                          "[backup_targets.NAME] section in the configuration")
    return default


def _latest(s: Session, volume_id: str, target_name: str | None) -> VolumeBackup | None:
    """An incremental's parent: the volume's newest backup (Cinder's choice), in that target
    when one was asked for."""
    q = select(VolumeBackup).where(
        VolumeBackup.volume_id == volume_id, VolumeBackup.deleted.is_(False),
        VolumeBackup.status == "available")
    if target_name is not None:
        q = q.where(VolumeBackup.target == target_name)
    return s.scalar(q.order_by(VolumeBackup.data_timestamp.desc(),
                               VolumeBackup.created_at.desc()).limit(1))


def create(s: Session, env: Env, ctx: RequestContext, req: CreateRequest, version: Version,
           base: str) -> dict[str, Any]:
    enforce(ctx, "backup:create", {"project_id": ctx.project_id})
    if ctx.project_id is None:
        raise InvalidInput("A project-scoped token is needed to create a backup.")
    vol = load_volume(s, ctx, req.volume_id, "volume:get")
    snap = None
    if req.snapshot_id is not None:
        snap = load_snapshot(s, ctx, req.snapshot_id, "volume:get_snapshot")
        if snap.volume_id != vol.id:
            raise InvalidInput(f"Snapshot {snap.id} is not a snapshot of volume {vol.id}.")
        if snap.status != "available":
            raise InvalidBackup(f"Snapshot to be backed up must be available, but the current "
                                f"status is \"{snap.status}\".")
        if vol.status not in ("available", "in-use"):
            raise InvalidVolume(f"Volume to be backed up must be available or in-use, but the "
                                f"current status is \"{vol.status}\".")
    elif vol.status == "in-use" and not req.force:
        raise InvalidVolume("Backing up an in-use volume must use the force flag.")
    elif vol.status not in ("available", "in-use"):
        raise InvalidVolume(f"Volume to be backed up must be available or in-use, but the "
                            f"current status is \"{vol.status}\".")
    data_time = snap.created_at if snap is not None else utcnow()
    bid = str(uuid.uuid4())
    parent = None
    chosen = req.container is not None or req.availability_zone is not None
    tgt = choose_target(env, req.container, req.availability_zone) if chosen else None
    if req.incremental:
        parent = _latest(s, vol.id, tgt.name if tgt else None)
        if parent is None:
            raise InvalidBackup("No backups available to do an incremental backup.")
        if tgt is None:  # an incremental goes where its parent's chain is
            tgt = env.targets.of("backup_targets").get(parent.target)
            if tgt is None:
                raise InvalidBackup(f"Backup {parent.id} is in target {parent.target!r}, "
                                    "which is not configured any more.")
        if parent.data_timestamp > data_time:
            raise InvalidBackup(f"The latest backup {parent.id} is newer than snapshot "
                                f"{snap.id if snap else ''}: an incremental counts changes "
                                "since it, so it cannot hold an older point in time.")
    if tgt is None:
        tgt = choose_target(env, None, None)
    point = snap_name(bid, time.time())
    source_snap = f"snapshot-{snap.id}" if snap is not None else point
    backup = VolumeBackup(
        id=bid, name=req.name, description=req.description, project_id=ctx.project_id,
        user_id=ctx.user_id, volume_id=vol.id, snapshot_id=snap.id if snap else None,
        status="creating", size=vol.size, target=tgt.name, cluster=tgt.cluster, pool=tgt.pool,
        availability_zone=tgt.site, base=parent.base if parent else base_name(vol.id, bid),
        snap=point, source_snap=source_snap, parent_id=parent.id if parent else None,
        is_incremental=parent is not None, data_timestamp=data_time, meta=req.metadata)
    quotas.consume(s, env.settings.volume, ctx.project_id, backups=1, backup_gigabytes=vol.size)
    s.add(backup)
    previous = None
    if snap is not None:
        snap.status = "backing-up"
    else:
        previous, vol.status = vol.status, "backing-up"
    s.flush()
    env.tasks.add(s, CREATE_KIND, resource_id=bid, owner=ctx.project_id, input={
        "backup_id": bid, "volume_id": vol.id, "snapshot_id": backup.snapshot_id,
        "volume_status": previous,
        "source": {"cluster": vol.cluster, "pool": vol.pool, "device": f"volume-{vol.id}",
                   "snap": source_snap, "own_snap": snap is None},
        "target": {"cluster": tgt.cluster, "pool": tgt.pool, "base": backup.base,
                   "snap": point},
        "since": parent.source_snap if parent else None})
    out: dict[str, Any] = {"id": bid, "name": backup.name,
                           "links": links(base, "backups", bid)}
    if version >= (3, 43):
        out["metadata"] = dict(backup.meta)
    return out


# ------------------------------------------------------------------ reading

def load_backup(s: Session, ctx: RequestContext, backup_id: str, rule: str) -> VolumeBackup:
    canonical = checks.canonical_id(backup_id)
    backup = s.get(VolumeBackup, canonical) if canonical else None
    if backup is None or backup.deleted or not allowed(ctx, "backup:get",
                                                       target(backup.project_id)):
        raise BackupNotFound(backup_id)
    enforce(ctx, rule, target(backup.project_id))
    return backup


def _dependents(s: Session, ids: list[str]) -> set[str]:
    """Those of `ids` that a live backup names as its parent."""
    if not ids:
        return set()
    return set(s.scalars(select(VolumeBackup.parent_id).where(
        VolumeBackup.parent_id.in_(ids), VolumeBackup.deleted.is_(False))))


def _time(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def view(b: VolumeBackup, has_dependents: bool, ctx: RequestContext, version: Version,
         base: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": b.id, "name": b.name, "description": b.description, "status": b.status,
        "size": b.size, "object_count": b.object_count, "container": b.target,
        "availability_zone": b.availability_zone, "created_at": isotime(b.created_at),
        "updated_at": isotime(b.updated_at), "fail_reason": b.fail_reason,
        "volume_id": b.volume_id, "snapshot_id": b.snapshot_id,
        "links": links(base, "backups", b.id), "is_incremental": b.is_incremental,
        "has_dependent_backups": has_dependents,
        "data_timestamp": isotime(_time(b.data_timestamp)),
    }
    if version >= (3, 18) and ctx.is_admin:
        out["os-backup-project-attr:project_id"] = b.project_id
    if version >= (3, 43):
        out["metadata"] = dict(b.meta)
    if version >= (3, 56):
        out["user_id"] = b.user_id
    if version >= (3, 64):
        out["encryption_key_id"] = None
    return out


def show(s: Session, ctx: RequestContext, backup_id: str, version: Version, base: str
         ) -> dict[str, Any]:
    b = load_backup(s, ctx, backup_id, "backup:get")
    return view(b, bool(_dependents(s, [b.id])), ctx, version, base)


def list_backups(s: Session, ctx: RequestContext, params: dict[str, str], version: Version,
                 base: str, *, detail: bool) -> dict[str, Any]:
    enforce(ctx, "backup:get_all")
    listing.check_known(params, FILTERS, version)
    q = select(VolumeBackup).where(VolumeBackup.deleted.is_(False))
    all_tenants = ctx.is_admin and checks.boolean(params.get("all_tenants", "0"), "all_tenants")
    if all_tenants and "project_id" in params:
        q = q.where(VolumeBackup.project_id == params["project_id"])
    elif not all_tenants:
        q = q.where(VolumeBackup.project_id == ctx.project_id)
    for key in ("name", "status", "volume_id", "availability_zone"):
        if key in params:
            q = q.where(getattr(VolumeBackup, key) == params[key])
    rows = list(s.scalars(q))
    total = len(rows)
    rows = listing.sort_rows(rows, listing.sort_keys(params, SORT_KEYS),
                             lambda r, k: r.target if k == "container" else getattr(r, k))
    chunk, more = listing.page(rows, params, lambda r: r.id, BackupNotFound)
    if detail:
        deps = _dependents(s, [r.id for r in chunk])
        items = [view(r, r.id in deps, ctx, version, base) for r in chunk]
    else:
        items = [{"id": r.id, "name": r.name, "links": links(base, "backups", r.id)}
                 for r in chunk]
    out: dict[str, Any] = {"backups": items}
    if more:
        query = urlencode({**params, "marker": chunk[-1].id})
        out["backups_links"] = [{"rel": "next", "href":
                                 f"{base}/backups{'/detail' if detail else ''}?{query}"}]
    if version >= (3, 45) and checks.boolean(params.get("with_count", "false"), "with_count"):
        out["count"] = total
    return out


def update(s: Session, ctx: RequestContext, backup_id: str, body: Any, version: Version,
           base: str) -> dict[str, Any]:
    spec = checks.body_of(body, "backup")
    b = load_backup(s, ctx, backup_id, "backup:update")
    allowed_keys = {"name", "description"} | ({"metadata"} if version >= (3, 43) else set())
    unknown = sorted(set(spec) - allowed_keys)
    if unknown or not spec:
        raise InvalidInput(f"Invalid attribute(s) {', '.join(unknown) or '(none given)'}: "
                           f"one of {', '.join(sorted(allowed_keys))} may be updated")
    if "name" in spec:
        b.name = checks.text(spec["name"], "name")
    if "description" in spec:
        b.description = checks.text(spec["description"], "description")
    if "metadata" in spec:
        b.meta = checks.metadata(spec["metadata"])
    b.updated_at = utcnow()
    out: dict[str, Any] = {"id": b.id, "name": b.name, "links": links(base, "backups", b.id)}
    if version >= (3, 43):
        out["metadata"] = dict(b.meta)
    return out


# ------------------------------------------------------------------ delete, restore, reset

def start_delete(s: Session, env: Env, ctx: RequestContext, backup_id: str) -> None:
    b = load_backup(s, ctx, backup_id, "backup:delete")
    if b.status not in DELETABLE:
        raise InvalidBackup(f"Backup status must be available or error, but current status "
                            f"is: {b.status}.")
    if _dependents(s, [b.id]):
        raise InvalidBackup("Incremental backups exist for this backup.")
    b.status = "deleting"
    vol = s.get(Volume, b.volume_id)
    source = None
    if vol is not None and not vol.deleted and b.source_snap == b.snap:
        source = {"cluster": vol.cluster, "pool": vol.pool, "device": f"volume-{vol.id}",
                  "snap": b.source_snap}
    env.tasks.add(s, DELETE_KIND, resource_id=b.id, owner=b.project_id, input={
        "backup_id": b.id, "cluster": b.cluster, "pool": b.pool, "base": b.base, "snap": b.snap,
        "source": source})


def start_restore(s: Session, env: Env, ctx: RequestContext, backup_id: str, body: Any,
                  base: str) -> dict[str, Any]:
    spec = checks.body_of(body, "restore")
    b = load_backup(s, ctx, backup_id, "backup:restore")
    volume_id = spec.get("volume_id")
    name = checks.text(spec.get("name"), "name")
    if b.status != "available":
        raise InvalidBackup(f"Backup status must be available, but current status is: "
                            f"{b.status}.")
    if volume_id is not None:
        if not isinstance(volume_id, str):
            raise InvalidInput("volume_id must be a string")
        vol = load_volume(s, ctx, volume_id, "volume:update")
        if vol.status != "available":
            raise InvalidVolume(f"Volume to be restored to must be available, but the current "
                                f"status is \"{vol.status}\".")
        if vol.size < b.size:
            raise InvalidVolume(f"volume size {vol.size} is too small to restore backup of "
                                f"size {b.size}.")
        new = False
    else:
        if ctx.project_id is None:
            raise InvalidInput("A project-scoped token is needed to restore into a new volume.")
        enforce(ctx, "volume:create", {"project_id": ctx.project_id})
        vtype = types.find(s, types.DEFAULT_TYPE)
        tgt = types.backend_of(env, vtype)
        quotas.consume(s, env.settings.volume, ctx.project_id, volumes=1, gigabytes=b.size,
                       volume_size=b.size)
        vol = Volume(id=str(uuid.uuid4()), name=name or f"restore_backup_{b.id}",
                     description=f"auto-created_from_restore_from_backup {b.id}",
                     project_id=ctx.project_id, user_id=ctx.user_id, status="creating",
                     size=b.size, volume_type_id=vtype.id, backend=tgt.name,
                     cluster=tgt.cluster, pool=tgt.pool, availability_zone=tgt.site,
                     meta={}, image_meta={})
        s.add(vol)
        new = True
    vol.status = "restoring-backup"
    b.status = "restoring"
    s.flush()
    env.tasks.add(s, RESTORE_KIND, resource_id=b.id, owner=ctx.project_id, input={
        "backup_id": b.id, "volume_id": vol.id, "new": new, "size": vol.size * GiB,
        "backup": {"cluster": b.cluster, "pool": b.pool, "base": b.base, "snap": b.snap},
        "volume": {"cluster": vol.cluster, "pool": vol.pool}})
    return {"backup_id": b.id, "volume_id": vol.id, "volume_name": vol.name or ""}


def reset_status(s: Session, ctx: RequestContext, backup_id: str, arg: Any) -> None:
    b = load_backup(s, ctx, backup_id, "volume_extension:backup_admin_actions:reset_status")
    status = arg.get("status") if isinstance(arg, dict) else None
    if status not in RESET_TO:
        raise InvalidInput(f"Backup status {status!r} is not allowed: one of "
                           f"{', '.join(RESET_TO)}")
    b.status = status
    b.updated_at = utcnow()


# ------------------------------------------------------------------ what the tasks record

def finish_create(s: Session, inp: dict[str, Any], result: dict[str, Any] | None,
                  message: str = "") -> None:
    """Backup available (or error with why); the volume or snapshot back as it was."""
    b = s.get(VolumeBackup, inp["backup_id"])
    if b is not None and b.status == "creating":
        if result is None:
            b.status, b.fail_reason = "error", message or "backup failed"
        else:
            b.status = "available"
            b.object_count = -(-result["written"] // (4 << 20))  # Cinder RBD's 4 MiB objects
            if result["full"] and b.is_incremental:
                # the parent's point in time was gone: Cinder's driver forces a full backup
                b.is_incremental, b.parent_id, b.base = False, None, result["base"]
    if inp.get("snapshot_id"):
        snap = s.get(VolumeSnapshot, inp["snapshot_id"])
        if snap is not None and snap.status == "backing-up":
            snap.status = "available"
    else:
        vol = s.get(Volume, inp["volume_id"])
        if vol is not None and vol.status == "backing-up":
            vol.status = inp.get("volume_status") or "available"


def finish_restore(s: Session, inp: dict[str, Any], ok: bool, message: str = "") -> None:
    b = s.get(VolumeBackup, inp["backup_id"])
    if b is not None and b.status == "restoring":
        b.status = "available"
    vol = s.get(Volume, inp["volume_id"])
    if vol is not None and vol.status == "restoring-backup":
        vol.status = "available" if ok else "error_restoring"
        vol.message = message


def finish_delete(s: Session, backup_id: str, ok: bool, message: str = "") -> None:
    b = s.get(VolumeBackup, backup_id)
    if b is None or b.status != "deleting":
        return
    if ok:
        b.deleted, b.status, b.deleted_at = True, "deleted", utcnow()
    else:
        b.status, b.fail_reason = "error_deleting", message
