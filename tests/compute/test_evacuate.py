"""Evacuate with fencing (the 002 guide's stale-lock trouble, REFERENCE PP-04), fake driver,
real Ceph: a server's host dies holding its RBD root disk's lock; the operator marks the host
down and evacuates; the new host breaks the lock (blocklisting the holder), records it, and
runs the server on the same disk. Refusals: the same host, a down host, a host that is up,
and a server on host-local storage. The old host, back, drops the guest it no longer owns."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server import run_server, token_for

from cowcloud.config import Settings

from .agents import AgentProcess, agent_config, running_agents, wait_registered
from .helpers import ComputeApi, fault, unique
from .test_guides import _ceph, ensure_pools, rbd_ls

pytestmark = pytest.mark.ceph


def _rbd(info: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rbd", "-c", str(info.conf), "--id", info.user, "--keyring",
                           str(info.keyring), *args], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture(scope="module")
def ev(ceph_clusters: list[Any], tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[dict[str, Any]]:
    ceph = ceph_clusters[0]
    ensure_pools(ceph, "vms")
    data = tmp_path_factory.mktemp("evac-control")
    rbd = {"kind": "rbd", "site": "nova", "conf": str(ceph.conf),
           "keyring": str(ceph.keyring), "user": ceph.user}
    settings = Settings.model_validate({
        "server": {"data_dir": str(data)},
        "compute": {"local_agent": False, "service_down_seconds": 6, "agent_poll_seconds": 5},
        "sites": {"nova": {}}, "clusters": {"ceph": rbd},
        "image_stores": {"images": {"cluster": "ceph", "pool": "images", "default": True}},
    })
    with run_server(data, settings) as srv:
        root = tmp_path_factory.mktemp("evac-agents")
        ceph_backend = {"vms": {"cluster": "ceph", "pool": "vms", "default": True}}
        configs = {
            "hostA": agent_config(root / "hostA", "hostA", srv.url, clusters={"ceph": rbd},
                                  backends=ceph_backend),
            "hostB": agent_config(root / "hostB", "hostB", srv.url, clusters={"ceph": rbd},
                                  backends=ceph_backend),
            "hostL": agent_config(root / "hostL", "hostL", srv.url,
                                  clusters={"disk": {"kind": "local", "site": "nova"}},
                                  backends={"disk": {"cluster": "disk", "pool": "vms"}}),
        }
        admin = ComputeApi(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin"))
        with running_agents(list(configs.values()), srv.admin_password, root) as agents:
            wait_registered(srv, admin.token, list(configs), agents)
            with httpx.Client(base_url=f"{srv.url}/image", timeout=60,
                              headers={"X-Auth-Token": admin.token}) as c:
                image = c.post("/v2/images", json={"name": unique("img"), "disk_format": "raw",
                                                   "container_format": "bare"}).json()["id"]
                c.put(f"/v2/images/{image}/file", content=b"\x09" * (1 << 20),
                      headers={"Content-Type": "application/octet-stream"})
            yield {"srv": srv, "admin": admin, "ceph": ceph, "image": image,
                   "agents": dict(zip(configs, agents, strict=True)), "configs": configs,
                   "root": root}


def _boot_on(admin: ComputeApi, host: str, image: str) -> str:
    flavor = admin.flavor(disk=1)
    resp = admin.post("/servers", version="2.47", json={"server": {
        "name": unique("vm"), "flavorRef": flavor["id"], "imageRef": image,
        "networks": "none", "availability_zone": f"nova:{host}"}})
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    _wait(admin, sid, lambda s: s["status"] == "ACTIVE")
    return str(sid)


def _wait(admin: ComputeApi, sid: str, ok: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not ok(server := admin.get(f"/servers/{sid}").json()["server"]):
        assert server["status"] != "ERROR", server
        assert time.monotonic() < deadline, server
        time.sleep(0.2)
    return server


def _down(admin: ComputeApi, host: str) -> None:
    resp = admin.put("/os-services/force-down", version="2.11", json={
        "host": host, "binary": "nova-compute", "forced_down": True})
    assert resp.status_code == 200, resp.text


def test_evacuate_fences_the_dead_host_and_moves_the_server(ev: dict[str, Any]) -> None:
    admin, ceph, image = ev["admin"], ev["ceph"], ev["image"]
    sid = _boot_on(admin, "hostA", image)
    disk = f"vms/{sid}_disk"
    # hostA's guest holds its disk as a running qemu would: a lock, by a client that dies
    # with the host (the rbd CLI's own client, gone when it exits)
    assert _rbd(ceph, "lock", "add", disk, "hostA-qemu").returncode == 0
    holder = json.loads(_rbd(ceph, "lock", "ls", disk, "--format", "json").stdout)
    address = (holder[0] if isinstance(holder, list) else next(iter(holder.values())))[
        "address"]
    # refusals while the host is up, and for the same host
    assert "still in use" in fault(admin.post(f"/servers/{sid}/action", json={
        "evacuate": {"host": "hostB"}}), 400)
    ev["agents"]["hostA"].stop(kill=True)
    _down(admin, "hostA")
    assert "same one" in fault(admin.post(f"/servers/{sid}/action", json={
        "evacuate": {"host": "hostA"}}), 400)
    # a down target is refused too
    _down(admin, "hostB")
    assert "down" in fault(admin.post(f"/servers/{sid}/action", json={
        "evacuate": {"host": "hostB"}}), 400)
    admin.put("/os-services/force-down", version="2.11", json={
        "host": "hostB", "binary": "nova-compute", "forced_down": False})
    resp = admin.post(f"/servers/{sid}/action", json={"evacuate": {"host": "hostB"}})
    assert resp.status_code == 202, resp.text
    server = _wait(admin, sid, lambda s: s["status"] == "ACTIVE"
                   and s["OS-EXT-STS:task_state"] is None)
    assert server["OS-EXT-SRV-ATTR:host"] == "hostB"
    record = server["cowcloud:history"][-1]
    assert (record["action"], record["from_host"], record["to_host"], record["ok"]) == (
        "evacuate", "hostA", "hostB", True)
    assert any(address in f for f in record["fenced"]), record
    # the lock is gone and its holder is blocklisted in the cluster
    assert json.loads(_rbd(ceph, "lock", "ls", disk, "--format", "json").stdout or "[]") in (
        [], {})
    blocklist = _ceph(ceph, "osd", "blocklist", "ls").stdout + _ceph(
        ceph, "osd", "blocklist", "ls").stderr
    assert address in blocklist, (address, blocklist)
    assert f"{sid}_disk" in rbd_ls(ceph, "vms")  # the same disk, not a new one
    # hostA comes back: it drops the guest that moved, and leaves the disk alone
    state = Path(ev["root"]) / "hostA" / "agent" / "hostA" / "fake"
    assert (state / f"{sid}.json").exists()
    admin.put("/os-services/force-down", version="2.11", json={
        "host": "hostA", "binary": "nova-compute", "forced_down": False})
    back = AgentProcess(ev["configs"]["hostA"], ev["srv"].admin_password,
                        Path(ev["root"]) / "hostA-back.log")
    try:
        wait_registered(ev["srv"], admin.token, ["hostA"], [back])
        deadline = time.monotonic() + 30
        while (state / f"{sid}.json").exists():
            assert time.monotonic() < deadline, "the stale guest was never dropped"
            time.sleep(0.2)
        assert f"{sid}_disk" in rbd_ls(ceph, "vms")
    finally:
        back.stop()
    admin.delete(f"/servers/{sid}")


def test_a_server_on_local_storage_cannot_be_evacuated(ev: dict[str, Any]) -> None:
    admin = ev["admin"]
    sid = _boot_on(admin, "hostL", ev["image"])
    ev["agents"]["hostL"].stop(kill=True)
    _down(admin, "hostL")
    msg = fault(admin.post(f"/servers/{sid}/action", json={"evacuate": {}}), 400,
                "badRequest")
    assert "host-local storage" in msg
    server = admin.get(f"/servers/{sid}").json()["server"]
    assert server["OS-EXT-SRV-ATTR:host"] == "hostL" and server["status"] == "ACTIVE"
