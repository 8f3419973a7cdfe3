"""The deployment as the Block Storage API describes it: zones, extensions, services, hosts,
pools with capabilities, the volume summary, messages, and the groups API's clear 404."""

from __future__ import annotations

from cowcloud.config import Settings

from .conftest import User
from .helpers import VolumeApi, fault


def test_zones_and_extensions_for_everyone(alice: User) -> None:
    api = alice.api
    zones = api.get("/os-availability-zone").json()["availabilityZoneInfo"]
    assert zones == [{"zoneName": z, "zoneState": {"available": True}}
                     for z in ("central", "dcn0", "edge")]
    names = {e["name"] for e in api.get("/extensions").json()["extensions"]}
    assert {"Hosts", "AvailabilityZones", "Services", "Scheduler_stats"} <= names
    assert api.get("/extensions", project=False).status_code == 200


def _site(settings: Settings, backend: str) -> str:
    return settings.clusters[settings.volume_backends[backend].cluster].site


def test_services_and_hosts_are_the_admins(admin: VolumeApi, alice: User,
                                           settings: Settings) -> None:
    services = admin.get("/os-services").json()["services"]
    # one cinder-volume per configured backend, in its cluster's site
    assert {(s["binary"], s["host"], s["zone"]) for s in services} == {
        ("cinder-scheduler", "cowcloud", "central"),
        *(("cinder-volume", f"cowcloud@{name}", _site(settings, name))
          for name in settings.volume_backends)}
    assert {"central", "dcn0", "edge"} <= set(settings.volume_backends)
    assert all(s["state"] == "up" and s["status"] == "enabled" for s in services)
    by_host = admin.get("/os-services", params={"host": "cowcloud"}).json()["services"]
    assert len(by_host) == 1 + len(settings.volume_backends)
    volume = admin.get("/os-services", params={"host": "cowcloud@dcn0",
                                               "binary": "cinder-volume"}).json()["services"]
    assert [s["host"] for s in volume] == ["cowcloud@dcn0"]
    assert "cluster" in admin.get("/os-services", version="3.7").json()["services"][0]
    fault(alice.api.get("/os-services"), 403)
    # nothing here can be disabled or frozen: unknown services are 404, the rest refused
    fault(admin.put("/os-services/enable", json={"host": "nope",
                                                 "binary": "cinder-volume"}), 404)
    fault(admin.put("/os-services/disable", json={"host": "cowcloud@edge",
                                                  "binary": "nope"}), 404)
    fault(admin.put("/os-services/disable-log-reason", json={
        "host": "cowcloud@edge", "binary": "cinder-volume", "disabled_reason": None}), 400)
    fault(admin.put("/os-services/disable", json={"host": "cowcloud@edge",
                                                  "binary": "cinder-volume"}), 400)
    fault(admin.put("/os-services/freeze", json={"host": "nope"}), 400)
    fault(alice.api.put("/os-services/enable", json={"host": "cowcloud@edge",
                                                     "binary": "cinder-volume"}), 403)

    hosts = admin.get("/os-hosts").json()["hosts"]
    assert {h["host_name"] for h in hosts} == {s["host"] for s in services}
    vol = alice.api.wait(alice.api.create(size=2)["id"])
    snap = alice.api.snapshot(vol["id"])
    host = admin.volume(vol["id"])["os-vol-host-attr:host"].split("#")[0]
    assert host == "cowcloud@central"
    rows = admin.get(f"/os-hosts/{host}").json()["host"]
    total = rows[0]["resource"]
    assert total["project"] == "(total)" and int(total["volume_count"]) >= 1
    mine = next(r["resource"] for r in rows if r["resource"]["project"] == alice.project_id)
    assert mine == {"host": host, "project": alice.project_id, "volume_count": "1",
                    "total_volume_gb": "2", "snapshot_count": "1", "total_snapshot_gb": "2"}
    fault(admin.get("/os-hosts/cowcloud"), 404)  # the scheduler holds no volumes
    fault(alice.api.get("/os-hosts"), 403)
    assert alice.api.delete(f"/snapshots/{snap['id']}").status_code == 202
    alice.api.snapshot_gone(snap["id"])
    assert alice.api.delete(f"/volumes/{vol['id']}").status_code == 202
    alice.api.gone(vol["id"])


