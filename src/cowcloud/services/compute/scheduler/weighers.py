"""Weighers: Nova's RAMWeigher with its default multiplier (1.0): the host with the most free
RAM wins, so servers spread."""

from __future__ import annotations

from collections.abc import Callable

from .state import HostState, RequestSpec

Weigher = Callable[[HostState, RequestSpec], float]


def free_ram(host: HostState, spec: RequestSpec) -> float:
    return float(host.free_ram_mb)


WEIGHERS: tuple[tuple[Weigher, float], ...] = ((free_ram, 1.0),)
