"""Discovery, microversions, the error shape, and the basic volume life cycle over HTTP."""

from __future__ import annotations

import httpx
from server import RunningServer

from cowcloud.config import Settings

from .helpers import GiB, VolumeApi, fault, pattern, pool_devices, rbd_cli, read_device


def test_version_discovery(srv: RunningServer) -> None:
    root = httpx.get(f"{srv.url}/volume/")
    assert root.status_code == 300
    (v3,) = root.json()["versions"]
    assert v3["id"] == "v3.0" and v3["min_version"] == "3.0" and v3["version"] == "3.67"
    assert {"rel": "self", "href": f"{srv.url}/volume/v3/"} in v3["links"]
    assert httpx.get(f"{srv.url}/volume/v3/").json()["versions"][0]["version"] == "3.67"


def test_catalog_names_the_volume_service(srv: RunningServer, alice) -> None:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": alice.name, "domain": {"id": "default"}, "password": alice.password}}},
        "scope": {"project": {"id": alice.project_id}}}}
    token = httpx.post(f"{srv.url}/identity/v3/auth/tokens", json=body).json()["token"]
    by_type = {s["type"]: s for s in token["catalog"]}
    for kind in ("block-storage", "volumev3"):
        urls = {e["url"] for e in by_type[kind]["endpoints"]}
        assert urls == {f"{srv.url}/volume/v3/{alice.project_id}"}


def test_microversion_negotiation(admin: VolumeApi) -> None:
    plain = admin.get("/types")
    assert plain.status_code == 200
    assert plain.headers["OpenStack-API-Version"] == "volume 3.0"
    assert "OpenStack-API-Version" in plain.headers["Vary"]
    assert admin.get("/types", version="3.50").headers["OpenStack-API-Version"] == "volume 3.50"
    assert admin.get("/types", version="latest").headers["OpenStack-API-Version"] == \
        "volume 3.67"
    assert "maximum is 3.67" in fault(admin.get("/types", version="3.99"), 406)
    assert "Minimum is 3.0" in fault(admin.get("/types", version="2.0"), 406)
    assert "invalid format" in fault(admin.get("/types", version="3.x"), 400)


def test_with_and_without_project_in_the_path(admin: VolumeApi) -> None:
    vol = admin.create(size=1)
    for project in (True, False):
        resp = admin.get(f"/volumes/{vol['id']}", project=project)
        assert resp.status_code == 200, resp.text
    admin.wait(vol["id"])
    assert admin.delete(f"/volumes/{vol['id']}", project=False).status_code == 202
    admin.gone(vol["id"])


def test_a_project_in_the_path_must_be_the_tokens(admin: VolumeApi, alice) -> None:
    resp = admin.request("GET", "/volumes", project=False)
    assert resp.status_code == 200
    with httpx.Client(base_url=admin.url) as c:
        other = c.get(f"/volume/v3/{alice.project_id}/volumes",
                      headers={"X-Auth-Token": admin.token})
    assert "doesn't match Context's project_id" in fault(other, 400)


def test_errors_in_cinder_shape(admin: VolumeApi) -> None:
    missing = "7b6f0b6e-0000-4000-8000-000000000000"
    assert "could not be found" in fault(admin.get(f"/volumes/{missing}"), 404)
    assert "could not be found" in fault(admin.get("/volumes/not-a-uuid"), 404)
    assert "could not be found" in fault(admin.get(f"/snapshots/{missing}"), 404)
    fault(admin.get("/nothing-here"), 404)
    fault(admin.post("/volumes", content=b"{not json", headers={
        "Content-Type": "application/json"}), 400)
    fault(admin.post("/volumes", json={"volume": {"size": 0}}), 400)
    fault(admin.post("/volumes", json={"volume": {"size": "big"}}), 400)
    fault(admin.post("/volumes", json={"nothing": {}}), 400)
    fault(admin.post("/volumes", json={"volume": {"size": 1, "volume_type": "nope"}}), 404)
    big = b'{"volume": {"size": 1, "name": "' + b"x" * (1 << 20) + b'"}}'
    fault(admin.post("/volumes", content=big, headers={"Content-Type": "application/json"}),
          413)
    fault(admin.get("/volumes", headers={"X-Auth-Token": "bad"}), 401)


def test_blank_volume_life_cycle(admin: VolumeApi, settings: Settings, ceph_clusters) -> None:
    vol = admin.create(size=1, description="first", metadata={"k": "v"})
    assert vol["status"] == "creating" and vol["size"] == 1
    vol = admin.wait(vol["id"])
    assert vol["bootable"] == "false" and vol["volume_type"] == "__DEFAULT__"
    assert vol["availability_zone"] == "central" and vol["metadata"] == {"k": "v"}
    info = rbd_cli(ceph_clusters[0], "info", f"volumes/volume-{vol['id']}")
    assert info["size"] == GiB and "parent" not in info
    assert read_device(settings, "central", vol["id"], 4096) == bytes(4096)
    assert admin.delete(f"/volumes/{vol['id']}").status_code == 202
    admin.gone(vol["id"])
    assert f"volume-{vol['id']}" not in pool_devices(settings)["central"]


def test_volume_from_image_in_the_same_cluster_is_a_clone(admin: VolumeApi, settings: Settings,
                                                          ceph_clusters) -> None:
    data = pattern(4 << 20, seed=3)
    iid = admin.image(data)
    vol = admin.wait(admin.create(size=1, imageRef=iid)["id"])
    info = rbd_cli(ceph_clusters[0], "info", f"volumes/volume-{vol['id']}")
    assert info["parent"]["pool"] == "images" and info["parent"]["image"] == iid
    assert info["parent"]["snapshot"] == "snap" and info["size"] == GiB
    assert read_device(settings, "central", vol["id"], len(data)) == data
    assert vol["bootable"] == "true"
    assert vol["volume_image_metadata"]["image_id"] == iid
    assert admin.delete(f"/volumes/{vol['id']}").status_code == 202
    admin.gone(vol["id"])
    admin.delete_image(iid)
