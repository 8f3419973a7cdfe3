"""Volume records: create (the row and its build task in one transaction), read, list, update,
metadata, extend, delete. Bytes move in graph.py, run by the tasks in handlers.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...config import VolumeSettings
from ...db.models import Volume, VolumeSnapshot, VolumeType, utcnow
from ..context import RequestContext
from ..policy import enforce
from . import attachments, checks, listing, quotas, types
from .access import load_snapshot, load_volume
from .env import CREATE_KIND, DELETE_KIND, Env, GiB
from .errors import InvalidInput, InvalidVolume, VolumeNotFound, VolumeTypeNotFound
from .image_copy import copies_of
from .views import Version, volume_detail, volume_summary

# Cinder's reserved image properties, never copied into volume_image_metadata
_IMAGE_KEYS = ("image_id", "image_name", "checksum", "container_format", "disk_format",
               "min_disk", "min_ram", "size")
# Cinder's, and error_deleting: a delete that failed (a cluster away for a while) may be retried
DELETABLE = ("available", "error", "error_restoring", "error_extending", "error_managing",
             "error_deleting")
SORT_KEYS = ("id", "name", "status", "size", "created_at", "updated_at", "availability_zone",
             "bootable")
FILTERS = {"name", "status", "metadata", "bootable", "all_tenants", "project_id",
           "availability_zone", "volume_type"}


@dataclass(frozen=True)
class CreateRequest:
    """A create body, checked before anything is looked up."""

    size: int | None
    name: str | None
    description: str | None
    volume_type: str | None
    image_id: str | None
    snapshot_id: str | None
    source_volid: str | None
    metadata: dict[str, str]
    availability_zone: str | None
    multiattach: bool = False  # asked in the body; the type must allow it


def parse_create(body: Any) -> CreateRequest:
    spec = checks.body_of(body, "volume")
    sources = [k for k in ("imageRef", "snapshot_id", "source_volid", "backup_id")
               if spec.get(k) is not None]
    if "backup_id" in sources:
        raise InvalidInput("Volumes from backups are not supported here yet.")
    if len(sources) > 1:
        raise InvalidInput("Only one of imageRef, snapshot_id, source_volid may be given.")
    multiattach = checks.boolean(spec.get("multiattach", False), "multiattach")
    size = spec.get("size")
    if size is None and not ({"snapshot_id", "source_volid"} & set(sources)):
        raise InvalidInput("'size' is a required property (it may be left out only with "
                           "snapshot_id or source_volid)")

    def ref(key: str) -> str | None:
        value = spec.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidInput(f"{key} must be a string")
        return value

    return CreateRequest(
        size=checks.size_gib(size) if size is not None else None,
        name=checks.text(spec.get("name", spec.get("display_name")), "name"),
        description=checks.text(spec.get("description", spec.get("display_description")),
                                "description", max_len=65535),
        volume_type=checks.text(spec.get("volume_type"), "volume_type"),
        image_id=ref("imageRef") or ref("image_id"),
        snapshot_id=ref("snapshot_id"), source_volid=ref("source_volid"),
        metadata=checks.metadata(spec.get("metadata") or {}),
        availability_zone=checks.text(spec.get("availability_zone"), "availability_zone"),
        multiattach=multiattach)


def image_metadata(image: Any) -> dict[str, str]:
    """volume_image_metadata, as Cinder fills it: the image's own fields, then properties."""
    base = {"image_id": image.id, "image_name": image.name, "checksum": image.checksum,
            "container_format": image.container_format, "disk_format": image.disk_format,
            "min_disk": image.min_disk, "min_ram": image.min_ram, "size": image.size}
    out = {k: str(v) for k, v in base.items() if v is not None}
    out.update({k: v for k, v in image.properties.items() if k not in _IMAGE_KEYS})
    return out


def _check_image(image: Any, size: int) -> None:
    if image.min_disk and image.min_disk > size:
        raise InvalidInput(f"Volume size {size}GB cannot be smaller than the image minDisk "
                           f"size {image.min_disk}GB.")
    needed = image.virtual_size or image.size or 0
    if needed > size * GiB:
        raise InvalidInput(f"Image virtual size is {-(-needed // GiB)}GB and doesn't fit in a "
                           f"volume of size {size}GB.")
    if not image.copies:
        raise InvalidInput(f"Image {image.id} has no data in any store.")


