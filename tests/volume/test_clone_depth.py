"""The clone-depth bound (Cinder's rbd_max_clone_depth, 5): a chain of volumes cloned from
volumes never reads through more than five clone links, the deeper clones are flattened by the
background queue (at most [volume] flatten_workers at once) with their bytes intact, and a
source deleted while its deep clones flatten is collected once they stand alone."""

from __future__ import annotations

import time
from typing import Any

from server import RunningServer, race

from cowcloud.config import Settings

from .conftest import _make_user
from .helpers import VolumeApi, pattern, pool_devices, rbd_cli, read_device

MAX_DEPTH = 5


def _depth(ceph: Any, vid: str) -> int:
    """Cinder's clone depth: the volume-from-volume links above the device."""
    depth, name = 0, f"volumes/volume-{vid}"
    while True:
        parent = rbd_cli(ceph, "info", name).get("parent")
        if parent is None or not parent["snapshot"].endswith(".clone_snap"):
            return depth
        depth += 1
        name = f"{parent['pool']}/{parent['image']}"


def _flat(ceph: Any, vid: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while "parent" in rbd_cli(ceph, "info", f"volumes/volume-{vid}"):
        assert time.monotonic() < deadline, f"volume-{vid} was never flattened"
        time.sleep(0.2)


def test_clone_depth_stays_bounded(srv: RunningServer, admin: VolumeApi, settings: Settings,
                                   ceph_clusters: list[Any]) -> None:
    ceph = ceph_clusters[0]
    carol = _make_user(srv)
    assert admin.put(f"/os-quota-sets/{carol.project_id}",
                     json={"quota_set": {"volumes": 20}}).status_code == 200
    data = pattern(3 << 20, seed=51)
    iid = carol.api.image(data)
    chain = [carol.api.wait(carol.api.create(size=1, imageRef=iid)["id"])["id"]]
    for _ in range(7):
        vid = carol.api.create(source_volid=chain[-1])["id"]
        carol.api.wait(vid)  # available at clone speed, before any flatten
        chain.append(vid)
    _flat(ceph, chain[6])
    assert [_depth(ceph, v) for v in chain] == [0, 1, 2, 3, 4, 5, 0, 1]
    # the flattened volume no longer reads through its source's clone snapshot
    snaps = [s["name"] for s in rbd_cli(ceph, "snap", "ls", f"volumes/volume-{chain[5]}")]
    assert f"volume-{chain[6]}.clone_snap" not in snaps
    for vid in chain:
        assert read_device(settings, "central", vid, len(data)) == data

    # four deep clones at once: each is flattened, never more than the workers at a time,
    # and their source, deleted meanwhile, is collected after the last of them
    flattens = srv.app.state.runtime.volumes.flattens
    flattens.peak = 0
    made = race([lambda: carol.api.create(source_volid=chain[5])["id"] for _ in range(4)])
    for vid in made:
        carol.api.wait(vid)
    assert carol.api.delete(f"/volumes/{chain[5]}").status_code == 202
    carol.api.gone(chain[5])
    for vid in made:
        _flat(ceph, vid)
        assert read_device(settings, "central", vid, len(data)) == data
    assert 1 <= flattens.peak <= settings.volume.flatten_workers
    deadline = time.monotonic() + 60
    while f"volume-{chain[5]}" in pool_devices(settings)["central"]:
        assert time.monotonic() < deadline, "the deleted source was never collected"
        time.sleep(0.2)

    for vid in [*made, *reversed(chain[:5]), *chain[6:]]:
        assert carol.api.delete(f"/volumes/{vid}").status_code == 202
    for vid in [*made, *chain]:
        carol.api.gone(vid)
    carol.api.delete_image(iid)
    left = pool_devices(settings)["central"]
    assert not [v for v in [*made, *chain] if f"volume-{v}" in left]
    admin.delete(f"/os-quota-sets/{carol.project_id}")
