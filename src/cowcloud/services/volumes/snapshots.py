"""Volume snapshots: device snapshot `snapshot-<id>` of the volume's device, protected at once
(as Cinder's RBD driver does, CIN-05) so volumes can be cloned from it. A snapshot whose clones
still exist when it is deleted keeps its device snapshot until the last clone goes."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import Volume, VolumeSnapshot, utcnow
from ..context import RequestContext
from ..policy import enforce
from . import checks, listing, quotas
from .access import load_snapshot, load_volume
from .env import SNAPSHOT_DELETE_KIND, Env
from .errors import (
    InvalidInput,
    InvalidSnapshot,
    InvalidVolume,
    SnapshotNotFound,
    VolumeNotFound,
)
from .views import Version, snapshot_view
from .volumes import building_from

SNAPSHOT_IN_USE = (3, 66)
SNAPSHOT_IN_USE_FLAG_MSG = ("Since microversion 3.66 the 'force' flag is invalid for this "
                            "request.  For backward compatability, however, when the 'force' "
                            "flag is passed with a value evaluating to True, it is silently "
                            "ignored.")
SORT_KEYS = ("id", "name", "status", "size", "created_at", "updated_at", "volume_id")
FILTERS = {"name", "status", "volume_id", "all_tenants", "project_id", "metadata"}


def begin_create(s: Session, env: Env, ctx: RequestContext, body: Any, version: Version
                 ) -> dict[str, Any]:
    """The row (status creating), written before the device snapshot is."""
    spec = checks.body_of(body, "snapshot")
    volume_id = spec.get("volume_id")
    if "volume_id" in spec and volume_id is None:  # Cinder looks it up, and finds none
        raise VolumeNotFound("None")
    if not isinstance(volume_id, str):
        raise InvalidInput("'volume_id' is a required property")
    force = checks.boolean(spec.get("force", False), "force")
    if version >= SNAPSHOT_IN_USE and "force" in spec and not force:
        raise InvalidInput(SNAPSHOT_IN_USE_FLAG_MSG)
    vol = load_volume(s, ctx, volume_id, "volume:create_snapshot")
    # An in-use volume needs `force` before 3.66, as in Cinder; its snapshot is what a crash
    # would have left on the disk, which only a backend with live snapshots can take.
    in_use_ok = force or version >= SNAPSHOT_IN_USE
    if vol.status != "available" and not (in_use_ok and vol.status == "in-use"):
        ok = "available, in-use" if in_use_ok else "available"
        raise InvalidVolume(f"Volume {vol.id} status must be {ok}, but current status is: "
                            f"{vol.status}.")
    if vol.status == "in-use" and not env.backend(vol.cluster).info.live_snapshot:
        raise InvalidVolume(f"Volume {vol.id} is in use on backend {vol.backend}, whose "
                            "snapshots cannot be taken under a running guest: detach it "
                            "first.")
    quotas.consume(s, env.settings.volume, vol.project_id, snapshots=1, gigabytes=vol.size)
    snap = VolumeSnapshot(
        id=str(uuid.uuid4()), project_id=vol.project_id, user_id=ctx.user_id,
        volume_id=vol.id, status="creating", size=vol.size,
        name=checks.text(spec.get("name", spec.get("display_name")), "name"),
        description=checks.text(spec.get("description", spec.get("display_description")),
                                "description", max_len=65535),
        meta=checks.metadata(spec.get("metadata") or {}))
    s.add(snap)
    s.flush()
    return {"id": snap.id, "cluster": vol.cluster, "pool": vol.pool, "volume_id": vol.id}


def finish_create(s: Session, snapshot_id: str, ok: bool, version: Version
                  ) -> dict[str, Any] | None:
    snap = s.get(VolumeSnapshot, snapshot_id)
    if snap is None:
        return None
    if ok:
        snap.status = "available"
    else:
        snap.deleted, snap.status, snap.deleted_at = True, "deleted", utcnow()
    # create and update answer without the os-extended-snapshot-attributes, as Cinder's do
    return snapshot_view(snap, version, detail=False)


def show(s: Session, ctx: RequestContext, snapshot_id: str, version: Version
         ) -> dict[str, Any]:
    return snapshot_view(load_snapshot(s, ctx, snapshot_id, "volume:get_snapshot"), version,
                         detail=True)


def list_snapshots(s: Session, ctx: RequestContext, params: dict[str, str], version: Version,
                   base: str, *, detail: bool) -> dict[str, Any]:
    enforce(ctx, "volume:get_all_snapshots")
    listing.check_known(params, FILTERS, version)
    q = select(VolumeSnapshot).where(VolumeSnapshot.deleted.is_(False))
    all_tenants = ctx.is_admin and checks.boolean(params.get("all_tenants", "0"), "all_tenants")
    if all_tenants and "project_id" in params:
        q = q.where(VolumeSnapshot.project_id == params["project_id"])
    elif not all_tenants:
        q = q.where(VolumeSnapshot.project_id == ctx.project_id)
    for key in ("name", "status", "volume_id"):
        if key in params:
            q = q.where(getattr(VolumeSnapshot, key) == params[key])
    rows = list(s.scalars(q))
    if "metadata" in params:
        meta = listing.metadata_filter(params["metadata"])
        rows = [r for r in rows if all(r.meta.get(k) == v for k, v in meta.items())]
    rows = listing.sort_rows(rows, listing.sort_keys(params, SORT_KEYS), getattr)
    chunk, more = listing.page(rows, params, lambda r: r.id, SnapshotNotFound)
    out: dict[str, Any] = {"snapshots": [snapshot_view(r, version, detail=detail)
                                         for r in chunk]}
    if more:
        query = urlencode({**params, "marker": chunk[-1].id})
        out["snapshots_links"] = [{"rel": "next", "href":
                                   f"{base}/snapshots{'/detail' if detail else ''}?{query}"}]
    return out


def update(s: Session, ctx: RequestContext, snapshot_id: str, body: Any, version: Version
           ) -> dict[str, Any]:
    spec = checks.body_of(body, "snapshot")
    snap = load_snapshot(s, ctx, snapshot_id, "volume:update_snapshot")
    allowed = {"name", "description", "display_name", "display_description"}
    unknown = sorted(set(spec) - allowed)
    if unknown or not spec:
        raise InvalidInput(f"Invalid attribute(s) {', '.join(unknown) or '(none given)'}: "
                           f"one of {', '.join(sorted(allowed))} may be updated")
    if "name" in spec or "display_name" in spec:
        snap.name = checks.text(spec.get("name", spec.get("display_name")), "name")
    if "description" in spec or "display_description" in spec:
        snap.description = checks.text(spec.get("description",
                                                spec.get("display_description")),
                                       "description", max_len=65535)
    snap.updated_at = utcnow()
    return snapshot_view(snap, version, detail=False)


def start_delete(s: Session, env: Env, ctx: RequestContext, snapshot_id: str, *,
                 force: bool = False) -> None:
    """Marks the snapshot deleting and adds the delete task. `force` (an admin's
    os-force_delete, under its own rule) skips the status check, not the one for volumes built
    from it."""
    snap = load_snapshot(s, ctx, snapshot_id,
                         "volume_extension:snapshot_admin_actions:force_delete" if force
                         else "volume:delete_snapshot")
    if not force and snap.status not in ("available", "error", "error_deleting"):
        raise InvalidSnapshot(f"Snapshot {snap.id} status must be available, error or "
                              f"error_deleting, but current status is: {snap.status}.")
    if building_from(s, snapshot_id=snap.id):
        raise InvalidSnapshot(f"Snapshot {snap.id} is the source of a volume being created.")
    vol = s.get(Volume, snap.volume_id)
    assert vol is not None
    snap.status = "deleting"
    env.tasks.add(s, SNAPSHOT_DELETE_KIND, resource_id=snap.id, input={
        "snapshot_id": snap.id, "volume_id": vol.id, "cluster": vol.cluster, "pool": vol.pool})
