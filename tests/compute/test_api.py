"""The Compute API's first slice over HTTP: discovery and microversions, flavors, aggregates,
services, hypervisors and availability zones, errors in Nova's shape."""

from __future__ import annotations

import httpx
from server import RunningServer

from .helpers import ComputeApi, backend, fault, unique


def test_version_discovery_and_catalog(srv: RunningServer, admin: ComputeApi) -> None:
    root = httpx.get(f"{srv.url}/compute").json()["versions"]
    assert [v["id"] for v in root] == ["v2.1"]
    v21 = httpx.get(f"{srv.url}/compute/v2.1").json()["version"]
    assert v21["min_version"] == "2.1" and v21["version"] == "2.87"
    catalog = httpx.get(f"{srv.url}/identity/v3/auth/catalog",
                        headers={"X-Auth-Token": admin.token}).json()["catalog"]
    compute = [c for c in catalog if c["type"] == "compute"]
    assert compute and compute[0]["endpoints"][0]["url"] == f"{srv.url}/compute/v2.1"


def test_microversion_headers(admin: ComputeApi) -> None:
    assert admin.get("/flavors").headers["X-OpenStack-Nova-API-Version"] == "2.1"
    resp = admin.get("/flavors", headers={"X-OpenStack-Nova-API-Version": "2.53"})
    assert resp.headers["OpenStack-API-Version"] == "compute 2.53"
    assert admin.get("/flavors", version="latest").headers[
        "X-OpenStack-Nova-API-Version"] == "2.87"
    assert "not supported" in fault(admin.get("/flavors", version="2.200"), 406)
    fault(admin.get("/flavors", version="two"), 400, "badRequest")


def test_flavor_lifecycle(admin: ComputeApi) -> None:
    flavor = admin.flavor(id="80", name=unique("m1.ceph"), ram=128, disk=40, vcpus=1)
    assert flavor["id"] == "80" and flavor["swap"] == "" and flavor["os-flavor-access:is_public"]
    try:
        assert admin.get("/flavors/80").json()["flavor"]["ram"] == 128
        listed = admin.get("/flavors").json()["flavors"]
        assert {"id": "80", "name": flavor["name"]}.items() <= next(
            f for f in listed if f["id"] == "80").items()
        # extra specs: set, read one, show in the flavor from 2.61, unset
        resp = admin.post("/flavors/80/os-extra_specs", json={"extra_specs": {
            "aggregate_instance_extra_specs:cephcomputestorage1": "true"}})
        assert resp.status_code == 200, resp.text
        assert admin.get("/flavors/80/os-extra_specs/aggregate_instance_extra_specs:"
                         "cephcomputestorage1").json() == {
            "aggregate_instance_extra_specs:cephcomputestorage1": "true"}
        shown = admin.get("/flavors/80", version="2.61").json()["flavor"]
        assert shown["extra_specs"] == {
            "aggregate_instance_extra_specs:cephcomputestorage1": "true"}
        assert admin.delete("/flavors/80/os-extra_specs/aggregate_instance_extra_specs:"
                            "cephcomputestorage1").status_code == 200
        fault(admin.get("/flavors/80/os-extra_specs/nope"), 404, "itemNotFound")
        # description from 2.55
        resp = admin.put("/flavors/80", version="2.55", json={"flavor": {"description": "d"}})
        assert resp.json()["flavor"]["description"] == "d"
        # conflicts
        msg = fault(admin.post("/flavors", json={"flavor": {
            "name": flavor["name"], "ram": 1, "vcpus": 1, "disk": 0}}), 409,
            "conflictingRequest")
        assert "already exists" in msg
        fault(admin.post("/flavors", json={"flavor": {
            "name": unique("x"), "ram": 1, "vcpus": 1, "disk": 0, "id": "80"}}), 409)
    finally:
        assert admin.delete("/flavors/80").status_code == 202
    assert "Flavor 80 could not be found." == fault(admin.get("/flavors/80"), 404, "itemNotFound")


def test_flavor_bad_input_leaves_nothing(admin: ComputeApi) -> None:
    name = unique("bad")
    for spec in ({"name": name, "ram": 0, "vcpus": 1, "disk": 1},
                 {"name": name, "ram": 64, "vcpus": "many", "disk": 1},
                 {"name": name, "ram": 64, "vcpus": 1},
                 {"name": name, "ram": 64, "vcpus": 1, "disk": -1},
                 {"name": name, "ram": 64, "vcpus": 1, "disk": 1, "colour": "red"}):
        fault(admin.post("/flavors", json={"flavor": spec}), 400, "badRequest")
    names = [f["name"] for f in admin.get("/flavors", params={"is_public": "none"}).json()[
        "flavors"]]
    assert name not in names


