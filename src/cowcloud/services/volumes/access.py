"""Loading volumes and snapshots through policy: another project's volume is a 404, as in Cinder
(its queries are scoped to the caller's project), and the rule's name is in any 403."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ...db.models import Volume, VolumeSnapshot
from ..context import RequestContext
from ..policy import allowed, enforce
from . import checks
from .errors import SnapshotNotFound, VolumeNotFound


def target(project_id: str) -> dict[str, str]:
    return {"project_id": project_id}


def load_volume(s: Session, ctx: RequestContext, volume_id: str, rule: str) -> Volume:
    canonical = checks.canonical_id(volume_id)
    vol = s.get(Volume, canonical) if canonical else None
    if vol is None or vol.deleted or not allowed(ctx, "volume:get", target(vol.project_id)):
        raise VolumeNotFound(volume_id)
    enforce(ctx, rule, target(vol.project_id))
    return vol


def load_snapshot(s: Session, ctx: RequestContext, snapshot_id: str, rule: str
                  ) -> VolumeSnapshot:
    canonical = checks.canonical_id(snapshot_id)
    snap = s.get(VolumeSnapshot, canonical) if canonical else None
    if snap is None or snap.deleted or not allowed(ctx, "volume:get_snapshot",
                                                   target(snap.project_id)):
        raise SnapshotNotFound(snapshot_id)
    enforce(ctx, rule, target(snap.project_id))
    return snap
