"""A server killed (SIGKILL) while it migrates a volume to another cluster, and started again:
the migration task resumes, removes the half-written target, copies again, switches the
volume and removes its source; nothing is left once the volume is deleted. While it moves, the
volume refuses delete, snapshot, extend and another move."""

from __future__ import annotations

import os
import time
from typing import Any

from image.procserver import Proc

from cowcloud.config import load

from .helpers import pool_devices, read_device
from .test_restart import SIZE, _api, _rbd_ls
from .test_restart import proc as proc  # noqa: F401 - the fixture, with its configuration


def test_kill_during_a_migration_resumes(proc: Proc, ceph_clusters: list[Any]) -> None:  # noqa: F811
    settings = load(proc.config)
    api = _api(proc.url)
    data = os.urandom(SIZE)
    iid = api.image(data)  # central (ceph0)
    vid = api.create(size=1, imageRef=iid)["id"]
    api.wait(vid)
    resp = api.post(f"/volumes/{vid}/action",
                    json={"os-migrate_volume": {"host": "cowcloud@dcn0#volumes"}})
    assert resp.status_code == 202, resp.text
    deadline = time.monotonic() + 60
    while f"volume-{vid}" not in _rbd_ls(ceph_clusters[1], "volumes"):
        assert time.monotonic() < deadline, "the copy never started"
        time.sleep(0.01)
    # on the move (a 256 MiB copy): locked against what would change or remove it
    vol = api.volume(vid)
    assert (vol["status"], vol["migration_status"]) == ("maintenance", "migrating")
    assert api.delete(f"/volumes/{vid}").status_code == 400
    assert api.post("/snapshots", json={"snapshot": {"volume_id": vid}}).status_code == 400
    assert api.post(f"/volumes/{vid}/action",
                    json={"os-extend": {"new_size": 2}}).status_code == 400
    assert api.post(f"/volumes/{vid}/action", json={"os-migrate_volume": {
        "host": "cowcloud@central"}}).status_code == 400
    proc.kill()
    assert f"volume-{vid}" in _rbd_ls(ceph_clusters[0], "volumes")  # not moved yet

    proc.start()
    api = _api(proc.url)
    deadline = time.monotonic() + 180
    while True:
        vol = api.volume(vid)
        if vol["migration_status"] == "success" and vol["status"] == "available":
            break
        assert vol["migration_status"] in ("starting", "migrating"), vol
        assert time.monotonic() < deadline, vol
        time.sleep(0.2)
    assert vol["os-vol-host-attr:host"] == "cowcloud@dcn0#volumes"
    assert read_device(settings, "dcn0", vid, SIZE) == data
    deadline = time.monotonic() + 60
    while f"volume-{vid}" in _rbd_ls(ceph_clusters[0], "volumes"):
        assert time.monotonic() < deadline, "the source device stayed"
        time.sleep(0.2)
    assert api.delete(f"/volumes/{vid}").status_code == 202
    api.gone(vid)
    api.delete_image(iid)
    assert pool_devices(settings) == {"central": [], "dcn0": []}