def test_flavor_access_and_policy(admin: ComputeApi,
                                  member: tuple[ComputeApi, str, str, str, str]) -> None:
    api, _user, _pw, _project, project_id = member
    fault(api.post("/flavors", json={"flavor": {"name": unique("f"), "ram": 64, "vcpus": 1,
                                                "disk": 1}}), 403, "forbidden")
    private = admin.flavor(**{"os-flavor-access:is_public": False})
    fid = private["id"]
    fault(api.get(f"/flavors/{fid}"), 404)
    assert fid not in [f["id"] for f in api.get("/flavors").json()["flavors"]]
    resp = admin.post(f"/flavors/{fid}/action",
                      json={"addTenantAccess": {"tenant": project_id}})
    assert resp.json()["flavor_access"] == [{"flavor_id": fid, "tenant_id": project_id}]
    assert api.get(f"/flavors/{fid}").status_code == 200
    assert fid in [f["id"] for f in api.get("/flavors").json()["flavors"]]
    public = admin.flavor()
    fault(admin.post(f"/flavors/{public['id']}/action",
                     json={"addTenantAccess": {"tenant": project_id}}), 409)
    fault(admin.get(f"/flavors/{public['id']}/os-flavor-access"), 404)
    admin.post(f"/flavors/{fid}/action", json={"removeTenantAccess": {"tenant": project_id}})
    fault(api.get(f"/flavors/{fid}"), 404)
    for f in (private, public):
        admin.delete(f"/flavors/{f['id']}")


def test_aggregates_hosts_and_metadata(admin: ComputeApi) -> None:
    host = unique("compute")
    assert admin.register(host, backends=[backend("vms", "vms")]).status_code == 201
    resp = admin.post("/os-aggregates", json={"aggregate": {"name": unique("ceph")}})
    assert resp.status_code == 200, resp.text
    agg = resp.json()["aggregate"]
    aid = agg["id"]
    assert agg["availability_zone"] is None
    fault(admin.post("/os-aggregates", json={"aggregate": {"name": agg["name"]}}), 409)
    msg = fault(admin.post(f"/os-aggregates/{aid}/action",
                           json={"add_host": {"host": "no-such-host"}}), 404, "itemNotFound")
    assert "no-such-host" in msg
    resp = admin.post(f"/os-aggregates/{aid}/action", json={"add_host": {"host": host}})
    assert resp.json()["aggregate"]["hosts"] == [host]
    fault(admin.post(f"/os-aggregates/{aid}/action", json={"add_host": {"host": host}}), 409)
    resp = admin.post(f"/os-aggregates/{aid}/action", json={"set_metadata": {"metadata": {
        "cephcomputestorage1": "true", "availability_zone": "az-ceph"}}})
    shown = resp.json()["aggregate"]
    assert shown["metadata"] == {"cephcomputestorage1": "true", "availability_zone": "az-ceph"}
    assert shown["availability_zone"] == "az-ceph"
    assert admin.get(f"/os-aggregates/{aid}", version="2.41").json()["aggregate"]["uuid"]
    # the aggregate's zone is the host's zone now
    zones = admin.get("/os-availability-zone/detail").json()["availabilityZoneInfo"]
    assert host in next(z for z in zones if z["zoneName"] == "az-ceph")["hosts"]
    # a host cannot sit in two zones
    other = admin.post("/os-aggregates", json={"aggregate": {
        "name": unique("other"), "availability_zone": "az-other"}}).json()["aggregate"]
    fault(admin.post(f"/os-aggregates/{other['id']}/action",
                     json={"add_host": {"host": host}}), 409)
    admin.delete(f"/os-aggregates/{other['id']}")
    # refused while it has hosts, and nothing changes
    msg = fault(admin.delete(f"/os-aggregates/{aid}"), 400, "badRequest")
    assert "not empty" in msg
    assert admin.get(f"/os-aggregates/{aid}").json()["aggregate"]["hosts"] == [host]
    admin.post(f"/os-aggregates/{aid}/action", json={"set_metadata": {"metadata": {
        "cephcomputestorage1": None}}})
    assert "cephcomputestorage1" not in admin.get(f"/os-aggregates/{aid}").json()[
        "aggregate"]["metadata"]
    admin.post(f"/os-aggregates/{aid}/action", json={"remove_host": {"host": host}})
    assert admin.delete(f"/os-aggregates/{aid}").status_code == 200
    fault(admin.get(f"/os-aggregates/{aid}"), 404)
    fault(admin.get("/os-aggregates/abc"), 400)


def test_second_agent_for_a_host_that_is_up_is_refused(admin: ComputeApi) -> None:
    host = unique("compute")
    first = admin.register(host)
    assert first.status_code == 201
    session = first.json()["session"]
    msg = fault(admin.register(host), 409, "conflictingRequest")
    assert "up and registered by another agent" in msg
    # the same agent re-registering (a restart that kept its session) is its own successor
    again = admin.register(host, session=session)
    assert again.status_code == 201
    new = again.json()["session"]
    assert admin.agent("POST", f"/hosts/{host}/heartbeat",
                       json={"session": new}).status_code == 200
    fault(admin.agent("POST", f"/hosts/{host}/heartbeat", json={"session": session}), 409)


