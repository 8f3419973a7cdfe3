"""Host aggregates (os-aggregates): named sets of hosts with metadata. The metadata key
`availability_zone` makes the aggregate an availability zone, as in Nova; the scheduler's
AggregateInstanceExtraSpecsFilter reads the rest (placement.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db import Duplicate, savepoint
from ...db.models import Aggregate, AggregateHost, AggregateMetadata, ComputeHost, utcnow
from ..context import RequestContext
from ..policy import enforce
from . import checks
from .errors import AggregateNotFound, BadRequest, ComputeConflict, HostNotFound
from .views import Version, isotime

AZ_KEY = "availability_zone"


def metadata_of(agg: Aggregate) -> dict[str, str]:
    return {m.key: m.value for m in agg.metadata_items}


def view(agg: Aggregate, version: Version) -> dict[str, Any]:
    meta = metadata_of(agg)
    out: dict[str, Any] = {
        "id": agg.id, "name": agg.name, "availability_zone": meta.get(AZ_KEY),
        "hosts": [h.host for h in agg.hosts], "metadata": meta,
        "created_at": isotime(agg.created_at), "updated_at": isotime(agg.updated_at),
        "deleted_at": None, "deleted": False,
    }
    if version >= (2, 41):
        out["uuid"] = agg.uuid
    return out


def _load(s: Session, aggregate_id: str | int) -> Aggregate:
    try:
        number = int(str(aggregate_id))
    except ValueError:
        raise BadRequest(f"Invalid input for field/attribute id. Value: {aggregate_id}. "
                         "id must be an integer") from None
    agg = s.get(Aggregate, number)
    if agg is None:
        raise AggregateNotFound(aggregate_id)
    return agg


def _check_zone(zone: Any) -> str | None:
    if zone is None:
        return None
    if not isinstance(zone, str) or not zone.strip() or len(zone) > 255:
        raise BadRequest(f"Invalid input for field/attribute availability_zone. Value: "
                         f"{zone!r}.")
    if zone == "internal":
        raise BadRequest("Invalid input for field/attribute availability_zone. Value: "
                         "internal. The internal availability zone holds the control "
                         "services only.")
    return zone


def list_aggregates(s: Session, ctx: RequestContext, version: Version) -> dict[str, Any]:
    enforce(ctx, "compute:aggregates")
    return {"aggregates": [view(a, version)
                           for a in s.scalars(select(Aggregate).order_by(Aggregate.id))]}


def show(s: Session, ctx: RequestContext, aggregate_id: str, version: Version
         ) -> dict[str, Any]:
    enforce(ctx, "compute:aggregates")
    return view(_load(s, aggregate_id), version)


def create(s: Session, ctx: RequestContext, body: Any, version: Version) -> dict[str, Any]:
    enforce(ctx, "compute:aggregates")
    spec = checks.body_of(body, "aggregate")
    extra = sorted(set(spec) - {"name", "availability_zone"})
    if extra or "name" not in spec:
        raise BadRequest("Invalid input for field/attribute aggregate: 'name' is a required "
                         "property" + (f"; unexpected {', '.join(extra)}" if extra else ""))
    name = checks.name(spec["name"])
    zone = _check_zone(spec.get("availability_zone"))
    if s.scalar(select(Aggregate.id).where(Aggregate.name == name)) is not None:
        raise ComputeConflict(f"Aggregate {name} already exists.")
    agg = Aggregate(name=name)
    try:
        with savepoint(s):
            s.add(agg)
            s.flush()
    except Duplicate:
        raise ComputeConflict(f"Aggregate {name} already exists.") from None
    if zone:
        agg.metadata_items.append(AggregateMetadata(key=AZ_KEY, value=zone))
    s.flush()
    s.refresh(agg)
    out = view(agg, version)
    # Nova's create answer has no hosts or metadata keys
    return {k: v for k, v in out.items() if k not in ("hosts", "metadata")}


def update(s: Session, ctx: RequestContext, aggregate_id: str, body: Any, version: Version
           ) -> dict[str, Any]:
    enforce(ctx, "compute:aggregates")
    spec = checks.body_of(body, "aggregate")
    extra = sorted(set(spec) - {"name", "availability_zone"})
    if extra or not spec:
        raise BadRequest("Invalid input for field/attribute aggregate: name or "
                         "availability_zone may be updated")
    agg = _load(s, aggregate_id)
    if "name" in spec:
        name = checks.name(spec["name"])
        other = s.scalar(select(Aggregate.id).where(Aggregate.name == name))
        if other is not None and other != agg.id:
            raise ComputeConflict(f"Aggregate {name} already exists.")
        agg.name = name
    if "availability_zone" in spec:
        _set_meta(s, agg, {AZ_KEY: _check_zone(spec["availability_zone"])})
    agg.updated_at = utcnow()
    s.flush()
    return view(agg, version)


def delete(s: Session, ctx: RequestContext, aggregate_id: str) -> None:
    enforce(ctx, "compute:aggregates")
    agg = _load(s, aggregate_id)
    if agg.hosts:
        raise BadRequest(f"Cannot remove aggregate {agg.id}. Reason: Host aggregate is not "
                         f"empty (hosts: {', '.join(h.host for h in agg.hosts)}).")
    s.delete(agg)


def _zones_of_host(s: Session, host: str, but: int | None = None) -> set[str]:
    rows = s.scalars(select(AggregateMetadata).join(
        AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id).where(
        AggregateHost.host == host, AggregateMetadata.key == AZ_KEY))
    return {m.value for m in rows if m.aggregate_id != but}


def add_host(s: Session, ctx: RequestContext, aggregate_id: str, host: Any, version: Version
             ) -> dict[str, Any]:
    enforce(ctx, "compute:aggregates")
    if not isinstance(host, str) or not host:
        raise BadRequest("Invalid input for field/attribute add_host: 'host' is a required "
                         "property")
    agg = _load(s, aggregate_id)
    if s.scalar(select(ComputeHost.id).where(ComputeHost.host == host)) is None:
        raise HostNotFound(host)
    if any(h.host == host for h in agg.hosts):
        raise ComputeConflict(f"Aggregate {agg.id} already has host {host}.")
    zone = metadata_of(agg).get(AZ_KEY)
    others = _zones_of_host(s, host, but=agg.id)
    if zone and others - {zone}:
        raise ComputeConflict(f"Cannot add host to aggregate {agg.id}. Reason: One or more "
                              f"hosts already in availability zone(s) {sorted(others)}.")
    agg.hosts.append(AggregateHost(host=host))
    agg.updated_at = utcnow()
    s.flush()
    return view(agg, version)


def remove_host(s: Session, ctx: RequestContext, aggregate_id: str, host: Any,
                version: Version) -> dict[str, Any]:
    enforce(ctx, "compute:aggregates")
    if not isinstance(host, str) or not host:
        raise BadRequest("Invalid input for field/attribute remove_host: 'host' is a "
                         "required property")
    agg = _load(s, aggregate_id)
    match = [h for h in agg.hosts if h.host == host]
    if not match:
        raise AggregateNotFound(f"{agg.id} host {host}")
    agg.hosts.remove(match[0])
    agg.updated_at = utcnow()
    s.flush()
    return view(agg, version)


def _set_meta(s: Session, agg: Aggregate, changes: dict[str, str | None]) -> None:
    if AZ_KEY in changes and agg.hosts:
        zone = changes[AZ_KEY]
        for h in agg.hosts:
            others = _zones_of_host(s, h.host, but=agg.id)
            if zone and others - {zone}:
                raise BadRequest(f"Cannot update aggregate {agg.id}. Reason: host {h.host} "
                                 f"is already in availability zone(s) {sorted(others)}.")
    current = {m.key: m for m in agg.metadata_items}
    for key, value in changes.items():
        if value is None:
            if key in current:
                agg.metadata_items.remove(current[key])
        elif key in current:
            current[key].value = value
        else:
            agg.metadata_items.append(AggregateMetadata(key=key, value=value))


def set_metadata(s: Session, ctx: RequestContext, aggregate_id: str, body: Any,
                 version: Version) -> dict[str, Any]:
    enforce(ctx, "compute:aggregates")
    if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
        raise BadRequest("Invalid input for field/attribute set_metadata: 'metadata' is a "
                         "required property")
    changes = checks.string_map(body["metadata"], "metadata", allow_null=True)
    if AZ_KEY in changes and changes[AZ_KEY] is not None:
        _check_zone(changes[AZ_KEY])
    agg = _load(s, aggregate_id)
    _set_meta(s, agg, changes)
    agg.updated_at = utcnow()
    s.flush()
    return view(agg, version)


def action(s: Session, ctx: RequestContext, aggregate_id: str, body: Any, version: Version
           ) -> dict[str, Any]:
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("An action body names exactly one action.")
    (name, arg), = body.items()
    if name in ("add_host", "remove_host"):
        host = arg.get("host") if isinstance(arg, dict) else None
        fn = add_host if name == "add_host" else remove_host
        return fn(s, ctx, aggregate_id, host, version)
    if name == "set_metadata":
        return set_metadata(s, ctx, aggregate_id, arg, version)
    raise BadRequest(f"There is no such action: {name}")


def zone_by_host(s: Session) -> dict[str, str]:
    """host -> the availability zone an aggregate gives it."""
    rows = s.execute(select(AggregateHost.host, AggregateMetadata.value).join(
        AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id).where(
        AggregateMetadata.key == AZ_KEY))
    return {host: zone for host, zone in rows}


def metadata_by_host(s: Session) -> dict[str, dict[str, frozenset[str]]]:
    """host -> key -> the values of that key over all of the host's aggregates, comma lists
    split (nova.scheduler.utils.aggregate_metadata_get_by_host)."""
    out: dict[str, dict[str, set[str]]] = {}
    for agg in s.scalars(select(Aggregate)):
        meta = metadata_of(agg)
        for h in agg.hosts:
            per = out.setdefault(h.host, {})
            for k, v in meta.items():
                per.setdefault(k, set()).update(x.strip() for x in v.split(","))
    return {h: {k: frozenset(v) for k, v in m.items()} for h, m in out.items()}
