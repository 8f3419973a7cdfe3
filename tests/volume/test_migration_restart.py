"""A server killed (SIGKILL) while it migrates a volume to another cluster, and started again:
the migration task resumes, removes what it wrote of the target, copies again, switches the
volume and removes its source; nothing is left once the volume is deleted. While it moves, the
volume refuses delete, snapshot, extend and another move.

The target cluster's I/O is paused (`ceph osd set pause`) while the move is checked and
killed: a 256 MiB copy is otherwise done before the checks end, and they would race it."""

from __future__ import annotations

import os
import subprocess
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
    _io(ceph_clusters[1], paused=True)
    try:
        resp = api.post(f"/volumes/{vid}/action",
                        json={"os-migrate_volume": {"host": "cowcloud@dcn0#volumes"}})
        assert resp.status_code == 202, resp.text
        # on the move (its copy waits on the paused cluster): locked against what would change
        # or remove it
        deadline = time.monotonic() + 20
        while (vol := api.volume(vid))["migration_status"] == "starting":
            assert time.monotonic() < deadline, vol
            time.sleep(0.05)
        assert (vol["status"], vol["migration_status"]) == ("maintenance", "migrating")
        assert api.delete(f"/volumes/{vid}").status_code == 400
        assert api.post("/snapshots", json={"snapshot": {"volume_id": vid}}).status_code == 400
        assert api.post(f"/volumes/{vid}/action",
                        json={"os-extend": {"new_size": 2}}).status_code == 400
        assert api.post(f"/volumes/{vid}/action", json={"os-migrate_volume": {
            "host": "cowcloud@central"}}).status_code == 400
        proc.kill()
    finally:
        _io(ceph_clusters[1], paused=False)
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


def _io(info: Any, *, paused: bool) -> None:
    subprocess.run(["ceph", "--conf", str(info.conf), "-k", str(info.keyring), "osd",
                    "set" if paused else "unset", "pause"],
                   check=True, capture_output=True, timeout=60)
