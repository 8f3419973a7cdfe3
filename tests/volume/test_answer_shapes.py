"""What tempest's volume suite showed differing from Cinder in what was built: the fields each
answer carries (create and update answers lack the extension fields that show and list add),
metadata filters as Python literals, next links on full pages, a null snapshot source, and
types that pick their backend by capabilities."""

from __future__ import annotations

from cowcloud.config import Settings

from .conftest import User
from .helpers import VolumeApi, fault, pattern, pool_devices, unique

EXTENDED = {"os-vol-tenant-attr:tenant_id", "os-vol-host-attr:host",
            "os-vol-mig-status-attr:migstat", "os-vol-mig-status-attr:name_id",
            "volume_image_metadata"}
SNAP_EXTENDED = {"os-extended-snapshot-attributes:progress",
                 "os-extended-snapshot-attributes:project_id"}


def test_create_and_update_answers_carry_no_extension_fields(admin: VolumeApi,
                                                             alice: User) -> None:
    api = alice.api
    iid = api.image(pattern(1 << 20, seed=41))
    for who in (api, admin):
        made = who.create(size=1, imageRef=iid)
        assert not EXTENDED & set(made), made
        shown = who.wait(made["id"])
        assert "os-vol-tenant-attr:tenant_id" in shown and "volume_image_metadata" in shown
        assert ("os-vol-host-attr:host" in shown) is (who is admin)
        listed = who.get("/volumes/detail").json()["volumes"]
        assert "volume_image_metadata" in next(v for v in listed if v["id"] == made["id"])
        updated = who.put(f"/volumes/{made['id']}", json={"volume": {"name": "n"}})
        assert updated.status_code == 200 and not EXTENDED & set(updated.json()["volume"])
        snap = who.snapshot(made["id"])
        assert not SNAP_EXTENDED & set(snap), snap
        assert SNAP_EXTENDED <= set(who.get(f"/snapshots/{snap['id']}").json()["snapshot"])
        renamed = who.put(f"/snapshots/{snap['id']}", json={"snapshot": {"name": "s"}})
        assert renamed.status_code == 200 and not SNAP_EXTENDED & set(
            renamed.json()["snapshot"])
        assert who.delete(f"/snapshots/{snap['id']}").status_code == 202
        who.snapshot_gone(snap["id"])
        assert who.delete(f"/volumes/{made['id']}").status_code == 202
        who.gone(made["id"])
    api.delete_image(iid)


def test_type_answers_as_cinder_shapes_them(admin: VolumeApi) -> None:
    made = admin.post("/types", json={"volume_type": {"name": unique("t")}})
    assert made.status_code == 200
    vtype = made.json()["volume_type"]
    assert "qos_specs_id" not in vtype and vtype["os-volume-type-access:is_public"] is True
    shown = admin.get(f"/types/{vtype['id']}").json()["volume_type"]
    assert shown["qos_specs_id"] is None and "os-volume-type-access:is_public" in shown
    updated = admin.put(f"/types/{vtype['id']}", json={"volume_type": {"description": "d"}})
    assert set(updated.json()["volume_type"]) == {"id", "name", "description", "is_public",
                                                  "extra_specs"}
    assert admin.delete(f"/types/{vtype['id']}").status_code == 202


def test_python_literal_metadata_filter_and_full_page_links(alice: User) -> None:
    api = alice.api
    tag = unique("lit")
    made = [api.wait(api.create(size=1, metadata={"tag": tag})["id"])["id"] for _ in range(2)]
    for path in ("/volumes", "/volumes/detail"):
        found = api.get(path, params={"metadata": f"{{'tag': '{tag}'}}"}).json()["volumes"]
        assert {v["id"] for v in found} == set(made)
    fault(api.get("/volumes", params={"metadata": "{'tag': nope}"}), 400)
    # a full last page still links a next one, which is empty (as Cinder pages)
    page = api.get("/volumes", params={"metadata": f'{{"tag": "{tag}"}}', "limit": 2}).json()
    assert len(page["volumes"]) == 2 and page["volumes_links"][0]["rel"] == "next"
    after = api.get("/volumes", params={"metadata": f'{{"tag": "{tag}"}}', "limit": 2,
                                        "marker": page["volumes"][-1]["id"]}).json()
    assert after == {"volumes": []}
    snap = api.snapshot(made[0])
    spage = api.get("/snapshots", params={"volume_id": made[0], "limit": 1}).json()
    assert spage["snapshots_links"][0]["rel"] == "next"
    assert api.delete(f"/snapshots/{snap['id']}").status_code == 202
    api.snapshot_gone(snap["id"])
    for vid in made:
        assert api.delete(f"/volumes/{vid}").status_code == 202
        api.gone(vid)


