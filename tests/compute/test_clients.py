"""The seeds' commands with the real clients: python-novaclient's `nova` as the 000 and 001
guides type them, `openstack` (python-openstackclient) and openstacksdk."""

from __future__ import annotations

from pathlib import Path

import openstack
from server import RunningServer, openstack_json
from server import openstack as openstack_cli

from .helpers import ComputeApi, backend, nova, unique


def _nova(srv: RunningServer, *args: str) -> str:
    return nova(srv.url, "admin", srv.admin_password, "admin", *args).stdout


def test_000_guide_aggregates_and_flavors_with_nova(srv: RunningServer,
                                                    admin: ComputeApi) -> None:
    """III.2 and III.3 of the 000 guide, command for command (the hosts registered as the
    guide's two nova-compute processes would; cowcloud needs one, see test_api)."""
    for host in ("compute-ceph1", "compute-ceph2"):
        assert admin.register(host, backends=[backend("vms", "vms")]).status_code == 201
    _nova(srv, "aggregate-create", "ceph-compute-storage1")
    _nova(srv, "aggregate-create", "ceph-compute-storage2")
    out = _nova(srv, "aggregate-add-host", "ceph-compute-storage1", "compute-ceph1")
    assert "Host compute-ceph1 has been successfully added for aggregate" in out
    _nova(srv, "aggregate-add-host", "ceph-compute-storage2", "compute-ceph2")
    ids = {a["name"]: a["id"] for a in admin.get("/os-aggregates").json()["aggregates"]}
    out = _nova(srv, "aggregate-set-metadata", str(ids["ceph-compute-storage1"]),
                "cephcomputestorage1=true")
    assert "cephcomputestorage1=true" in out
    _nova(srv, "aggregate-set-metadata", str(ids["ceph-compute-storage2"]),
          "cephcomputestorage2=true")
    out = _nova(srv, "flavor-create", "m1.ceph-compute-storage1", "8", "128", "40", "1")
    assert "m1.ceph-compute-storage1" in out
    _nova(srv, "flavor-create", "m1.ceph-compute-storage2", "9", "128", "40", "1")
    _nova(srv, "flavor-key", "m1.ceph-compute-storage1", "set",
          "aggregate_instance_extra_specs:cephcomputestorage1=true")
    _nova(srv, "flavor-key", "m1.ceph-compute-storage2", "set",
          "aggregate_instance_extra_specs:cephcomputestorage2=true")
    assert admin.get("/flavors/9/os-extra_specs").json()["extra_specs"] == {
        "aggregate_instance_extra_specs:cephcomputestorage2": "true"}
    agg = admin.get(f"/os-aggregates/{ids['ceph-compute-storage1']}").json()["aggregate"]
    assert agg["hosts"] == ["compute-ceph1"]
    assert agg["metadata"] == {"cephcomputestorage1": "true"}
    out = _nova(srv, "service-list")
    assert "compute-ceph1" in out and "nova-compute" in out
    out = _nova(srv, "hypervisor-list")
    assert "compute-ceph2" in out
    _nova(srv, "hypervisor-stats")
    # the 001 guide's unscoped key, on a flavor found by name
    _nova(srv, "flavor-create", "m1.ephemeral-compute-storage", "6", "4096", "40", "2")
    _nova(srv, "flavor-key", "m1.ephemeral-compute-storage", "set",
          "ephemeralcomputestorage=true")
    assert admin.get("/flavors/6/os-extra_specs").json()["extra_specs"] == {
        "ephemeralcomputestorage": "true"}


