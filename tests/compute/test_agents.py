"""The control plane and three compute agents as separate processes (hosts compute01..03 on
loopback), the fake driver, local storage: registration, refusal of a second agent, servers
placed by backend, zone and aggregate, their root disks, power actions, delete, and bad input
that leaves nothing behind.

compute01 reaches the control plane's own local cluster (as hosts share a Ceph cluster): its
root disks are COW clones (qcow2 overlays) of the image's copy there. compute02 and compute03
have clusters of their own: their root disks are the image's bytes, fetched over the Image API.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server import RunningServer, race, run_server, token_for

from cowcloud.config import Settings, load

from .agents import AgentProcess, agent_config, running_agents, wait_registered
from .helpers import ComputeApi, fault, unique

MiB = 1 << 20
HOSTS = ["compute01", "compute02", "compute03"]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("agents-control")
    settings = Settings.model_validate({
        "server": {"data_dir": str(data)},
        "compute": {"local_agent": False, "service_down_seconds": 6,
                    "agent_poll_seconds": 5, "quota_instances": -1, "quota_cores": -1,
                    "quota_ram_mb": -1},
        "sites": {"site1": {}, "site2": {}},
        "clusters": {"local": {"kind": "local", "site": "site1"}},
        "image_stores": {"local": {"cluster": "local", "pool": "images", "default": True}},
    })
    with run_server(data, settings) as srv:
        shared = settings.model_copy(update={"server": srv.settings.server}).cluster_path(
            "local")
        root = tmp_path_factory.mktemp("agents")
        configs = [
            agent_config(root / "compute01", "compute01", srv.url,
                         clusters={"shared": {"kind": "local", "site": "site1",
                                              "path": str(shared)}},
                         backends={"vms": {"cluster": "shared", "pool": "vms",
                                           "default": True}}),
            agent_config(root / "compute02", "compute02", srv.url,
                         clusters={"own": {"kind": "local", "site": "site1"}},
                         backends={"local2": {"cluster": "own", "pool": "vms"}}),
            agent_config(root / "compute03", "compute03", srv.url,
                         clusters={"own": {"kind": "local", "site": "site2"}},
                         backends={"local3": {"cluster": "own", "pool": "vms"}}),
        ]
        admin = ComputeApi(srv.url, token_for(srv.url, "admin", srv.admin_password, "admin"))
        with running_agents(configs, srv.admin_password, root) as agents:
            wait_registered(srv, admin.token, HOSTS, agents)
            yield {"srv": srv, "admin": admin, "agents": agents, "configs": configs,
                   "root": root}


def _image(srv: RunningServer, token: str, data: bytes, **fields: Any) -> str:
    with httpx.Client(base_url=f"{srv.url}/image", timeout=60,
                      headers={"X-Auth-Token": token}) as c:
        body = {"name": unique("img"), "disk_format": "raw", "container_format": "bare",
                **fields}
        iid = c.post("/v2/images", json=body).json()["id"]
        resp = c.put(f"/v2/images/{iid}/file", content=data,
                     headers={"Content-Type": "application/octet-stream"})
        assert resp.status_code == 204, resp.text
    return iid


def _wait(api: ComputeApi, sid: str, status: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        server = api.get(f"/servers/{sid}", version="2.47").json()["server"]
        if server["status"] == status:
            return server
        assert server["status"] != "ERROR" or status == "ERROR", server
        if time.monotonic() > deadline:
            raise AssertionError(f"server never got {status}: {server}")
        time.sleep(0.1)


def _gone(api: ComputeApi, sid: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while api.get(f"/servers/{sid}").status_code != 404:
        if time.monotonic() > deadline:
            raise AssertionError(f"server {sid} never went")
        time.sleep(0.1)


def _boot(api: ComputeApi, flavor: str, image: str, zone_hint: str | None = None,
          **extra: Any) -> str:
    body: dict[str, Any] = {"server": {
        "name": unique("vm"), "flavorRef": flavor, "imageRef": image, "networks": "none",
        **extra}}
    if zone_hint:
        body["os:scheduler_hints"] = {"group": zone_hint}
    resp = api.post("/servers", version="2.47", json=body)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["server"]["id"])


def _devices(config: Path, backend: str) -> list[str]:
    import asyncio

    from cowcloud.storage.registry import make_backend
    settings = load(config)
    target = settings.ephemeral_backends[backend]

    async def run() -> list[str]:
        b = make_backend(settings, target.cluster)
        await b.open()
        try:
            return sorted(await b.list_devices(target.pool))
        finally:
            await b.close()
    return asyncio.run(run())


def test_three_hosts_one_hypervisor_each(cloud: dict[str, Any]) -> None:
    admin: ComputeApi = cloud["admin"]
    hyps = admin.get("/os-hypervisors/detail").json()["hypervisors"]
    by_name = {h["hypervisor_hostname"]: h for h in hyps}
    assert set(by_name) == set(HOSTS)
    assert [b["name"] for b in by_name["compute02"]["cowcloud:ephemeral_backends"]] == [
        "local2"]
    stats = admin.get("/os-hypervisors/statistics").json()["hypervisor_statistics"]
    assert (stats["count"], stats["vcpus"], stats["memory_mb"]) == (3, 12, 3 * 8192)
    zones = {z["zoneName"] for z in admin.get("/os-availability-zone").json()[
        "availabilityZoneInfo"]}
    assert zones == {"site1", "site2"}


def test_a_second_agent_for_a_host_that_is_up_is_refused(cloud: dict[str, Any]) -> None:
    """Another machine (its own data folder) claiming compute01: the control plane refuses it.
    Another process on compute01's own state folder does not even ask."""
    srv: RunningServer = cloud["srv"]
    elsewhere = agent_config(cloud["root"] / "elsewhere", "compute01", srv.url,
                             clusters={"own": {"kind": "local", "site": "site1"}},
                             backends={"x": {"cluster": "own", "pool": "vms"}})
    same_folder = AgentProcess(cloud["configs"][0], srv.admin_password,
                               cloud["root"] / "same-folder.log")
    assert same_folder.proc.wait(60) == 3
    same_folder.stop()
    assert "Another agent runs with state folder" in same_folder.output()
    second = AgentProcess(elsewhere, srv.admin_password, cloud["root"] / "second.log")
    try:
        assert second.proc.wait(60) == 3
    except subprocess.TimeoutExpired:
        second.stop(kill=True)
        raise
    finally:
        second.stop()
    assert "up and registered by another agent" in second.output()
    assert all(a.proc.poll() is None for a in cloud["agents"])


