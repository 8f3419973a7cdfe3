"""Root disks at an edge site (the DCN guide's shape): the host reaches only the edge's Ceph
cluster, the image is only in the central one. The control plane has the image copied once
into the edge cluster's image store, as volumes do, and every root disk there is a COW clone
of that copy. The image deletes while root disks read through it (its device is held) and is
collected with the last of them. qcow2 images are refused for an rbd backend when conversion
is off, and a flavor smaller than an image's virtual size is refused."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server import RunningServer, run_server, token_for

from cowcloud.config import Settings

from .agents import agent_config, running_agents, wait_registered
from .helpers import ComputeApi, fault, unique
from .test_guides import ensure_pools, rbd_ls, rbd_parent

pytestmark = pytest.mark.ceph
MiB = 1 << 20


@pytest.fixture(scope="module")
def edge(ceph_clusters: list[Any], tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[dict[str, Any]]:
    c0, c1 = ceph_clusters
    ensure_pools(c1, "vms")
    data = tmp_path_factory.mktemp("edge-control")

    def rbd(info: Any, site: str) -> dict[str, str]:
        return {"kind": "rbd", "site": site, "conf": str(info.conf),
                "keyring": str(info.keyring), "user": info.user}
    settings = Settings.model_validate({
        "server": {"data_dir": str(data)},
        "image": {"reap_interval_seconds": 1, "convert_to_raw_for_rbd": False},
        "compute": {"local_agent": False, "service_down_seconds": 6,
                    "agent_poll_seconds": 5},
        "sites": {"central": {}, "dcn0": {}},
        "clusters": {"ceph0": rbd(c0, "central"), "ceph1": rbd(c1, "dcn0")},
        "image_stores": {"central": {"cluster": "ceph0", "pool": "images", "default": True},
                         "dcn0": {"cluster": "ceph1", "pool": "images"}},
    })
    with run_server(data, settings) as srv:
        root = tmp_path_factory.mktemp("edge-agents")
        configs = [agent_config(root / "edge01", "edge01", srv.url,
                                clusters={"edge": rbd(c1, "dcn0")},
                                backends={"edge-vms": {"cluster": "edge", "pool": "vms",
                                                       "default": True}})]
        admin = ComputeApi(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin"))
        with running_agents(configs, srv.admin_password, root) as agents:
            wait_registered(srv, admin.token, ["edge01"], agents)
            yield {"srv": srv, "admin": admin, "c0": c0, "c1": c1, "tmp": root}


def _image(srv: RunningServer, token: str, data: bytes, disk_format: str = "raw") -> str:
    with httpx.Client(base_url=f"{srv.url}/image", timeout=120,
                      headers={"X-Auth-Token": token}) as c:
        iid = c.post("/v2/images", json={"name": unique("img"), "disk_format": disk_format,
                                         "container_format": "bare"}).json()["id"]
        resp = c.put(f"/v2/images/{iid}/file", content=data,
                     headers={"Content-Type": "application/octet-stream"})
        assert resp.status_code == 204, resp.text
    return str(iid)


def _stores(srv: RunningServer, token: str, iid: str) -> set[str]:
    body = httpx.get(f"{srv.url}/image/v2/images/{iid}", headers={"X-Auth-Token": token},
                     timeout=30).json()
    return set(filter(None, body.get("stores", "").split(",")))


def _active(admin: ComputeApi, sid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while (server := admin.get(f"/servers/{sid}").json()["server"])["status"] != "ACTIVE":
        assert server["status"] == "BUILD", server
        assert time.monotonic() < deadline, server
        time.sleep(0.2)
    return server


def _boot(admin: ComputeApi, flavor: str, image: str) -> str:
    resp = admin.post("/servers", version="2.37", json={"server": {
        "name": unique("edge"), "flavorRef": flavor, "imageRef": image, "networks": "none"}})
    assert resp.status_code == 202, resp.text
    return str(resp.json()["server"]["id"])


def test_copied_once_into_the_edge_store_then_cloned(edge: dict[str, Any]) -> None:
    srv, admin, c1 = edge["srv"], edge["admin"], edge["c1"]
    image = _image(srv, admin.token, b"\x11" * (4 * MiB))
    assert _stores(srv, admin.token, image) == {"central"}
    flavor = admin.flavor(disk=1)
    first, second = _boot(admin, flavor["id"], image), _boot(admin, flavor["id"], image)
    for sid in (first, second):
        _active(admin, sid)
        assert rbd_parent(c1, "vms", f"{sid}_disk") == f"images/{image}@snap"
    assert _stores(srv, admin.token, image) == {"central", "dcn0"}
    # the image deletes while root disks read through its edge copy: the device is held
    resp = httpx.delete(f"{srv.url}/image/v2/images/{image}",
                        headers={"X-Auth-Token": admin.token}, timeout=60)
    assert resp.status_code == 204, resp.text
    assert httpx.get(f"{srv.url}/image/v2/images/{image}",
                     headers={"X-Auth-Token": admin.token}).status_code == 404
    assert image in rbd_ls(c1, "images")
    for sid in (first, second):
        assert admin.delete(f"/servers/{sid}").status_code == 204
    deadline = time.monotonic() + 90
    while image in rbd_ls(c1, "images") or f"{first}_disk" in rbd_ls(c1, "vms"):
        assert time.monotonic() < deadline, "the image's edge copy was never collected"
        time.sleep(0.5)


def test_qcow2_for_rbd_with_conversion_off_and_too_small_flavors(edge: dict[str, Any]
                                                                 ) -> None:
    srv, admin = edge["srv"], edge["admin"]
    path = Path(edge["tmp"]) / "big.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "2G"], check=True)
    qcow2 = _image(srv, admin.token, path.read_bytes(), "qcow2")
    big = admin.flavor(disk=3)
    admin.post(f"/flavors/{big['id']}/os-extra_specs",
               json={"extra_specs": {"cowcloud:ephemeral_backend": "edge-vms"}})
    before = admin.get("/servers").json()["servers"]
    msg = fault(admin.post("/servers", version="2.37", json={"server": {
        "name": unique("q"), "flavorRef": big["id"], "imageRef": qcow2,
        "networks": "none"}}), 400, "badRequest")
    assert "RBD boots raw images only" in msg
    small = admin.flavor(disk=1)
    msg = fault(admin.post("/servers", version="2.37", json={"server": {
        "name": unique("q"), "flavorRef": small["id"], "imageRef": qcow2,
        "networks": "none"}}), 400, "badRequest")
    assert f"image is {2 << 30} bytes" in msg
    assert admin.get("/servers").json()["servers"] == before