def create(s: Session, env: Env, ctx: RequestContext, req: CreateRequest, image: Any,
           version: Version, base: str) -> dict[str, Any]:
    """The row (status creating) and its build task, in this one transaction."""
    enforce(ctx, "volume:create", {"project_id": ctx.project_id})
    if ctx.project_id is None:
        raise InvalidInput("A project-scoped token is needed to create a volume.")
    vtype = types.find(s, req.volume_type) if req.volume_type else types.find(
        s, types.DEFAULT_TYPE)
    if not types.can_use(s, vtype=vtype, ctx=ctx):
        raise VolumeTypeNotFound(str(req.volume_type))
    target = types.backend_of(env, vtype)
    size = req.size
    bootable = False
    image_meta: dict[str, str] = {}
    source: dict[str, Any] = {"kind": "blank"}
    if image is not None:
        assert size is not None
        _check_image(image, size)
        bootable, image_meta = True, image_metadata(image)
        source = {"kind": "image", "image_id": image.id, "disk_format": image.disk_format,
                  "copies": copies_of(image)}
    elif req.snapshot_id:
        snap = load_snapshot(s, ctx, req.snapshot_id, "volume:get_snapshot")
        if snap.status != "available":
            raise InvalidInput(f"Snapshot {snap.id} status must be available, but current "
                               f"status is: {snap.status}.")
        parent = s.get(Volume, snap.volume_id)
        assert parent is not None
        size = size or snap.size
        if size < snap.size:
            raise InvalidInput(f"Volume size '{size}'GB cannot be smaller than the snapshot "
                               f"size {snap.size}GB. They must be >= original snapshot size.")
        if not req.volume_type:
            vtype = s.get(VolumeType, parent.volume_type_id) or vtype
            # where the parent is now (a migration may have moved it off its type's backend)
            target = env.targets.of("volume_backends").get(parent.backend) or types.backend_of(
                env, vtype)
        if target.cluster != parent.cluster:
            raise InvalidInput(f"A volume from snapshot {snap.id} is a clone in its volume's "
                               f"backend ({parent.backend}); type {vtype.name} is on "
                               f"{target.name}.")
        bootable, image_meta = parent.bootable, dict(parent.image_meta)
        source = {"kind": "snapshot", "pool": parent.pool, "device": f"volume-{parent.id}",
                  "snap": f"snapshot-{snap.id}"}
    elif req.source_volid:
        src = load_volume(s, ctx, req.source_volid, "volume:get")
        if src.status != "available":
            raise InvalidVolume(f"Volume {src.id} status must be available, but current "
                                f"status is: {src.status}.")
        size = size or src.size
        if size < src.size:
            raise InvalidInput(f"Volume size '{size}'GB cannot be smaller than original "
                               f"volume size {src.size}GB. They must be >= original volume "
                               "size.")
        if not req.volume_type:
            vtype = s.get(VolumeType, src.volume_type_id) or vtype
            target = types.backend_of(env, vtype)
        bootable, image_meta = src.bootable, dict(src.image_meta)
        source = {"kind": "volume", "cluster": src.cluster, "pool": src.pool,
                  "device": f"volume-{src.id}"}
    if req.availability_zone and req.availability_zone != target.site:
        raise InvalidInput(f"Availability zone '{req.availability_zone}' is invalid: volume "
                           f"type {vtype.name} is in {target.site!r}.")
    assert size is not None
    multiattach = attachments.multiattach_type(vtype)
    if req.multiattach and not multiattach:
        raise InvalidInput(f"Volume type {vtype.name} does not allow multiattach: a "
                           f"multiattach volume needs a type with multiattach=\"<is> True\".")
    quotas.consume(s, env.settings.volume, ctx.project_id, volumes=1, gigabytes=size,
                   volume_size=size)
    vol = Volume(id=str(uuid.uuid4()), name=req.name, description=req.description,
                 project_id=ctx.project_id, user_id=ctx.user_id, status="creating", size=size,
                 volume_type_id=vtype.id, backend=target.name, cluster=target.cluster,
                 pool=target.pool, availability_zone=target.site, bootable=bootable,
                 snapshot_id=(checks.canonical_id(req.snapshot_id) if req.snapshot_id
                              else None),
                 source_volid=checks.canonical_id(req.source_volid) if req.source_volid
                 else None,
                 image_id=image.id if image is not None else None, meta=req.metadata,
                 image_meta=image_meta, multiattach=multiattach)
    s.add(vol)
    s.flush()
    env.tasks.add(s, CREATE_KIND, resource_id=vol.id, owner=ctx.project_id, input={
        "volume_id": vol.id, "cluster": vol.cluster, "pool": vol.pool, "size": size * GiB,
        "source": source})
    return volume_detail(vol, vtype.name, ctx, version, base, extended=False, attachments=[])


