"""The 000 and 001 guides, walked with the real clients on a real Ceph cluster, the control
plane and three agents as separate processes:

- compute01 is ONE host whose root disks go to pool `vms` or `vms2` of the Ceph cluster by
  flavor (000: Nova needs two nova-compute processes and counts the host twice);
- compute02 and compute03 keep root disks on local storage, compute01 on Ceph, and aggregates
  with flavor keys steer servers between them (001).
The seeds' nova commands run as the guides type them.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openstack
import pytest
from server import RunningServer, openstack_json, run_server, token_for
from server import openstack as openstack_cli

from cowcloud.config import Settings

from .agents import agent_config, running_agents, wait_registered
from .helpers import ComputeApi, nova, unique

pytestmark = pytest.mark.ceph
MiB = 1 << 20


def _ceph(info: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ceph", "-c", str(info.conf), "--id", info.user, "--keyring",
                           str(info.keyring), *args], capture_output=True, text=True,
                          timeout=120)


def rbd_ls(info: Any, pool: str) -> list[str]:
    """`rbd -p POOL ls`, as the 000 guide checks."""
    res = subprocess.run(["rbd", "-c", str(info.conf), "--id", info.user, "--keyring",
                          str(info.keyring), "-p", pool, "ls"], capture_output=True,
                         text=True, timeout=60, check=True)
    return res.stdout.split()


def rbd_parent(info: Any, pool: str, name: str) -> str | None:
    res = subprocess.run(["rbd", "-c", str(info.conf), "--id", info.user, "--keyring",
                          str(info.keyring), "info", f"{pool}/{name}", "--format", "json"],
                         capture_output=True, text=True, timeout=60, check=True)
    parent = json.loads(res.stdout).get("parent")
    return f"{parent['pool']}/{parent['image']}@{parent['snapshot']}" if parent else None


def ensure_pools(info: Any, *pools: str) -> None:
    """The guide's `ceph osd pool create vms 128` (the test cluster is small: 8 PGs)."""
    have = _ceph(info, "osd", "pool", "ls").stdout.split()
    for pool in pools:
        if pool in have:
            continue
        assert _ceph(info, "osd", "pool", "create", pool, "8", "8").returncode == 0
        _ceph(info, "osd", "pool", "application", "enable", pool, "rbd")
        subprocess.run(["rbd", "-c", str(info.conf), "--id", info.user, "--keyring",
                        str(info.keyring), "pool", "init", pool], check=True, timeout=120)


