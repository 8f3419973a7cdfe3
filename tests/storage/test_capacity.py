"""pool_usage on every backend: what a pool can still grow by, stores, and is provisioned to.

On Ceph the figures are `ceph df`'s, which come from ceph-mgr: the rbd cases start one on the
session's cluster for this module (the clusters run without one otherwise).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from ceph_clusters import CephClusterInfo, start_mgr, stop_mgr

from cowcloud.storage import (
    BaseBackend,
    DeviceRef,
    InvalidArgument,
    MiB,
    NotFound,
    PoolUsage,
    Unavailable,
)

from .conftest import open_local, open_rbd, remove_all
from .helpers import pattern
from .test_rbd_specific import cli


@pytest.fixture(scope="module")
def mgr_ceph(ceph: CephClusterInfo) -> Iterator[CephClusterInfo]:
    if shutil.which("ceph-mgr") is None:
        pytest.skip("ceph-mgr is not installed (apt install ceph-mgr)")
    start_mgr(ceph.dir)
    try:
        yield ceph
    finally:
        stop_mgr(ceph.dir)


@pytest.fixture(params=["local", "rbd"])
async def store(request: pytest.FixtureRequest, tmp_path: Path,
                prefix: str) -> AsyncIterator[BaseBackend]:
    if request.param == "rbd":
        b = await open_rbd(request.getfixturevalue("mgr_ceph"))
    else:
        b = await open_local(tmp_path / "local")
    try:
        yield b
        await remove_all(b, prefix)
    finally:
        await b.close()


async def _until(backend: BaseBackend, pool: str, done: object) -> PoolUsage:
    """Ceph's used bytes reach `ceph df` with the OSD's next report to the mgr (seconds)."""
    for _ in range(600):
        usage = await backend.pool_usage(pool)
        if done(usage):  # type: ignore[operator]
            return usage
        await asyncio.sleep(0.1)
    raise AssertionError(f"pool {pool} never reached the expected usage: {usage}")


async def test_pool_usage_counts_devices_and_data(store: BaseBackend, dev: DeviceRef) -> None:
    before = await store.pool_usage(dev.pool)
    assert before.available > 0 and before.used >= 0 and before.provisioned >= 0
    assert before.total == before.used + before.available
    await store.create(dev, 64 * MiB)
    after = await store.pool_usage(dev.pool)
    assert after.provisioned == before.provisioned + 64 * MiB  # thin: nothing stored yet
    await store.write(dev, 0, pattern(8 * MiB))
    grown = await _until(store, dev.pool, lambda u: u.used >= before.used + 8 * MiB)
    assert grown.provisioned == after.provisioned
    await store.remove(dev)
    assert (await store.pool_usage(dev.pool)).provisioned == before.provisioned


async def test_pool_usage_of_a_bad_or_missing_pool(store: BaseBackend) -> None:
    with pytest.raises(NotFound):
        await store.pool_usage("no-such-pool")
    for bad in ("", "../x", "a/b"):
        with pytest.raises(InvalidArgument):
            await store.pool_usage(bad)


async def test_rbd_figures_are_ceph_dfs(mgr_ceph: CephClusterInfo) -> None:
    backend = await open_rbd(mgr_ceph)
    try:
        usage = await backend.pool_usage("images")
        [df] = [p["stats"] for p in json.loads(cli(mgr_ceph, "ceph", "df", "detail",
                                                      "--format", "json"))["pools"]
                if p["name"] == "images"]
        # MAX AVAIL moves with every write anywhere in the cluster: near, not equal.
        assert abs(usage.available - df["max_avail"]) < 64 * MiB
        # A quota caps what the pool can still grow by.
        cli(mgr_ceph, "ceph", "osd", "pool", "set-quota", "images", "max_bytes",
            str(usage.used + 16 * MiB))
        try:
            capped = await _until(backend, "images", lambda u: u.available <= 16 * MiB)
            assert capped.available > 0
        finally:
            cli(mgr_ceph, "ceph", "osd", "pool", "set-quota", "images", "max_bytes", "0")
    finally:
        await backend.close()


async def test_rbd_without_a_mgr_says_so(ceph_clusters: list[CephClusterInfo]) -> None:
    """The second cluster never had a mgr: `ceph df` lists no pools, and pool_usage says why
    rather than report an empty pool."""
    backend = await open_rbd(ceph_clusters[1])
    try:
        with pytest.raises(Unavailable, match="ceph-mgr"):
            await backend.pool_usage("rbd")
    finally:
        await backend.close()


async def test_local_figures_are_the_file_systems(tmp_path: Path) -> None:
    backend = await open_local(tmp_path / "local")
    try:
        usage = await backend.pool_usage("volumes")
        st = os.statvfs(tmp_path / "local" / "volumes")
        assert abs(usage.available - st.f_bavail * st.f_frsize) < 64 * MiB
        assert usage.provisioned == 0
    finally:
        await backend.close()
