"""Placing a server: Nova's filter scheduler as pure functions over host states.

A filter is `(HostState, RequestSpec) -> bool`; a weigher `(HostState, RequestSpec) -> float`.
`schedule` runs the filters in order and names the one that left no host, so a server that
fits nowhere is ERROR with a fault that says which filter refused (Nova only logs it).
"""

from .filters import FILTERS, Filter
from .scheduler import NoValidHost, claim, schedule, schedule_many
from .state import BackendState, HostState, RequestSpec
from .weighers import WEIGHERS

__all__ = ["FILTERS", "WEIGHERS", "BackendState", "Filter", "HostState", "NoValidHost",
           "RequestSpec", "claim", "schedule", "schedule_many"]
