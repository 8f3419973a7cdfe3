"""Where a volume's bytes come from: an image in this cluster (a clone), an image only in
another cluster (a streamed copy), a qcow2 image (converted), a snapshot (a clone of
`volume-SRC@snapshot-ID`), another volume (a clone of `volume-SRC@volume-DST.clone_snap`, or a
copy across clusters)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cowcloud.config import Settings

from .helpers import (
    GiB,
    VolumeApi,
    fault,
    pattern,
    pool_devices,
    rbd_cli,
    read_device,
    wait_for,
)


def _drop(api: VolumeApi, *volume_ids: str) -> None:
    for vid in volume_ids:
        assert api.delete(f"/volumes/{vid}").status_code == 202, vid
        api.gone(vid)


def test_image_without_a_copy_in_the_cluster_is_copied_there_once_then_cloned(
        admin: VolumeApi, settings: Settings, ceph_clusters) -> None:
    """The DCN pattern: an image in central only, volumes in dcn0. The first volume copies the
    image into dcn0's image store (the image then lists it); that volume and every later one
    there are COW clones of `images/<id>@snap` in dcn0's own cluster."""
    data = pattern(3 << 20, seed=11)
    iid = admin.image(data)  # central (ceph0) only
    far = _type(admin, "dcn0")
    first = admin.wait(admin.create(size=1, imageRef=iid, volume_type=far)["id"])
    second = admin.wait(admin.create(size=1, imageRef=iid, volume_type=far)["id"])
    assert first["availability_zone"] == "dcn0"
    for vol in (first, second):
        info = rbd_cli(ceph_clusters[1], "info", f"volumes/volume-{vol['id']}")
        assert (info["parent"]["pool"], info["parent"]["image"],
                info["parent"]["snapshot"]) == ("images", iid, "snap")
        assert info["size"] == GiB
        assert read_device(settings, "dcn0", vol["id"], len(data)) == data
    assert sorted(admin.image_stores(iid)) == ["central", "dcn0"]
    _drop(admin, first["id"], second["id"])
    admin.delete_image(iid)
    wait_for(lambda: iid not in pool_devices(settings, "image_stores")["dcn0"],
             what="the image's copy in dcn0 removed with the image")


def test_qcow2_image_is_converted_into_the_volume(admin: VolumeApi, settings: Settings,
                                                  tmp_path: Path) -> None:
    data = pattern(2 << 20, seed=12)
    raw = tmp_path / "d.raw"
    raw.write_bytes(data)
    qcow = tmp_path / "d.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow)],
                   check=True)
    iid = admin.image(qcow.read_bytes(), store="edge", disk_format="qcow2")
    vol = admin.wait(admin.create(size=1, imageRef=iid)["id"])  # central: ceph0
    assert read_device(settings, "central", vol["id"], len(data)) == data
    assert vol["volume_image_metadata"]["disk_format"] == "qcow2"
    _drop(admin, vol["id"])
    admin.delete_image(iid)


def test_volume_on_the_local_backend_from_a_local_image_is_a_clone(admin: VolumeApi,
                                                                   settings: Settings) -> None:
    data = pattern(1 << 20, seed=13)
    iid = admin.image(data, store="edge")
    vol = admin.wait(admin.create(size=1, imageRef=iid, volume_type=_type(admin, "edge"))["id"])
    assert vol["availability_zone"] == "edge"
    assert read_device(settings, "edge", vol["id"], len(data)) == data
    _drop(admin, vol["id"])
    admin.delete_image(iid)
    assert pool_devices(settings)["edge"] == []


