"""Volumes attached to servers through the volume service's attachments API, on the embedded
default (local volumes and root disks, this machine's agent with the fake driver, which
records the disks it was asked to attach): os-volume_attachments over HTTP, the `openstack`
and `nova` CLIs and openstacksdk, the refusals each leaving nothing behind, and a deleted
server's volumes available again."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openstack
import pytest
from server import RunningServer, run_server, token_for
from server import openstack as openstack_cli

from cowcloud.agent.run import state_dir_of
from cowcloud.config import embedded_default

from .helpers import ComputeApi, fault, nova, unique

MiB = 1 << 20


def wait(what: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if ok(value):
            return value
        assert time.monotonic() < deadline, f"still {value}"
        time.sleep(0.1)


class Cloud:
    def __init__(self, srv: RunningServer) -> None:
        self.srv = srv
        self.token = token_for(srv.url, "admin", srv.admin_password, "admin")
        self.api = ComputeApi(srv.url, self.token)
        self.project = httpx.get(f"{srv.url}/identity/v3/auth/tokens", headers={
            "X-Auth-Token": self.token, "X-Subject-Token": self.token}).json()[
            "token"]["project"]["id"]

    def vol(self, method: str, path: str, **kw: Any) -> httpx.Response:
        with httpx.Client(base_url=f"{self.srv.url}/volume/v3/{self.project}", timeout=60,
                          headers={"X-Auth-Token": self.token}) as c:
            return c.request(method, path, **kw)

    def volume(self, name: str | None = None) -> str:
        resp = self.vol("POST", "/volumes", json={"volume": {"size": 1,
                                                             "name": name or unique("vol")}})
        assert resp.status_code == 202, resp.text
        vid = resp.json()["volume"]["id"]
        self.volume_status(vid, "available")
        return str(vid)

    def volume_status(self, vid: str, status: str) -> dict[str, Any]:
        return wait(lambda: self.vol("GET", f"/volumes/{vid}").json()["volume"],
                    lambda v: v["status"] == status)  # type: ignore[no-any-return]

    def image(self) -> str:
        with httpx.Client(base_url=f"{self.srv.url}/image", timeout=60,
                          headers={"X-Auth-Token": self.token}) as c:
            iid = c.post("/v2/images", json={"name": unique("img"), "disk_format": "raw",
                                             "container_format": "bare"}).json()["id"]
            assert c.put(f"/v2/images/{iid}/file", content=b"\x07" * MiB, headers={
                "Content-Type": "application/octet-stream"}).status_code == 204
        return str(iid)

    def server(self, image: str, flavor: str) -> str:
        resp = self.api.post("/servers", version="2.37", json={"server": {
            "name": unique("srv"), "flavorRef": flavor, "imageRef": image,
            "networks": "none"}})
        assert resp.status_code == 202, resp.text
        sid = resp.json()["server"]["id"]
        self.server_status(sid, "ACTIVE")
        return str(sid)

    def server_status(self, sid: str, status: str) -> dict[str, Any]:
        return wait(lambda: self.api.get(f"/servers/{sid}").json()["server"],  # type: ignore
                    lambda s: s["status"] == status)

    def guest_disks(self, sid: str) -> dict[str, dict[str, Any]]:
        """The disks the fake driver was asked to give the guest, by serial."""
        state = state_dir_of(self.srv.settings)
        record = json.loads((state / "fake" / f"{sid}.json").read_text())
        return {d["serial"]: d for d in record["disks"]}

    def attachments(self, vid: str) -> list[dict[str, Any]]:
        resp = self.vol("GET", f"/attachments?volume_id={vid}",
                        headers={"OpenStack-API-Version": "volume 3.27"})
        assert resp.status_code == 200, resp.text
        return resp.json()["attachments"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    data = tmp_path_factory.mktemp("attach")
    with run_server(data, embedded_default(data)) as srv:
        c = Cloud(srv)
        wait(lambda: c.api.get("/os-hypervisors/detail").json()["hypervisors"], bool)
        yield c


@pytest.fixture(scope="module")
def booted(cloud: Cloud) -> tuple[str, str]:
    """(image id, flavor id) a server boots from."""
    return cloud.image(), cloud.api.flavor(disk=1)["id"]


def test_attach_and_detach(cloud: Cloud, booted: tuple[str, str]) -> None:
    sid = cloud.server(*booted)
    vid = cloud.volume()
    resp = cloud.api.post(f"/servers/{sid}/os-volume_attachments", version="2.79",
                          json={"volumeAttachment": {"volumeId": vid}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["volumeAttachment"] == {
        "id": vid, "volumeId": vid, "serverId": sid, "device": "/dev/vdb", "tag": None,
        "delete_on_termination": False}
    vol = cloud.volume_status(vid, "in-use")
    (att,) = vol["attachments"]
    assert (att["server_id"], att["device"]) == (sid, "/dev/vdb")
    # the agent handed the driver the volume's qcow2 layer, the volume id as serial
    disk = cloud.guest_disks(sid)[vid]
    assert disk["source"]["path"].endswith(".qcow2") and vid in disk["source"]["path"]
    assert set(cloud.guest_disks(sid)) == {"root", vid}
    (cinder_att,) = cloud.attachments(vid)
    assert cinder_att["status"] == "attached" and cinder_att["instance"] == sid
    listed = cloud.api.get(f"/servers/{sid}/os-volume_attachments").json()
    assert [a["volumeId"] for a in listed["volumeAttachments"]] == [vid]
    shown = cloud.api.get(f"/servers/{sid}/os-volume_attachments/{vid}").json()
    assert shown["volumeAttachment"]["device"] == "/dev/vdb"
    server = cloud.api.get(f"/servers/{sid}", version="2.3").json()["server"]
    assert server["os-extended-volumes:volumes_attached"] == [
        {"id": vid, "delete_on_termination": False}]
    # a second volume takes the next device
    vid2 = cloud.volume()
    resp = cloud.api.post(f"/servers/{sid}/os-volume_attachments",
                          json={"volumeAttachment": {"volumeId": vid2}})
    assert resp.json()["volumeAttachment"]["device"] == "/dev/vdc"
    cloud.volume_status(vid2, "in-use")
    # a start after a stop hands the driver the whole spec again: the volumes are in it
    assert cloud.api.post(f"/servers/{sid}/action", json={"os-stop": None}).status_code == 202
    cloud.server_status(sid, "SHUTOFF")
    assert cloud.api.post(f"/servers/{sid}/action", json={"os-start": None}).status_code == 202
    cloud.server_status(sid, "ACTIVE")
    assert set(cloud.guest_disks(sid)) == {"root", vid, vid2}
    # detach: the disk leaves the guest, the volume is available again, no attachment left
    resp = cloud.api.delete(f"/servers/{sid}/os-volume_attachments/{vid}")
    assert resp.status_code == 202, resp.text
    cloud.volume_status(vid, "available")
    assert vid not in cloud.guest_disks(sid) and vid2 in cloud.guest_disks(sid)
    assert cloud.attachments(vid) == []
    fault(cloud.api.get(f"/servers/{sid}/os-volume_attachments/{vid}"), 404, "itemNotFound")
    fault(cloud.api.delete(f"/servers/{sid}/os-volume_attachments/{vid}"), 404,
          "itemNotFound")
    # deleting the server releases the volumes it still has
    assert cloud.api.delete(f"/servers/{sid}").status_code == 204
    cloud.volume_status(vid2, "available")
    assert cloud.attachments(vid2) == []


def test_refusals_leave_nothing_behind(cloud: Cloud, booted: tuple[str, str]) -> None:
    sid, other = cloud.server(*booted), cloud.server(*booted)
    vid = cloud.volume()
    base = f"/servers/{sid}/os-volume_attachments"
    # an unknown volume: Nova's 404
    missing = "7e0b1a9c-0000-4000-8000-000000000001"
    assert missing in fault(cloud.api.post(base, json={"volumeAttachment": {
        "volumeId": missing}}), 404, "itemNotFound")
    # not a uuid, no body, unknown keys
    fault(cloud.api.post(base, json={"volumeAttachment": {"volumeId": "nope"}}), 400,
          "badRequest")
    fault(cloud.api.post(base, json={"volume": {"volumeId": vid}}), 400, "badRequest")
    fault(cloud.api.post(base, json={"volumeAttachment": {"volumeId": vid, "x": 1}}), 400)
    # an unknown server
    fault(cloud.api.post("/servers/7e0b1a9c-0000-4000-8000-000000000002/"
                         "os-volume_attachments", json={"volumeAttachment": {
                             "volumeId": vid}}), 404, "itemNotFound")
    assert cloud.vol("GET", f"/volumes/{vid}").json()["volume"]["status"] == "available"
    assert cloud.attachments(vid) == []
    # attached here, then asked for by another server (not multiattach): 400, and the
    # first attachment is all there is
    assert cloud.api.post(base, json={"volumeAttachment": {
        "volumeId": vid}}).status_code == 200
    cloud.volume_status(vid, "in-use")
    msg = fault(cloud.api.post(f"/servers/{other}/os-volume_attachments", json={
        "volumeAttachment": {"volumeId": vid}}), 400, "badRequest")
    assert "in-use" in msg
    # the same server again: 400
    fault(cloud.api.post(base, json={"volumeAttachment": {"volumeId": vid}}), 400)
    (att,) = cloud.attachments(vid)
    assert att["instance"] == sid
    assert cloud.api.get(f"/servers/{other}/os-volume_attachments").json()[
        "volumeAttachments"] == []
    assert vid not in cloud.guest_disks(other)
    # an attached volume cannot be deleted through the volume API
    assert cloud.vol("DELETE", f"/volumes/{vid}").status_code == 400
    for s in (sid, other):
        assert cloud.api.delete(f"/servers/{s}").status_code == 204
    cloud.volume_status(vid, "available")


def test_clients(cloud: Cloud, booted: tuple[str, str], tmp_path: Path) -> None:
    """`openstack server add/remove volume`, `nova volume-attach/volume-detach`, and
    openstacksdk's create/delete_volume_attachment."""
    clouds = cloud.srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    sid = cloud.server(*booted)
    vid = cloud.volume(unique("cli"))
    openstack_cli(clouds, "server", "add", "volume", sid, vid)
    cloud.volume_status(vid, "in-use")
    out = openstack_cli(clouds, "server", "volume", "list", sid).stdout
    assert vid in out and "/dev/vdb" in out
    openstack_cli(clouds, "server", "remove", "volume", sid, vid)
    cloud.volume_status(vid, "available")

    def _nova(*args: str) -> str:
        return nova(cloud.srv.url, "admin", cloud.srv.admin_password, "admin", *args).stdout
    out = _nova("volume-attach", sid, vid)
    assert vid in out and "/dev/vdb" in out
    cloud.volume_status(vid, "in-use")
    assert vid in _nova("volume-attachments", sid)
    _nova("volume-detach", sid, vid)
    cloud.volume_status(vid, "available")

    conn = openstack.connect(**cloud.srv.cloud())
    try:
        server = conn.compute.get_server(sid)
        att = conn.compute.create_volume_attachment(server, volume_id=vid)
        assert att.volume_id == vid
        cloud.volume_status(vid, "in-use")
        assert [a.volume_id for a in conn.compute.volume_attachments(server)] == [vid]
        conn.compute.delete_volume_attachment(server, vid)
        cloud.volume_status(vid, "available")
    finally:
        conn.close()
    assert cloud.api.delete(f"/servers/{sid}").status_code == 204


