"""Private volume types and their access lists, snapshot metadata, and availability zones, with
the openstack and cinder CLIs and over HTTP (bad input each a 4xx in Cinder's shape)."""

from __future__ import annotations

from pathlib import Path

from server import RunningServer, openstack_json
from server import openstack as osc

from .conftest import User, _make_user
from .helpers import VolumeApi, cinder, fault, unique


def test_private_type_access(srv: RunningServer, admin: VolumeApi, tmp_path: Path) -> None:
    carol, dave = _make_user(srv), _make_user(srv)
    clouds = srv.write_clouds_yaml(tmp_path / "clouds.yaml",
                                   carol=srv.cloud(carol.name, carol.password, carol.project),
                                   dave=srv.cloud(dave.name, dave.password, dave.project))
    name = unique("private")
    vtype = openstack_json(clouds, "volume", "type", "create", "--private", name)
    tid = vtype["id"]
    names = lambda cloud: {t["Name"] for t in openstack_json(  # noqa: E731
        clouds, "volume", "type", "list", cloud=cloud)}
    assert name not in names("carol")
    assert fault(carol.api.get(f"/types/{tid}"), 404)
    refused = carol.api.post("/volumes", json={"volume": {"size": 1, "volume_type": name}})
    assert fault(refused, 404) == f"Volume type {name} could not be found."

    osc(clouds, "volume", "type", "set", "--project", carol.project_id, name)
    shown = openstack_json(clouds, "volume", "type", "show", name)
    assert carol.project_id in str(shown["access_project_ids"])
    assert name in names("carol") and name not in names("dave")
    assert carol.api.get(f"/types/{tid}").status_code == 200
    vol = carol.api.create(size=1, volume_type=name)
    carol.api.wait(vol["id"])

    run = lambda *a, **kw: cinder(srv.url, "admin", srv.admin_password, "admin",  # noqa: E731
                                  *a, **kw)
    run("type-access-add", "--volume-type", tid, "--project-id", dave.project_id)
    listed = run("type-access-list", "--volume-type", tid).stdout
    assert carol.project_id in listed and dave.project_id in listed
    assert name in names("dave")
    run("type-access-remove", "--volume-type", tid, "--project-id", dave.project_id)
    assert name not in names("dave")
    access = admin.get(f"/types/{tid}/os-volume-type-access").json()["volume_type_access"]
    assert access == [{"volume_type_id": tid, "project_id": carol.project_id}]

    # bad input, each a 4xx that changes nothing
    add = lambda body, api=admin: api.post(f"/types/{tid}/action", json=body)  # noqa: E731
    assert fault(add({"addProjectAccess": {"project": carol.project_id}}), 409) == (
        f"Volume type access for {tid} / {carol.project_id} combination already exists.")
    assert fault(add({"removeProjectAccess": {"project": dave.project_id}}), 404) == (
        f"Volume type access not found for {tid} / {dave.project_id} combination.")
    fault(add({"addProjectAccess": {}}), 400)
    fault(add({"addProjectAccess": {"project": 5}}), 400)
    fault(add({"frobnicate": {"project": "x"}}), 400)
    fault(add({"addProjectAccess": {"project": dave.project_id}}, carol.api), 403)
    fault(admin.post("/types/00000000-0000-0000-0000-000000000000/action",
                     json={"addProjectAccess": {"project": "p"}}), 404)
    public = admin.get("/types/default").json()["volume_type"]["id"]
    assert fault(admin.post(f"/types/{public}/action",
                            json={"addProjectAccess": {"project": "p"}}), 400) == (
        "Type access modification is not applicable to public volume type.")
    assert fault(admin.get(f"/types/{public}/os-volume-type-access"), 404)
    assert fault(dave.api.get(f"/types/{tid}/os-volume-type-access"), 404)
    access = admin.get(f"/types/{tid}/os-volume-type-access").json()["volume_type_access"]
    assert [a["project_id"] for a in access] == [carol.project_id]

    carol.api.delete(f"/volumes/{vol['id']}")
    carol.api.gone(vol["id"])
    osc(clouds, "volume", "type", "delete", name)


