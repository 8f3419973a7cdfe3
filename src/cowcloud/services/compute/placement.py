"""From rows to the scheduler's inputs: every host's state (free CPU/RAM after its servers,
its backends, its aggregates' metadata and zone) and the request's spec."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.models import ComputeHost
from . import aggregates, hosts
from .scheduler import BackendState, HostState


def host_states(s: Session, down_after: float) -> list[HostState]:
    usage = hosts.usage_by_host(s)
    zones = aggregates.zone_by_host(s)
    meta = aggregates.metadata_by_host(s)
    out = []
    for h in s.scalars(select(ComputeHost).order_by(ComputeHost.host)):
        used = usage.get(h.host, hosts.Usage())
        out.append(HostState(
            host=h.host, zone=hosts.zone_of(h, zones), enabled=not h.disabled,
            up=hosts.is_up(h, down_after), hypervisor_type=h.hypervisor_type,
            vcpus=h.vcpus, vcpus_used=used.vcpus, memory_mb=h.memory_mb,
            memory_mb_used=used.memory_mb,
            backends=tuple(BackendState(b.name, b.kind, b.cluster_id, b.pool, b.total_bytes,
                                        b.free_bytes) for b in h.backends),
            aggregate_metadata=meta.get(h.host, {})))
    return out


def known_backends(states: list[HostState]) -> dict[str, BackendState]:
    return {b.name: b for st in states for b in st.backends}


def known_zones(states: list[HostState]) -> set[str]:
    return {st.zone for st in states}
