"""A server killed (SIGKILL) while it copies a full backup into another cluster, and started
again: the backup's task runs again, clears what the killed run left (the half-written chain
device, the volume's point-in-time snapshot), backs up again, and the restore
holds the volume's bytes; nothing is left once everything is deleted."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from image.procserver import Proc, free_port

from cowcloud.config import load

from .backup_helpers import backup, backup_gone, wait_backup
from .helpers import pool_devices, rbd_cli, read_device
from .test_restart import _api, _config, _rbd_ls

SIZE = 256 << 20  # large enough that the kill lands mid-copy, small for memstore


def _points(info: Any, vid: str) -> list[str]:
    return [s["name"].split(".snap.")[0]
            for s in rbd_cli(info, "snap", "ls", f"volumes/volume-{vid}")]


@pytest.fixture
def proc(ceph_clusters: list[Any], tmp_path: Path) -> Iterator[Proc]:
    port = free_port()
    config = tmp_path / "cowcloud.toml"
    config.write_text(_config(tmp_path, port, ceph_clusters)
                      + '\n[backup_targets.backups]\ncluster = "ceph0"\npool = "backups"\n'
                        'default = true\n'
                      + '\n[backup_targets.dcn0]\ncluster = "ceph1"\npool = "backups"\n')
    p = Proc(f"http://127.0.0.1:{port}", config, tmp_path)
    p.start()
    try:
        yield p
    finally:
        p.stop()


def test_kill_during_a_cross_cluster_backup_resumes(proc: Proc, ceph_clusters: list[Any]
                                                    ) -> None:
    settings = load(proc.config)
    api = _api(proc.url)
    data = os.urandom(SIZE)
    iid = api.image(data)
    vid = api.wait(api.create(size=1, imageRef=iid)["id"])["id"]
    bid = backup(api, vid, container="dcn0")["id"]
    base = f"volume-{vid}.backup.{bid}"
    deadline = time.monotonic() + 60
    while base not in _rbd_ls(ceph_clusters[1], "backups"):
        assert time.monotonic() < deadline, "the copy never started"
        time.sleep(0.01)
    proc.kill()
    assert _points(ceph_clusters[0], vid) == [f"backup.{bid}"]  # the volume's point in time

    proc.start()
    api = _api(proc.url)
    done = wait_backup(api, bid, timeout=180)
    assert done["status"] == "available" and api.volume(vid)["status"] == "available"
    assert _rbd_ls(ceph_clusters[1], "backups") == [base]
    assert _points(ceph_clusters[0], vid) == [f"backup.{bid}"]  # made again, not twice
    assert _rbd_ls(ceph_clusters[0], "volumes") == [f"volume-{vid}"]
    resp = api.post(f"/backups/{bid}/restore", json={"restore": {}})
    assert resp.status_code == 202, resp.text
    new = api.wait(resp.json()["restore"]["volume_id"], timeout=180)["id"]
    assert read_device(settings, "central", new, SIZE) == data
    wait_backup(api, bid)
    assert api.delete(f"/backups/{bid}").status_code == 202
    backup_gone(api, bid)
    for v in (vid, new):
        assert api.delete(f"/volumes/{v}").status_code == 202
        api.gone(v)
    api.delete_image(iid)
    assert pool_devices(settings) == {"central": [], "dcn0": []}
    assert pool_devices(settings, "backup_targets") == {"backups": [], "dcn0": []}