def test_snapshot_and_volume_from_it(admin: VolumeApi, settings: Settings,
                                     ceph_clusters) -> None:
    data = pattern(1 << 20, seed=14)
    iid = admin.image(data)
    src = admin.wait(admin.create(size=1, imageRef=iid)["id"])
    snap = admin.snapshot(src["id"], name="s1")
    assert snap["status"] == "available" and snap["size"] == 1
    snaps = rbd_cli(ceph_clusters[0], "snap", "ls", f"volumes/volume-{src['id']}")
    assert [s["name"] for s in snaps] == [f"snapshot-{snap['id']}"]
    fault(admin.post("/volumes", json={"volume": {"snapshot_id": snap["id"], "size": 0}}), 400)
    vol = admin.wait(admin.create(snapshot_id=snap["id"], size=2)["id"])
    assert vol["size"] == 2 and vol["snapshot_id"] == snap["id"] and vol["bootable"] == "true"
    info = rbd_cli(ceph_clusters[0], "info", f"volumes/volume-{vol['id']}")
    assert info["parent"]["image"] == f"volume-{src['id']}"
    assert info["parent"]["snapshot"] == f"snapshot-{snap['id']}" and info["size"] == 2 * GiB
    assert read_device(settings, "central", vol["id"], len(data)) == data
    # delete refused while the volume has snapshots; the cascade takes them along
    assert "dependent snapshots" in fault(admin.delete(f"/volumes/{src['id']}"), 400)
    assert admin.delete(f"/volumes/{src['id']}?cascade=true").status_code == 202
    admin.gone(src["id"])
    admin.snapshot_gone(snap["id"])
    # the clone still reads through the source's snapshot: the source's device is held
    assert f"volume-{src['id']}" in pool_devices(settings)["central"]
    assert read_device(settings, "central", vol["id"], len(data)) == data
    _drop(admin, vol["id"])
    admin.delete_image(iid)
    assert pool_devices(settings)["central"] == [], "the held source was collected"


def test_volume_from_volume_same_cluster_and_across(admin: VolumeApi, settings: Settings,
                                                    ceph_clusters) -> None:
    data = pattern(1 << 20, seed=15)
    iid = admin.image(data)
    src = admin.wait(admin.create(size=1, imageRef=iid)["id"])
    clone = admin.wait(admin.create(source_volid=src["id"])["id"])
    assert clone["size"] == 1 and clone["source_volid"] == src["id"]
    info = rbd_cli(ceph_clusters[0], "info", f"volumes/volume-{clone['id']}")
    assert info["parent"]["image"] == f"volume-{src['id']}"
    assert info["parent"]["snapshot"] == f"volume-{clone['id']}.clone_snap"
    far = admin.wait(admin.create(source_volid=src["id"], volume_type=_type(admin, "dcn0"))["id"])
    assert read_device(settings, "dcn0", far["id"], len(data)) == data
    assert "parent" not in rbd_cli(ceph_clusters[1], "info", f"volumes/volume-{far['id']}")
    _drop(admin, far["id"])
    # REFERENCE section 7: Cinder leaves volume-SRC.deleted and the clone_snap behind for
    # good when the source goes first and the clone after. Here both are collected.
    _drop(admin, src["id"])
    assert f"volume-{src['id']}" in pool_devices(settings)["central"]
    assert read_device(settings, "central", clone["id"], len(data)) == data
    _drop(admin, clone["id"])
    admin.delete_image(iid)
    assert pool_devices(settings)["central"] == []


@pytest.mark.parametrize("backend", ["central", "edge"])
def test_a_chain_of_held_devices_is_collected_bottom_up(admin: VolumeApi, settings: Settings,
                                                       backend: str) -> None:
    """rbd and the local qcow2 backend alike: A <- B <- C, A and B deleted first (held), C
    last: all three go, with their clone snapshots."""
    vtype = _type(admin, backend)
    a = admin.wait(admin.create(size=1, volume_type=vtype)["id"])
    b = admin.wait(admin.create(source_volid=a["id"])["id"])
    c = admin.wait(admin.create(source_volid=b["id"])["id"])
    _drop(admin, a["id"], b["id"])
    left = pool_devices(settings)[backend]
    assert {f"volume-{a['id']}", f"volume-{b['id']}"} <= set(left)
    _drop(admin, c["id"])
    assert pool_devices(settings)[backend] == []


