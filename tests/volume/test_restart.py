"""A server killed (SIGKILL) while it copies an image into a volume on another cluster (one
with no image store, so the bytes go straight into the volume), and started again: the
volume's build task resumes, removes the half-written device, copies again and the volume
becomes available; nothing is left once it is deleted."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from image.procserver import PASSWORD, Proc, free_port

from cowcloud.config import load

from .helpers import VolumeApi, pool_devices, read_device, token_for

SIZE = 256 << 20  # large enough that the kill lands mid-copy, small for memstore


def _rbd_ls(info: Any, pool: str) -> list[str]:
    out = subprocess.run(["rbd", "--conf", str(info.conf), "--id", info.user, "--keyring",
                          str(info.keyring), "ls", pool], capture_output=True, text=True)
    return out.stdout.split()


@pytest.fixture
def proc(ceph_clusters: list[Any], tmp_path: Path) -> Iterator[Proc]:
    port = free_port()
    config = tmp_path / "cowcloud.toml"
    config.write_text(_config(tmp_path, port, ceph_clusters))
    p = Proc(f"http://127.0.0.1:{port}", config, tmp_path)
    p.start()
    try:
        yield p
    finally:
        p.stop()


def _config(data_dir: Path, port: int, ceph: list[Any]) -> str:
    """Image store and volume backend `central` on ceph0; ceph1 has volume backend `dcn0`
    only."""
    lines = [f'[server]\nhost = "127.0.0.1"\nport = {port}\ndata_dir = "{data_dir}"\n',
             '[image]\ntask_lease_seconds = 6\nreap_interval_seconds = 1\n',
             '[sites.central]\n[sites.dcn0]\n']
    for i, info in enumerate(ceph):
        lines.append(f'[clusters.ceph{i}]\nkind = "rbd"\nsite = "{"central" if i == 0 else "dcn0"}"'
                     f'\nconf = "{info.conf}"\nkeyring = "{info.keyring}"\nuser = "{info.user}"\n')
    lines.append('[image_stores.central]\ncluster = "ceph0"\npool = "images"\ndefault = true\n')
    lines.append('[volume_backends.central]\ncluster = "ceph0"\npool = "volumes"\n'
                 'default = true\n')
    lines.append('[volume_backends.dcn0]\ncluster = "ceph1"\npool = "volumes"\n')
    return "\n".join(lines)


def _api(url: str) -> VolumeApi:
    token = token_for(url, "admin", PASSWORD, "admin")
    import httpx
    project = httpx.get(f"{url}/identity/v3/auth/tokens",
                        headers={"X-Auth-Token": token, "X-Subject-Token": token}
                        ).json()["token"]["project"]["id"]
    return VolumeApi(url, token, project)


def test_kill_during_a_cross_cluster_build_resumes(proc: Proc, ceph_clusters: list[Any]
                                                   ) -> None:
    settings = load(proc.config)
    api = _api(proc.url)
    data = os.urandom(SIZE)
    iid = api.image(data)  # central (ceph0)
    resp = api.post("/types", json={"volume_type": {
        "name": "far", "extra_specs": {"volume_backend_name": "dcn0"}}})
    assert resp.status_code == 200, resp.text
    vid = api.create(size=1, imageRef=iid, volume_type="far")["id"]
    deadline = time.monotonic() + 60
    while f"volume-{vid}" not in _rbd_ls(ceph_clusters[1], "volumes"):
        assert time.monotonic() < deadline, "the copy never started"
        time.sleep(0.01)
    proc.kill()
    assert f"volume-{vid}" in _rbd_ls(ceph_clusters[1], "volumes")  # half written

    proc.start()
    api = _api(proc.url)
    vol = api.wait(vid, timeout=180)
    assert vol["size"] == 1
    assert read_device(settings, "dcn0", vid, SIZE) == data
    assert api.delete(f"/volumes/{vid}").status_code == 202
    api.gone(vid)
    api.delete_image(iid)
    assert pool_devices(settings) == {"central": [], "dcn0": []}