def test_services_disable_and_force_down(admin: ComputeApi) -> None:
    host = unique("compute")
    admin.register(host)
    svc = next(s for s in admin.get("/os-services").json()["services"] if s["host"] == host)
    assert (svc["binary"], svc["status"], svc["state"]) == ("nova-compute", "enabled", "up")
    resp = admin.put("/os-services/disable-log-reason", json={
        "host": host, "binary": "nova-compute", "disabled_reason": "maintenance"})
    assert resp.json()["service"]["status"] == "disabled", resp.text
    resp = admin.put("/os-services/force-down", version="2.11", json={
        "host": host, "binary": "nova-compute", "forced_down": True})
    assert resp.json()["service"]["forced_down"] is True
    svc = next(s for s in admin.get("/os-services", version="2.11").json()["services"]
               if s["host"] == host)
    assert (svc["status"], svc["state"], svc["forced_down"], svc["disabled_reason"]) == (
        "disabled", "down", True, "maintenance")
    # 2.53: by uuid
    svc = admin.get("/os-services", version="2.53", params={"host": host}).json()["services"][0]
    resp = admin.put(f"/os-services/{svc['id']}", version="2.53",
                     json={"status": "enabled", "forced_down": False})
    assert (resp.json()["service"]["status"], resp.json()["service"]["state"]) == (
        "enabled", "up")
    fault(admin.put(f"/os-services/{svc['id']}", version="2.53",
                    json={"status": "enabled", "disabled_reason": "x"}), 400)
    fault(admin.put("/os-services/enable", json={"host": "nope", "binary": "nova-compute"}),
          404)


def test_hypervisors_count_cpu_ram_once_and_pools_once(admin: ComputeApi) -> None:
    """The 000 guide: one host with two backends is one hypervisor; a pool two hosts share
    is counted once in the statistics."""
    before = admin.get("/os-hypervisors/statistics").json()["hypervisor_statistics"]
    fsid = unique("fsid")
    a, b = unique("compute"), unique("compute")
    admin.register(a, vcpus=4, memory_mb=8192, backends=[
        backend("vms", "vms", fsid, total_gb=100, free_gb=80),
        backend("vms2", "vms2", fsid, total_gb=100, free_gb=70)])
    admin.register(b, vcpus=2, memory_mb=4096, backends=[
        backend("vms", "vms", fsid, total_gb=100, free_gb=80)])
    hyps = admin.get("/os-hypervisors/detail", version="2.53",
                     params={"hypervisor_hostname_pattern": a}).json()["hypervisors"]
    assert len(hyps) == 1
    h = hyps[0]
    assert (h["vcpus"], h["memory_mb"], h["local_gb"], h["free_disk_gb"]) == (4, 8192, 200, 150)
    assert [x["name"] for x in h["cowcloud:ephemeral_backends"]] == ["vms", "vms2"]
    assert admin.get(f"/os-hypervisors/{h['id']}", version="2.53").json()["hypervisor"][
        "hypervisor_hostname"] == a
    after = admin.get("/os-hypervisors/statistics").json()["hypervisor_statistics"]
    assert after["count"] - before["count"] == 2
    assert after["vcpus"] - before["vcpus"] == 6
    assert after["memory_mb"] - before["memory_mb"] == 12288
    assert after["local_gb"] - before["local_gb"] == 200  # vms once, vms2 once
    legacy = admin.get("/os-hypervisors").json()["hypervisors"]
    hid = next(x["id"] for x in legacy if x["hypervisor_hostname"] == b)
    assert isinstance(hid, int)
    assert admin.get(f"/os-hypervisors/{hid}").json()["hypervisor"]["local_gb"] == 100
    assert [x["hypervisor_hostname"] for x in admin.get(
        f"/os-hypervisors/{b}/search").json()["hypervisors"]] == [b]
    fault(admin.get("/os-hypervisors/999999"), 404)


def test_zones_for_everyone_details_for_admins(
        admin: ComputeApi, member: tuple[ComputeApi, str, str, str, str]) -> None:
    api = member[0]
    admin.register(unique("compute"), site="site-b")
    zones = api.get("/os-availability-zone").json()["availabilityZoneInfo"]
    assert {"zoneName": "site-b", "zoneState": {"available": True}, "hosts": None} in zones
    fault(api.get("/os-availability-zone/detail"), 403)
    fault(api.get("/os-hypervisors"), 403)
    fault(api.get("/os-aggregates"), 403)
    fault(api.agent("POST", "/hosts", json={"host": {"host": "x", "vcpus": 1,
                                                     "memory_mb": 1}}), 403)
