"""Quotas per project, as Cinder's /os-quota-sets and /limits show them, and their enforcement.

A limit is the project's own row (volume_quotas) or else the [volume] quota_<resource> default;
-1 is unlimited. Usage is counted from the live rows, not kept in counters that a crash could
leave wrong. A check and the row that consumes it commit in one transaction that first takes
the project's lock row (`lock`), so two concurrent creates cannot both count the last free slot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ...config import VolumeSettings
from ...db.errors import Duplicate, savepoint
from ...db.models import Volume, VolumeBackup, VolumeQuota, VolumeQuotaLock, VolumeSnapshot
from ..context import RequestContext
from ..policy import enforce
from .errors import (
    BackupLimitExceeded,
    InvalidInput,
    QuotaError,
    SnapshotLimitExceeded,
    VolumeBackupSizeExceedsAvailableQuota,
    VolumeLimitExceeded,
    VolumeSizeExceedsAvailableQuota,
    VolumeSizeExceedsLimit,
)

# Cinder's quota set keys; `groups` is shown (clients expect it) though groups are not built
RESOURCES = ("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes",
             "per_volume_gigabytes", "groups")
NON_QUOTA_KEYS = ("id", "tenant_id")  # Cinder ignores these in an update body
MAX_INT = 0x7FFFFFFF  # Cinder's db.MAX_INT
GROUPS_DEFAULT = 10
# Quota classes' rows live beside the projects' in volume_quotas, under a name no Keystone
# project id can have (ids are 32 hex digits, and `:` is in none)
CLASS_PREFIX = "class:"
DEFAULT_CLASS = "default"


def _volumes(s: Session, project_id: str) -> int:
    return s.scalar(select(func.count()).select_from(Volume).where(
        Volume.project_id == project_id, Volume.deleted.is_(False))) or 0


def _snapshots(s: Session, project_id: str) -> int:
    return s.scalar(select(func.count()).select_from(VolumeSnapshot).where(
        VolumeSnapshot.project_id == project_id, VolumeSnapshot.deleted.is_(False))) or 0


def _gigabytes(s: Session, project_id: str) -> int:
    """Volumes and their snapshots, as Cinder counts them (no_snapshot_gb_quota = False)."""
    vols = s.scalar(select(func.coalesce(func.sum(Volume.size), 0)).where(
        Volume.project_id == project_id, Volume.deleted.is_(False))) or 0
    snaps = s.scalar(select(func.coalesce(func.sum(VolumeSnapshot.size), 0)).where(
        VolumeSnapshot.project_id == project_id, VolumeSnapshot.deleted.is_(False))) or 0
    return int(vols) + int(snaps)


def _backups(s: Session, project_id: str) -> int:
    return s.scalar(select(func.count()).select_from(VolumeBackup).where(
        VolumeBackup.project_id == project_id, VolumeBackup.deleted.is_(False))) or 0


def _backup_gigabytes(s: Session, project_id: str) -> int:
    return int(s.scalar(select(func.coalesce(func.sum(VolumeBackup.size), 0)).where(
        VolumeBackup.project_id == project_id, VolumeBackup.deleted.is_(False))) or 0)


# resource -> in-use counter over the live rows; a resource without one is in use 0
USAGE: dict[str, Callable[[Session, str], int]] = {
    "volumes": _volumes, "snapshots": _snapshots, "gigabytes": _gigabytes,
    "backups": _backups, "backup_gigabytes": _backup_gigabytes}


def defaults(settings: VolumeSettings) -> dict[str, int]:
    return {"volumes": settings.quota_volumes, "snapshots": settings.quota_snapshots,
            "gigabytes": settings.quota_gigabytes, "backups": settings.quota_backups,
            "backup_gigabytes": settings.quota_backup_gigabytes,
            "per_volume_gigabytes": settings.per_volume_size_limit, "groups": GROUPS_DEFAULT}


def _rows(s: Session, owner: str, into: dict[str, int]) -> dict[str, int]:
    for row in s.scalars(select(VolumeQuota).where(VolumeQuota.project_id == owner)):
        if row.resource in into:
            into[row.resource] = row.hard_limit
    return into


def class_limits(s: Session, settings: VolumeSettings, name: str) -> dict[str, int]:
    """A quota class's limits: the [volume] defaults, overridden by what an admin set on it.
    The `default` class is every project's default (Cinder's use_default_quota_class)."""
    return _rows(s, CLASS_PREFIX + name, defaults(settings))


def limits_of(s: Session, settings: VolumeSettings, project_id: str) -> dict[str, int]:
    return _rows(s, project_id, class_limits(s, settings, DEFAULT_CLASS))


def usage_of(s: Session, project_id: str) -> dict[str, int]:
    return {r: (USAGE[r](s, project_id) if r in USAGE else 0) for r in RESOURCES}


def lock(s: Session, project_id: str) -> None:
    """Takes the project's quota lock until the transaction ends. The UPDATE is a write: on
    PostgreSQL it locks the row, on SQLite it takes the database's write lock, and a second
    transaction doing the same waits here, then counts what the first one committed."""
    bump = update(VolumeQuotaLock).where(VolumeQuotaLock.project_id == project_id).values(
        serial=VolumeQuotaLock.serial + 1)
    if s.execute(bump).rowcount:  # type: ignore[attr-defined]
        return
    try:
        with savepoint(s):
            s.add(VolumeQuotaLock(project_id=project_id, serial=1))
    except Duplicate:  # a concurrent first user of the project made it: queue on it
        s.execute(bump)


def _over(resource: str, limit: int, used: int, delta: int) -> QuotaError:
    """Cinder's exception for the resource, in its words."""
    if resource == "volumes":
        return VolumeLimitExceeded(limit)
    if resource == "snapshots":
        return SnapshotLimitExceeded(limit)
    if resource == "gigabytes":
        return VolumeSizeExceedsAvailableQuota(delta, limit, used)
    if resource == "backups":
        return BackupLimitExceeded(limit)
    return VolumeBackupSizeExceedsAvailableQuota(delta, limit, used)


