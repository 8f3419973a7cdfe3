"""`cowcloud serve` on the embedded default is a whole cloud: the server runs an agent for its
own machine, which reaches the local ephemeral backend, and a server boots on it from an image
in the local store (its root disk a qcow2 overlay of the image's copy)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from server import run_server, token_for

from cowcloud.config import Settings, embedded_default
from cowcloud.storage import DeviceInfo, DeviceRef
from cowcloud.storage.registry import make_backend

from .helpers import ComputeApi, fault, unique


def test_serve_runs_an_agent_for_its_own_machine(tmp_path: Path) -> None:
    settings = embedded_default(tmp_path)
    with run_server(tmp_path, settings) as srv:
        admin = ComputeApi(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin"))
        deadline = time.monotonic() + 30
        while not (hyps := admin.get("/os-hypervisors/detail").json()["hypervisors"]):
            assert time.monotonic() < deadline, "the local agent never registered"
            time.sleep(0.1)
        (hyp,) = hyps
        assert [b["name"] for b in hyp["cowcloud:ephemeral_backends"]] == ["local"]
        assert hyp["hypervisor_type"] == "fake" and hyp["state"] == "up"
        with httpx.Client(base_url=f"{srv.url}/image", timeout=60,
                          headers={"X-Auth-Token": admin.token}) as c:
            iid = c.post("/v2/images", json={"name": unique("img"), "disk_format": "raw",
                                             "container_format": "bare"}).json()["id"]
            assert c.put(f"/v2/images/{iid}/file", content=b"\x07" * (1 << 20), headers={
                "Content-Type": "application/octet-stream"}).status_code == 204
        flavor = admin.flavor(disk=1)
        resp = admin.post("/servers", version="2.37", json={"server": {
            "name": "first", "flavorRef": flavor["id"], "imageRef": iid, "networks": "auto"}})
        assert resp.status_code == 202, resp.text
        sid = resp.json()["server"]["id"]
        deadline = time.monotonic() + 60
        while (server := admin.get(f"/servers/{sid}").json()["server"])["status"] != "ACTIVE":
            assert server["status"] == "BUILD", server
            assert time.monotonic() < deadline
            time.sleep(0.1)
        info = asyncio.run(_stat(srv.settings, DeviceRef("vms", f"{sid}_disk")))
        assert info.parent is not None  # an overlay of the image's copy
        assert info.parent.device.name == iid or iid in str(info.parent)
        assert info.size == 1 << 30
        # renamed, described (2.19); unknown fields refused
        resp = admin.put(f"/servers/{sid}", version="2.19", json={"server": {
            "name": "renamed", "description": "the first"}})
        assert (resp.json()["server"]["name"], resp.json()["server"]["description"]) == (
            "renamed", "the first")
        fault(admin.put(f"/servers/{sid}", json={"server": {"description": "x"}}), 400)
        # a second serve-like agent for the same host name is refused while this one is up
        fault(admin.agent("POST", "/hosts", json={"host": {
            "host": hyp["hypervisor_hostname"], "vcpus": 1, "memory_mb": 1}}), 409)
        assert admin.delete(f"/servers/{sid}").status_code == 204


async def _stat(settings: Settings, dev: DeviceRef) -> DeviceInfo:
    backend = make_backend(settings, "local")
    await backend.open()
    try:
        return await backend.stat(dev)
    finally:
        await backend.close()


def test_quotas_and_limits(tmp_path: Path) -> None:
    settings = embedded_default(tmp_path)
    settings = settings.model_copy(update={"compute": settings.compute.model_copy(
        update={"quota_instances": 1})})
    with run_server(tmp_path, settings) as srv:
        admin = ComputeApi(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin"))
        with httpx.Client(base_url=f"{srv.url}/image", timeout=60,
                          headers={"X-Auth-Token": admin.token}) as c:
            iid = c.post("/v2/images", json={"name": unique("img"), "disk_format": "raw",
                                             "container_format": "bare"}).json()["id"]
            c.put(f"/v2/images/{iid}/file", content=b"\x07" * (1 << 20),
                  headers={"Content-Type": "application/octet-stream"})
        flavor = admin.flavor(disk=1, vcpus=2, ram=1024)
        body = {"server": {"name": "one", "flavorRef": flavor["id"], "imageRef": iid,
                           "networks": "none"}}
        assert admin.post("/servers", version="2.37", json=body).status_code == 202
        msg = fault(admin.post("/servers", version="2.37", json=body), 403, "forbidden")
        assert "Quota exceeded for instances" in msg
        assert len(admin.get("/servers").json()["servers"]) == 1
        absolute = admin.get("/limits", version="2.57").json()["limits"]["absolute"]
        assert (absolute["maxTotalInstances"], absolute["totalInstancesUsed"],
                absolute["totalCoresUsed"], absolute["totalRAMUsed"]) == (1, 1, 2, 1024)
        assert "maxPersonality" not in absolute
