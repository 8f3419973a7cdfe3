"""The scheduler's filters and weighers, as pure functions over host states."""

from __future__ import annotations

import random

import pytest

from cowcloud.services.compute.scheduler import (
    BackendState,
    HostState,
    NoValidHost,
    RequestSpec,
    claim,
    schedule,
    schedule_many,
)
from cowcloud.services.compute.scheduler import filters as f

GiB = 1 << 30
VMS = BackendState("vms", "rbd", "fsid-a", "vms")
VMS2 = BackendState("vms2", "rbd", "fsid-a", "vms2")
LOCAL = BackendState("local", "local", "host-1", "vms")


def host(name: str = "compute01", **kw: object) -> HostState:
    base: dict[str, object] = dict(zone="nova", vcpus=8, memory_mb=8192, backends=(VMS, VMS2))
    base.update(kw)
    return HostState(name, **base)  # type: ignore[arg-type]


def spec(**kw: object) -> RequestSpec:
    base: dict[str, object] = dict(vcpus=1, memory_mb=512, root_gb=1)
    base.update(kw)
    return RequestSpec(**base)  # type: ignore[arg-type]


def meta(**kw: str) -> dict[str, frozenset[str]]:
    return {k: frozenset(x.strip() for x in v.split(",")) for k, v in kw.items()}


def test_availability_zone() -> None:
    assert f.availability_zone(host(zone="az1"), spec())
    assert f.availability_zone(host(zone="az1"), spec(zone="az1"))
    assert not f.availability_zone(host(zone="az1"), spec(zone="az2"))


def test_compute_enabled_and_up() -> None:
    assert f.compute(host(), spec())
    assert not f.compute(host(enabled=False), spec())
    assert not f.compute(host(up=False), spec())


def test_ram_and_cpu_count_what_is_used() -> None:
    assert f.ram(host(memory_mb=1024, memory_mb_used=512), spec(memory_mb=512))
    assert not f.ram(host(memory_mb=1024, memory_mb_used=513), spec(memory_mb=512))
    assert f.cpu(host(vcpus=2, vcpus_used=1), spec(vcpus=1))
    assert not f.cpu(host(vcpus=2, vcpus_used=2), spec(vcpus=1))


def test_disk_checks_the_chosen_backend_and_passes_unreported() -> None:
    small = BackendState("vms", "rbd", "fsid-a", "vms", total_bytes=10 * GiB, free_bytes=2 * GiB)
    big = BackendState("vms2", "rbd", "fsid-a", "vms2", total_bytes=99 * GiB, free_bytes=50 * GiB)
    h = host(backends=(small, big))
    assert not f.disk(h, spec(root_gb=5))  # the default backend is the first
    assert f.disk(h, spec(root_gb=5, backend="vms2"))
    assert not f.disk(host(backends=(small,), disk_claimed={"vms": GiB + 1}), spec(root_gb=1))
    assert f.disk(host(), spec(root_gb=10_000))  # no capacity reported


def test_ephemeral_backend_named_by_the_flavor() -> None:
    assert f.ephemeral_backend(host(), spec(backend="vms2"))
    assert not f.ephemeral_backend(host(), spec(backend="fast"))
    assert not f.ephemeral_backend(host(backends=()), spec())
    # an image that rbd cannot boot: only local backends qualify
    assert not f.ephemeral_backend(host(), spec(allowed_kinds=frozenset({"local"})))
    assert f.ephemeral_backend(host(backends=(LOCAL,)), spec(allowed_kinds=frozenset({"local"})))


def test_image_properties() -> None:
    assert f.image_properties(host(), spec(image_properties={"hw_architecture": "x86_64"}))
    assert not f.image_properties(host(), spec(image_properties={"hw_architecture": "aarch64"}))
    assert not f.image_properties(host(), spec(image_properties={"img_hv_type": "xen"}))
    assert f.image_properties(host(), spec(image_properties={"img_hv_type": "qemu"}))
    assert not f.image_properties(host(), spec(image_properties={"hw_vm_mode": "xen"}))


def test_server_groups() -> None:
    members = frozenset({"compute01"})
    aff = spec(group_policy="affinity", group_hosts=members)
    anti = spec(group_policy="anti-affinity", group_hosts=members)
    assert f.server_group_affinity(host("compute01"), aff)
    assert not f.server_group_affinity(host("compute02"), aff)
    assert f.server_group_affinity(host("compute02"), spec(group_policy="affinity"))  # first
    assert not f.server_group_anti_affinity(host("compute01"), anti)
    assert f.server_group_anti_affinity(host("compute02"), anti)