def consume(s: Session, settings: VolumeSettings, project_id: str, *,
            volume_size: int | None = None, **deltas: int) -> None:
    """Refuses (413) what would take the project over a limit, e.g. volumes=1, gigabytes=10
    (or backups=1, backup_gigabytes=10); call it in the transaction that writes the rows it
    counts. `volume_size`: a volume's new size, for the per-volume limit."""
    unknown = set(deltas) - set(RESOURCES)
    if unknown:
        raise ValueError(f"not quota resources: {', '.join(sorted(unknown))}")
    lock(s, project_id)
    limits = limits_of(s, settings, project_id)
    per_volume = limits["per_volume_gigabytes"]
    if volume_size is not None and per_volume >= 0 and volume_size > per_volume:
        raise VolumeSizeExceedsLimit(volume_size, per_volume)
    for resource, delta in deltas.items():
        if delta <= 0 or limits[resource] < 0:
            continue
        used = USAGE[resource](s, project_id) if resource in USAGE else 0
        if used + delta > limits[resource]:
            raise _over(resource, limits[resource], used, delta)


# ------------------------------------------------------------------ /os-quota-sets, /limits

def _check_project(project_id: str) -> None:
    if not 0 < len(project_id) <= 255:
        raise InvalidInput("quota_set_name has a length of 1-255 characters")
    if project_id.startswith(CLASS_PREFIX):  # a quota class's rows, not a project's
        raise InvalidInput(f"{project_id!r} is not a project id")


def show(s: Session, settings: VolumeSettings, ctx: RequestContext, project_id: str, *,
         usage: bool) -> dict[str, Any]:
    _check_project(project_id)
    enforce(ctx, "volume_extension:quotas:show", {"project_id": project_id})
    limits = limits_of(s, settings, project_id)
    out: dict[str, Any] = {"id": project_id}
    if usage:
        used = usage_of(s, project_id)
        out.update({r: {"limit": limits[r], "in_use": used[r], "reserved": 0,
                        "allocated": 0} for r in RESOURCES})
    else:
        out.update(limits)
    return out


def show_defaults(s: Session, settings: VolumeSettings, ctx: RequestContext,
                  project_id: str) -> dict[str, Any]:
    _check_project(project_id)
    enforce(ctx, "volume_extension:quotas:show", {"project_id": project_id})
    return {"id": project_id, **class_limits(s, settings, DEFAULT_CLASS)}