def test_deleting_a_snapshot_with_a_clone_keeps_its_data_until_the_clone_goes(
        admin: VolumeApi, settings: Settings, ceph_clusters) -> None:
    data = pattern(1 << 20, seed=16)
    iid = admin.image(data)
    src = admin.wait(admin.create(size=1, imageRef=iid)["id"])
    snap = admin.snapshot(src["id"])
    vol = admin.wait(admin.create(snapshot_id=snap["id"])["id"])
    assert admin.delete(f"/snapshots/{snap['id']}").status_code == 202
    admin.snapshot_gone(snap["id"])
    snaps = rbd_cli(ceph_clusters[0], "snap", "ls", f"volumes/volume-{src['id']}")
    assert [s["name"] for s in snaps] == [f"snapshot-{snap['id']}"]
    _drop(admin, vol["id"])
    assert rbd_cli(ceph_clusters[0], "snap", "ls", f"volumes/volume-{src['id']}") == []
    _drop(admin, src["id"])
    admin.delete_image(iid)


def test_deleting_the_image_under_a_volume_defers_to_the_image_reaper(
        admin: VolumeApi, settings: Settings) -> None:
    data = pattern(1 << 20, seed=17)
    iid = admin.image(data)
    vol = admin.wait(admin.create(size=1, imageRef=iid)["id"])
    admin.delete_image(iid)
    assert iid in pool_devices(settings, "image_stores")["central"]
    assert read_device(settings, "central", vol["id"], len(data)) == data
    _drop(admin, vol["id"])
    wait_for(lambda: iid not in pool_devices(settings, "image_stores")["central"],
             what="the image's device reaped once its last clone went")


def _type(api: VolumeApi, backend: str) -> str:
    """A volume type on `backend` (made once, by name)."""
    name = f"on-{backend}"
    found = [t for t in api.get("/types").json()["volume_types"] if t["name"] == name]
    if found:
        return found[0]["id"]
    resp = api.post("/types", json={"volume_type": {
        "name": name, "extra_specs": {"volume_backend_name": backend}}})
    assert resp.status_code == 200, resp.text
    return resp.json()["volume_type"]["id"]


def test_a_source_being_read_by_a_build_cannot_be_deleted(admin: VolumeApi,
                                                         settings: Settings) -> None:
    data = pattern(96 << 20, seed=18)
    iid = admin.image(data)
    src = admin.wait(admin.create(size=1, imageRef=iid)["id"])
    far = admin.create(source_volid=src["id"], volume_type=_type(admin, "dcn0"))
    # the copy into the other cluster streams 96 MiB: the source is still being read
    assert "being created" in fault(admin.delete(f"/volumes/{src['id']}"), 400)
    admin.wait(far["id"])
    assert read_device(settings, "dcn0", far["id"], 4096) == data[:4096]
    _drop(admin, far["id"], src["id"])
    admin.delete_image(iid)


def test_volume_from_volume_chains_stop_at_cinders_clone_depth(admin: VolumeApi,
                                                               settings: Settings,
                                                               ceph_clusters) -> None:
    """Volume from volume from volume...: past rbd_max_clone_depth (5) links the new volume is
    flattened, so reads never walk a longer chain and deleting the chain frees everything."""
    data = pattern(1 << 20, seed=19)
    iid = admin.image(data)
    chain = [admin.wait(admin.create(size=1, imageRef=iid)["id"])]
    for _ in range(6):
        chain.append(admin.wait(admin.create(source_volid=chain[-1]["id"])["id"]))
    parents = [rbd_cli(ceph_clusters[0], "info", f"volumes/volume-{v['id']}").get("parent")
               for v in chain]
    assert [p["image"] if p else None for p in parents[1:]] == [
        f"volume-{v['id']}" for v in chain[:5]] + [None]
    assert read_device(settings, "central", chain[-1]["id"], len(data)) == data
    snaps = rbd_cli(ceph_clusters[0], "snap", "ls", f"volumes/volume-{chain[5]['id']}")
    assert snaps == [], "the flattened volume's clone snapshot is gone from its source"
    _drop(admin, *(v["id"] for v in chain))
    admin.delete_image(iid)
    assert pool_devices(settings)["central"] == []