def test_snapshot_of_a_null_volume_is_not_found(alice: User) -> None:
    assert "could not be found" in fault(
        alice.api.post("/snapshots", json={"snapshot": {"volume_id": None}}), 404)
    fault(alice.api.post("/snapshots", json={"snapshot": {}}), 400)


def test_types_pick_backends_by_capabilities(admin: VolumeApi, alice: User,
                                             settings: Settings) -> None:
    made: dict[str, str] = {}

    def vtype(specs: dict[str, str]) -> str:
        resp = admin.post("/types", json={"volume_type": {"name": unique("cap"),
                                                          "extra_specs": specs}})
        assert resp.status_code == 200, resp.text
        made[resp.json()["volume_type"]["name"]] = resp.json()["volume_type"]["id"]
        return str(resp.json()["volume_type"]["name"])

    api = alice.api
    scoped = vtype({"capabilities:volume_backend_name": "dcn0"})
    local = vtype({"storage_protocol": "local", "vendor_name": "Open Source"})
    ceph = vtype({"storage_protocol": "<in> ceph"})
    nowhere = vtype({"vendor_name": "Nobody"})
    fault(admin.post("/types", json={"volume_type": {"name": unique("cap"), "extra_specs": {
        "capabilities:volume_backend_name": "nope"}}}), 400)
    zones = {}
    for name in (scoped, local, ceph):
        vol = api.wait(api.create(size=1, volume_type=name)["id"])
        zones[name] = vol["availability_zone"]
        assert api.delete(f"/volumes/{vol['id']}").status_code == 202
        api.gone(vol["id"])
    assert zones == {scoped: "dcn0", local: "edge", ceph: "central"}
    before = pool_devices(settings)
    ids = {v["id"] for v in api.get("/volumes").json()["volumes"]}
    assert "No valid backend" in fault(api.post("/volumes", json={"volume": {
        "size": 1, "volume_type": nowhere}}), 400)
    assert {v["id"] for v in api.get("/volumes").json()["volumes"]} == ids
    assert pool_devices(settings) == before
    for type_id in made.values():
        assert admin.delete(f"/types/{type_id}").status_code == 202


def test_image_metadata_actions(alice: User, bob: User) -> None:
    api = alice.api
    vol = api.wait(api.create(size=1)["id"])
    act = lambda who, body: who.post(f"/volumes/{vol['id']}/action", json=body)  # noqa: E731
    resp = act(api, {"os-set_image_metadata": {"metadata": {"hw_disk_bus": "scsi",
                                                            "ramdisk_id": "r"}}})
    assert resp.status_code == 200
    assert resp.json() == {"metadata": {"hw_disk_bus": "scsi", "ramdisk_id": "r"}}
    assert api.volume(vol["id"])["volume_image_metadata"] == resp.json()["metadata"]
    unset = act(api, {"os-unset_image_metadata": {"key": "ramdisk_id"}})
    assert unset.status_code == 200
    shown = act(api, {"os-show_image_metadata": {}})
    assert shown.status_code == 200 and shown.json() == {"metadata": {"hw_disk_bus": "scsi"}}
    fault(act(api, {"os-unset_image_metadata": {"key": "ramdisk_id"}}), 404)
    fault(act(api, {"os-set_image_metadata": {"metadata": {"k": 1}}}), 400)
    fault(act(api, {"os-set_image_metadata": {}}), 400)
    fault(act(bob.api, {"os-show_image_metadata": {}}), 404)
    assert act(api, {"os-set_bootable": {"bootable": True}}).status_code == 200
    assert api.delete(f"/volumes/{vol['id']}").status_code == 202
    api.gone(vol["id"])


def test_offset_and_display_name_sort(alice: User) -> None:
    api = alice.api
    vol = api.wait(api.create(size=1)["id"])
    snaps = [api.snapshot(vol["id"], name=f"s{i}") for i in (2, 0, 1)]
    by_name = api.get("/snapshots", params={"volume_id": vol["id"], "sort_key": "display_name",
                                            "sort_dir": "asc"}).json()["snapshots"]
    assert [s["name"] for s in by_name] == ["s0", "s1", "s2"]
    skipped = api.get("/snapshots", params={"volume_id": vol["id"], "sort": "name:asc",
                                            "offset": 2, "limit": 3}).json()["snapshots"]
    assert [s["name"] for s in skipped] == ["s2"]
    fault(api.get("/snapshots", params={"offset": "-1"}), 400)
    vols = api.get("/volumes", params={"sort": "display_name:asc", "offset": 0}).json()
    assert vol["id"] in {v["id"] for v in vols["volumes"]}
    for snap in snaps:
        assert api.delete(f"/snapshots/{snap['id']}").status_code == 202
        api.snapshot_gone(snap["id"])
    assert api.delete(f"/volumes/{vol['id']}").status_code == 202
    api.gone(vol["id"])
