"""Volume records over HTTP: listing (filters, sort, limit, marker), update, metadata, actions,
types, who sees what, and bad input that is refused in Cinder's shape with nothing left."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cowcloud.config import Settings

from .conftest import User
from .helpers import GiB, VolumeApi, fault, pattern, pool_devices, rbd_cli, unique


def _drop(api: VolumeApi, *volume_ids: str) -> None:
    for vid in volume_ids:
        assert api.delete(f"/volumes/{vid}").status_code == 202, vid
        api.gone(vid)


def test_listing_filters_sort_and_pages(alice: User) -> None:
    api = alice.api
    tag = unique("ls")
    made = [api.wait(api.create(size=1, name=f"{tag}-{i}", metadata={"tag": tag})["id"])
            for i in range(3)]
    ids = {v["id"] for v in made}
    summary = api.get("/volumes").json()["volumes"]
    assert ids <= {v["id"] for v in summary}
    assert set(summary[0]) == {"id", "name", "links"}
    detail = api.get("/volumes/detail", params={"metadata": f'{{"tag": "{tag}"}}'}).json()
    assert {v["id"] for v in detail["volumes"]} == ids
    by_name = api.get("/volumes/detail", params={"name": f"{tag}-1"}).json()["volumes"]
    assert [v["name"] for v in by_name] == [f"{tag}-1"]
    assert api.get("/volumes", params={"status": "error"}).json()["volumes"] == []
    asc = api.get("/volumes/detail", params={"metadata": f'{{"tag": "{tag}"}}',
                                             "sort": "name:asc"}).json()["volumes"]
    assert [v["name"] for v in asc] == [f"{tag}-0", f"{tag}-1", f"{tag}-2"]
    first = api.get("/volumes", params={"metadata": f'{{"tag": "{tag}"}}', "sort": "name:asc",
                                        "limit": 2}).json()
    assert [v["name"] for v in first["volumes"]] == [f"{tag}-0", f"{tag}-1"]
    assert first["volumes_links"][0]["rel"] == "next"
    rest = api.get("/volumes", params={"metadata": f'{{"tag": "{tag}"}}', "sort": "name:asc",
                                       "limit": 2, "marker": first["volumes"][-1]["id"]}).json()
    assert [v["name"] for v in rest["volumes"]] == [f"{tag}-2"] and "volumes_links" not in rest
    counted = api.get("/volumes", version="3.45",
                      params={"metadata": f'{{"tag": "{tag}"}}', "with_count": "true"}).json()
    assert counted["count"] == 3
    fault(api.get("/volumes", params={"sort": "nope:asc"}), 400)
    fault(api.get("/volumes", params={"marker": "7b6f0b6e-0000-4000-8000-000000000000"}), 404)
    fault(api.get("/volumes", params={"limit": "x"}), 400)
    assert "Invalid filters" in fault(api.get("/volumes", version="3.31",
                                              params={"colour": "red"}), 400)
    _drop(api, *ids)


def test_update_metadata_and_actions(alice: User, ceph_clusters) -> None:
    api = alice.api
    vol = api.wait(api.create(size=1)["id"])
    vid = vol["id"]
    resp = api.put(f"/volumes/{vid}", json={"volume": {"name": "renamed", "description": "d"}})
    assert resp.status_code == 200 and resp.json()["volume"]["name"] == "renamed"
    fault(api.put(f"/volumes/{vid}", json={"volume": {"size": 5}}), 400)
    assert api.post(f"/volumes/{vid}/metadata", json={"metadata": {"a": "1"}}).json() == {
        "metadata": {"a": "1"}}
    assert api.post(f"/volumes/{vid}/metadata", json={"metadata": {"b": "2"}}).json() == {
        "metadata": {"a": "1", "b": "2"}}
    assert api.put(f"/volumes/{vid}/metadata", json={"metadata": {"c": "3"}}).json() == {
        "metadata": {"c": "3"}}
    assert api.put(f"/volumes/{vid}/metadata/d", json={"meta": {"d": "4"}}).json() == {
        "meta": {"d": "4"}}
    assert api.get(f"/volumes/{vid}/metadata/d").json() == {"meta": {"d": "4"}}
    assert api.delete(f"/volumes/{vid}/metadata/d").status_code == 200
    fault(api.get(f"/volumes/{vid}/metadata/d"), 404)
    fault(api.put(f"/volumes/{vid}/metadata/x", json={"meta": {"y": "1"}}), 400)
    assert api.post(f"/volumes/{vid}/action",
                    json={"os-set_bootable": {"bootable": True}}).status_code == 200
    assert api.volume(vid)["bootable"] == "true"
    # extend grows the device; shrinking and no-ops are refused
    assert api.post(f"/volumes/{vid}/action",
                    json={"os-extend": {"new_size": 2}}).status_code == 202
    assert api.wait(vid)["size"] == 2
    assert rbd_cli(ceph_clusters[0], "info", f"volumes/volume-{vid}")["size"] == 2 * GiB
    for size in (2, 1, 0, "x"):
        fault(api.post(f"/volumes/{vid}/action", json={"os-extend": {"new_size": size}}), 400)
    assert rbd_cli(ceph_clusters[0], "info", f"volumes/volume-{vid}")["size"] == 2 * GiB
    assert "no such action" in fault(api.post(f"/volumes/{vid}/action",
                                              json={"os-frobnicate": {}}), 400)
    _drop(api, vid)


def test_projects_see_only_their_own(alice: User, bob: User, admin: VolumeApi) -> None:
    vol = alice.api.wait(alice.api.create(size=1)["id"])
    fault(bob.api.get(f"/volumes/{vol['id']}"), 404)
    fault(bob.api.delete(f"/volumes/{vol['id']}"), 404)
    fault(bob.api.post("/snapshots", json={"snapshot": {"volume_id": vol["id"]}}), 404)
    assert vol["id"] not in {v["id"] for v in bob.api.get("/volumes").json()["volumes"]}
    assert vol["id"] not in {v["id"] for v in admin.get("/volumes").json()["volumes"]}
    everyone = admin.get("/volumes", params={"all_tenants": "1"}).json()["volumes"]
    assert vol["id"] in {v["id"] for v in everyone}
    assert admin.get(f"/volumes/{vol['id']}").status_code == 200
    _drop(alice.api, vol["id"])


def test_volume_types(admin: VolumeApi, alice: User) -> None:
    default = admin.get("/types/default").json()["volume_type"]
    assert default["name"] == "__DEFAULT__"
    name = unique("t")
    resp = admin.post("/types", json={"volume_type": {
        "name": name, "description": "on dcn0", "extra_specs": {"volume_backend_name": "dcn0"}}})
    assert resp.status_code == 200, resp.text
    vtype = resp.json()["volume_type"]
    assert vtype["extra_specs"] == {"volume_backend_name": "dcn0"}
    assert "extra_specs" not in alice.api.get(f"/types/{vtype['id']}").json()["volume_type"]
    fault(alice.api.post("/types", json={"volume_type": {"name": unique("t")}}), 403)
    fault(alice.api.delete(f"/types/{vtype['id']}"), 403)
    assert "already exists" in fault(admin.post("/types", json={"volume_type": {"name": name}}),
                                     409)
    assert "not a configured volume backend" in fault(admin.post("/types", json={
        "volume_type": {"name": unique("t"), "extra_specs": {"volume_backend_name": "x"}}}),
        400)
    assert admin.post(f"/types/{vtype['id']}/extra_specs",
                      json={"extra_specs": {"k": "v"}}).status_code == 200
    assert admin.get(f"/types/{vtype['id']}/extra_specs").json()["extra_specs"] == {
        "volume_backend_name": "dcn0", "k": "v"}
    vol = alice.api.wait(alice.api.create(size=1, volume_type=name)["id"])
    assert vol["volume_type"] == name and vol["availability_zone"] == "dcn0"
    assert "still in use" in fault(admin.delete(f"/types/{vtype['id']}"), 400)
    fault(admin.post(f"/types/{vtype['id']}/extra_specs",
                     json={"extra_specs": {"volume_backend_name": "central"}}), 400)
    assert "can not be deleted" in fault(admin.delete(f"/types/{default['id']}"), 400)
    _drop(alice.api, vol["id"])
    assert admin.delete(f"/types/{vtype['id']}").status_code == 202
    fault(admin.get(f"/types/{vtype['id']}"), 404)
    # a private type is the admins' (type access lists are not built): others neither see
    # nor use it
    private = admin.post("/types", json={"volume_type": {
        "name": unique("p"), "os-volume-type-access:is_public": False}}).json()["volume_type"]
    assert private["is_public"] is False
    assert private["id"] not in {t["id"] for t in
                                 alice.api.get("/types").json()["volume_types"]}
    fault(alice.api.get(f"/types/{private['id']}"), 404)
    fault(alice.api.post("/volumes", json={"volume": {"size": 1,
                                                      "volume_type": private["id"]}}), 404)
    assert admin.delete(f"/types/{private['id']}").status_code == 202


def _state(admin: VolumeApi, settings: Settings) -> tuple[set[str], dict[str, list[str]]]:
    rows = admin.get("/volumes", params={"all_tenants": "1"}).json()["volumes"]
    return {v["id"] for v in rows}, pool_devices(settings)


def test_bad_input_is_refused_with_nothing_left(admin: VolumeApi, alice: User,
                                                settings: Settings) -> None:
    api = alice.api
    iid = api.image(pattern(1 << 20, seed=31), min_disk=2)
    big = api.image(pattern(1 << 20, seed=32))
    vol = api.wait(api.create(size=2)["id"])
    snap = api.snapshot(vol["id"])
    before = _state(admin, settings)
    missing = "7b6f0b6e-0000-4000-8000-000000000000"
    assert "minDisk" in fault(api.post("/volumes", json={"volume": {"size": 1,
                                                                    "imageRef": iid}}), 400)
    fault(api.post("/volumes", json={"volume": {"size": 1, "imageRef": missing}}), 404)
    fault(api.post("/volumes", json={"volume": {"imageRef": big}}), 400)  # size is required
    fault(api.post("/volumes", json={"volume": {"snapshot_id": missing}}), 404)
    fault(api.post("/volumes", json={"volume": {"source_volid": missing}}), 404)
    fault(api.post("/volumes", json={"volume": {"size": 1, "volume_type": missing}}), 404)
    assert "smaller than original volume size" in fault(api.post("/volumes", json={
        "volume": {"source_volid": vol["id"], "size": 1}}), 400)
    assert "smaller than the snapshot size" in fault(api.post("/volumes", json={
        "volume": {"snapshot_id": snap["id"], "size": 1}}), 400)
    fault(api.post("/volumes", json={"volume": {"size": 1, "availability_zone": "mars"}}), 400)
    fault(api.post("/volumes", json={"volume": {"size": 1, "multiattach": True}}), 400)
    fault(api.post("/volumes", json={"volume": {"size": 1, "metadata": {"k": 1}}}), 400)
    fault(api.post("/volumes", json={"volume": {"size": 1, "imageRef": big,
                                                "snapshot_id": snap["id"]}}), 400)
    fault(api.post("/volumes", json={"volume": {"size": 1, "backup_id": missing}}), 400)
    assert "dependent snapshots" in fault(api.delete(f"/volumes/{vol['id']}"), 400)
    huge = b'{"volume": {"size": 1, "name": "' + b"x" * (1 << 20) + b'"}}'
    fault(api.post("/volumes", content=huge, headers={"Content-Type": "application/json"}),
          413)
    assert _state(admin, settings) == before
    assert api.delete(f"/snapshots/{snap['id']}").status_code == 202
    api.snapshot_gone(snap["id"])
    _drop(api, vol["id"])
    api.delete_image(iid)
    api.delete_image(big)


def test_virtual_size_above_the_volume_size_is_refused(alice: User, admin: VolumeApi,
                                                       settings: Settings,
                                                       tmp_path: Path) -> None:
    api = alice.api
    # a sparse qcow2 of 1.5 GiB: converted to raw as it lands in rbd, virtual size kept
    disk = tmp_path / "big.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", str(disk), "1536M"], check=True,
                   capture_output=True)
    iid = api.image(disk.read_bytes(), disk_format="qcow2")
    before = _state(admin, settings)
    assert "doesn't fit in a volume of size 1GB" in fault(api.post("/volumes", json={
        "volume": {"size": 1, "imageRef": iid}}), 400)
    assert _state(admin, settings) == before
    vol = api.wait(api.create(size=2, imageRef=iid)["id"])
    assert vol["size"] == 2
    _drop(api, vol["id"])
    api.delete_image(iid)


def test_a_failed_build_ends_in_error_with_no_device(alice: User, settings: Settings,
                                                     ceph_clusters) -> None:
    api = alice.api
    iid = api.image(pattern(1 << 20, seed=34))
    # the image's device vanishes behind the server's back: the clone cannot be made
    info = ceph_clusters[0]
    base = ["rbd", "-c", str(info.conf), "--id", info.user, "--keyring", str(info.keyring)]
    subprocess.run([*base, "snap", "unprotect", f"images/{iid}@snap"], check=True)
    subprocess.run([*base, "snap", "rm", f"images/{iid}@snap"], check=True,
                   capture_output=True)
    subprocess.run([*base, "rm", f"images/{iid}"], check=True, capture_output=True)
    vol = api.wait(api.create(size=1, imageRef=iid)["id"], status="error")
    assert f"volume-{vol['id']}" not in pool_devices(settings)["central"]
    _drop(api, vol["id"])
    api.delete_image(iid)


def test_delete_follows_the_status(srv, alice: User, settings: Settings) -> None:
    """A volume being built cannot be deleted; one whose delete failed (error_deleting) can be
    deleted again, and then nothing of it is left."""
    from cowcloud.db.models import Volume
    api = alice.api
    vol = api.wait(api.create(size=1)["id"])
    db = srv.app.state.runtime.db
    for status, allowed in (("creating", False), ("extending", False),
                            ("error_deleting", True)):
        with db.session() as s:
            s.get(Volume, vol["id"]).status = status
        resp = api.delete(f"/volumes/{vol['id']}")
        if not allowed:
            assert status in fault(resp, 400)
    api.gone(vol["id"])
    assert f"volume-{vol['id']}" not in pool_devices(settings)["central"]
