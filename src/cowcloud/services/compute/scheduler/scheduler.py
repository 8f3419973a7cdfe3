"""Filter, then weigh: the best host for one request."""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import Error
from .filters import FILTERS, Filter
from .state import HostState, RequestSpec
from .weighers import WEIGHERS, Weigher


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
    for name, fn in filters:
        left = [h for h in left if fn(h, spec)]
        if not left:
            raise NoValidHost(name)
    totals = [0.0] * len(left)
    for weigher, multiplier in weighers:
        for i, w in enumerate(_normalize([weigher(h, spec) for h in left])):
            totals[i] += multiplier * w
    best = min(range(len(left)), key=lambda i: (-totals[i], left[i].host))
    return left[best]
