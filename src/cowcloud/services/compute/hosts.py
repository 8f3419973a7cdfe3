"""Compute hosts: what agents register and heartbeat, and how the API shows them (Nova's
os-services, os-hypervisors and os-availability-zone).

One host is one row whatever number of ephemeral backends it reaches: its CPU and RAM are
counted once. Disk figures sum pools, each pool (cluster id, pool name) once, however many
hosts reach it (the 000 guide's complaint, REFERENCE PP-05).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import AggregateHost, ComputeHost, HostBackend, Server, utcnow
from ..context import RequestContext
from ..policy import enforce
from . import aggregates, checks
from .errors import BadRequest, ComputeConflict, HostNotFound, HypervisorNotFound, ServiceNotFound
from .views import GiB, Version, isotime

BINARY = "nova-compute"


@dataclass(frozen=True)
class Usage:
    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0
    servers: int = 0


def is_up(host: ComputeHost, down_after: float, now: datetime | None = None) -> bool:
    if host.forced_down:
        return False
    return (now or utcnow()) - host.last_seen <= timedelta(seconds=down_after)


def usage_by_host(s: Session) -> dict[str, Usage]:
    out: dict[str, Usage] = {}
    for server in s.scalars(select(Server).where(Server.deleted.is_(False),
                                                 Server.host.is_not(None))):
        assert server.host is not None
        u = out.get(server.host, Usage())
        f = server.flavor
        out[server.host] = Usage(u.vcpus + int(f.get("vcpus", 0)),
                                 u.memory_mb + int(f.get("ram", 0)),
                                 u.disk_gb + int(f.get("disk", 0)), u.servers + 1)
    return out


def zone_of(host: ComputeHost, zones: dict[str, str]) -> str:
    """An aggregate's availability zone, else the host's site."""
    return zones.get(host.host, host.site)


def _pools(backends: list[HostBackend]) -> dict[tuple[str, str], HostBackend]:
    return {(b.cluster_id, b.pool): b for b in backends}


# ------------------------------------------------------------------ agents

def _backends(raw: Any) -> list[HostBackend]:
    if not isinstance(raw, list):
        raise BadRequest("backends must be a list")
    out = []
    for position, b in enumerate(raw):
        if not isinstance(b, dict):
            raise BadRequest("each backend is an object")
        try:
            out.append(HostBackend(
                name=checks.name(b["name"], "backends.name"), kind=str(b["kind"]),
                cluster_id=str(b["cluster_id"]), pool=str(b["pool"]),
                total_bytes=checks.integer(b.get("total_bytes", 0), "total_bytes", 0, 2**62),
                free_bytes=checks.integer(b.get("free_bytes", 0), "free_bytes", 0, 2**62),
                position=position))
        except KeyError as exc:
            raise BadRequest(f"backend {b!r}: {exc.args[0]} is required") from None
    return out


def register(s: Session, ctx: RequestContext, body: Any, down_after: float) -> dict[str, Any]:
    """An agent (re)registers its host. A host that is up under another agent's session is
    refused: two agents would otherwise run the same guests."""
    enforce(ctx, "compute:agent")
    spec = checks.body_of(body, "host")
    name = checks.name(spec.get("host"), "host")
    backends = _backends(spec.get("backends", []))
    row = s.scalar(select(ComputeHost).where(ComputeHost.host == name))
    if row is not None and is_up(row, down_after) and spec.get("session") != row.session:
        raise ComputeConflict(f"Compute host {name} is up and registered by another agent "
                              f"(last heard {isotime(row.last_seen)}).")
    session = uuid.uuid4().hex
    fields = dict(
        site=checks.name(spec.get("site", "nova"), "site"),
        hypervisor_type=str(spec.get("hypervisor_type", "QEMU")),
        host_ip=str(spec.get("host_ip", "")),
        vcpus=checks.integer(spec.get("vcpus"), "vcpus", 1),
        memory_mb=checks.integer(spec.get("memory_mb"), "memory_mb", 1),
        cpu_info=spec.get("cpu_info") if isinstance(spec.get("cpu_info"), dict) else {},
        session=session, last_seen=utcnow())
    if row is None:
        row = ComputeHost(host=name, **fields)
        s.add(row)
    else:
        for k, v in fields.items():
            setattr(row, k, v)
        row.backends.clear()
        s.flush()
    row.backends.extend(backends)
    s.flush()
    return {"host": name, "session": session, "id": row.id, "uuid": row.uuid,
            "heartbeat_seconds": down_after / 3}


def heartbeat(s: Session, ctx: RequestContext, name: str, body: Any) -> dict[str, Any]:
    """The agent is alive (and its backends' capacity, if it says). A session that is not the
    host's any more means another agent took the host over while this one was away."""
    enforce(ctx, "compute:agent")
    row = s.scalar(select(ComputeHost).where(ComputeHost.host == name))
    if row is None:
        raise HostNotFound(name)
    if not isinstance(body, dict) or body.get("session") != row.session:
        raise ComputeConflict(f"Compute host {name} is registered by another agent now.")
    row.last_seen = utcnow()
    if isinstance(body.get("backends"), list):
        by_name = {b.name: b for b in row.backends}
        for b in _backends(body["backends"]):
            if b.name in by_name:
                by_name[b.name].total_bytes = b.total_bytes
                by_name[b.name].free_bytes = b.free_bytes
    return {"forced_down": row.forced_down, "disabled": row.disabled}


# ------------------------------------------------------------------ os-services

def _service_view(h: ComputeHost, zones: dict[str, str], version: Version,
                  down_after: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": h.uuid if version >= (2, 53) else h.id, "binary": BINARY, "host": h.host,
        "zone": zone_of(h, zones), "status": "disabled" if h.disabled else "enabled",
        "state": "up" if is_up(h, down_after) else "down",
        "updated_at": isotime(h.last_seen), "disabled_reason": h.disabled_reason,
    }
    if version >= (2, 11):
        out["forced_down"] = h.forced_down
    return out


def list_services(s: Session, ctx: RequestContext, params: dict[str, str], version: Version,
                  down_after: float) -> dict[str, Any]:
    enforce(ctx, "compute:services")
    zones = aggregates.zone_by_host(s)
    rows = list(s.scalars(select(ComputeHost).order_by(ComputeHost.id)))
    if "host" in params:
        rows = [r for r in rows if r.host == params["host"]]
    if params.get("binary") not in (None, BINARY):
        rows = []
    return {"services": [_service_view(r, zones, version, down_after) for r in rows]}


def _by_host(s: Session, host: Any, binary: Any) -> ComputeHost:
    if not isinstance(host, str) or binary != BINARY:
        raise HostNotFound(str(host))
    row = s.scalar(select(ComputeHost).where(ComputeHost.host == host))
    if row is None:
        raise HostNotFound(host)
    return row


def update_legacy(s: Session, ctx: RequestContext, action: str, body: Any, version: Version,
                  down_after: float) -> dict[str, Any]:
    """PUT /os-services/{enable,disable,disable-log-reason,force-down} (before 2.53)."""
    enforce(ctx, "compute:services")
    if not isinstance(body, dict):
        raise BadRequest("A body with host and binary is required.")
    row = _by_host(s, body.get("host"), body.get("binary"))
    out: dict[str, Any] = {"host": row.host, "binary": BINARY}
    if action == "enable":
        row.disabled, row.disabled_reason = False, None
        out["status"] = "enabled"
    elif action in ("disable", "disable-log-reason"):
        reason = body.get("disabled_reason")
        if action == "disable-log-reason":
            if not isinstance(reason, str) or not reason.strip() or len(reason) > 255:
                raise BadRequest("Missing disabled reason field")
        row.disabled, row.disabled_reason = True, reason if action != "disable" else None
        out["status"] = "disabled"
        if reason and action == "disable-log-reason":
            out["disabled_reason"] = reason
    elif action == "force-down" and version >= (2, 11):
        row.forced_down = checks.boolean(body.get("forced_down"), "forced_down")
        out["forced_down"] = row.forced_down
    else:
        raise ServiceNotFound(action)
    return {"service": out}


def update(s: Session, ctx: RequestContext, service_id: str, body: Any, version: Version,
           down_after: float) -> dict[str, Any]:
    """PUT /os-services/{uuid} (2.53 and later)."""
    enforce(ctx, "compute:services")
    row = s.scalar(select(ComputeHost).where(ComputeHost.uuid == service_id))
    if row is None:
        raise ServiceNotFound(service_id)
    if not isinstance(body, dict) or not body or set(body) - {"status", "disabled_reason",
                                                               "forced_down"}:
        raise BadRequest("One of status, disabled_reason, forced_down is required, and "
                         "nothing else.")
    status = body.get("status")
    reason = body.get("disabled_reason")
    if status not in (None, "enabled", "disabled"):
        raise BadRequest(f"Invalid input for field/attribute status. Value: {status}.")
    if reason is not None and status != "disabled":
        raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
    if status == "enabled":
        row.disabled, row.disabled_reason = False, None
    elif status == "disabled":
        row.disabled, row.disabled_reason = True, reason
    if "forced_down" in body:
        row.forced_down = checks.boolean(body["forced_down"], "forced_down")
    s.flush()
    return {"service": _service_view(row, aggregates.zone_by_host(s), version, down_after)}


def delete_service(s: Session, ctx: RequestContext, service_id: str, version: Version) -> None:
    enforce(ctx, "compute:services")
    if version >= (2, 53):
        row = s.scalar(select(ComputeHost).where(ComputeHost.uuid == service_id))
    else:
        try:
            row = s.get(ComputeHost, int(service_id))
        except ValueError:
            raise BadRequest(f"Invalid uuid {service_id}") from None
    if row is None:
        raise ServiceNotFound(service_id)
    busy = s.scalar(select(Server.id).where(Server.host == row.host,
                                            Server.deleted.is_(False)).limit(1))
    if busy is not None:
        raise ComputeConflict(f"Unable to delete compute service that is hosting instances "
                              f"(host {row.host}).")
    if s.scalar(select(AggregateHost.host).where(AggregateHost.host == row.host).limit(1)):
        raise ComputeConflict(f"Unable to delete compute service that is in an aggregate "
                              f"(host {row.host}).")
    s.delete(row)


# ------------------------------------------------------------------ os-hypervisors

def backend_view(b: HostBackend) -> dict[str, Any]:
    return {"name": b.name, "kind": b.kind, "cluster_id": b.cluster_id, "pool": b.pool,
            "total_gb": b.total_bytes // GiB, "free_gb": b.free_bytes // GiB}


def _hypervisor_view(h: ComputeHost, usage: Usage, version: Version, down_after: float, *,
                     detail: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": h.uuid if version >= (2, 53) else h.id,
                           "hypervisor_hostname": h.host,
                           "state": "up" if is_up(h, down_after) else "down",
                           "status": "disabled" if h.disabled else "enabled"}
    if not detail:
        return out
    pools = _pools(h.backends)
    local_gb = sum(b.total_bytes for b in pools.values()) // GiB
    free_gb = sum(b.free_bytes for b in pools.values()) // GiB
    cpu_info = h.cpu_info or {}
    out.update({
        "vcpus": h.vcpus, "memory_mb": h.memory_mb, "local_gb": local_gb,
        "vcpus_used": usage.vcpus, "memory_mb_used": usage.memory_mb,
        "local_gb_used": usage.disk_gb, "free_ram_mb": h.memory_mb - usage.memory_mb,
        "free_disk_gb": free_gb, "current_workload": 0, "running_vms": usage.servers,
        "disk_available_least": free_gb, "hypervisor_type": h.hypervisor_type,
        "hypervisor_version": 1000000, "host_ip": h.host_ip,
        "cpu_info": cpu_info if version >= (2, 28) else json.dumps(cpu_info),
        "service": {"host": h.host, "id": h.uuid if version >= (2, 53) else h.id,
                    "disabled_reason": h.disabled_reason},
        # cowcloud's own: the ephemeral backends this one host places root disks on
        "cowcloud:ephemeral_backends": [backend_view(b) for b in h.backends],
    })
    return out


def list_hypervisors(s: Session, ctx: RequestContext, params: dict[str, str],
                     version: Version, down_after: float, *, detail: bool) -> dict[str, Any]:
    enforce(ctx, "compute:hypervisors")
    usage = usage_by_host(s)
    rows = list(s.scalars(select(ComputeHost).order_by(ComputeHost.id)))
    pattern = params.get("hypervisor_hostname_pattern")
    if pattern is not None:
        rows = [r for r in rows if pattern in r.host]
        if not rows:
            raise HypervisorNotFound(pattern)
    if "marker" in params:
        ids = [str(r.uuid if version >= (2, 53) else r.id) for r in rows]
        if params["marker"] not in ids:
            raise BadRequest(f"marker [{params['marker']}] not found")
        rows = rows[ids.index(params["marker"]) + 1:]
    if "limit" in params:
        rows = rows[:checks.integer(params["limit"], "limit")]
    with_servers = checks.boolean(params.get("with_servers", "false"), "with_servers")
    out = []
    for r in rows:
        view = _hypervisor_view(r, usage.get(r.host, Usage()), version, down_after,
                                detail=detail)
        if with_servers:
            view["servers"] = _servers_on(s, r.host)
        out.append(view)
    return {"hypervisors": out}


def _servers_on(s: Session, host: str) -> list[dict[str, str]]:
    return [{"uuid": sid, "name": name} for sid, name in s.execute(
        select(Server.id, Server.name).where(Server.host == host, Server.deleted.is_(False)))]


def _load_hypervisor(s: Session, hypervisor_id: str, version: Version) -> ComputeHost:
    row = None
    if version >= (2, 53):
        row = s.scalar(select(ComputeHost).where(ComputeHost.uuid == hypervisor_id))
    else:
        try:
            row = s.get(ComputeHost, int(hypervisor_id))
        except ValueError:
            raise HypervisorNotFound(hypervisor_id) from None
    if row is None:
        raise HypervisorNotFound(hypervisor_id)
    return row


def show_hypervisor(s: Session, ctx: RequestContext, hypervisor_id: str, params: dict[str, str],
                    version: Version, down_after: float) -> dict[str, Any]:
    enforce(ctx, "compute:hypervisors")
    row = _load_hypervisor(s, hypervisor_id, version)
    view = _hypervisor_view(row, usage_by_host(s).get(row.host, Usage()), version, down_after,
                            detail=True)
    if checks.boolean(params.get("with_servers", "false"), "with_servers"):
        view["servers"] = _servers_on(s, row.host)
    return view


def uptime(s: Session, ctx: RequestContext, hypervisor_id: str, version: Version,
           down_after: float) -> dict[str, Any]:
    """/os-hypervisors/{id}/uptime (before 2.88), in uptime(1)'s words as clients parse them;
    the host's uptime is the time since its agent registered."""
    enforce(ctx, "compute:hypervisors")
    row = _load_hypervisor(s, hypervisor_id, version)
    now = utcnow()
    up = int((now - row.created_at).total_seconds()) // 60
    days, minutes = divmod(up, 24 * 60)
    text = (f" {now:%H:%M:%S} up {f'{days} days, ' if days else ''}"
            f"{minutes // 60}:{minutes % 60:02d},  0 users,  load average: 0.00, 0.00, 0.00")
    view = _hypervisor_view(row, Usage(), version, down_after, detail=False)
    return {**view, "uptime": text}


def search(s: Session, ctx: RequestContext, pattern: str, version: Version, down_after: float,
           *, servers: bool) -> dict[str, Any]:
    """/os-hypervisors/{pattern}/search and /{pattern}/servers (before 2.53)."""
    enforce(ctx, "compute:hypervisors")
    rows = [r for r in s.scalars(select(ComputeHost).order_by(ComputeHost.id))
            if pattern in r.host]
    if not rows:
        raise HypervisorNotFound(pattern)
    out = []
    for r in rows:
        view = _hypervisor_view(r, Usage(), version, down_after, detail=False)
        if servers:
            view["servers"] = _servers_on(s, r.host)
        out.append(view)
    return {"hypervisors": out}


def statistics(s: Session, ctx: RequestContext, down_after: float) -> dict[str, Any]:
    """Sums over hosts: CPU and RAM once per host, disk once per pool."""
    enforce(ctx, "compute:hypervisors")
    rows = list(s.scalars(select(ComputeHost)))
    usage = usage_by_host(s)
    pools = _pools([b for r in rows for b in r.backends])
    total_gb = sum(b.total_bytes for b in pools.values()) // GiB
    free_gb = sum(b.free_bytes for b in pools.values()) // GiB
    used = [usage.get(r.host, Usage()) for r in rows]
    memory = sum(r.memory_mb for r in rows)
    memory_used = sum(u.memory_mb for u in used)
    return {"hypervisor_statistics": {
        "count": len(rows), "vcpus": sum(r.vcpus for r in rows),
        "memory_mb": memory, "local_gb": total_gb,
        "vcpus_used": sum(u.vcpus for u in used), "memory_mb_used": memory_used,
        "local_gb_used": sum(u.disk_gb for u in used), "free_ram_mb": memory - memory_used,
        "free_disk_gb": free_gb, "current_workload": 0,
        "running_vms": sum(u.servers for u in used), "disk_available_least": free_gb}}


# ------------------------------------------------------------------ os-availability-zone

def zones(s: Session, ctx: RequestContext, down_after: float, *, detail: bool
          ) -> dict[str, Any]:
    enforce(ctx, "compute:zones:detail" if detail else "compute:zones")
    by_host = aggregates.zone_by_host(s)
    found: dict[str, list[ComputeHost]] = {}
    for h in s.scalars(select(ComputeHost).order_by(ComputeHost.host)):
        found.setdefault(zone_of(h, by_host), []).append(h)
    out = []
    for name in sorted(found):
        hosts = found[name]
        available = any(not h.disabled and is_up(h, down_after) for h in hosts)
        item: dict[str, Any] = {"zoneName": name, "zoneState": {"available": available},
                                "hosts": None}
        if detail:
            item["hosts"] = {h.host: {BINARY: {
                "available": not h.disabled and is_up(h, down_after),
                "active": not h.disabled, "updated_at": isotime(h.last_seen)}}
                for h in hosts}
        out.append(item)
    return {"availabilityZoneInfo": out}
