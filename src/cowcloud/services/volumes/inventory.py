"""What the Block Storage API says about the deployment itself, as Cinder's admin and info calls
do: availability zones, services, hosts, backend pools with their capacity and capabilities,
extensions, the volume summary, and user messages (none are kept here).

cowcloud is one process: it plays Cinder's scheduler on host `cowcloud` and one `cinder-volume`
per configured volume backend on `cowcloud@<backend>` (the host part of a volume's
`os-vol-host-attr:host`). They are up whenever this answers, and cannot be disabled.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import __version__
from ...block.targets import Target
from ...db.models import Volume, VolumeSnapshot
from ...errors import Error
from ..context import RequestContext
from ..errors import NotFound
from ..policy import enforce
from . import checks
from .env import Env, GiB, volume_device
from .errors import InvalidInput
from .views import Version, isotime

HOST = "cowcloud"  # views.volume_detail's host part, f"{HOST}@{backend}#{pool}"
SCHEDULER, VOLUME = "cinder-scheduler", "cinder-volume"
VENDOR = "Open Source"  # as Cinder's RBD driver reports itself
# Cinder's RBD driver says "ceph"; a local qcow2 file is attached by path (os-brick's LOCAL)
PROTOCOLS = {"rbd": "ceph", "local": "local"}
# Cinder's extensions that this server answers (aliases and names as Cinder lists them)
EXTENSIONS = (
    ("os-availability-zone", "AvailabilityZones", "Describe Availability Zones."),
    ("capabilities", "Capabilities", "Capabilities support."),
    ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes",
     "Extended SnapshotAttributes support."),
    ("os-hosts", "Hosts", "Admin-only host administration."),
    ("scheduler-stats", "Scheduler_stats", "Scheduler stats support."),
    ("os-services", "Services", "Services support."),
    ("os-types-extra-specs", "TypesExtraSpecs", "Type extra specs support."),
    ("os-types-manage", "TypesManage", "Types manage support."),
    ("os-volume-actions", "VolumeActions", "Enable volume actions."),
    ("os-vol-host-attr", "VolumeHostAttribute", "Expose host as an attribute of a volume."),
    ("os-vol-image-meta", "VolumeImageMetadata",
     "Show image metadata associated with the volume."),
    ("os-vol-mig-status-attr", "VolumeMigStatusAttribute",
     "Expose migration_status as an attribute of a volume."),
    ("os-vol-tenant-attr", "VolumeTenantAttribute",
     "Expose the internal project_id as an attribute of a volume."),
)
_EXTENSIONS_UPDATED = "2026-12-07T00:00:00+00:00"


def _now() -> str | None:
    return isotime(datetime.now(timezone.utc))


def _backends(env: Env) -> dict[str, Target]:
    return env.targets.of("volume_backends")


def volume_host(name: str) -> str:
    return f"{HOST}@{name}"


def zones(env: Env, ctx: RequestContext) -> list[dict[str, Any]]:
    enforce(ctx, "volume_extension:availability_zone_list")
    sites = dict.fromkeys(t.site for t in _backends(env).values())
    return [{"zoneName": site, "zoneState": {"available": True}} for site in sites]


def extensions() -> list[dict[str, Any]]:
    return [{"alias": alias, "name": name, "description": text, "links": [],
             "updated": _EXTENSIONS_UPDATED} for alias, name, text in EXTENSIONS]


def _services(env: Env, version: Version) -> list[dict[str, Any]]:
    default = env.targets.default("volume_backends")
    first = next(iter(_backends(env).values()), None)
    home = (default or first).site if (default or first) else "nova"
    rows = [(SCHEDULER, HOST, home)] + [(VOLUME, volume_host(n), t.site)
                                       for n, t in _backends(env).items()]
    now = _now()
    out = []
    for binary, host, zone in rows:
        svc: dict[str, Any] = {"binary": binary, "host": host, "zone": zone,
                               "status": "enabled", "state": "up", "updated_at": now,
                               "disabled_reason": None}
        if binary == VOLUME:
            svc.update(replication_status="disabled", active_backend_id=None, frozen=False)
        if version >= (3, 7):
            svc["cluster"] = None
        if version >= (3, 49) and binary == VOLUME:
            svc["backend_state"] = "up"
        out.append(svc)
    return out


def services(env: Env, ctx: RequestContext, params: dict[str, str], version: Version
             ) -> list[dict[str, Any]]:
    enforce(ctx, "volume_extension:services:index")
    found = _services(env, version)
    if "host" in params:  # as Cinder's host filter: `host` or any `host@backend`
        want = params["host"]
        found = [s for s in found if s["host"] == want or s["host"].startswith(f"{want}@")]
    if "binary" in params:
        found = [s for s in found if s["binary"] == params["binary"]]
    return found


def update_service(env: Env, ctx: RequestContext, action: str, body: Any,
                   version: Version) -> dict[str, Any]:
    """PUT /os-services/ACTION: what Cinder checks, then a refusal, since nothing here can be
    disabled, frozen or failed over (the one process is every service)."""
    enforce(ctx, "volume_extension:services:update")
    spec = body if isinstance(body, dict) else {}
    host = spec.get("host")
    known = _services(env, version)
    if action in ("enable", "disable", "disable-log-reason"):
        if action == "disable-log-reason":
            reason = spec.get("disabled_reason")
            if not isinstance(reason, str) or not reason.strip() or len(reason) > 255:
                raise InvalidInput("Disabled reason contains invalid characters or is too "
                                   "long")
        binary = spec.get("binary")
        if not isinstance(host, str) or not isinstance(binary, str):
            raise InvalidInput("'host' and 'binary' are required")
        if not any(s["host"] == host and s["binary"] == binary for s in known):
            raise NotFound(f"Service {binary} on host {host} could not be found.")
        raise InvalidInput(f"Service {binary} on host {host} is part of this cowcloud "
                           "process and cannot be enabled or disabled on its own.")
    if action in ("freeze", "thaw", "failover_host", "failover"):
        if not isinstance(host, str) or not any(
                s["host"] == host and s["binary"] == VOLUME for s in known):
            raise InvalidInput(f"Host {host} is not a volume host here.")
        raise InvalidInput(f"Host {host} has no replication to {action}: cowcloud backends "
                           "are not replicated by the volume service.")
    raise NotFound(f"Unknown action {action}")


def hosts(env: Env, ctx: RequestContext, version: Version) -> list[dict[str, Any]]:
    enforce(ctx, "volume_extension:hosts")
    return [{"host_name": s["host"], "service": s["binary"], "zone": s["zone"],
             "service-status": "available", "service-state": "enabled",
             "last-update": s["updated_at"]} for s in _services(env, version)]


def host_detail(s: Session, env: Env, ctx: RequestContext, host: str) -> list[dict[str, Any]]:
    """Volume and snapshot counts and sizes on one volume host: the total, then per project."""
    enforce(ctx, "volume_extension:hosts")
    names = [n for n in _backends(env) if volume_host(n) == host]
    if not names:
        raise NotFound(f"Host {host} could not be found.")
    vols = s.execute(select(Volume.project_id, func.count(), func.coalesce(func.sum(
        Volume.size), 0)).where(Volume.backend == names[0], Volume.deleted.is_(False))
        .group_by(Volume.project_id)).all()
    snaps = s.execute(select(VolumeSnapshot.project_id, func.count(), func.coalesce(func.sum(
        VolumeSnapshot.size), 0)).join(Volume, Volume.id == VolumeSnapshot.volume_id)
        .where(Volume.backend == names[0], VolumeSnapshot.deleted.is_(False))
        .group_by(VolumeSnapshot.project_id)).all()
    per: dict[str, list[int]] = {}
    for project, count, size in vols:
        per.setdefault(project, [0, 0, 0, 0])[0:2] = [count, size]
    for project, count, size in snaps:
        per.setdefault(project, [0, 0, 0, 0])[2:4] = [count, size]
    total = [sum(v[i] for v in per.values()) for i in range(4)]

    def row(project: str, v: list[int]) -> dict[str, Any]:
        return {"resource": {"host": host, "project": project, "volume_count": str(v[0]),
                             "total_volume_gb": str(v[1]), "snapshot_count": str(v[2]),
                             "total_snapshot_gb": str(v[3])}}
    return [row("(total)", total)] + [row(p, v) for p, v in sorted(per.items())]


# ------------------------------------------------------------------ pools and capabilities

def _pool_name(name: str, target: Target) -> str:
    return f"{volume_host(name)}#{target.pool}"


def _provisioned(s: Session) -> dict[str, tuple[int, list[tuple[str, str, str]]]]:
    """Per backend: the GiB its volumes were given, and (cluster, pool, id) of each."""
    out: dict[str, tuple[int, list[tuple[str, str, str]]]] = {}
    for backend, cluster, pool, vid, size in s.execute(select(
            Volume.backend, Volume.cluster, Volume.pool, Volume.id, Volume.size).where(
            Volume.deleted.is_(False))):
        gib, devs = out.get(backend, (0, []))
        out[backend] = (gib + size, [*devs, (cluster, pool, vid)])
    return out


async def _used_bytes(env: Env, devices: list[tuple[str, str, str]]) -> int:
    """The bytes the pool's volumes hold themselves, from the storage layer's usage; a device
    still being built or already gone counts nothing."""
    gate = asyncio.Semaphore(8)

    async def one(cluster: str, pool: str, vid: str) -> int:
        async with gate:
            try:
                return (await env.backend(cluster).usage(volume_device(pool, vid))).used
            except Exception:  # noqa: BLE001 - a device mid-build or mid-delete
                return 0
    return sum(await asyncio.gather(*(one(*d) for d in devices)))


def capabilities_of(name: str, target: Target) -> dict[str, Any]:
    return {"volume_backend_name": name, "vendor_name": VENDOR,
            "driver_version": __version__,
            "storage_protocol": PROTOCOLS.get(target.kind, target.kind)}


def satisfies(name: str, target: Target, specs: dict[str, str]) -> bool:
    """Whether backend `name` has what a type's extra specs ask, as Cinder's capabilities
    filter sees it: an unscoped or `capabilities:` key naming one of its capabilities must
    match (`<in> x`: contains, `<or> a <or> b`: one of; storage_protocol in any case); other
    keys (qos, driver-scoped, free-form) are not the scheduler's."""
    caps = capabilities_of(name, target)
    for key, want in specs.items():
        scope, _, cap = key.rpartition(":")
        if scope not in ("", "capabilities") or cap not in caps:
            continue
        have, want = str(caps[cap]), str(want).strip()
        if cap == "storage_protocol":
            have, want = have.lower(), want.lower()
        if want.startswith("<in>"):
            ok = want[4:].strip() in have
        elif want.startswith("<or>"):
            ok = have in [w.strip() for w in want.split("<or>")[1:]]
        else:
            ok = have == want
        if not ok:
            return False
    return True