def building_from(s: Session, *, source_volid: str | None = None,
                  snapshot_id: str | None = None) -> bool:
    """Whether a volume still being built reads from that volume or snapshot: removing the
    source under it would fail the build (its task clones the source later)."""
    q = select(Volume.id).where(Volume.status == "creating", Volume.deleted.is_(False))
    if source_volid:
        q = q.where(Volume.source_volid == source_volid)
    if snapshot_id:
        q = q.where(Volume.snapshot_id == snapshot_id)
    return s.scalar(q.limit(1)) is not None


def _type_name(s: Session, vol: Volume) -> str:
    vtype = s.get(VolumeType, vol.volume_type_id)
    return vtype.name if vtype else vol.volume_type_id


def show(s: Session, ctx: RequestContext, volume_id: str, version: Version,
         base: str) -> dict[str, Any]:
    vol = load_volume(s, ctx, volume_id, "volume:get")
    return volume_detail(vol, _type_name(s, vol), ctx, version, base,
                         attachments=attachments.in_volume(s, vol, ctx))


def list_volumes(s: Session, ctx: RequestContext, params: dict[str, str], version: Version,
                 base: str, *, detail: bool) -> dict[str, Any]:
    enforce(ctx, "volume:get_all")
    listing.check_known(params, FILTERS, version)
    q = select(Volume).where(Volume.deleted.is_(False))
    all_tenants = ctx.is_admin and checks.boolean(params.get("all_tenants", "0"), "all_tenants")
    if all_tenants and "project_id" in params:
        q = q.where(Volume.project_id == params["project_id"])
    elif not all_tenants:
        q = q.where(Volume.project_id == ctx.project_id)
    for key in ("name", "status", "availability_zone"):
        if key in params:
            q = q.where(getattr(Volume, key) == params[key])
    rows = list(s.scalars(q))
    if "bootable" in params:
        want = checks.boolean(params["bootable"], "bootable")
        rows = [r for r in rows if r.bootable == want]
    if "metadata" in params:
        meta = listing.metadata_filter(params["metadata"])
        rows = [r for r in rows if all(r.meta.get(k) == v for k, v in meta.items())]
    type_names = {t.id: t.name for t in s.scalars(select(VolumeType))}
    if "volume_type" in params:
        rows = [r for r in rows if params["volume_type"] in (r.volume_type_id,
                                                              type_names.get(r.volume_type_id))]
    total = len(rows)
    rows = listing.sort_rows(rows, listing.sort_keys(params, SORT_KEYS), getattr)
    chunk, more = listing.page(rows, params, lambda r: r.id, VolumeNotFound)
    attached = attachments.in_volumes(s, [r.id for r in chunk], ctx) if detail else {}
    out: dict[str, Any] = {"volumes": [
        volume_detail(r, type_names.get(r.volume_type_id, r.volume_type_id), ctx, version, base,
                      attachments=attached[r.id])
        if detail else volume_summary(r, base) for r in chunk]}
    if more:
        out["volumes_links"] = [{"rel": "next", "href": _next(base, detail, params, chunk)}]
    if version >= (3, 45) and checks.boolean(params.get("with_count", "false"), "with_count"):
        out["count"] = total
    return out


def _next(base: str, detail: bool, params: dict[str, str], chunk: list[Volume]) -> str:
    query = {**params, "marker": chunk[-1].id}
    return f"{base}/volumes{'/detail' if detail else ''}?{urlencode(query)}"


def update(s: Session, ctx: RequestContext, volume_id: str, body: Any, version: Version,
           base: str) -> dict[str, Any]:
    spec = checks.body_of(body, "volume")
    vol = load_volume(s, ctx, volume_id, "volume:update")
    allowed = {"name", "description", "display_name", "display_description", "metadata"}
    unknown = sorted(set(spec) - allowed)
    if unknown or not spec:
        raise InvalidInput(f"Invalid attribute(s) {', '.join(unknown) or '(none given)'}: "
                           f"one of {', '.join(sorted(allowed))} may be updated")
    if "name" in spec or "display_name" in spec:
        vol.name = checks.text(spec.get("name", spec.get("display_name")), "name")
    if "description" in spec or "display_description" in spec:
        vol.description = checks.text(spec.get("description", spec.get("display_description")),
                                      "description", max_len=65535)
    if "metadata" in spec:
        vol.meta = checks.metadata(spec["metadata"])
    vol.updated_at = utcnow()
    return volume_detail(vol, _type_name(s, vol), ctx, version, base, extended=False,
                         attachments=attachments.in_volume(s, vol, ctx))


# ------------------------------------------------------------------ metadata

def get_metadata(s: Session, ctx: RequestContext, volume_id: str) -> dict[str, str]:
    return dict(load_volume(s, ctx, volume_id, "volume:get_volume_metadata").meta)


