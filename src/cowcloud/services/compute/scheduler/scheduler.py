"""Filter, then weigh: the best host for one request."""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Sequence

from ...errors import Error
from .filters import (
    FILTERS,
    RESOURCE_FILTERS,
    Filter,
    applicable,
    server_group_affinity,
    server_group_anti_affinity,
)
from .state import HostState, RequestSpec
from .weighers import WEIGHERS, Weigher, free_ram


class NoValidHost(Error):
    """No host passed the filters; `filter` names the one that dropped the last hosts."""

    status = 500

    def __init__(self, filter_name: str | None, reason: str = "") -> None:
        detail = (f"{filter_name} returned 0 hosts" if filter_name
                  else "no compute host is registered")
        super().__init__("No valid host was found. There are not enough hosts available. "
                         f"({detail}{': ' + reason if reason else ''})")
        self.filter = filter_name


def _normalize(values: list[float]) -> list[float]:
    """Nova's weight normalization: each weigher's figures mapped onto [0, 1]."""
    lo, hi = min(values), max(values)
    if hi == lo:
        return [0.0 for _ in values]
    return [(v - lo) / (hi - lo) for v in values]


def schedule(hosts: Sequence[HostState], spec: RequestSpec,
             filters: Sequence[tuple[str, Filter]] = FILTERS,
             weighers: Sequence[tuple[Weigher, float]] = WEIGHERS) -> HostState:
    """The host with the highest weight among those every filter passes (ties: by name)."""
    if not hosts:
        raise NoValidHost(None)
    left = list(hosts)
    for name, fn in applicable(spec, tuple(filters)):
        left = [h for h in left if fn(h, spec)]
        if not left:
            raise NoValidHost(name)
    return _best(left, spec, weighers)


def _best(left: list[HostState], spec: RequestSpec,
          weighers: Sequence[tuple[Weigher, float]]) -> HostState:
    totals = [0.0] * len(left)
    for weigher, multiplier in weighers:
        for i, w in enumerate(_normalize([weigher(h, spec) for h in left])):
            totals[i] += multiplier * w
    best = min(range(len(left)), key=lambda i: (-totals[i], left[i].host))
    return left[best]


def claim(host: HostState, spec: RequestSpec) -> HostState:
    """The host with the request's resources taken (what the next placement sees)."""
    backend = host.backend(spec.backend)
    claimed = dict(host.disk_claimed)
    if backend is not None:
        claimed[backend.name] = claimed.get(backend.name, 0) + spec.root_gb * (1 << 30)
    return dataclasses.replace(host, vcpus_used=host.vcpus_used + spec.vcpus,
                               memory_mb_used=host.memory_mb_used + spec.memory_mb,
                               disk_claimed=claimed)


def schedule_many(hosts: Sequence[HostState], spec: RequestSpec, count: int,
                  filters: Sequence[tuple[str, Filter]] = FILTERS,
                  weighers: Sequence[tuple[Weigher, float]] = WEIGHERS) -> list[HostState]:
    """`count` placements of one request (Nova's multi-create), each seeing the ones before:
    the hosts chosen, in order (a host may repeat). The filters that read what a host is run
    once; per placement only the resource filters run. With the default weigher (free RAM
    alone) the best host comes off a heap, so a placement costs O(log hosts), not O(hosts).
    NoValidHost names the filter when a placement finds no host."""
    if not hosts:
        raise NoValidHost(None)
    active = applicable(spec, tuple(filters))
    static = [(n, f) for n, f in active if n not in RESOURCE_FILTERS]
    dynamic = [(n, f) for n, f in active if n in RESOURCE_FILTERS]
    left = list(hosts)
    for name, fn in static:
        left = [h for h in left if fn(h, spec)]
        if not left:
            raise NoValidHost(name)
    if list(weighers) != [(free_ram, 1.0)] or spec.group_policy:
        return _many_generic(left, spec, count, dynamic, weighers)
    # heap of (-free RAM, name): the first host that passes the resource filters is the one
    # the free-RAM weigher (ties by name) would pick
    state = {h.host: h for h in left}
    heap = [(-h.free_ram_mb, h.host) for h in left]
    heapq.heapify(heap)
    chosen: list[HostState] = []
    for _ in range(count):
        skipped = []
        found = None
        while heap:
            item = heapq.heappop(heap)
            h = state[item[1]]
            if all(fn(h, spec) for _, fn in dynamic):
                found = h
                break
            skipped.append(item)
        if found is None:
            # every host failed a resource filter: name the first one that drops them all
            hosts_left = list(state.values())
            for name, fn in dynamic:
                hosts_left = [h for h in hosts_left if fn(h, spec)]
                if not hosts_left:
                    raise NoValidHost(name)
            raise NoValidHost(dynamic[-1][0] if dynamic else None)  # pragma: no cover
        taken = claim(found, spec)
        state[found.host] = taken
        chosen.append(taken)
        heapq.heappush(heap, (-taken.free_ram_mb, taken.host))
        for item in skipped:
            heapq.heappush(heap, item)
    return chosen


def _many_generic(left: list[HostState], spec: RequestSpec, count: int,
                  dynamic: list[tuple[str, Filter]],
                  weighers: Sequence[tuple[Weigher, float]]) -> list[HostState]:
    chosen: list[HostState] = []
    for _ in range(count):
        group_spec = spec
        if spec.group_policy:
            placed = spec.group_hosts | {h.host for h in chosen}
            group_spec = dataclasses.replace(spec, group_hosts=frozenset(placed))
        fit = left
        for name, fn in [*dynamic, *applicable(group_spec, (
                ("ServerGroupAntiAffinityFilter", server_group_anti_affinity),
                ("ServerGroupAffinityFilter", server_group_affinity)))]:
            fit = [h for h in fit if fn(h, group_spec)]
            if not fit:
                raise NoValidHost(name)
        best = _best(fit, group_spec, weighers)
        taken = claim(best, spec)
        left = [taken if h.host == best.host else h for h in left]
        chosen.append(taken)
    return chosen