async def _capacity(env: Env, target: Target) -> tuple[float | str, float | str]:
    """(total, free) GiB of the target's pool as its cluster reports them; "unknown" (what
    Cinder's drivers say, and what its capacity filter lets pass) when the cluster cannot tell,
    e.g. a Ceph cluster whose ceph-mgr does not run."""
    try:
        usage = await env.backend(target.cluster).pool_usage(target.pool)
    except Error:
        return "unknown", "unknown"
    return round(usage.total / GiB, 2), round(usage.available / GiB, 2)


async def pools(env: Env, ctx: RequestContext, params: dict[str, str], *, detail: bool
                ) -> list[dict[str, Any]]:
    enforce(ctx, "scheduler_extension:scheduler_stats:get_pools")
    found = _backends(env)
    if params.get("name"):
        found = {n: t for n, t in found.items() if _pool_name(n, t) == params["name"]}
    if not detail:
        return [{"name": _pool_name(n, t)} for n, t in found.items()]
    provisioned = await env.run(_provisioned)
    now = _now()
    out = []
    for name, target in found.items():
        gib, devices = provisioned.get(name, (0, []))
        used = await _used_bytes(env, devices)
        total, free = await _capacity(env, target)
        caps = {**capabilities_of(name, target),
                "total_capacity_gb": total, "free_capacity_gb": free,
                "allocated_capacity_gb": round(used / GiB, 2),
                "provisioned_capacity_gb": gib, "reserved_percentage": 0,
                "QoS_support": False, "thin_provisioning_support": True,
                "thick_provisioning_support": False, "multiattach": False,
                "pool_name": target.pool, "location_info": f"{target.cluster}:{target.pool}",
                "backend_state": "up", "timestamp": now, "updated": now}
        out.append({"name": _pool_name(name, target), "capabilities": caps})
    return out