def set_metadata(s: Session, ctx: RequestContext, volume_id: str, body: Any, *,
                 replace: bool) -> dict[str, str]:
    if not isinstance(body, dict) or "metadata" not in body:
        raise InvalidInput("Missing required element 'metadata' in request body.")
    meta = checks.metadata(body["metadata"])
    vol = load_volume(s, ctx, volume_id, "volume:update_volume_metadata")
    vol.meta = meta if replace else {**vol.meta, **meta}
    return dict(vol.meta)


def set_metadata_item(s: Session, ctx: RequestContext, volume_id: str, key: str,
                      body: Any) -> dict[str, str]:
    if not isinstance(body, dict) or not isinstance(body.get("meta"), dict):
        raise InvalidInput("Missing required element 'meta' in request body.")
    meta = checks.metadata(body["meta"])
    if list(meta) != [key]:
        raise InvalidInput("Request body and URI mismatch")
    vol = load_volume(s, ctx, volume_id, "volume:update_volume_metadata")
    vol.meta = {**vol.meta, **meta}
    return meta


def get_metadata_item(s: Session, ctx: RequestContext, volume_id: str, key: str
                      ) -> dict[str, str]:
    vol = load_volume(s, ctx, volume_id, "volume:get_volume_metadata")
    if key not in vol.meta:
        raise VolumeNotFound(f"{volume_id} metadata key {key}")
    return {key: vol.meta[key]}


def delete_metadata_item(s: Session, ctx: RequestContext, volume_id: str, key: str) -> None:
    vol = load_volume(s, ctx, volume_id, "volume:delete_volume_metadata")
    if key not in vol.meta:
        raise VolumeNotFound(f"{volume_id} metadata key {key}")
    vol.meta = {k: v for k, v in vol.meta.items() if k != key}


# ------------------------------------------------------------------ actions

def set_bootable(s: Session, ctx: RequestContext, volume_id: str, value: Any) -> None:
    vol = load_volume(s, ctx, volume_id, "volume:update")
    vol.bootable = checks.boolean(value, "bootable")


def start_extend(s: Session, ctx: RequestContext, volume_id: str, new_size: Any,
                 settings: VolumeSettings) -> tuple[str, str, str, int]:
    """Checks and marks the volume extending; (cluster, pool, device, old size)."""
    vol = load_volume(s, ctx, volume_id, "volume:extend")
    size = checks.size_gib(new_size, "new_size")
    if vol.status != "available":
        raise InvalidVolume(f"Volume {vol.id} status must be available to extend, but current "
                            f"status is: {vol.status}.")
    if size <= vol.size:
        raise InvalidInput(f"New size for extend must be greater than current size. "
                           f"(current: {vol.size}, extended: {size}).")
    quotas.consume(s, settings, vol.project_id, gigabytes=size - vol.size, volume_size=size)
    old = vol.size
    vol.status = "extending"
    return vol.cluster, vol.pool, vol.id, old


def finish_extend(s: Session, volume_id: str, size: int | None) -> None:
    vol = s.get(Volume, volume_id)
    if vol is not None:
        vol.status = "available" if size else "error_extending"
        if size:
            vol.size = size


def start_delete(s: Session, env: Env, ctx: RequestContext, volume_id: str,
                 cascade: bool, *, force: bool = False) -> None:
    """Marks the volume (and, cascading, its snapshots) deleting and adds the delete task.
    `force` (an admin's os-force_delete) skips the status check, not the attachment one."""
    vol = load_volume(s, ctx, volume_id, "volume:delete")
    attachments.check_deletable(s, env, vol, force=force)
    if not force and vol.status not in DELETABLE:
        raise InvalidVolume(f"Volume status must be one of {', '.join(DELETABLE)} to delete "
                            f"it (current: {vol.status}).")
    snaps = list(s.scalars(select(VolumeSnapshot).where(VolumeSnapshot.volume_id == vol.id,
                                                        VolumeSnapshot.deleted.is_(False))))
    if snaps and not cascade:
        raise InvalidVolume(f"Volume still has {len(snaps)} dependent snapshots.")
    if building_from(s, source_volid=vol.id):
        raise InvalidVolume(f"Volume {vol.id} is the source of a volume being created.")
    busy = [sn.id for sn in snaps if sn.status not in ("available", "error", "error_deleting")
            or building_from(s, snapshot_id=sn.id)]
    if busy:
        raise InvalidVolume(f"Snapshots {', '.join(busy)} are busy: a cascade needs each to "
                            "be available or in error.")
    vol.status = "deleting"
    for sn in snaps:
        sn.status = "deleting"
    env.tasks.add(s, DELETE_KIND, resource_id=vol.id, input={
        "volume_id": vol.id, "cluster": vol.cluster, "pool": vol.pool,
        "snapshots": [sn.id for sn in snaps]})
