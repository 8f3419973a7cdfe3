"""Retype and migration between backends with the openstack and cinder CLIs: across clusters
(rbd to rbd, rbd to local and back) and inside one (clone, then flatten); the volume keeps its
id, its host and zone follow it, its bytes are intact, and the source device is gone. Bad
input, each a 400/403/404 in Cinder's shape that changes nothing."""

from __future__ import annotations

import time
from pathlib import Path

from server import RunningServer
from server import openstack as osc

from cowcloud.config import Settings
from cowcloud.storage.errors import Busy

from .conftest import User, _make_user
from .helpers import (
    VolumeApi,
    cinder,
    fault,
    pattern,
    pool_devices,
    rbd_cli,
    read_device,
    unique,
)


def _moved(admin: VolumeApi, vid: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        vol = admin.volume(vid)
        if vol["migration_status"] in ("success", "error") and vol["status"] == "available":
            assert vol["migration_status"] == "success", vol
            return vol
        assert time.monotonic() < deadline, vol
        time.sleep(0.2)


def _source_gone(settings: Settings, backend: str, vid: str) -> None:
    deadline = time.monotonic() + 60
    while f"volume-{vid}" in pool_devices(settings)[backend]:
        assert time.monotonic() < deadline, f"volume-{vid} is still in {backend}"
        time.sleep(0.2)


def _read(settings: Settings, backend: str, vid: str, length: int) -> bytes:
    """The device's first bytes; a local device the server wrote last is held by its qemu-nbd
    until that goes idle (a few seconds), so a second reader waits for it."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return read_device(settings, backend, vid, length)
        except Busy:
            assert time.monotonic() < deadline, f"volume-{vid} stayed busy"
            time.sleep(0.5)


def _type(admin: VolumeApi, backend: str) -> str:
    name = unique(f"on-{backend}")
    resp = admin.post("/types", json={"volume_type": {
        "name": name, "extra_specs": {"volume_backend_name": backend}}})
    assert resp.status_code == 200, resp.text
    return name


def _drop_types(admin: VolumeApi, *names: str) -> None:
    ids = {t["name"]: t["id"] for t in admin.get("/types").json()["volume_types"]}
    for name in names:
        assert admin.delete(f"/types/{ids[name]}").status_code == 202


def test_migrate_across_clusters_and_inside_one(srv: RunningServer, admin: VolumeApi,
                                                settings: Settings, tmp_path: Path,
                                                ceph_clusters) -> None:
    carol = _make_user(srv)
    clouds = srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    data = pattern(3 << 20, seed=41)
    iid = carol.api.image(data)
    vid = carol.api.create(size=1, imageRef=iid)["id"]
    vol = carol.api.wait(vid)
    assert admin.volume(vid)["os-vol-host-attr:host"] == "cowcloud@central#volumes"

    # rbd cluster ceph0 -> ceph1: extents stream across clusters
    osc(clouds, "volume", "migrate", "--host", "cowcloud@dcn0#volumes", vid)
    vol = _moved(admin, vid)
    assert vol["os-vol-host-attr:host"] == "cowcloud@dcn0#volumes"
    assert vol["os-vol-mig-status-attr:migstat"] == "success"
    assert vol["availability_zone"] == "dcn0" and vol["id"] == vid
    assert carol.api.volume(vid)["migration_status"] == "success"
    assert read_device(settings, "dcn0", vid, len(data)) == data
    _source_gone(settings, "central", vid)

    # back to ceph0, then inside ceph0 (pool volumes -> pool rbd): clone, flatten, no parent
    cinder(srv.url, "admin", srv.admin_password, "admin", "migrate", vid,
           "cowcloud@central#volumes")
    _moved(admin, vid)
    osc(clouds, "volume", "migrate", "--host", "cowcloud@fast", vid)
    vol = _moved(admin, vid)
    assert vol["os-vol-host-attr:host"] == "cowcloud@fast#rbd"
    assert read_device(settings, "fast", vid, len(data)) == data
    info = rbd_cli(ceph_clusters[0], "info", f"rbd/volume-{vid}")
    assert "parent" not in info
    assert rbd_cli(ceph_clusters[0], "snap", "ls", f"rbd/volume-{vid}") == []
    _source_gone(settings, "central", vid)

    # a snapshot and a volume from it work on the new backend, where the clone lands
    snap = carol.api.snapshot(vid)
    child = carol.api.create(snapshot_id=snap["id"])
    carol.api.wait(child["id"])
    assert read_device(settings, "fast", child["id"], len(data)) == data
    carol.api.delete(f"/volumes/{child['id']}")
    carol.api.gone(child["id"])
    carol.api.delete(f"/volumes/{vid}", params={"cascade": "true"})
    carol.api.gone(vid)
    _source_gone(settings, "fast", vid)
    carol.api.delete_image(iid)


def test_retype_rbd_to_local_and_back(srv: RunningServer, admin: VolumeApi,
                                      settings: Settings, tmp_path: Path) -> None:
    carol = _make_user(srv)
    clouds = srv.write_clouds_yaml(tmp_path / "clouds.yaml",
                                   carol=srv.cloud(carol.name, carol.password, carol.project))
    edge, central = _type(admin, "edge"), _type(admin, "central")
    data = pattern(2 << 20, seed=42)
    iid = carol.api.image(data)
    vid = carol.api.create(size=1, imageRef=iid, volume_type=central)["id"]
    carol.api.wait(vid)

    cinder(srv.url, carol.name, carol.password, carol.project, "retype",
           "--migration-policy", "on-demand", vid, edge)
    vol = _moved(admin, vid)
    assert vol["volume_type"] == edge and vol["availability_zone"] == "edge"
    assert vol["os-vol-host-attr:host"] == "cowcloud@edge#volumes"
    assert _read(settings, "edge", vid, len(data)) == data
    _source_gone(settings, "central", vid)

    osc(clouds, "volume", "set", "--type", central, "--retype-policy", "on-demand", vid,
        cloud="carol")
    vol = _moved(admin, vid)
    assert vol["volume_type"] == central and vol["availability_zone"] == "central"
    assert read_device(settings, "central", vid, len(data)) == data
    _source_gone(settings, "edge", vid)

    # a type on the same backend: the type alone changes, policy never is enough
    other = _type(admin, "central")
    osc(clouds, "volume", "set", "--type", other, vid, cloud="carol")
    assert carol.api.volume(vid)["volume_type"] == other
    assert f"volume-{vid}" in pool_devices(settings)["central"]

    carol.api.delete(f"/volumes/{vid}")
    carol.api.gone(vid)
    carol.api.delete_image(iid)
    _drop_types(admin, edge, central, other)


def test_bad_moves_change_nothing(srv: RunningServer, admin: VolumeApi, alice: User,
                                  settings: Settings) -> None:
    carol = _make_user(srv)
    edge = _type(admin, "edge")
    vid = carol.api.create(size=1)["id"]
    carol.api.wait(vid)
    act = lambda body, api=admin: api.post(f"/volumes/{vid}/action", json=body)  # noqa: E731
    mig = lambda host, api=admin: act({"os-migrate_volume": {"host": host}}, api)  # noqa: E731

    assert fault(mig("cowcloud@central#volumes"), 400) == (
        "Invalid host: Destination host must be different than the current host.")
    assert fault(mig("cowcloud@nowhere#volumes"), 400) == (
        "Invalid host: No available service named cowcloud@nowhere#volumes")
    fault(mig("cowcloud@dcn0#wrongpool"), 400)
    fault(mig("otherhost@dcn0#volumes"), 400)
    fault(act({"os-migrate_volume": {}}), 400)
    fault(act({"os-migrate_volume": {"host": 5}}), 400)
    fault(act({"os-migrate_volume": {"host": "cowcloud@dcn0", "lock_volume": "maybe"}}), 400)
    fault(mig("cowcloud@dcn0#volumes", carol.api), 403)
    fault(admin.post("/volumes/00000000-0000-0000-0000-000000000000/action",
                     json={"os-migrate_volume": {"host": "cowcloud@dcn0"}}), 404)

    retype = lambda t, p="on-demand": act({"os-retype": {  # noqa: E731
        "new_type": t, "migration_policy": p}}, carol.api)
    assert "migration_policy is 'never'" in fault(retype(edge, "never"), 400)
    assert fault(retype(edge, "sometimes"), 400) == (
        "Invalid input received: migration_policy must be 'on-demand' or 'never', passed: "
        "sometimes")
    assert fault(retype("no-such-type"), 404) == "Volume type no-such-type could not be found."
    assert "same as original" in fault(retype("__DEFAULT__"), 400)
    fault(act({"os-retype": {}}, carol.api), 400)
    fault(act({"os-retype": "edge"}, carol.api), 400)

    # snapshots block a move (Cinder's rule); so do clones reading through the device
    snap = carol.api.snapshot(vid)
    assert fault(mig("cowcloud@dcn0"), 400) == (
        f"Invalid volume: Volume {vid} must not have snapshots.")
    assert "must not have snapshots" in fault(retype(edge), 400)
    carol.api.delete(f"/snapshots/{snap['id']}")
    carol.api.snapshot_gone(snap["id"])
    clone = carol.api.create(source_volid=vid)
    carol.api.wait(clone["id"])
    assert "has clones reading through it" in fault(mig("cowcloud@dcn0"), 400)

    vol = admin.volume(vid)
    assert (vol["status"], vol["migration_status"]) == ("available", None)
    assert vol["os-vol-host-attr:host"] == "cowcloud@central#volumes"
    assert vol["volume_type"] == "__DEFAULT__"
    assert f"volume-{vid}" not in pool_devices(settings)["dcn0"]
    assert f"volume-{vid}" not in pool_devices(settings)["edge"]

    # once its clone is gone it moves (while it moves it is locked: test_migration_restart)
    carol.api.delete(f"/volumes/{clone['id']}")
    carol.api.gone(clone["id"])
    assert act({"os-migrate_volume": {"host": "cowcloud@dcn0"}}).status_code == 202
    _moved(admin, vid)
    carol.api.delete(f"/volumes/{vid}")
    carol.api.gone(vid)
    _drop_types(admin, edge)


def test_a_failed_move_leaves_the_volume_where_it_was(srv: RunningServer, admin: VolumeApi,
                                                      settings: Settings,
                                                      ceph_clusters) -> None:
    carol = _make_user(srv)
    data = pattern(1 << 20, seed=43)
    iid = carol.api.image(data)
    vid = carol.api.create(size=1, imageRef=iid)["id"]
    carol.api.wait(vid)
    resp = admin.post(f"/volumes/{vid}/action",
                      json={"os-migrate_volume": {"host": "cowcloud@nopool"}})
    assert resp.status_code == 202, resp.text
    deadline = time.monotonic() + 60
    while (vol := admin.volume(vid))["migration_status"] != "error":
        assert vol["migration_status"] in ("starting", "migrating"), vol
        assert time.monotonic() < deadline, vol
        time.sleep(0.2)
    assert vol["status"] == "available"
    assert vol["os-vol-host-attr:host"] == "cowcloud@central#volumes"
    assert read_device(settings, "central", vid, len(data)) == data
    assert rbd_cli(ceph_clusters[0], "snap", "ls", f"volumes/volume-{vid}") == []
    # it can move again, elsewhere
    assert admin.post(f"/volumes/{vid}/action", json={"os-migrate_volume": {
        "host": "cowcloud@dcn0"}}).status_code == 202
    _moved(admin, vid)
    assert read_device(settings, "dcn0", vid, len(data)) == data
    carol.api.delete(f"/volumes/{vid}")
    carol.api.gone(vid)
    carol.api.delete_image(iid)