def test_servers_land_where_flavor_and_zone_say(cloud: dict[str, Any]) -> None:
    admin: ComputeApi = cloud["admin"]
    srv: RunningServer = cloud["srv"]
    image = _image(srv, admin.token, b"\x5a" * MiB)
    on_vms = admin.flavor(disk=1)
    admin.post(f"/flavors/{on_vms['id']}/os-extra_specs",
               json={"extra_specs": {"cowcloud:ephemeral_backend": "vms"}})
    on_local2 = admin.flavor(disk=1)
    admin.post(f"/flavors/{on_local2['id']}/os-extra_specs",
               json={"extra_specs": {"cowcloud:ephemeral_backend": "local2"}})
    plain = admin.flavor(disk=1)
    a = _boot(admin, on_vms["id"], image)
    b = _boot(admin, on_local2["id"], image)
    c = _boot(admin, plain["id"], image, availability_zone="site2")
    sa, sb, sc = (_wait(admin, x, "ACTIVE") for x in (a, b, c))
    assert [s["OS-EXT-SRV-ATTR:host"] for s in (sa, sb, sc)] == HOSTS
    assert sc["OS-EXT-AZ:availability_zone"] == "site2"
    assert sa["OS-EXT-STS:power_state"] == 1 and sa["flavor"]["extra_specs"] == {
        "cowcloud:ephemeral_backend": "vms"}
    assert f"{a}_disk" in _devices(cloud["configs"][0], "vms")
    assert f"{b}_disk" in _devices(cloud["configs"][1], "local2")
    assert f"{c}_disk" in _devices(cloud["configs"][2], "local3")
    # hypervisor figures count the servers on their hosts
    hyp = next(h for h in admin.get("/os-hypervisors/detail").json()["hypervisors"]
               if h["hypervisor_hostname"] == "compute01")
    assert (hyp["running_vms"], hyp["memory_mb_used"]) == (1, 512)
    # list with filters
    listed = admin.get("/servers/detail", params={"host": "compute02"}).json()["servers"]
    assert [s["id"] for s in listed] == [b]
    assert {s["id"] for s in admin.get("/servers").json()["servers"]} >= {a, b, c}
    # power actions
    assert admin.post(f"/servers/{a}/action", json={"os-stop": None}).status_code == 202
    assert _wait(admin, a, "SHUTOFF")["OS-EXT-STS:power_state"] == 4
    fault(admin.post(f"/servers/{a}/action", json={"os-stop": None}), 409,
          "conflictingRequest")
    admin.post(f"/servers/{a}/action", json={"os-start": None})
    _wait(admin, a, "ACTIVE")
    admin.post(f"/servers/{a}/action", json={"reboot": {"type": "HARD"}})
    _wait(admin, a, "ACTIVE")
    # the console, as the host's agent reads it from its driver
    # (Nova's cut: `length` pieces of the log split at newlines, the last one empty)
    resp = admin.post(f"/servers/{a}/action", json={"os-getConsoleOutput": {"length": 3}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["output"].splitlines() == ["powered on", "hard reboot"]
    full = admin.post(f"/servers/{a}/action", json={"os-getConsoleOutput": {}}).json()
    assert full["output"].startswith("fake guest")
    # rebuild from another image: a new root disk on the same host and backend
    other = _image(srv, admin.token, b"\x6b" * MiB)
    resp = admin.post(f"/servers/{a}/action", json={"rebuild": {"imageRef": other,
                                                               "name": "rebuilt"}})
    assert resp.status_code == 202, resp.text
    rebuilt = _wait(admin, a, "ACTIVE")
    assert (rebuilt["image"]["id"], rebuilt["name"]) == (other, "rebuilt")
    assert rebuilt["OS-EXT-SRV-ATTR:host"] == "compute01"
    assert f"{a}_disk" in _devices(cloud["configs"][0], "vms")
    assert fault(admin.post(f"/servers/{a}/action", json={"rebuild": {
        "imageRef": "8c4e1a0c-0000-4000-8000-000000000000"}}), 400)
    for x in (a, b, c):
        assert admin.delete(f"/servers/{x}").status_code == 204
    for x in (a, b, c):
        _gone(admin, x)
    assert f"{a}_disk" not in _devices(cloud["configs"][0], "vms")
    assert f"{b}_disk" not in _devices(cloud["configs"][1], "local2")


def test_no_host_fits_is_error_with_the_filter_named(cloud: dict[str, Any]) -> None:
    admin: ComputeApi = cloud["admin"]
    image = _image(cloud["srv"], admin.token, b"\x01" * MiB)
    flavor = admin.flavor(disk=1)
    admin.post(f"/flavors/{flavor['id']}/os-extra_specs", json={"extra_specs": {
        "aggregate_instance_extra_specs:gpu": "true"}})
    sid = _boot(admin, flavor["id"], image)
    server = _wait(admin, sid, "ERROR")
    assert "AggregateInstanceExtraSpecsFilter" in server["fault"]["message"]
    assert "No valid host was found" in server["fault"]["message"]
    big = admin.flavor(disk=1, ram=10**6)
    server = _wait(admin, _boot(admin, big["id"], image), "ERROR")
    assert "RamFilter" in server["fault"]["message"]
    assert admin.delete(f"/servers/{sid}").status_code == 204
    _gone(admin, sid)


def test_bad_input_is_refused_and_leaves_nothing(cloud: dict[str, Any]) -> None:
    admin: ComputeApi = cloud["admin"]
    image = _image(cloud["srv"], admin.token, b"\x02" * MiB, min_disk=5)
    small_image = _image(cloud["srv"], admin.token, b"\x02" * MiB)
    flavor = admin.flavor(disk=1)
    ghost = admin.flavor(disk=1)
    admin.post(f"/flavors/{ghost['id']}/os-extra_specs",
               json={"extra_specs": {"cowcloud:ephemeral_backend": "nowhere"}})
    before = {s["id"] for s in admin.get("/servers", params={"all_tenants": "1"}).json()[
        "servers"]}
    cases = [
        ({"flavorRef": "no-such-flavor", "imageRef": small_image}, "Flavor"),
        ({"flavorRef": flavor["id"], "imageRef": "8c4e1a0c-0000-4000-8000-000000000000"},
         "Image"),
        ({"flavorRef": ghost["id"], "imageRef": small_image}, "nowhere"),
        ({"flavorRef": flavor["id"], "imageRef": small_image,
          "availability_zone": "atlantis"}, "availability zone"),
        ({"flavorRef": flavor["id"], "imageRef": image}, "too small"),
        ({"flavorRef": flavor["id"], "imageRef": small_image, "networks": [{"uuid": "x"}]},
         "Neutron"),
    ]
    for spec, words in cases:
        body = {"name": unique("bad"), "networks": "none", **spec}
        msg = fault(admin.post("/servers", version="2.47", json={"server": body}), 400,
                    "badRequest")
        assert words in msg, msg
    after = {s["id"] for s in admin.get("/servers", params={"all_tenants": "1"}).json()[
        "servers"]}
    assert after == before
    fault(admin.get("/servers/8c4e1a0c-0000-4000-8000-000000000000"), 404, "itemNotFound")


def test_server_groups_place_by_policy(cloud: dict[str, Any]) -> None:
    admin: ComputeApi = cloud["admin"]
    image = _image(cloud["srv"], admin.token, b"\x05" * MiB)
    flavor = admin.flavor(disk=1)
    anti = admin.post("/os-server-groups", json={"server_group": {
        "name": unique("anti"), "policies": ["anti-affinity"]}}).json()["server_group"]
    aff = admin.post("/os-server-groups", version="2.64", json={"server_group": {
        "name": unique("aff"), "policy": "affinity"}}).json()["server_group"]
    assert aff["policy"] == "affinity" and anti["policies"] == ["anti-affinity"]
    spread = [_boot(admin, flavor["id"], image, zone_hint=anti["id"]) for _ in range(3)]
    packed = [_boot(admin, flavor["id"], image, zone_hint=aff["id"]) for _ in range(2)]
    hosts_spread = {_wait(admin, x, "ACTIVE")["OS-EXT-SRV-ATTR:host"] for x in spread}
    hosts_packed = {_wait(admin, x, "ACTIVE")["OS-EXT-SRV-ATTR:host"] for x in packed}
    assert len(hosts_spread) == 3 and len(hosts_packed) == 1
    assert set(admin.get(f"/os-server-groups/{anti['id']}").json()["server_group"][
        "members"]) == set(spread)
    # a fourth anti-affinity member has no host left
    fourth = _boot(admin, flavor["id"], image, zone_hint=anti["id"])
    assert "ServerGroupAntiAffinityFilter" in _wait(admin, fourth, "ERROR")["fault"]["message"]
    fault(admin.post("/servers", version="2.47", json={
        "server": {"name": "x", "flavorRef": flavor["id"], "imageRef": image,
                   "networks": "none"},
        "os:scheduler_hints": {"group": "8c4e1a0c-0000-4000-8000-000000000000"}}), 400)
    for sid in [*spread, *packed, fourth]:
        admin.delete(f"/servers/{sid}")
    for sid in [*spread, *packed, fourth]:
        _gone(admin, sid)
    for g in (anti, aff):
        assert admin.delete(f"/os-server-groups/{g['id']}").status_code == 204
    fault(admin.get(f"/os-server-groups/{anti['id']}"), 404)


def test_concurrent_creates_never_overcommit_a_host(cloud: dict[str, Any]) -> None:
    """Six creates at once for a host with room for two: two are placed, four fail on RAM."""
    admin: ComputeApi = cloud["admin"]
    image = _image(cloud["srv"], admin.token, b"\x04" * MiB)
    flavor = admin.flavor(disk=1, ram=4096)
    admin.post(f"/flavors/{flavor['id']}/os-extra_specs",
               json={"extra_specs": {"cowcloud:ephemeral_backend": "vms"}})
    ids = race([lambda: _boot(admin, flavor["id"], image) for _ in range(6)])
    states = [_wait_settled(admin, sid) for sid in ids]
    assert sorted(s["status"] for s in states) == ["ACTIVE"] * 2 + ["ERROR"] * 4
    assert all("RamFilter" in s["fault"]["message"] for s in states if s["status"] == "ERROR")
    for sid in ids:
        admin.delete(f"/servers/{sid}")
    for sid in ids:
        _gone(admin, sid)


def _wait_settled(api: ComputeApi, sid: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (server := api.get(f"/servers/{sid}").json()["server"])["status"] == "BUILD":
        assert time.monotonic() < deadline, server
        time.sleep(0.1)
    return server


def test_a_dead_agents_host_goes_down_and_is_skipped(cloud: dict[str, Any]) -> None:
    """Last in the module: compute03's agent is killed. Its host turns down once it misses
    its heartbeats (6 s here), the scheduler's ComputeFilter skips it, and the agent started
    again on its state folder is its own successor at once."""
    admin: ComputeApi = cloud["admin"]
    srv: RunningServer = cloud["srv"]
    agents: list[AgentProcess] = cloud["agents"]
    agents[2].stop(kill=True)
    deadline = time.monotonic() + 30
    while next(s for s in admin.get("/os-services").json()["services"]
               if s["host"] == "compute03")["state"] != "down":
        assert time.monotonic() < deadline, "compute03 never went down"
        time.sleep(0.3)
    image = _image(srv, admin.token, b"\x03" * MiB)
    flavor = admin.flavor(disk=1)
    sid = _boot(admin, flavor["id"], image, availability_zone="site2")
    assert "ComputeFilter" in _wait(admin, sid, "ERROR")["fault"]["message"]
    again = AgentProcess(cloud["configs"][2], srv.admin_password,
                         cloud["root"] / "compute03-again.log")
    agents.append(again)
    wait_registered(srv, admin.token, ["compute03"], [again])
    sid = _boot(admin, flavor["id"], image, availability_zone="site2")
    assert _wait(admin, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == "compute03"
    admin.delete(f"/servers/{sid}")
    _gone(admin, sid)
