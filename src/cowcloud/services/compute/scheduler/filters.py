"""The filters, as Nova's filter scheduler has them (nova/scheduler/filters), plus the one for
cowcloud's own flavor key that names the ephemeral backend outright."""

from __future__ import annotations

import operator
from collections.abc import Callable

from .state import HostState, RequestSpec

Filter = Callable[[HostState, RequestSpec], bool]

GiB = 1 << 30
AGGREGATE_SCOPE = "aggregate_instance_extra_specs"


def availability_zone(host: HostState, spec: RequestSpec) -> bool:
    return spec.zone is None or host.zone == spec.zone


def forced_host(host: HostState, spec: RequestSpec) -> bool:
    return spec.forced_host is None or host.host == spec.forced_host


def compute(host: HostState, spec: RequestSpec) -> bool:
    """ComputeFilter: the service is enabled and up (heartbeating, not forced down)."""
    return host.enabled and host.up


def ram(host: HostState, spec: RequestSpec) -> bool:
    return host.free_ram_mb >= spec.memory_mb


def cpu(host: HostState, spec: RequestSpec) -> bool:
    return host.free_vcpus >= spec.vcpus


def ephemeral_backend(host: HostState, spec: RequestSpec) -> bool:
    """The host reaches the backend the flavor names (or has a backend at all), of a kind the
    image can boot from."""
    backend = host.backend(spec.backend)
    if backend is None:
        return False
    return spec.allowed_kinds is None or backend.kind in spec.allowed_kinds


def disk(host: HostState, spec: RequestSpec) -> bool:
    """The chosen backend has room for the root disk (a COW clone may need far less, but a
    full write must fit). A backend that reports no capacity passes."""
    backend = host.backend(spec.backend)
    if backend is None or not backend.total_bytes:
        return True
    free = backend.free_bytes - host.disk_claimed.get(backend.name, 0)
    return free >= spec.root_gb * GiB


def image_properties(host: HostState, spec: RequestSpec) -> bool:
    """ImagePropertiesFilter: the image's hypervisor type (img_hv_type), architecture
    (hw_architecture) and vm mode (hw_vm_mode) must be what the host offers."""
    props = spec.image_properties
    hv = props.get("img_hv_type") or props.get("hypervisor_type")
    if hv and hv.lower() not in (host.hypervisor_type.lower(), "qemu", "kvm"):
        return False
    arch = props.get("hw_architecture") or props.get("architecture")
    if arch and arch.lower() not in ("x86_64", "i686", "amd64"):
        return False
    mode = props.get("hw_vm_mode") or props.get("vm_mode")
    return not mode or mode.lower() in ("hvm",)


def server_group_affinity(host: HostState, spec: RequestSpec) -> bool:
    if spec.group_policy != "affinity" or not spec.group_hosts:
        return True
    return host.host in spec.group_hosts


def server_group_anti_affinity(host: HostState, spec: RequestSpec) -> bool:
    if spec.group_policy != "anti-affinity":
        return True
    return host.host not in spec.group_hosts


def aggregate_instance_extra_specs(host: HostState, spec: RequestSpec) -> bool:
    """Every flavor extra spec that is unscoped or scoped `aggregate_instance_extra_specs:`
    must match a value of that key in the metadata of one of the host's aggregates
    (nova/scheduler/filters/aggregate_instance_extra_specs.py)."""
    for key, wanted in spec.extra_specs.items():
        scope = key.split(":", 1)
        if len(scope) > 1:
            if scope[0] != AGGREGATE_SCOPE:
                continue
            key = scope[1]
        values = host.aggregate_metadata.get(key)
        if not values:
            return False
        if not any(match(value, wanted) for value in values):
            return False
    return True


# nova/scheduler/filters/extra_specs_ops.py: `<op> <value>` in an extra spec
_OPS: dict[str, Callable[[str, str], bool]] = {
    "=": lambda x, y: _num(x) >= _num(y),
    "<in>": lambda x, y: y in x,
    "<is>": lambda x, y: x.lower() == y.lower(),
    "==": lambda x, y: _num(x) == _num(y),
    "!=": lambda x, y: _num(x) != _num(y),
    ">=": lambda x, y: _num(x) >= _num(y),
    "<=": lambda x, y: _num(x) <= _num(y),
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
}


def _num(text: str) -> float:
    return float(text)


def match(value: str, req: str) -> bool:
    """Whether an aggregate's (or host's) `value` satisfies the extra spec `req`."""
    words = req.split()
    if not words:
        return value == req
    op, rest = words[0], words[1:]
    if op == "<or>":
        # "<or> a <or> b": any of the alternatives equals the value
        return value in words[1::2]
    if op in _OPS and rest:
        try:
            return _OPS[op](value, rest[0])
        except ValueError:
            return False
    return value == req


# The order of Nova's default filter list (RetryFilter is implicit: a retry never comes back
# to the same host); each name is what a fault names.
FILTERS: tuple[tuple[str, Filter], ...] = (
    ("ForcedHost", forced_host),
    ("AvailabilityZoneFilter", availability_zone),
    ("ComputeFilter", compute),
    ("EphemeralBackendFilter", ephemeral_backend),
    ("RamFilter", ram),
    ("CoreFilter", cpu),
    ("DiskFilter", disk),
    ("ImagePropertiesFilter", image_properties),
    ("ServerGroupAntiAffinityFilter", server_group_anti_affinity),
    ("ServerGroupAffinityFilter", server_group_affinity),
    ("AggregateInstanceExtraSpecsFilter", aggregate_instance_extra_specs),
)


# Filters whose answer cannot change while servers are placed (they read what a host is, not
# what it has left): a multi-placement runs them once. The rest count resources.
RESOURCE_FILTERS = frozenset({"RamFilter", "CoreFilter", "DiskFilter"})

# When a filter has anything to say about a request: the others are skipped for it.
APPLIES: dict[str, Callable[[RequestSpec], bool]] = {
    "ForcedHost": lambda spec: spec.forced_host is not None,
    "AvailabilityZoneFilter": lambda spec: spec.zone is not None,
    "ImagePropertiesFilter": lambda spec: bool(spec.image_properties),
    "ServerGroupAntiAffinityFilter": lambda spec: spec.group_policy == "anti-affinity",
    "ServerGroupAffinityFilter": lambda spec: spec.group_policy == "affinity",
    "AggregateInstanceExtraSpecsFilter": lambda spec: bool(spec.extra_specs),
}


def applicable(spec: RequestSpec, filters: tuple[tuple[str, Filter], ...] = FILTERS
               ) -> list[tuple[str, Filter]]:
    return [(name, fn) for name, fn in filters if APPLIES.get(name, _always)(spec)]


def _always(spec: RequestSpec) -> bool:
    return True
