"""Volumes and snapshots as the Block Storage v3 API shows them, per microversion (3.0-MAX)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ...db.models import Volume, VolumeSnapshot
from ..context import RequestContext

MIN_VERSION = (3, 0)
# 3.67: project_id is optional in URLs (always so here). Later versions add calls this slice
# does not have (re-image 3.68, extend completion 3.71), so they are not claimed.
MAX_VERSION = (3, 67)
Version = tuple[int, int]


def isotime(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def links(base: str, kind: str, item_id: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": f"{base}/{kind}/{item_id}"},
            {"rel": "bookmark", "href": f"{base}/{kind}/{item_id}"}]


def volume_summary(vol: Volume, base: str) -> dict[str, Any]:
    return {"id": vol.id, "name": vol.name, "links": links(base, "volumes", vol.id)}


def volume_detail(vol: Volume, type_name: str, ctx: RequestContext, version: Version,
                  base: str, *, extended: bool = True,
                  attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`extended=False` for create and update answers: Cinder's extensions add the os-vol-*-attr
    fields (tenant, host, migration) and volume_image_metadata only to show and list, and
    clients validating the create answer (tempest's schemas) refuse them there."""
    out: dict[str, Any] = {
        "id": vol.id, "name": vol.name, "description": vol.description, "status": vol.status,
        "size": vol.size, "availability_zone": vol.availability_zone,
        "created_at": isotime(vol.created_at), "updated_at": isotime(vol.updated_at),
        "attachments": attachments or [], "links": links(base, "volumes", vol.id),
        "bootable": "true" if vol.bootable else "false",  # a string, as Cinder sends it
        "encrypted": False, "multiattach": bool(vol.multiattach), "replication_status": None,
        "consistencygroup_id": None, "snapshot_id": vol.snapshot_id,
        "source_volid": vol.source_volid, "user_id": vol.user_id,
        "metadata": dict(vol.meta), "volume_type": type_name,
        "migration_status": vol.migration_status,
    }
    if extended:
        out["os-vol-tenant-attr:tenant_id"] = vol.project_id
    if vol.image_meta and extended:
        out["volume_image_metadata"] = dict(vol.image_meta)
    if ctx.is_admin and extended:
        out["os-vol-host-attr:host"] = f"cowcloud@{vol.backend}#{vol.pool}"
        out["os-vol-mig-status-attr:migstat"] = vol.migration_status
        out["os-vol-mig-status-attr:name_id"] = None
    if version >= (3, 13):
        out["group_id"] = None
    if version >= (3, 21) and ctx.is_admin:
        out["provider_id"] = None
    if version >= (3, 48):
        out["service_uuid"] = None
        out["shared_targets"] = False
    if version >= (3, 61) and ctx.is_admin:
        out["cluster_name"] = None
    if version >= (3, 63):
        out["volume_type_id"] = vol.volume_type_id
    if version >= (3, 65):
        out["consumes_quota"] = True
    return out


def snapshot_view(snap: VolumeSnapshot, version: Version, *, detail: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": snap.id, "name": snap.name, "description": snap.description,
        "status": snap.status, "size": snap.size, "volume_id": snap.volume_id,
        "created_at": isotime(snap.created_at), "updated_at": isotime(snap.updated_at),
        "metadata": dict(snap.meta),
    }
    if detail:
        out["os-extended-snapshot-attributes:progress"] = snap.progress or (
            "100%" if snap.status == "available" else "0%")
        out["os-extended-snapshot-attributes:project_id"] = snap.project_id
    if version >= (3, 14):
        out["group_snapshot_id"] = None
    if version >= (3, 41):
        out["user_id"] = snap.user_id
    if version >= (3, 65):
        out["consumes_quota"] = True
    return out