def _image(cloud: Cloud, iid: str) -> dict[str, Any]:
    with httpx.Client(base_url=f"{cloud.srv.url}/image", timeout=60,
                      headers={"X-Auth-Token": cloud.token}) as c:
        return c.get(f"/v2/images/{iid}").json()  # type: ignore[no-any-return]


def _image_names(cloud: Cloud) -> set[str]:
    with httpx.Client(base_url=f"{cloud.srv.url}/image", timeout=60,
                      headers={"X-Auth-Token": cloud.token}) as c:
        return {i["name"] for i in c.get("/v2/images").json()["images"]}


def test_create_image(cloud: Cloud, booted: tuple[str, str], tmp_path: Path) -> None:
    """createImage: the root disk's snapshot lands in the store of its cluster as an active
    image with Nova's snapshot properties, its size and checksum those of the disk."""
    image, flavor = booted
    sid = cloud.server(image, flavor)
    resp = cloud.api.post(f"/servers/{sid}/action", version="2.45", json={
        "createImage": {"name": "snap-1", "metadata": {"purpose": "test"}}})
    assert resp.status_code == 202, resp.text
    iid = resp.json()["image_id"]
    got = wait(lambda: _image(cloud, iid), lambda i: i["status"] in ("active", "killed",
                                                                      "deleted"))
    assert got["status"] == "active", got
    assert (got["image_type"], got["instance_uuid"], got["base_image_ref"]) == (
        "snapshot", sid, image)
    assert got["purpose"] == "test" and got["min_disk"] == 1
    # the disk: the image's MiB of 0x07, then zeros to the flavor's 1 GiB
    md5 = hashlib.md5(b"\x07" * MiB)
    zeros = bytes(64 * MiB)
    left = (1 << 30) - MiB
    while left:
        md5.update(zeros[:min(left, len(zeros))])
        left -= min(left, len(zeros))
    assert (got["size"], got["checksum"], got["disk_format"]) == (1 << 30, md5.hexdigest(),
                                                                  "raw")
    server = cloud.server_status(sid, "ACTIVE")
    assert server["OS-EXT-STS:task_state"] is None
    # a server boots from the snapshot
    from_snapshot = cloud.server(iid, flavor)
    assert cloud.api.delete(f"/servers/{from_snapshot}").status_code == 204
    # the CLI, before 2.45 the Location header
    resp = cloud.api.post(f"/servers/{sid}/action", version="2.1", json={
        "createImage": {"name": "snap-2"}})
    assert resp.status_code == 202 and "/images/" in resp.headers["location"]
    wait(lambda: _image(cloud, resp.headers["location"].rsplit("/", 1)[-1]),
         lambda i: i["status"] == "active")
    clouds = cloud.srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    openstack_cli(clouds, "server", "image", "create", "--name", "snap-cli", "--wait", sid)
    assert "snap-cli" in _image_names(cloud)
    # refusals: nothing made
    before = _image_names(cloud)
    fault(cloud.api.post(f"/servers/{sid}/action", json={"createImage": {}}), 400,
          "badRequest")
    fault(cloud.api.post(f"/servers/{sid}/action", json={"createImage": {
        "name": "x", "bogus": 1}}), 400)
    fault(cloud.api.post("/servers/7e0b1a9c-0000-4000-8000-000000000003/action", json={
        "createImage": {"name": "nope"}}), 404, "itemNotFound")
    assert _image_names(cloud) == before
    assert cloud.api.delete(f"/servers/{sid}").status_code == 204