def test_openstack_cli(srv: RunningServer, admin: ComputeApi, clouds_yaml: Path) -> None:
    host = unique("compute")
    admin.register(host, vcpus=6, memory_mb=6144, backends=[
        backend("vms", "vms", "fsid-cli", total_gb=50), backend("vms2", "vms2", "fsid-cli",
                                                              total_gb=50)])
    name = unique("agg")
    openstack_cli(clouds_yaml, "aggregate", "create", "--zone", "cli-zone", name)
    openstack_cli(clouds_yaml, "aggregate", "add", "host", name, host)
    openstack_cli(clouds_yaml, "aggregate", "set", "--property", "ssd=true", name)
    shown = openstack_json(clouds_yaml, "aggregate", "show", name)
    assert shown["hosts"] == [host] and shown["availability_zone"] == "cli-zone"
    assert shown["properties"] == {"ssd": "true"} or shown["properties"].get("ssd") == "true"
    flavor = unique("m1")
    openstack_cli(clouds_yaml, "flavor", "create", "--ram", "256", "--vcpus", "1", "--disk",
                  "2", "--property", "cowcloud:ephemeral_backend=vms2", flavor)
    props = openstack_json(clouds_yaml, "flavor", "show", flavor)["properties"]
    assert props == {"cowcloud:ephemeral_backend": "vms2"}
    zones = [z["Zone Name"] for z in openstack_json(clouds_yaml, "availability", "zone",
                                                      "list")]
    assert "cli-zone" in zones
    hyp = openstack_json(clouds_yaml, "hypervisor", "show", host)
    assert (hyp["vcpus"], hyp["memory_mb"], hyp["local_gb"]) == (6, 6144, 100)
    openstack_cli(clouds_yaml, "compute", "service", "set", "--disable",
                  "--disable-reason", "maintenance", host, "nova-compute")
    openstack_cli(clouds_yaml, "compute", "service", "set", "--down", host, "nova-compute")
    svc = next(s for s in openstack_json(clouds_yaml, "compute", "service", "list", "--long")
               if s["Host"] == host)
    assert (svc["Status"], svc["State"], svc["Disabled Reason"]) == (
        "disabled", "down", "maintenance")
    openstack_cli(clouds_yaml, "compute", "service", "set", "--enable", "--up", host,
                  "nova-compute")
    group = openstack_json(clouds_yaml, "server", "group", "create", "--policy",
                           "anti-affinity", unique("grp"))
    assert group["policy"] == "anti-affinity"
    openstack_cli(clouds_yaml, "server", "group", "delete", group["id"])
    key = unique("key")
    out = openstack_cli(clouds_yaml, "keypair", "create", "--type", "ssh", key).stdout
    assert "BEGIN OPENSSH PRIVATE KEY" in out  # generated here, handed over once
    assert openstack_json(clouds_yaml, "keypair", "show", key)["fingerprint"]
    openstack_cli(clouds_yaml, "keypair", "delete", key)
    openstack_cli(clouds_yaml, "aggregate", "remove", "host", name, host)
    openstack_cli(clouds_yaml, "aggregate", "delete", name)
    openstack_cli(clouds_yaml, "flavor", "delete", flavor)


def test_openstacksdk(srv: RunningServer, admin: ComputeApi) -> None:
    conn = openstack.connect(**srv.cloud())
    try:
        flavor = conn.compute.create_flavor(name=unique("sdk"), ram=64, vcpus=1, disk=1)
        conn.compute.create_flavor_extra_specs(flavor, {"hw:cpu_policy": "shared"})
        assert conn.compute.fetch_flavor_extra_specs(flavor).extra_specs == {
            "hw:cpu_policy": "shared"}
        assert flavor.id in [f.id for f in conn.compute.flavors()]
        agg = conn.compute.create_aggregate(name=unique("sdk-agg"))
        host = unique("compute")
        admin.register(host)
        conn.compute.add_host_to_aggregate(agg, host)
        assert conn.compute.get_aggregate(agg.id).hosts == [host]
        conn.compute.remove_host_from_aggregate(agg, host)
        conn.compute.delete_aggregate(agg)
        hyps = {h.name: h for h in conn.compute.hypervisors(details=True)}
        assert host in hyps
        services = [s for s in conn.compute.services() if s.host == host]
        assert services and services[0].binary == "nova-compute"
        conn.compute.delete_flavor(flavor)
        assert conn.compute.get_limits().absolute.instances == 10
    finally:
        conn.close()