def test_pools_and_capabilities(admin: VolumeApi, alice: User, settings: Settings) -> None:
    names = [p["name"] for p in admin.get("/scheduler-stats/get_pools").json()["pools"]]
    assert sorted(names) == sorted(f"cowcloud@{name}#{b.pool}"
                           for name, b in settings.volume_backends.items())
    assert "cowcloud@edge#volumes" in names
    before = {p["name"]: p["capabilities"] for p in admin.get(
        "/scheduler-stats/get_pools", params={"detail": "true"}).json()["pools"]}
    edge = before["cowcloud@edge#volumes"]
    assert (edge["volume_backend_name"], edge["storage_protocol"], edge["vendor_name"]) == (
        "edge", "local", "Open Source")
    assert before["cowcloud@central#volumes"]["storage_protocol"] == "ceph"
    # capacity as the cluster tells it: the local folder's file system; a Ceph cluster only
    # while a ceph-mgr has reported (the capacity tests start one), else Cinder's "unknown"
    assert 0 < edge["free_capacity_gb"] <= edge["total_capacity_gb"]
    central = before["cowcloud@central#volumes"]
    told = (central["total_capacity_gb"], central["free_capacity_gb"])
    assert told == ("unknown", "unknown") or 0 <= told[1] <= told[0], told
    # a volume counts in its pool's provisioned capacity
    vtype = admin.post("/types", json={"volume_type": {
        "name": "edge-pool-test", "extra_specs": {"volume_backend_name": "edge"}}}).json()
    vol = alice.api.wait(alice.api.create(size=3, volume_type="edge-pool-test")["id"])
    after = {p["name"]: p["capabilities"] for p in admin.get(
        "/scheduler-stats/get_pools", params={"detail": "true"}).json()["pools"]}
    assert (after["cowcloud@edge#volumes"]["provisioned_capacity_gb"]
            == edge["provisioned_capacity_gb"] + 3)
    assert after["cowcloud@edge#volumes"]["allocated_capacity_gb"] >= 0
    caps = admin.get("/capabilities/cowcloud@edge").json()
    assert (caps["volume_backend_name"], caps["storage_protocol"]) == ("edge", "local")
    assert admin.get("/capabilities/cowcloud@edge#volumes").json() == caps
    fault(admin.get("/capabilities/cowcloud@nope"), 404)
    fault(alice.api.get("/scheduler-stats/get_pools"), 403)
    fault(alice.api.get("/capabilities/cowcloud@edge"), 403)
    assert alice.api.delete(f"/volumes/{vol['id']}").status_code == 202
    alice.api.gone(vol["id"])
    assert admin.delete(f"/types/{vtype['volume_type']['id']}").status_code == 202


def test_summary_messages_and_groups(bob: User) -> None:
    api = bob.api
    a = api.wait(api.create(size=1, metadata={"k": "a"})["id"])
    b = api.wait(api.create(size=2, metadata={"k": "b", "x": "1"})["id"])
    assert api.get("/volumes/summary", version="3.12").json() == {
        "volume-summary": {"total_size": 3, "total_count": 2}}
    assert api.get("/volumes/summary", version="3.36").json()["volume-summary"][
        "metadata"] == {"k": ["a", "b"], "x": ["1"]}
    fault(api.get("/volumes/summary"), 404)  # before 3.12, "summary" is no volume id
    assert api.get("/messages", version="3.3").json() == {"messages": []}
    fault(api.get("/messages/7b6f0b6e-0000-4000-8000-000000000000", version="3.3"), 404)
    fault(api.delete("/messages/7b6f0b6e-0000-4000-8000-000000000000", version="3.3"), 404)
    for path in ("/groups", "/groups/detail", "/group_types", "/group_snapshots"):
        assert "not available" in fault(api.get(path, version="3.20"), 404)
    assert "not available" in fault(api.post("/group_types", json={}, version="3.20"), 404)
    for vol in (a, b):
        assert api.delete(f"/volumes/{vol['id']}").status_code == 202
        api.gone(vol["id"])
