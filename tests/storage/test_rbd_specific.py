"""What only the rbd backend promises, checked against the Ceph tools themselves.

The contract suite covers the shared semantics; these tests check that the devices are real RBD
images the `rbd` CLI agrees about, that one connection serves every call, and the rbd-only
behaviour around advisory locks (which on exclusive-lock images also stop writes).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ceph_clusters import CephClusterInfo

from cowcloud.storage import Busy, DeviceRef, MiB, Unavailable, can_clone
from cowcloud.storage.rbd.backend import RbdBackend

from .helpers import chunks_of, pattern, random_bytes

pytestmark = pytest.mark.ceph


def cli(info: CephClusterInfo, tool: str, *args: str) -> str:
    """Runs `rbd`/`ceph` against the test cluster; never /etc/ceph."""
    res = subprocess.run([tool, "--conf", str(info.conf), "--keyring", str(info.keyring),
                          "--id", info.user, *args], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, f"{tool} {' '.join(args)}: {res.stderr}"
    return res.stdout


def cli_json(info: CephClusterInfo, tool: str, *args: str) -> object:
    return json.loads(cli(info, tool, *args, "--format", "json") or "null")


@pytest.fixture
async def rbd_backend(ceph: CephClusterInfo) -> AsyncIterator[RbdBackend]:
    backend = RbdBackend("ceph", conf=ceph.conf, user=ceph.user, keyring=ceph.keyring)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
def name() -> str:
    return f"r{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def cleanup(rbd_backend: RbdBackend, ceph: CephClusterInfo
                  ) -> AsyncIterator[list[DeviceRef]]:
    """Devices to remove after the test, clones first (list them in that order)."""
    made: list[DeviceRef] = []
    yield made
    for dev in made:
        for owner in await rbd_backend.lock_owners(dev) if await rbd_backend.exists(dev) else []:
            await rbd_backend.break_lock(dev, owner)
        for snap in await rbd_backend.snapshots(dev) if await rbd_backend.exists(dev) else []:
            if snap.protected and not await rbd_backend.children(snap.ref):
                await rbd_backend.unprotect(snap.ref)
        await rbd_backend.remove(dev, missing_ok=True, with_snapshots=True)


async def test_one_connection_serves_every_call(rbd_backend: RbdBackend, name: str,
                                                cleanup: list[DeviceRef]) -> None:
    dev = DeviceRef("rbd", name)
    cleanup.append(dev)
    first = rbd_backend.cluster.instance_id
    await rbd_backend.create(dev, 8 * MiB)
    for i in range(20):
        await rbd_backend.write(dev, i * 4096, pattern(4096, i))
        await rbd_backend.read(dev, 0, 4096)
        await rbd_backend.stat(dev)
    await rbd_backend.lock(dev, "me")
    # The lock's holder is the client id of the connection: the same one as before all this.
    assert [o.owner for o in await rbd_backend.lock_owners(dev)] == [f"client.{first}"]
    assert rbd_backend.cluster.instance_id == first
    await rbd_backend.unlock(dev, "me")


async def test_devices_are_rbd_images_the_cli_sees(rbd_backend: RbdBackend, ceph: CephClusterInfo,
                                                   name: str, cleanup: list[DeviceRef]) -> None:
    dev = DeviceRef("rbd", name)
    cleanup.append(dev)
    await rbd_backend.create(dev, 24 * MiB)
    listed = cli_json(ceph, "rbd", "ls", "-l", "rbd")
    assert isinstance(listed, list)
    assert {"image": name, "size": 24 * MiB} in [
        {"image": i["image"], "size": i["size"]} for i in listed if "snapshot" not in i]
    info = cli_json(ceph, "rbd", "info", f"rbd/{name}")
    assert isinstance(info, dict)
    assert info["format"] == 2
    assert {"layering", "exclusive-lock", "object-map", "fast-diff",
            "deep-flatten"} <= set(info["features"])


async def test_cluster_id_is_the_fsid(rbd_backend: RbdBackend, ceph: CephClusterInfo) -> None:
    assert rbd_backend.info.cluster_id == cli(ceph, "ceph", "fsid").strip() == ceph.fsid
    assert (rbd_backend.info.kind, rbd_backend.info.shared) == ("rbd", True)


async def test_other_cluster_means_copy_not_clone(rbd_backend: RbdBackend,
                                                  ceph_clusters: list[CephClusterInfo]) -> None:
    other_info = ceph_clusters[1]
    other = RbdBackend("site-b", conf=other_info.conf, user=other_info.user,
                       keyring=other_info.keyring)
    await other.open()
    try:
        assert other.info.cluster_id == other_info.fsid != rbd_backend.info.cluster_id
        assert not can_clone(rbd_backend, other)
    finally:
        await other.close()


async def test_clone_is_seen_by_rbd_children(rbd_backend: RbdBackend, ceph: CephClusterInfo,
                                             name: str, cleanup: list[DeviceRef]) -> None:
    parent, child = DeviceRef("rbd", name), DeviceRef("images", f"{name}-c")
    cleanup += [child, parent]
    await rbd_backend.create(parent, 8 * MiB)
    await rbd_backend.write(parent, 0, pattern(MiB))
    snap = await rbd_backend.snapshot(parent, "gold")
    await rbd_backend.protect(snap)
    await rbd_backend.clone(snap, child)
    assert cli(ceph, "rbd", "children", f"rbd/{name}@gold").split() == [f"images/{name}-c"]
    info = cli_json(ceph, "rbd", "info", f"images/{name}-c")
    assert isinstance(info, dict)
    assert (info["parent"]["pool"], info["parent"]["image"], info["parent"]["snapshot"]) == \
        ("rbd", name, "gold")


async def test_advisory_lock_is_rbd_lock_and_fails_writes_fast(
        rbd_backend: RbdBackend, ceph: CephClusterInfo, name: str,
        cleanup: list[DeviceRef]) -> None:
    """librbd would wait forever to write an exclusive-lock image while an advisory lock is
    held; the backend says Busy instead, and the lock is the one `rbd lock ls` shows."""
    dev = DeviceRef("rbd", name)
    cleanup.append(dev)
    await rbd_backend.create(dev, 8 * MiB)
    await rbd_backend.lock(dev, "host-a")
    await rbd_backend.lock(dev, "host-a")  # the same holder again: no-op
    locks = cli_json(ceph, "rbd", "lock", "ls", f"rbd/{name}")
    assert isinstance(locks, list)
    assert [(lk["id"], lk["locker"]) for lk in locks] == \
        [("host-a", f"client.{rbd_backend.cluster.instance_id}")]
    with pytest.raises(Busy):
        await rbd_backend.write(dev, 0, b"x" * 512)
    with pytest.raises(Busy):
        await rbd_backend.write_stream(dev, chunks_of(pattern(MiB)))
    with pytest.raises(Busy):
        await rbd_backend.remove(dev)
    await rbd_backend.unlock(dev, "host-a")
    await rbd_backend.write(dev, 0, b"x" * 512)


async def test_break_lock_fences_a_foreign_owner_but_never_us(
        rbd_backend: RbdBackend, ceph: CephClusterInfo, name: str,
        cleanup: list[DeviceRef]) -> None:
    dev = DeviceRef("rbd", name)
    cleanup.append(dev)
    await rbd_backend.create(dev, 8 * MiB)
    cli(ceph, "rbd", "lock", "add", f"rbd/{name}", "dead-host")  # another client, now gone
    [owner] = await rbd_backend.lock_owners(dev)
    assert owner.lock_id == "dead-host" and owner.address
    with pytest.raises(Busy):
        await rbd_backend.lock(dev, "me")
    await rbd_backend.break_lock(dev, owner)
    blocklist = cli(ceph, "ceph", "osd", "blocklist", "ls")
    assert owner.address in blocklist
    # Our own lock broken by ourselves: no fencing, the connection keeps working.
    await rbd_backend.lock(dev, "me")
    [mine] = await rbd_backend.lock_owners(dev)
    await rbd_backend.break_lock(dev, mine)
    assert rbd_backend.cluster.address not in cli(ceph, "ceph", "osd", "blocklist", "ls")
    await rbd_backend.write(dev, 0, pattern(4096))
    assert await rbd_backend.read(dev, 0, 4096) == pattern(4096)


async def test_write_stream_zeroes_old_data_and_keeps_object_holes(
        rbd_backend: RbdBackend, name: str, cleanup: list[DeviceRef]) -> None:
    dev = DeviceRef("rbd", name)
    cleanup.append(dev)
    await rbd_backend.create(dev, 16 * MiB)
    await rbd_backend.write(dev, 0, pattern(16 * MiB, 7))
    # One 8 MiB piece with a zero 4 MiB object inside, then zeros over old data.
    stream = pattern(4 * MiB, 1) + bytes(4 * MiB) + pattern(4 * MiB, 2) + bytes(4 * MiB)
    assert await rbd_backend.write_stream(dev, chunks_of(stream)) == len(stream)
    assert await rbd_backend.read(dev, 0, len(stream)) == stream
    extents = await rbd_backend.extents(dev)
    assert [(e.offset, e.length) for e in extents] == [(0, 4 * MiB), (8 * MiB, 4 * MiB)]
    assert (await rbd_backend.usage(dev)).used == 8 * MiB


async def test_streamed_data_is_in_the_cluster_for_other_clients(
        rbd_backend: RbdBackend, ceph: CephClusterInfo, name: str, cleanup: list[DeviceRef],
        tmp_path: Path) -> None:
    dev = DeviceRef("rbd", name)
    cleanup.append(dev)
    data = random_bytes(16 * MiB + 4096)
    await rbd_backend.create(dev, 0)
    assert await rbd_backend.write_stream(dev, chunks_of(data), grow=True) == len(data)
    cli(ceph, "rbd", "export", "--no-progress", f"rbd/{name}", str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == data


async def test_cancelled_write_stream_closes_its_image(rbd_backend: RbdBackend,
                                                       ceph: CephClusterInfo, name: str,
                                                       cleanup: list[DeviceRef]) -> None:
    dev = DeviceRef("rbd", name)
    cleanup.append(dev)
    await rbd_backend.create(dev, 64 * MiB)
    started = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        for i in range(64):
            started.set()
            await asyncio.sleep(0.01)
            yield pattern(MiB, i)
    task = asyncio.create_task(rbd_backend.write_stream(dev, slow()))
    await started.wait()
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    status = cli_json(ceph, "rbd", "status", f"rbd/{name}")
    assert isinstance(status, dict) and status["watchers"] == []
    await rbd_backend.remove(dev)


async def test_abandoned_read_stream_closes_its_image(rbd_backend: RbdBackend,
                                                      ceph: CephClusterInfo, name: str,
                                                      cleanup: list[DeviceRef]) -> None:
    dev = DeviceRef("rbd", name)
    cleanup.append(dev)
    await rbd_backend.create(dev, 32 * MiB)
    await rbd_backend.write_stream(dev, chunks_of(pattern(32 * MiB)))
    stream = rbd_backend.read_extents(dev, chunk_size=MiB)
    async for offset, _data in stream:
        assert offset == 0
        break
    await stream.aclose()  # type: ignore[attr-defined]
    status = cli_json(ceph, "rbd", "status", f"rbd/{name}")
    assert isinstance(status, dict) and status["watchers"] == []
    await rbd_backend.remove(dev)  # an image left open would make this Busy


async def test_closed_backend_refuses_calls(ceph: CephClusterInfo) -> None:
    backend = RbdBackend("ceph", conf=ceph.conf, user=ceph.user, keyring=ceph.keyring)
    with pytest.raises(Unavailable):
        _ = backend.info
    await backend.open()
    await backend.close()
    await backend.close()  # idempotent
    with pytest.raises(Unavailable):
        await backend.list_devices("rbd")