def test_aggregate_extra_specs_scoped_and_unscoped() -> None:
    """The 000 guide's scoped key and the 001 guide's unscoped one both steer; other scopes
    (hw:, cowcloud:) are not the filter's."""
    ceph = host(aggregate_metadata=meta(cephcomputestorage1="true"))
    bare = host()
    scoped = spec(extra_specs={"aggregate_instance_extra_specs:cephcomputestorage1": "true"})
    unscoped = spec(extra_specs={"cephcomputestorage1": "true"})
    other = spec(extra_specs={"hw:cpu_policy": "dedicated",
                              "cowcloud:ephemeral_backend": "vms2"})
    assert f.aggregate_instance_extra_specs(ceph, scoped)
    assert f.aggregate_instance_extra_specs(ceph, unscoped)
    assert not f.aggregate_instance_extra_specs(bare, scoped)
    assert not f.aggregate_instance_extra_specs(
        host(aggregate_metadata=meta(cephcomputestorage1="false")), scoped)
    assert f.aggregate_instance_extra_specs(bare, other)
    # metadata values are comma lists over all of a host's aggregates
    assert f.aggregate_instance_extra_specs(host(aggregate_metadata=meta(ssd="false, true")),
                                            spec(extra_specs={"ssd": "true"}))


@pytest.mark.parametrize("value,req,ok", [
    ("true", "true", True), ("true", "false", False),
    ("4", "= 2", True), ("1", "= 2", False), ("2", "== 2", True), ("3", "!= 2", True),
    ("3", ">= 4", False), ("3", "<= 4", True), ("abc", "s== abc", True),
    ("b", "s> a", True), ("Intel Xeon", "<in> Xeon", True), ("TRUE", "<is> true", True),
    ("b", "<or> a <or> b", True), ("c", "<or> a <or> b", False), ("x", "= 2", False),
])
def test_extra_spec_operators(value: str, req: str, ok: bool) -> None:
    assert f.match(value, req) is ok


def test_schedule_weighs_by_free_ram() -> None:
    hosts = [host("compute01", memory_mb=4096), host("compute02", memory_mb=8192),
             host("compute03", memory_mb=8192, memory_mb_used=6000)]
    assert schedule(hosts, spec()).host == "compute02"


def test_schedule_ties_go_by_name() -> None:
    assert schedule([host("b"), host("a")], spec()).host == "a"


def test_no_host_names_the_filter_that_refused() -> None:
    hosts = [host("compute01", aggregate_metadata=meta(local="true")),
             host("compute02", memory_mb=256)]
    with pytest.raises(NoValidHost) as exc:
        schedule(hosts, spec(extra_specs={"ceph": "true"}))
    assert exc.value.filter == "AggregateInstanceExtraSpecsFilter"
    assert "AggregateInstanceExtraSpecsFilter returned 0 hosts" in exc.value.message
    with pytest.raises(NoValidHost) as exc:
        schedule(hosts, spec(memory_mb=100_000))
    assert exc.value.filter == "RamFilter"
    with pytest.raises(NoValidHost) as exc:
        schedule([], spec())
    assert exc.value.filter is None


def test_the_000_guide_one_host_two_backends() -> None:
    """One host reaching vms and vms2: a flavor naming vms2 lands there, on the same host."""
    h = host("compute01", backends=(VMS, VMS2))
    chosen = schedule([h], spec(backend="vms2"))
    assert chosen.host == "compute01" and chosen.backend("vms2") == VMS2


def _sequential(hosts: list[HostState], s: RequestSpec, count: int) -> list[str]:
    out = []
    for _ in range(count):
        best = schedule(hosts, s)
        hosts = [claim(best, s) if h.host == best.host else h for h in hosts]
        out.append(best.host)
    return out


def test_schedule_many_places_as_one_by_one_would() -> None:
    """The heap of the multi-placement picks what placing one server after another picks,
    ties included, and names the filter once hosts run out."""
    rng = random.Random(7)
    hosts = [host(f"c{i:02d}", vcpus=rng.choice([2, 4, 8]),
                  memory_mb=rng.choice([2048, 4096, 8192]),
                  aggregate_metadata=meta(ceph="true") if i % 3 else {})
             for i in range(30)]
    s = spec(vcpus=1, memory_mb=1024, extra_specs={"ceph": "true"})
    expected = _sequential(hosts, s, 40)
    assert [h.host for h in schedule_many(hosts, s, 40)] == expected
    generic = schedule_many(hosts, s, 40, weighers=[(lambda h, sp: float(h.free_ram_mb), 1.0)])
    assert [h.host for h in generic] == expected
    with pytest.raises(NoValidHost) as exc:
        schedule_many(hosts, s, 10_000)
    assert exc.value.filter in ("RamFilter", "CoreFilter")


def test_schedule_many_keeps_anti_affinity_between_its_own_placements() -> None:
    hosts = [host(f"c{i}") for i in range(3)]
    s = spec(group_policy="anti-affinity")
    assert len({h.host for h in schedule_many(hosts, s, 3)}) == 3
    with pytest.raises(NoValidHost) as exc:
        schedule_many(hosts, s, 4)
    assert exc.value.filter == "ServerGroupAntiAffinityFilter"


def test_filters_that_do_not_apply_are_skipped() -> None:
    names = [n for n, _ in f.applicable(spec())]
    assert "AvailabilityZoneFilter" not in names and "RamFilter" in names
    assert "AvailabilityZoneFilter" in [n for n, _ in f.applicable(spec(zone="az"))]
