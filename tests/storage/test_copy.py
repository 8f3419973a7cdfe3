"""copy_device across every pair of backends: local, and two separate Ceph clusters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cowcloud.storage import BaseBackend, DeviceRef, MiB, NotFound, can_clone
from cowcloud.storage.copy import copy_device

from .conftest import open_local, open_rbd, remove_all
from .helpers import pattern, read_all

KINDS = ["local", "ceph0", "ceph1"]


@pytest.fixture
async def backends(request: pytest.FixtureRequest, tmp_path: Path,
                   prefix: str) -> AsyncIterator[dict[str, BaseBackend]]:
    clusters = request.getfixturevalue("ceph_clusters")
    opened = {"local": await open_local(tmp_path / "local"),
              "ceph0": await open_rbd(clusters[0], "ceph0"),
              "ceph1": await open_rbd(clusters[1], "ceph1")}
    try:
        yield opened
    finally:
        for b in opened.values():
            await remove_all(b, prefix)
            await b.close()


async def sparse_source(backend: BaseBackend, dev: DeviceRef) -> bytes:
    """64 MiB with 3 MiB of data in three places: a copy must move about 3 MiB, not 64."""
    size = 64 * MiB
    content = bytearray(size)
    for i, at in enumerate((0, 17 * MiB + 4096, 63 * MiB)):
        content[at:at + MiB] = pattern(MiB, i + 1)
    await backend.create(dev, size)
    for at in (0, 17 * MiB + 4096, 63 * MiB):
        await backend.write(dev, at, bytes(content[at:at + MiB]))
    return bytes(content)


@pytest.mark.parametrize("src_kind", KINDS)
@pytest.mark.parametrize("dst_kind", KINDS)
async def test_copy_moves_only_data(backends: dict[str, BaseBackend], prefix: str,
                                    src_kind: str, dst_kind: str) -> None:
    src, dst = backends[src_kind], backends[dst_kind]
    src_dev, dst_dev = DeviceRef("rbd", f"{prefix}-src"), DeviceRef("images", f"{prefix}-dst")
    content = await sparse_source(src, src_dev)
    seen: list[tuple[int, int]] = []
    result = await copy_device(src, src_dev, dst, dst_dev,
                               progress=lambda done, total: seen.append((done, total)))
    assert result.size == 64 * MiB
    assert 3 * MiB <= result.copied <= 16 * MiB, "holes travelled as data"
    assert (await dst.stat(dst_dev)).size == 64 * MiB
    assert await read_all(dst, dst_dev) == content
    assert (await dst.usage(dst_dev)).used <= 16 * MiB, "holes were written on the target"
    assert seen[-1] == (64 * MiB, 64 * MiB)


async def test_can_clone_only_within_one_cluster(backends: dict[str, BaseBackend]) -> None:
    assert can_clone(backends["ceph0"], backends["ceph0"])
    assert not can_clone(backends["ceph0"], backends["ceph1"])  # different fsids
    assert not can_clone(backends["local"], backends["ceph0"])
    assert backends["ceph0"].info.cluster_id != backends["ceph1"].info.cluster_id


@pytest.mark.parametrize("dst_kind", ["local", "ceph1"])
async def test_failed_copy_leaves_no_target(backends: dict[str, BaseBackend], prefix: str,
                                            dst_kind: str) -> None:
    src, dst = backends["ceph0"], backends[dst_kind]
    src_dev, dst_dev = DeviceRef("rbd", f"{prefix}-src"), DeviceRef("rbd", f"{prefix}-dst")
    content = await sparse_source(src, src_dev)

    def explode(done: int, total: int) -> None:
        raise RuntimeError("link to the other site went down")

    with pytest.raises(RuntimeError):
        await copy_device(src, src_dev, dst, dst_dev, progress=explode)
    assert not await dst.exists(dst_dev)
    assert await read_all(src, src_dev) == content


async def test_cancelled_copy_leaves_no_target(backends: dict[str, BaseBackend],
                                               prefix: str) -> None:
    src, dst = backends["local"], backends["ceph0"]
    src_dev, dst_dev = DeviceRef("rbd", f"{prefix}-src"), DeviceRef("rbd", f"{prefix}-dst")
    await src.create(src_dev, 256 * MiB)
    await src.write(src_dev, 0, pattern(64 * MiB))
    started = asyncio.Event()
    task = asyncio.create_task(copy_device(src, src_dev, dst, dst_dev, chunk_size=MiB,
                                           progress=lambda d, t: started.set()))
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not await dst.exists(dst_dev)


async def test_copy_into_existing_target_is_refused(backends: dict[str, BaseBackend],
                                                    prefix: str) -> None:
    src, dst = backends["local"], backends["ceph0"]
    src_dev, dst_dev = DeviceRef("rbd", f"{prefix}-src"), DeviceRef("rbd", f"{prefix}-dst")
    await sparse_source(src, src_dev)
    await dst.create(dst_dev, MiB)
    await dst.write(dst_dev, 0, pattern(MiB, 9))
    from cowcloud.storage import AlreadyExists
    with pytest.raises(AlreadyExists):
        await copy_device(src, src_dev, dst, dst_dev)
    assert await read_all(dst, dst_dev) == pattern(MiB, 9), "a refused copy touched the target"


async def test_copy_of_missing_source_creates_nothing(backends: dict[str, BaseBackend],
                                                      prefix: str) -> None:
    dst_dev = DeviceRef("rbd", f"{prefix}-dst")
    with pytest.raises(NotFound):
        await copy_device(backends["ceph0"], DeviceRef("rbd", f"nope-{uuid.uuid4().hex}"),
                          backends["ceph1"], dst_dev)
    assert not await backends["ceph1"].exists(dst_dev)