def _bfv(cloud: Cloud, flavor: str, mapping: dict[str, Any]) -> Any:
    return cloud.api.post("/servers", version="2.37", json={"server": {
        "name": unique("bfv"), "flavorRef": flavor, "networks": "none",
        "block_device_mapping_v2": [{"boot_index": 0, "destination_type": "volume",
                                     **mapping}]}})


def test_boot_from_volume(cloud: Cloud, booted: tuple[str, str], tmp_path: Path) -> None:
    image, flavor = booted
    vms = cloud.srv.settings.server.data_dir / "clusters" / "local" / "vms"
    # an image to a new volume, deleted with the server
    resp = _bfv(cloud, flavor, {"source_type": "image", "uuid": image, "volume_size": 1,
                                "delete_on_termination": True})
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    server = cloud.server_status(sid, "ACTIVE")
    assert server["image"] == ""
    (attached,) = server["os-extended-volumes:volumes_attached"]
    vid = attached["id"]
    vol = cloud.volume_status(vid, "in-use")
    assert vol["attachments"][0]["device"] == "/dev/vda" and vol["bootable"] == "true"
    assert list(cloud.guest_disks(sid)) == [vid]  # the volume is the root disk
    assert not (vms / f"{sid}_disk.json").exists()
    fault(cloud.api.delete(f"/servers/{sid}/os-volume_attachments/{vid}"), 400)
    # createImage of a volume-backed server snapshots its volume (Nova's
    # snapshot_volume_backed, tested on rbd); the local store cannot snapshot a volume in
    # use, and says so, leaving no image behind
    msg = fault(cloud.api.post(f"/servers/{sid}/action", version="2.45", json={
        "createImage": {"name": "bfv-snap"}}), 400, "badRequest")
    assert "cannot be taken under a running guest" in msg
    assert "bfv-snap" not in _image_names(cloud)
    assert cloud.api.delete(f"/servers/{sid}").status_code == 204
    wait(lambda: cloud.vol("GET", f"/volumes/{vid}").status_code, lambda c: c == 404)
    # an existing volume, kept after the server
    src = cloud.volume()
    resp = _bfv(cloud, flavor, {"source_type": "volume", "uuid": src})
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    cloud.server_status(sid, "ACTIVE")
    cloud.volume_status(src, "in-use")
    assert list(cloud.guest_disks(sid)) == [src]
    assert cloud.api.delete(f"/servers/{sid}").status_code == 204
    cloud.volume_status(src, "available")
    # the CLI: --volume and --boot-from-volume SIZE
    clouds = cloud.srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    out = openstack_cli(clouds, "server", "create", "--flavor", flavor, "--volume", src,
                        "--nic", "none", "--wait", "-f", "json", unique("cli-bfv")).stdout
    sid = json.loads(out)["id"]
    cloud.volume_status(src, "in-use")
    assert cloud.api.delete(f"/servers/{sid}").status_code == 204
    cloud.volume_status(src, "available")
    # the nova CLI's --block-device, as the seeds' nova boot with a volume
    out = nova(cloud.srv.url, "admin", cloud.srv.admin_password, "admin", "boot",
               "--flavor", flavor, "--nic", "none", "--block-device",
               f"source=volume,id={src},dest=volume,bootindex=0", "--poll",
               unique("nova-bfv")).stdout
    sid = re.search(r"\|\s+id\s+\|\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    cloud.volume_status(src, "in-use")
    assert list(cloud.guest_disks(sid)) == [src]
    assert cloud.api.delete(f"/servers/{sid}").status_code == 204
    cloud.volume_status(src, "available")
    out = openstack_cli(clouds, "--os-compute-api-version", "2.67", "server", "create",
                        "--flavor", flavor, "--image", image, "--boot-from-volume", "1",
                        "--nic", "none", "--wait", "-f", "json", unique("cli-bfv")).stdout
    sid = json.loads(out)["id"]
    server = cloud.server_status(sid, "ACTIVE")
    (attached,) = server["os-extended-volumes:volumes_attached"]
    cloud.volume_status(attached["id"], "in-use")
    assert cloud.api.delete(f"/servers/{sid}").status_code == 204
    cloud.volume_status(attached["id"], "available")  # delete_on_termination false


def test_boot_from_volume_refusals(cloud: Cloud, booted: tuple[str, str]) -> None:
    image, flavor = booted
    src = cloud.volume()
    servers_before = len(cloud.api.get("/servers").json()["servers"])
    volumes_before = len(cloud.vol("GET", "/volumes").json()["volumes"])
    missing = "7e0b1a9c-0000-4000-8000-000000000004"
    fault(_bfv(cloud, flavor, {"source_type": "volume", "uuid": missing}), 400, "badRequest")
    fault(_bfv(cloud, flavor, {"source_type": "image", "uuid": missing, "volume_size": 1}),
          400)
    fault(_bfv(cloud, flavor, {"source_type": "image", "uuid": image}), 400)  # no size
    fault(_bfv(cloud, flavor, {"source_type": "blank", "uuid": src}), 400)
    fault(_bfv(cloud, "no-such-flavor", {"source_type": "volume", "uuid": src}), 400)
    # a volume in use elsewhere
    sid = cloud.server(image, flavor)
    assert cloud.api.post(f"/servers/{sid}/os-volume_attachments", json={
        "volumeAttachment": {"volumeId": src}}).status_code == 200
    cloud.volume_status(src, "in-use")
    fault(_bfv(cloud, flavor, {"source_type": "volume", "uuid": src}), 400)
    assert len(cloud.api.get("/servers").json()["servers"]) == servers_before + 1
    assert len(cloud.vol("GET", "/volumes").json()["volumes"]) == volumes_before
    assert cloud.api.delete(f"/servers/{sid}").status_code == 204
    cloud.volume_status(src, "available")


def test_multiattach_volume_on_two_servers(cloud: Cloud, booted: tuple[str, str]) -> None:
    """A volume of a multiattach type goes to a second server (one attachment each); a
    detach from one leaves it in-use on the other."""
    resp = cloud.vol("POST", "/types", json={"volume_type": {
        "name": unique("multi"), "extra_specs": {"multiattach": "<is> True"}}})
    assert resp.status_code == 200, resp.text
    vtype = resp.json()["volume_type"]["name"]
    resp = cloud.vol("POST", "/volumes", json={"volume": {"size": 1, "volume_type": vtype}})
    assert resp.status_code == 202, resp.text
    vid = resp.json()["volume"]["id"]
    cloud.volume_status(vid, "available")
    first, second = cloud.server(*booted), cloud.server(*booted)
    for sid in (first, second):
        assert cloud.api.post(f"/servers/{sid}/os-volume_attachments", json={
            "volumeAttachment": {"volumeId": vid}}).status_code == 200
        wait(lambda s=sid: [a["instance"] for a in cloud.attachments(vid)
                            if a["status"] == "attached"], lambda found, s=sid: s in found)
    assert vid in cloud.guest_disks(first) and vid in cloud.guest_disks(second)
    assert len(cloud.volume_status(vid, "in-use")["attachments"]) == 2
    assert cloud.api.delete(f"/servers/{first}/os-volume_attachments/{vid}"
                            ).status_code == 202
    wait(lambda: [a["instance"] for a in cloud.attachments(vid)], lambda f: f == [second])
    assert cloud.vol("GET", f"/volumes/{vid}").json()["volume"]["status"] == "in-use"
    for sid in (first, second):
        assert cloud.api.delete(f"/servers/{sid}").status_code == 204
    cloud.volume_status(vid, "available")