def test_snapshot_metadata(srv: RunningServer, alice: User, tmp_path: Path) -> None:
    clouds = srv.write_clouds_yaml(tmp_path / "clouds.yaml",
                                   alice=srv.cloud(alice.name, alice.password, alice.project))
    vol = alice.api.create(size=1)
    alice.api.wait(vol["id"])
    snap = alice.api.snapshot(vol["id"], metadata={"a": "1"})
    sid = snap["id"]
    osc(clouds, "volume", "snapshot", "set", "--property", "tier=gold", sid, cloud="alice")
    shown = openstack_json(clouds, "volume", "snapshot", "show", sid, cloud="alice")
    assert shown["properties"] == {"a": "1", "tier": "gold"}
    run = lambda *a, **kw: cinder(srv.url, alice.name, alice.password,  # noqa: E731
                                  alice.project, *a, **kw)
    run("snapshot-metadata", sid, "set", "b=2")
    run("snapshot-metadata", sid, "unset", "a")
    assert alice.api.get(f"/snapshots/{sid}/metadata").json() == {
        "metadata": {"tier": "gold", "b": "2"}}
    osc(clouds, "volume", "snapshot", "unset", "--property", "tier", sid, cloud="alice")

    meta = lambda path="": f"/snapshots/{sid}/metadata{path}"  # noqa: E731
    assert alice.api.get(meta("/b")).json() == {"meta": {"b": "2"}}
    assert alice.api.put(meta("/c"), json={"meta": {"c": "3"}}).json() == {"meta": {"c": "3"}}
    assert alice.api.put(meta(), json={"metadata": {"x": "y"}}).json() == {
        "metadata": {"x": "y"}}
    assert alice.api.post(meta(), json={"metadata": {"z": "w"}}).json() == {
        "metadata": {"x": "y", "z": "w"}}
    assert alice.api.delete(meta("/z")).status_code == 200
    # bad input: 4xx, metadata unchanged
    assert fault(alice.api.get(meta("/nope")), 404) == (
        f"Snapshot {sid} has no metadata with key nope.")
    fault(alice.api.delete(meta("/nope")), 404)
    fault(alice.api.put(meta("/c"), json={"meta": {"d": "4"}}), 400)
    fault(alice.api.put(meta(), json={"metadata": {"k": 5}}), 400)
    fault(alice.api.post(meta(), json={"metadata": {"": "v"}}), 400)
    fault(alice.api.post(meta(), json={"meta": {}}), 400)
    fault(alice.api.post(meta(), json={"metadata": {"k": "v" * 256}}), 400)
    fault(alice.api.get("/snapshots/00000000-0000-0000-0000-000000000000/metadata"), 404)
    bob = _make_user(srv)
    fault(bob.api.get(meta()), 404)
    assert alice.api.get(meta()).json() == {"metadata": {"x": "y"}}
    assert alice.api.get(f"/snapshots/{sid}").json()["snapshot"]["metadata"] == {"x": "y"}

    alice.api.delete(f"/volumes/{vol['id']}", params={"cascade": "true"})
    alice.api.gone(vol["id"])


def test_availability_zones(srv: RunningServer, alice: User, tmp_path: Path) -> None:
    clouds = srv.write_clouds_yaml(tmp_path / "clouds.yaml",
                                   alice=srv.cloud(alice.name, alice.password, alice.project))
    zones = openstack_json(clouds, "availability", "zone", "list", "--volume", cloud="alice")
    assert {(z["Zone Name"], z["Zone Status"]) for z in zones} == {
        ("central", "available"), ("dcn0", "available"), ("edge", "available")}
    out = cinder(srv.url, alice.name, alice.password, alice.project,
                 "availability-zone-list").stdout
    assert "central" in out and "dcn0" in out and "edge" in out
    body = alice.api.get("/os-availability-zone").json()
    assert {"zoneName": "dcn0", "zoneState": {"available": True}} in body[
        "availabilityZoneInfo"]
