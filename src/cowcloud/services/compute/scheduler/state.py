"""What the filters see of a host and of the request (built by services.compute.placement)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BackendState:
    name: str
    kind: str  # rbd, local
    cluster_id: str
    pool: str
    total_bytes: int = 0  # 0: not reported (the disk check then passes)
    free_bytes: int = 0


@dataclass(frozen=True)
class HostState:
    host: str
    zone: str
    enabled: bool = True
    up: bool = True
    hypervisor_type: str = "QEMU"
    vcpus: int = 0
    vcpus_used: int = 0
    memory_mb: int = 0
    memory_mb_used: int = 0
    # backend name -> state; the first one is the host's default
    backends: tuple[BackendState, ...] = ()
    # key -> values over every aggregate the host is in (comma lists split), as Nova's
    # utils.aggregate_metadata_get_by_host gives AggregateInstanceExtraSpecsFilter
    aggregate_metadata: dict[str, frozenset[str]] = field(default_factory=dict)
    # disk bytes each backend has promised to servers not yet reflected in its free figure
    disk_claimed: dict[str, int] = field(default_factory=dict)

    @property
    def free_ram_mb(self) -> int:
        return self.memory_mb - self.memory_mb_used

    @property
    def free_vcpus(self) -> int:
        return self.vcpus - self.vcpus_used

    def backend(self, name: str | None) -> BackendState | None:
        """The backend of that name, or the host's default when no name is asked for."""
        if name is None:
            return self.backends[0] if self.backends else None
        return next((b for b in self.backends if b.name == name), None)


@dataclass(frozen=True)
class RequestSpec:
    vcpus: int
    memory_mb: int
    root_gb: int
    extra_specs: dict[str, str] = field(default_factory=dict)
    image_properties: dict[str, str] = field(default_factory=dict)
    zone: str | None = None  # the availability zone asked for
    backend: str | None = None  # the ephemeral backend the flavor names outright
    forced_host: str | None = None  # "zone:host" in the request (admins)
    group_policy: str | None = None  # affinity, anti-affinity
    group_hosts: frozenset[str] = frozenset()  # hosts of the group's other members
    # backend kinds the image may land on (an image that is not raw cannot boot from rbd
    # when conversion is off); None: any
    allowed_kinds: frozenset[str] | None = None