@pytest.fixture(scope="module")
def guide(ceph_clusters: list[Any], tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[dict[str, Any]]:
    ceph = ceph_clusters[0]
    ensure_pools(ceph, "vms", "vms2")
    data = tmp_path_factory.mktemp("guide-control")
    rbd = {"kind": "rbd", "site": "nova", "conf": str(ceph.conf),
           "keyring": str(ceph.keyring), "user": ceph.user}
    settings = Settings.model_validate({
        "server": {"data_dir": str(data)},
        "compute": {"local_agent": False, "service_down_seconds": 6,
                    "agent_poll_seconds": 5},
        "sites": {"nova": {}},
        "clusters": {"ceph": rbd},
        "image_stores": {"images": {"cluster": "ceph", "pool": "images", "default": True}},
    })
    with run_server(data, settings) as srv:
        root = tmp_path_factory.mktemp("guide-agents")
        configs = [
            agent_config(root / "compute01", "compute01", srv.url, clusters={"ceph": rbd},
                         backends={"vms": {"cluster": "ceph", "pool": "vms", "default": True},
                                   "vms2": {"cluster": "ceph", "pool": "vms2"}}),
            agent_config(root / "compute02", "compute02", srv.url,
                         clusters={"disk": {"kind": "local", "site": "nova"}},
                         backends={"local02": {"cluster": "disk", "pool": "instances"}}),
            agent_config(root / "compute03", "compute03", srv.url,
                         clusters={"disk": {"kind": "local", "site": "nova"}},
                         backends={"local03": {"cluster": "disk", "pool": "instances"}}),
        ]
        admin = ComputeApi(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin"))
        with running_agents(configs, srv.admin_password, root) as agents:
            wait_registered(srv, admin.token, ["compute01", "compute02", "compute03"], agents)
            image = _image(srv, admin.token, bytes(range(256)) * (16 * MiB // 256))
            yield {"srv": srv, "admin": admin, "ceph": ceph, "image": image}


def _image(srv: RunningServer, token: str, data: bytes) -> str:
    with httpx.Client(base_url=f"{srv.url}/image", timeout=120,
                      headers={"X-Auth-Token": token}) as c:
        iid = c.post("/v2/images", json={"name": unique("cirros"), "disk_format": "raw",
                                         "container_format": "bare"}).json()["id"]
        resp = c.put(f"/v2/images/{iid}/file", content=data,
                     headers={"Content-Type": "application/octet-stream"})
        assert resp.status_code == 204, resp.text
    return str(iid)


def _nova(srv: RunningServer, *args: str) -> str:
    return nova(srv.url, "admin", srv.admin_password, "admin", *args).stdout


def _wait_active(admin: ComputeApi, names: list[str], timeout: float = 120
                 ) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = {s["name"]: s for s in admin.get("/servers/detail", version="2.47").json()[
            "servers"] if s["name"] in names}
        if len(found) == len(names) and all(s["status"] == "ACTIVE" for s in found.values()):
            return found
        bad = [s for s in found.values() if s["status"] == "ERROR"]
        assert not bad, bad
        if time.monotonic() > deadline:
            raise AssertionError(f"servers never all ACTIVE: {found}")
        time.sleep(0.2)


def test_000_one_host_two_ceph_backends(guide: dict[str, Any]) -> None:
    srv, admin, ceph, image = guide["srv"], guide["admin"], guide["ceph"], guide["image"]
    _nova(srv, "aggregate-create", "ceph-compute-storage1")
    _nova(srv, "aggregate-create", "ceph-compute-storage2")
    _nova(srv, "aggregate-add-host", "ceph-compute-storage1", "compute01")
    _nova(srv, "aggregate-add-host", "ceph-compute-storage2", "compute01")
    ids = {a["name"]: a["id"] for a in admin.get("/os-aggregates").json()["aggregates"]}
    _nova(srv, "aggregate-set-metadata", str(ids["ceph-compute-storage1"]),
          "cephcomputestorage1=true")
    _nova(srv, "aggregate-set-metadata", str(ids["ceph-compute-storage2"]),
          "cephcomputestorage2=true")
    _nova(srv, "flavor-create", "m1.ceph-compute-storage1", "8", "128", "40", "1")
    _nova(srv, "flavor-create", "m1.ceph-compute-storage2", "9", "128", "40", "1")
    _nova(srv, "flavor-key", "m1.ceph-compute-storage1", "set",
          "aggregate_instance_extra_specs:cephcomputestorage1=true")
    _nova(srv, "flavor-key", "m1.ceph-compute-storage2", "set",
          "aggregate_instance_extra_specs:cephcomputestorage2=true")
    # one host reaches both pools: the flavor names the pool's backend outright
    _nova(srv, "flavor-key", "m1.ceph-compute-storage1", "set",
          "cowcloud:ephemeral_backend=vms")
    _nova(srv, "flavor-key", "m1.ceph-compute-storage2", "set",
          "cowcloud:ephemeral_backend=vms2")
    _nova(srv, "keypair-add", "admin")
    _nova(srv, "boot", "--image", image, "--flavor", "8", "--key-name", "admin", "ceph1")
    _nova(srv, "boot", "--image", image, "--flavor", "9", "--key-name", "admin", "ceph2")
    servers = _wait_active(admin, ["ceph1", "ceph2"])
    out = _nova(srv, "list")
    assert re.search(r"ceph1\s*\|\s*ACTIVE", out) and re.search(r"ceph2\s*\|\s*ACTIVE", out)
    assert "fake guest ceph1" in _nova(srv, "console-log", "ceph1")
    one, two = servers["ceph1"]["id"], servers["ceph2"]["id"]
    assert f"{one}_disk" in rbd_ls(ceph, "vms") and f"{one}_disk" not in rbd_ls(ceph, "vms2")
    assert f"{two}_disk" in rbd_ls(ceph, "vms2") and f"{two}_disk" not in rbd_ls(ceph, "vms")
    # COW clones of the image's copy in the images pool, grown to the flavor's 40 GB
    assert rbd_parent(ceph, "vms", f"{one}_disk") == f"images/{image}@snap"
    assert rbd_parent(ceph, "vms2", f"{two}_disk") == f"images/{image}@snap"
    # the host and its CPU/RAM once, however many backends
    hyps = admin.get("/os-hypervisors/detail").json()["hypervisors"]
    c1 = [h for h in hyps if h["hypervisor_hostname"] == "compute01"]
    assert len(c1) == 1 and (c1[0]["vcpus"], c1[0]["memory_mb"]) == (4, 8192)
    assert (c1[0]["running_vms"], c1[0]["memory_mb_used"]) == (2, 256)
    stats = admin.get("/os-hypervisors/statistics").json()["hypervisor_statistics"]
    assert (stats["count"], stats["vcpus"], stats["memory_mb"]) == (3, 12, 3 * 8192)
    out = _nova(srv, "hypervisor-stats")
    assert re.search(r"\|\s*count\s*\|\s*3\s*\|", out), out
    for sid in (one, two):
        _nova(srv, "delete", sid)
    deadline = time.monotonic() + 60
    while f"{one}_disk" in rbd_ls(ceph, "vms") or f"{two}_disk" in rbd_ls(ceph, "vms2"):
        assert time.monotonic() < deadline, "root disks never removed"
        time.sleep(0.2)


def test_001_local_and_ceph_hosts_by_aggregate(guide: dict[str, Any], tmp_path: Path) -> None:
    srv, admin, ceph, image = guide["srv"], guide["admin"], guide["ceph"], guide["image"]
    _nova(srv, "aggregate-create", "ephemeral-compute-storage")
    _nova(srv, "aggregate-create", "ceph-compute-storage")
    out = _nova(srv, "hypervisor-list")
    assert all(h in out for h in ("compute01", "compute02", "compute03"))
    _nova(srv, "aggregate-add-host", "ephemeral-compute-storage", "compute02")
    _nova(srv, "aggregate-add-host", "ephemeral-compute-storage", "compute03")
    _nova(srv, "aggregate-add-host", "ceph-compute-storage", "compute01")
    ids = {a["name"]: a["id"] for a in admin.get("/os-aggregates").json()["aggregates"]}
    _nova(srv, "aggregate-set-metadata", str(ids["ephemeral-compute-storage"]),
          "ephemeralcomputestorage=true")
    _nova(srv, "aggregate-set-metadata", str(ids["ceph-compute-storage"]),
          "cephcomputestorage=true")
    _nova(srv, "flavor-create", "m1.ephemeral-compute-storage", "6", "4096", "40", "2")
    _nova(srv, "flavor-create", "m1.ceph-compute-storage", "7", "4096", "40", "2")
    _nova(srv, "flavor-key", "m1.ephemeral-compute-storage", "set",
          "ephemeralcomputestorage=true")
    _nova(srv, "flavor-key", "m1.ceph-compute-storage", "set", "cephcomputestorage=true")
    # openstack CLI and openstacksdk boot them
    clouds = srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    openstack_cli(clouds, "server", "create", "--flavor", "6", "--image", image, "--nic",
                  "none", "local-a")
    openstack_cli(clouds, "server", "create", "--flavor", "6", "--image", image, "--nic",
                  "auto", "local-b")
    conn = openstack.connect(**srv.cloud())
    try:
        conn.compute.create_server(name="ceph-a", flavor_id="7", image_id=image,
                                   networks="none")
    finally:
        conn.close()
    servers = _wait_active(admin, ["local-a", "local-b", "ceph-a"])
    hosts = {n: s["OS-EXT-SRV-ATTR:host"] for n, s in servers.items()}
    # free RAM spreads the two local servers over both local hosts
    assert {hosts["local-a"], hosts["local-b"]} == {"compute02", "compute03"}
    assert hosts["ceph-a"] == "compute01"
    assert f"{servers['ceph-a']['id']}_disk" in rbd_ls(ceph, "vms")
    listed = {s["Name"]: s for s in openstack_json(clouds, "server", "list")}
    assert {"local-a", "local-b", "ceph-a"} <= set(listed)
    assert listed["ceph-a"]["Status"] == "ACTIVE"
    # a third 4 GiB local server still fits (8 GiB hosts); a fourth... and a fifth does not
    for sid in (s["id"] for s in servers.values()):
        assert admin.delete(f"/servers/{sid}").status_code == 204
