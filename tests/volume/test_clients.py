"""The real clients walk the guide's workflow: `openstack volume ...`, `cinder create
--image-id` (the guide's own command), and openstacksdk's block_storage proxy."""

from __future__ import annotations

import time
from pathlib import Path

import openstack
from server import RunningServer, openstack_json
from server import openstack as osc

from cowcloud.config import Settings

from .conftest import User
from .helpers import cinder, pattern, pool_devices, rbd_cli, read_device, unique


def _wait_cli(clouds_yaml: Path, volume: str, status: str = "available") -> dict:
    deadline = time.monotonic() + 120
    while True:
        vol = openstack_json(clouds_yaml, "volume", "show", volume, cloud="alice")
        if vol["status"] == status:
            return vol
        assert vol["status"] != "error", vol
        assert time.monotonic() < deadline, vol
        time.sleep(0.3)


def _gone_cli(clouds_yaml: Path, volume: str) -> None:
    deadline = time.monotonic() + 60
    while osc(clouds_yaml, "volume", "show", volume, cloud="alice", check=False).returncode == 0:
        assert time.monotonic() < deadline
        time.sleep(0.3)


def test_openstack_cli_walks_the_guide(clouds_yaml: Path, alice: User, settings: Settings,
                                       ceph_clusters) -> None:
    types = openstack_json(clouds_yaml, "volume", "type", "list", cloud="alice")
    assert "__DEFAULT__" in [t["Name"] for t in types]
    data = pattern(2 << 20, seed=21)
    iid = alice.api.image(data)
    name = unique("boot")
    created = openstack_json(clouds_yaml, "volume", "create", "--size", "1", "--image", iid,
                             name, cloud="alice")
    assert created["name"] == name
    vol = _wait_cli(clouds_yaml, name)
    assert vol["bootable"] in (True, "true") and vol["size"] == 1
    info = rbd_cli(ceph_clusters[0], "info", f"volumes/volume-{vol['id']}")
    assert (info["parent"]["pool"], info["parent"]["image"]) == ("images", iid)
    assert read_device(settings, "central", vol["id"], len(data)) == data

    osc(clouds_yaml, "volume", "set", "--name", f"{name}-r", "--description", "d",
        "--property", "tier=gold", name, cloud="alice")
    vol = openstack_json(clouds_yaml, "volume", "show", f"{name}-r", cloud="alice")
    assert vol["description"] == "d" and vol["properties"] == {"tier": "gold"}

    snap = openstack_json(clouds_yaml, "volume", "snapshot", "create", "--volume",
                          f"{name}-r", unique("snap"), cloud="alice")
    from_snap = openstack_json(clouds_yaml, "volume", "create", "--snapshot", snap["id"],
                               unique("fs"), cloud="alice")
    from_src = openstack_json(clouds_yaml, "volume", "create", "--source", f"{name}-r",
                              "--size", "2", unique("fv"), cloud="alice")
    _wait_cli(clouds_yaml, from_snap["id"])
    assert _wait_cli(clouds_yaml, from_src["id"])["size"] == 2
    listed = {v["ID"] for v in openstack_json(clouds_yaml, "volume", "list", cloud="alice")}
    assert {vol["id"], from_snap["id"], from_src["id"]} <= listed

    deleting = osc(clouds_yaml, "volume", "delete", vol["id"], cloud="alice", check=False)
    assert deleting.returncode != 0 and "snapshot" in deleting.stderr
    osc(clouds_yaml, "volume", "snapshot", "delete", snap["id"], cloud="alice")
    for vid in (vol["id"], from_snap["id"], from_src["id"]):
        osc(clouds_yaml, "volume", "delete", vid, cloud="alice")
    for vid in (vol["id"], from_snap["id"], from_src["id"]):
        _gone_cli(clouds_yaml, vid)
    assert pool_devices(settings)["central"] == []


def test_cinder_cli(srv: RunningServer, alice: User, settings: Settings) -> None:
    data = pattern(1 << 20, seed=22)
    iid = alice.api.image(data)
    name = unique("cv")
    run = lambda *a, **kw: cinder(srv.url, alice.name, alice.password,  # noqa: E731
                                  alice.project, *a, **kw)
    out = run("create", "--image-id", iid, "--name", name, "1").stdout
    vid = next(line.split("|")[2].strip() for line in out.splitlines()
               if line.startswith("| id "))
    alice.api.wait(vid)
    assert name in run("list").stdout
    run("extend", vid, "2")
    vol = alice.api.wait(vid)
    assert vol["size"] == 2
    assert read_device(settings, "central", vid, len(data)) == data
    shrink = run("extend", vid, "1", check=False)
    assert shrink.returncode != 0 and "must be greater than current size" in shrink.stderr
    run("delete", vid)
    alice.api.gone(vid)


def test_openstacksdk(srv: RunningServer, alice: User, settings: Settings) -> None:
    conn = openstack.connect(**srv.cloud(alice.name, alice.password, alice.project))
    try:
        data = pattern(1 << 20, seed=23)
        iid = alice.api.image(data)
        bs = conn.block_storage
        vol = bs.create_volume(size=1, image_id=iid, name=unique("sdk"))
        vol = bs.wait_for_status(vol, "available", wait=120)
        assert vol.is_bootable and vol.size == 1
        assert vol.id in {v.id for v in bs.volumes()}
        bs.extend_volume(vol, 3)
        vol = bs.wait_for_status(bs.get_volume(vol.id), "available", wait=60)
        assert vol.size == 3
        info = pool_devices(settings)["central"]
        assert f"volume-{vol.id}" in info
        snap = bs.create_snapshot(volume_id=vol.id, name=unique("s"))
        snap = bs.wait_for_status(snap, "available", wait=60)
        assert snap.volume_id == vol.id
        bs.delete_snapshot(snap)
        bs.wait_for_delete(snap, wait=60)
        bs.delete_volume(vol)
        bs.wait_for_delete(vol, wait=60)
        assert f"volume-{vol.id}" not in pool_devices(settings)["central"]
    finally:
        conn.close()


def test_admin_manages_types_with_the_cli(srv: RunningServer, tmp_path: Path, alice: User
                                          ) -> None:
    """The guide's `volume_backend_name = ceph`: a type per backend, made with the CLI, steers
    where a user's volume goes."""
    clouds = srv.write_clouds_yaml(tmp_path / "clouds.yaml",
                                   alice=srv.cloud(alice.name, alice.password, alice.project))
    name = unique("ceph-dcn0")
    osc(clouds, "volume", "type", "create", "--property", "volume_backend_name=dcn0", name)
    shown = openstack_json(clouds, "volume", "type", "show", name)
    assert shown["properties"] == {"volume_backend_name": "dcn0"}
    assert name in {t["Name"] for t in openstack_json(clouds, "volume", "type", "list",
                                                      "--long")}
    vol = openstack_json(clouds, "volume", "create", "--size", "1", "--type", name,
                         unique("v"), cloud="alice")
    vol = _wait_cli(clouds, vol["id"])
    assert vol["type"] == name and vol["availability_zone"] == "dcn0"
    snap = openstack_json(clouds, "volume", "snapshot", "create", "--volume", vol["id"],
                          unique("s"), cloud="alice")
    assert snap["id"] in {s["ID"] for s in openstack_json(clouds, "volume", "snapshot",
                                                          "list", cloud="alice")}
    osc(clouds, "volume", "delete", "--purge", vol["id"], cloud="alice")
    _gone_cli(clouds, vol["id"])
    osc(clouds, "volume", "type", "delete", name)