def capabilities(env: Env, ctx: RequestContext, host: str) -> dict[str, Any]:
    """GET /capabilities/HOST: a volume host, given as `cowcloud@backend` or with `#pool`."""
    enforce(ctx, "volume_extension:capabilities")
    for name, target in _backends(env).items():
        if host in (volume_host(name), _pool_name(name, target)):
            return {**capabilities_of(name, target), "pool_name": None,
                    "description": target.description or None, "visibility": None,
                    "display_name": None,
                    "namespace": f"OS::Storage::Capabilities::{volume_host(name)}",
                    "replication_targets": [],
                    "properties": {"thin_provisioning": {
                        "title": "Thin Provisioning", "type": "boolean",
                        "description": "Volumes are thin: copy-on-write clones and sparse "
                                       "devices"}}}
    raise NotFound(f"Can't find service: {host}")


# ------------------------------------------------------------------ summary

def summary(s: Session, ctx: RequestContext, params: dict[str, str], version: Version
            ) -> dict[str, Any]:
    """GET /volumes/summary (3.12): count and size of the caller's volumes (all projects'
    for an admin with all_tenants), and from 3.36 each metadata key's values."""
    enforce(ctx, "volume:get_all")
    q = select(Volume.size, Volume.meta).where(Volume.deleted.is_(False))
    if not (ctx.is_admin and checks.boolean(params.get("all_tenants", "0"), "all_tenants")):
        q = q.where(Volume.project_id == ctx.project_id)
    rows = s.execute(q).all()
    out: dict[str, Any] = {"total_size": sum(r.size for r in rows), "total_count": len(rows)}
    if version >= (3, 36):
        meta: dict[str, list[str]] = {}
        for r in rows:
            for k, v in (r.meta or {}).items():
                if v not in meta.setdefault(k, []):
                    meta[k].append(v)
        out["metadata"] = meta
    return out


# ------------------------------------------------------------------ user messages

def messages(ctx: RequestContext) -> list[dict[str, Any]]:
    """Cinder keeps a message when an asynchronous step fails for a reason the user can act on;
    here such a failure is on the volume itself (status error) and in the server's log."""
    enforce(ctx, "message:get_all")
    return []


def message(ctx: RequestContext, message_id: str) -> dict[str, Any]:
    enforce(ctx, "message:get")
    raise NotFound(f"Message {message_id} could not be found.")
