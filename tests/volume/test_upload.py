"""os-volume_upload_image: a volume becomes an image; in the volume's cluster a flattened clone
(no byte through the API, no parent left), across clusters a stream from a snapshot, qcow2
when asked; the volume is `uploading` meanwhile and comes back as it was; bad input leaves no
image behind."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import openstack
from server import RunningServer

from cowcloud.config import Settings

from .conftest import User
from .helpers import GiB, VolumeApi, cinder, fault, pattern, pool_devices, rbd_cli, unique

CONNECTOR = {"host": "compute-4", "ip": "127.0.0.1", "mountpoint": "/dev/vdb"}


def _image(api: VolumeApi, image_id: str) -> httpx.Response:
    with httpx.Client(base_url=f"{api.url}/image", timeout=120,
                      headers={"X-Auth-Token": api.token}) as c:
        return c.get(f"/v2/images/{image_id}")


def _active(api: VolumeApi, image_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        image = _image(api, image_id).json()
        if image["status"] == "active":
            return image
        assert image["status"] in ("queued", "saving"), image
        assert time.monotonic() < deadline, image
        time.sleep(0.2)


def _download(api: VolumeApi, image_id: str) -> bytes:
    with httpx.Client(base_url=f"{api.url}/image", timeout=300,
                      headers={"X-Auth-Token": api.token}) as c:
        resp = c.get(f"/v2/images/{image_id}/file")
        assert resp.status_code == 200, resp.text
        return resp.content


def _images(api: VolumeApi) -> set[str]:
    with httpx.Client(base_url=f"{api.url}/image", timeout=120,
                      headers={"X-Auth-Token": api.token}) as c:
        return {i["id"] for i in c.get("/v2/images", params={"limit": 1000}).json()["images"]}


def _md5_of(data: bytes, size: int) -> str:
    h = hashlib.md5(data)
    zeros = bytes(8 << 20)
    left = size - len(data)
    while left > 0:
        h.update(zeros[:min(left, len(zeros))])
        left -= len(zeros)
    return h.hexdigest()


def _upload(api: VolumeApi, vid: str, version: str | None = None, **spec: Any
            ) -> httpx.Response:
    spec.setdefault("image_name", unique("up"))
    return api.post(f"/volumes/{vid}/action", json={"os-volume_upload_image": spec},
                    version=version)


def test_upload_in_the_volumes_cluster_is_a_flattened_clone(alice: User, ceph_clusters,
                                                             settings: Settings) -> None:
    api = alice.api
    data = pattern(3 << 20, seed=51)
    src = api.image(data)
    vol = api.wait(api.create(size=1, imageRef=src)["id"])
    vid = vol["id"]
    resp = _upload(api, vid, version="3.1", image_name="from-volume", visibility="private")
    assert resp.status_code == 202, resp.text
    up = resp.json()["os-volume_upload_image"]
    assert (up["id"], up["status"], up["size"], up["image_name"]) == (vid, "uploading", 1,
                                                                       "from-volume")
    assert (up["disk_format"], up["container_format"]) == ("raw", "bare")
    assert (up["visibility"], up["protected"]) == ("private", False)
    assert up["volume_type"]["name"] == "__DEFAULT__"
    iid = up["image_id"]
    assert api.volume(vid)["status"] in ("uploading", "available")
    image = _active(api, iid)
    assert api.wait(vid)["status"] == "available"
    assert image["size"] == GiB and image["disk_format"] == "raw"
    assert image["checksum"] == _md5_of(data, GiB)
    assert image["stores"] == "central"
    c0 = ceph_clusters[0]
    info = rbd_cli(c0, "info", f"images/{iid}")
    assert "parent" not in info and info["size"] == GiB  # independent of the volume
    assert rbd_cli(c0, "snap", "ls", f"volumes/volume-{vid}") == []
    assert _download(api, iid)[:len(data)] == data
    # the new image is an image like any: a volume from it is its COW clone
    again = api.wait(api.create(size=1, imageRef=iid)["id"])
    parent = rbd_cli(c0, "info", f"volumes/volume-{again['id']}")["parent"]
    assert (parent["pool"], parent["image"], parent["snapshot"]) == ("images", iid, "snap")
    for v in (vid, again["id"]):
        assert api.delete(f"/volumes/{v}").status_code == 202
        api.gone(v)
    api.delete_image(iid)
    api.delete_image(src)
    assert pool_devices(settings)["central"] == []


def test_in_use_needs_force_and_bad_input_leaves_nothing(alice: User, admin: VolumeApi,
                                                         settings: Settings) -> None:
    api = alice.api
    vid = api.wait(api.create(size=1)["id"])["id"]
    att = api.post("/attachments", version="3.44", json={"attachment": {
        "volume_uuid": vid, "instance_uuid": str(uuid.uuid4()),
        "connector": CONNECTOR}}).json()["attachment"]
    api.post(f"/attachments/{att['id']}/action", json={"os-complete": None}, version="3.44")
    images, devices = _images(api), pool_devices(settings)
    assert "must be available" in fault(_upload(api, vid), 400)
    fault(_upload(api, vid, image_name=""), 400)
    fault(api.post(f"/volumes/{vid}/action", json={"os-volume_upload_image": {}}), 400)
    fault(_upload(api, vid, force=True, disk_format="floppy"), 400)
    fault(_upload(api, vid, force=True, disk_format="ploop"), 400)
    fault(_upload(api, vid, force=True, visibility="public"), 400)  # 3.1's, not 3.0's
    fault(_upload(api, vid, "3.1", force=True, visibility="everyone"), 400)
    fault(_upload(api, vid, "3.1", force=True, protected="maybe"), 400)
    assert "upload_public" in fault(_upload(api, vid, "3.1", force=True,
                                            visibility="public"), 403)
    fault(_upload(api, str(uuid.uuid4()), force=True), 404)
    assert _images(api) == images and pool_devices(settings) == devices
    assert api.volume(vid)["status"] == "in-use"

    # forced: the image holds what the volume held, and the volume is in-use again
    resp = _upload(api, vid, force=True)
    assert resp.status_code == 202, resp.text
    iid = resp.json()["os-volume_upload_image"]["image_id"]
    _active(api, iid)
    assert api.wait(vid, "in-use")["attachments"][0]["attachment_id"] == att["id"]
    api.delete(f"/attachments/{att['id']}", version="3.27")
    assert api.delete(f"/volumes/{vid}").status_code == 202
    api.gone(vid)
    api.delete_image(iid)


def test_upload_across_clusters_and_as_qcow2(alice: User, admin: VolumeApi,
                                             settings: Settings, ceph_clusters,
                                             tmp_path: Path) -> None:
    api = alice.api
    cross = unique("dcn-to-central")
    t1 = admin.post("/types", json={"volume_type": {"name": cross, "extra_specs": {
        "volume_backend_name": "dcn0", "image_service:store_id": "central"}}}).json()
    edge = unique("edge")
    t2 = admin.post("/types", json={"volume_type": {"name": edge, "extra_specs": {
        "volume_backend_name": "edge"}}}).json()
    data = pattern(2 << 20, seed=52)
    src = api.image(data, store="dcn0")
    vol = api.wait(api.create(size=1, imageRef=src, volume_type=cross)["id"])
    iid = _upload(api, vol["id"]).json()["os-volume_upload_image"]["image_id"]
    image = _active(api, iid)
    assert image["stores"] == "central" and image["checksum"] == _md5_of(data, GiB)
    assert api.wait(vol["id"])["status"] == "available"
    # streamed from a clone of the snapshot, which is gone with the snapshot
    assert pool_devices(settings)["dcn0"] == [f"volume-{vol['id']}"]
    assert rbd_cli(ceph_clusters[1], "snap", "ls", f"volumes/volume-{vol['id']}") == []

    # qcow2 on the local store (which keeps qcow2): qemu-img's file, hashed as uploaded
    local = api.wait(api.create(size=1, volume_type=edge)["id"])
    resp = _upload(api, local["id"], disk_format="qcow2")
    assert resp.status_code == 202, resp.text
    qid = resp.json()["os-volume_upload_image"]["image_id"]
    qimage = _active(api, qid)
    assert qimage["disk_format"] == "qcow2" and qimage["stores"] == "edge"
    body = _download(api, qid)
    assert hashlib.md5(body).hexdigest() == qimage["checksum"] and len(body) < GiB
    (tmp_path / "up.qcow2").write_bytes(body)
    probe = json.loads(subprocess.run(["qemu-img", "info", "--output=json", "-f", "qcow2",
                                       str(tmp_path / "up.qcow2")], capture_output=True,
                                      check=True).stdout)
    assert probe["virtual-size"] == GiB and not probe.get("backing-filename")
    assert api.wait(local["id"])["status"] == "available"
    # raw on the local store: a flattened qcow2 clone there, as on rbd
    rid = _upload(api, local["id"]).json()["os-volume_upload_image"]["image_id"]
    rimage = _active(api, rid)
    assert rimage["stores"] == "edge" and rimage["checksum"] == _md5_of(b"", GiB)
    assert api.wait(local["id"])["status"] == "available"
    assert pool_devices(settings)["edge"] == [f"volume-{local['id']}"]
    api.delete_image(rid)
    for v in (vol["id"], local["id"]):
        assert api.delete(f"/volumes/{v}").status_code == 202
        api.gone(v)
    for i in (iid, qid, src):
        api.delete_image(i)
    for t in (t1, t2):
        assert admin.delete(f"/types/{t['volume_type']['id']}").status_code == 202


def test_upload_with_the_clients(srv: RunningServer, alice: User) -> None:
    conn = openstack.connect(**srv.cloud(alice.name, alice.password, alice.project))
    try:
        bs = conn.block_storage
        vol = bs.wait_for_status(bs.create_volume(size=1), "available", wait=120)
        name = unique("sdk-up")
        out = bs.upload_volume_to_image(vol, name, disk_format="raw",
                                        container_format="bare")
        assert out["image_name"] == name and out["status"] == "uploading"
        image = conn.image.wait_for_status(conn.image.get_image(out["image_id"]), "active",
                                           wait=180)
        assert image.size == GiB
        bs.wait_for_status(bs.get_volume(vol.id), "available", wait=60)
        conn.image.delete_image(image)
        run = lambda *a, **kw: cinder(srv.url, alice.name, alice.password,  # noqa: E731
                                      alice.project, *a, **kw)
        cli_name = unique("cli-up")
        shown = run("upload-to-image", vol.id, cli_name).stdout
        assert cli_name in shown and "uploading" in shown
        cli_image = next(i for i in conn.image.images() if i.name == cli_name)
        conn.image.wait_for_status(cli_image, "active", wait=180)
        bs.wait_for_status(bs.get_volume(vol.id), "available", wait=60)
        conn.image.delete_image(cli_image)
        bs.delete_volume(vol)
        bs.wait_for_delete(vol, wait=60)
    finally:
        conn.close()
