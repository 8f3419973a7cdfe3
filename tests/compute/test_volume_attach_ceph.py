"""Volumes and servers on a real Ceph cluster: the control plane (image store `images`,
volume backend `volumes`) and one agent process (compute01, root disks in `vms`, the fake
driver) that reaches the cluster as its own cephx user `client.nova`, as nova-compute has
its own rbd_user.

- An rbd volume attaches: the driver is handed the volume's RBD image with the agent's user
  and key (not the volume service's); detach and server delete free it.
- createImage: the image lands in `images` of the same cluster as a flattened clone of the
  root disk's snapshot (no parent, no snapshot left on the disk), size and checksum right.
- Boot from volume: the root volume is a COW clone of the image in `volumes`, and no
  `<id>_disk` exists in `vms`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server import RunningServer, run_server, token_for

from cowcloud.config import Settings

from .agents import agent_config, running_agents, wait_registered
from .helpers import ComputeApi, unique
from .test_guides import _ceph, ensure_pools, rbd_ls, rbd_parent

pytestmark = pytest.mark.ceph
MiB = 1 << 20
IMAGE_DATA = bytes(range(256)) * (4 * MiB // 256)


def wait(what: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if ok(value):
            return value
        assert time.monotonic() < deadline, f"still {value}"
        time.sleep(0.2)


def rbd_snaps(info: Any, pool: str, name: str) -> list[str]:
    res = subprocess.run(["rbd", "-c", str(info.conf), "--id", info.user, "--keyring",
                          str(info.keyring), "snap", "ls", f"{pool}/{name}", "--format",
                          "json"], capture_output=True, text=True, timeout=60, check=True)
    return [s["name"] for s in json.loads(res.stdout)]


@pytest.fixture(scope="module")
def cloud(ceph_clusters: list[Any], tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[dict[str, Any]]:
    ceph = ceph_clusters[0]
    ensure_pools(ceph, "vms")
    root = tmp_path_factory.mktemp("attach-ceph-agents")
    keyring = root / "ceph.client.nova.keyring"
    made = _ceph(ceph, "auth", "get-or-create", "client.nova", "mon", "profile rbd", "osd",
                 "profile rbd", "-o", str(keyring))
    assert made.returncode == 0, made.stderr
    data = tmp_path_factory.mktemp("attach-ceph")
    rbd = {"kind": "rbd", "site": "nova", "conf": str(ceph.conf),
           "keyring": str(ceph.keyring), "user": ceph.user}
    settings = Settings.model_validate({
        "server": {"data_dir": str(data)},
        "compute": {"local_agent": False, "service_down_seconds": 6,
                    "agent_poll_seconds": 5},
        "sites": {"nova": {}},
        "clusters": {"ceph": rbd},
        "image_stores": {"images": {"cluster": "ceph", "pool": "images", "default": True}},
        "volume_backends": {"ceph": {"cluster": "ceph", "pool": "volumes", "default": True}},
    })
    with run_server(data, settings) as srv:
        agent_rbd = {**rbd, "keyring": str(keyring), "user": "nova"}
        config = agent_config(root / "compute01", "compute01", srv.url,
                              clusters={"ceph": agent_rbd},
                              backends={"vms": {"cluster": "ceph", "pool": "vms",
                                                "default": True}})
        token = token_for(srv.url, "admin", srv.admin_password, "admin")
        with running_agents([config], srv.admin_password, root) as agents:
            wait_registered(srv, token, ["compute01"], agents)
            yield {"srv": srv, "ceph": ceph, "api": ComputeApi(srv.url, token),
                   "fake": root / "compute01" / "agent" / "compute01" / "fake"}


class Client:
    def __init__(self, c: dict[str, Any]) -> None:
        self.srv: RunningServer = c["srv"]
        self.api: ComputeApi = c["api"]
        self.ceph = c["ceph"]
        self.fake: Path = c["fake"]
        self.project = httpx.get(f"{self.srv.url}/identity/v3/auth/tokens", headers={
            "X-Auth-Token": self.api.token, "X-Subject-Token": self.api.token}).json()[
            "token"]["project"]["id"]

    def vol(self, method: str, path: str, **kw: Any) -> httpx.Response:
        with httpx.Client(base_url=f"{self.srv.url}/volume/v3/{self.project}", timeout=120,
                          headers={"X-Auth-Token": self.api.token}) as c:
            return c.request(method, path, **kw)

    def img(self, method: str, path: str, **kw: Any) -> httpx.Response:
        with httpx.Client(base_url=f"{self.srv.url}/image", timeout=120,
                          headers={"X-Auth-Token": self.api.token}) as c:
            return c.request(method, path, **kw)

    def volume_status(self, vid: str, status: str) -> dict[str, Any]:
        return wait(lambda: self.vol("GET", f"/volumes/{vid}").json()["volume"],  # type: ignore
                    lambda v: v["status"] == status)

    def server_status(self, sid: str, status: str) -> dict[str, Any]:
        return wait(lambda: self.api.get(f"/servers/{sid}").json()["server"],  # type: ignore
                    lambda s: s["status"] in (status, "ERROR"))

    def disks(self, sid: str) -> dict[str, Any]:
        record = json.loads((self.fake / f"{sid}.json").read_text())
        return {d["serial"]: d for d in record["disks"]}


@pytest.fixture(scope="module")
def booted(cloud: dict[str, Any]) -> Iterator[tuple[Client, str, str]]:
    c = Client(cloud)
    iid = c.img("POST", "/v2/images", json={"name": unique("img"), "disk_format": "raw",
                                            "container_format": "bare"}).json()["id"]
    assert c.img("PUT", f"/v2/images/{iid}/file", content=IMAGE_DATA, headers={
        "Content-Type": "application/octet-stream"}).status_code == 204
    yield c, iid, c.api.flavor(disk=1)["id"]
    # the clusters are the session's: the servers' disks, then the image, go
    wait(lambda: c.api.get("/servers").json()["servers"], lambda found: not found)
    wait(lambda: rbd_ls(c.ceph, "vms"), lambda names: not names)
    assert c.img("DELETE", f"/v2/images/{iid}").status_code == 204


def _server(c: Client, image: str, flavor: str) -> str:
    resp = c.api.post("/servers", version="2.37", json={"server": {
        "name": unique("srv"), "flavorRef": flavor, "imageRef": image, "networks": "none"}})
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    assert c.server_status(sid, "ACTIVE")["status"] == "ACTIVE"
    return str(sid)


def test_rbd_volume_attach_with_the_agents_own_key(booted: tuple[Client, str, str]) -> None:
    c, image, flavor = booted
    sid = _server(c, image, flavor)
    vid = c.vol("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    c.volume_status(vid, "available")
    resp = c.api.post(f"/servers/{sid}/os-volume_attachments",
                      json={"volumeAttachment": {"volumeId": vid}})
    assert resp.status_code == 200, resp.text
    c.volume_status(vid, "in-use")
    source = c.disks(sid)[vid]["source"]
    assert (source["pool"], source["image"], source["user"]) == ("volumes", f"volume-{vid}",
                                                                  "nova")
    assert "key" not in source
    # the volume service's own connection_info names its user; the agent used its own
    (att,) = c.vol("GET", f"/attachments/detail?volume_id={vid}", headers={
        "OpenStack-API-Version": "volume 3.27"}).json()["attachments"]
    assert att["connection_info"]["auth_username"] == c.ceph.user != "nova"
    assert c.api.delete(f"/servers/{sid}/os-volume_attachments/{vid}").status_code == 202
    c.volume_status(vid, "available")
    assert vid not in c.disks(sid)
    assert c.api.post(f"/servers/{sid}/os-volume_attachments", json={
        "volumeAttachment": {"volumeId": vid}}).status_code == 200
    c.volume_status(vid, "in-use")
    assert c.api.delete(f"/servers/{sid}").status_code == 204
    c.volume_status(vid, "available")
    # the clusters are the session's: what a test made goes
    assert c.vol("DELETE", f"/volumes/{vid}").status_code == 202
    wait(lambda: c.vol("GET", f"/volumes/{vid}").status_code, lambda code: code == 404)


def test_create_image_is_a_flattened_clone_in_the_same_cluster(
        booted: tuple[Client, str, str]) -> None:
    c, image, flavor = booted
    sid = _server(c, image, flavor)
    resp = c.api.post(f"/servers/{sid}/action", version="2.45", json={
        "createImage": {"name": unique("snap")}})
    assert resp.status_code == 202, resp.text
    iid = resp.json()["image_id"]
    got = wait(lambda: c.img("GET", f"/v2/images/{iid}").json(),
               lambda i: i["status"] in ("active", "killed", "deleted"))
    assert got["status"] == "active", got
    assert got["stores"] == "images" and got["image_type"] == "snapshot"
    assert got["instance_uuid"] == sid and got["base_image_ref"] == image
    md5 = hashlib.md5(IMAGE_DATA)
    zeros, left = bytes(64 * MiB), (1 << 30) - len(IMAGE_DATA)
    while left:
        md5.update(zeros[:min(left, len(zeros))])
        left -= min(left, len(zeros))
    assert (got["size"], got["checksum"]) == (1 << 30, md5.hexdigest())
    assert iid in rbd_ls(c.ceph, "images")
    assert rbd_parent(c.ceph, "images", iid) is None   # flattened: independent of the disk
    assert rbd_snaps(c.ceph, "vms", f"{sid}_disk") == []   # the snapshot went
    assert c.api.delete(f"/servers/{sid}").status_code == 204
    assert c.img("DELETE", f"/v2/images/{iid}").status_code == 204


def test_boot_from_volume_on_rbd(booted: tuple[Client, str, str]) -> None:
    c, image, flavor = booted
    resp = c.api.post("/servers", version="2.37", json={"server": {
        "name": unique("bfv"), "flavorRef": flavor, "networks": "none",
        "block_device_mapping_v2": [{"boot_index": 0, "source_type": "image",
                                     "destination_type": "volume", "uuid": image,
                                     "volume_size": 1, "delete_on_termination": True}]}})
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    server = c.server_status(sid, "ACTIVE")
    assert server["status"] == "ACTIVE", server
    (attached,) = server["os-extended-volumes:volumes_attached"]
    vid = attached["id"]
    c.volume_status(vid, "in-use")
    assert f"{sid}_disk" not in rbd_ls(c.ceph, "vms")
    assert rbd_parent(c.ceph, "volumes", f"volume-{vid}") is not None  # a COW clone
    source = c.disks(sid)[vid]["source"]
    assert (source["pool"], source["user"]) == ("volumes", "nova")
    # createImage: a volume snapshot, and an image naming it in block_device_mapping with no
    # data of its own (Nova's snapshot_volume_backed)
    resp = c.api.post(f"/servers/{sid}/action", version="2.45", json={
        "createImage": {"name": "bfv-snap"}})
    assert resp.status_code == 202, resp.text
    iid = resp.json()["image_id"]
    got = c.img("GET", f"/v2/images/{iid}").json()
    assert (got["status"], got["size"], got["bdm_v2"], got["root_device_name"]) == (
        "active", 0, "True", "/dev/vda")
    assert (got["image_type"], got["instance_uuid"]) == ("snapshot", sid)
    (mapping,) = json.loads(got["block_device_mapping"])
    assert (mapping["source_type"], mapping["boot_index"]) == ("snapshot", 0)
    snap = c.vol("GET", f"/snapshots/{mapping['snapshot_id']}").json()["snapshot"]
    assert (snap["volume_id"], snap["status"], snap["name"]) == (
        vid, "available", "snapshot for bfv-snap")
    # the volume goes with the server only without snapshots (as Cinder's): drop it first
    assert c.vol("DELETE", f"/snapshots/{snap['id']}").status_code == 202
    wait(lambda: c.vol("GET", f"/snapshots/{snap['id']}").status_code,
         lambda code: code == 404)
    assert c.img("DELETE", f"/v2/images/{iid}").status_code == 204
    assert c.api.delete(f"/servers/{sid}").status_code == 204
    wait(lambda: c.vol("GET", f"/volumes/{vid}").status_code, lambda code: code == 404)
    wait(lambda: rbd_ls(c.ceph, "volumes"), lambda names: f"volume-{vid}" not in names)