def _limit_value(key: str, value: Any) -> int:
    """Cinder's validate_integer: an integer (or its string) from -1 to MAX_INT."""
    if isinstance(value, bool):
        raise InvalidInput(f"{key} must be an integer.")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise InvalidInput(f"{key} must be an integer.") from None
    if not isinstance(value, int):
        raise InvalidInput(f"{key} must be an integer.")
    if value < -1:
        raise InvalidInput(f"{key} must be >= -1")
    if value > MAX_INT:
        raise InvalidInput(f"{key} must be <= {MAX_INT}")
    return value


def _parse_set(body: Any, key: str, what: str) -> dict[str, int]:
    """Every key is checked before any is written: a bad one changes nothing."""
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise InvalidInput(f"Missing required element '{key}' in request body.")
    spec = body[key]
    bad = [k for k in spec if k not in RESOURCES and k not in NON_QUOTA_KEYS]
    if bad:
        raise InvalidInput(f"Bad key(s) in {what}: {', '.join(map(str, bad))}")
    return {k: _limit_value(k, v) for k, v in spec.items() if k in RESOURCES}


def _write(s: Session, owner: str, values: dict[str, int]) -> None:
    lock(s, owner)  # one writer of an owner's limits at a time
    for key, value in values.items():
        row = s.get(VolumeQuota, (owner, key))
        if row is None:
            s.add(VolumeQuota(project_id=owner, resource=key, hard_limit=value))
        else:
            row.hard_limit = value
    s.flush()


def update_limits(s: Session, settings: VolumeSettings, ctx: RequestContext, project_id: str,
                  body: Any) -> dict[str, Any]:
    _check_project(project_id)
    enforce(ctx, "volume_extension:quotas:update", {"project_id": project_id})
    _write(s, project_id, _parse_set(body, "quota_set", "quota set"))
    return limits_of(s, settings, project_id)


def _check_class(name: str) -> None:
    if not 0 < len(name) <= 255:
        raise InvalidInput("quota_class_name has a length of 1-255 characters")


def show_class(s: Session, settings: VolumeSettings, ctx: RequestContext, name: str
               ) -> dict[str, Any]:
    _check_class(name)
    enforce(ctx, "volume_extension:quota_classes")
    return {"id": name, **class_limits(s, settings, name)}


def update_class(s: Session, settings: VolumeSettings, ctx: RequestContext, name: str,
                 body: Any) -> dict[str, Any]:
    """PUT /os-quota-class-sets/default changes every project's defaults at once."""
    _check_class(name)
    enforce(ctx, "volume_extension:quota_classes")
    _write(s, CLASS_PREFIX + name, _parse_set(body, "quota_class_set", "quota class set"))
    return class_limits(s, settings, name)


def reset(s: Session, ctx: RequestContext, project_id: str) -> None:
    _check_project(project_id)
    enforce(ctx, "volume_extension:quotas:delete", {"project_id": project_id})
    s.execute(delete(VolumeQuota).where(VolumeQuota.project_id == project_id))


def absolute_limits(s: Session, settings: VolumeSettings, ctx: RequestContext,
                    project_id: str | None = None) -> dict[str, Any]:
    """The caller's project's; an admin names another with ?project_id (microversion 3.39)."""
    enforce(ctx, "limits_extension:used_limits")
    if project_id is not None:
        _check_project(project_id)
        enforce(ctx, "volume_extension:quotas:show", {"project_id": project_id})
    project_id = project_id or ctx.project_id
    if project_id is None:
        raise InvalidInput("A project-scoped token is needed for limits.")
    limits = limits_of(s, settings, project_id)
    used = usage_of(s, project_id)
    return {"rate": [], "absolute": {
        "maxTotalVolumes": limits["volumes"], "maxTotalSnapshots": limits["snapshots"],
        "maxTotalVolumeGigabytes": limits["gigabytes"], "maxTotalBackups": limits["backups"],
        "maxTotalBackupGigabytes": limits["backup_gigabytes"],
        "totalVolumesUsed": used["volumes"], "totalSnapshotsUsed": used["snapshots"],
        "totalGigabytesUsed": used["gigabytes"], "totalBackupsUsed": used["backups"],
        "totalBackupGigabytesUsed": used["backup_gigabytes"]}}
