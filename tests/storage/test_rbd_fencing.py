"""Fencing on Ceph itself: a writer holding librbd's lock cut off by `osd blocklist`, the cephx
caps it takes, and the addresses the mon accepts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ceph_clusters import CephClusterInfo

from cowcloud.storage import DeviceRef, InvalidArgument, MiB, NotFound, PermissionDenied
from cowcloud.storage.rbd.backend import RbdBackend

from .helpers import pattern
from .test_rbd_specific import cli

pytestmark = pytest.mark.ceph


async def _open(ceph: CephClusterInfo, user: str | None = None,
                keyring: Path | None = None) -> RbdBackend:
    backend = RbdBackend("ceph", conf=ceph.conf, user=user or ceph.user,
                         keyring=keyring or ceph.keyring)
    await backend.open()
    return backend


@pytest.fixture
async def pair(ceph: CephClusterInfo) -> AsyncIterator[tuple[RbdBackend, RbdBackend]]:
    """Two connections: the host that fences, and the host taken for dead."""
    first, second = await _open(ceph), await _open(ceph)
    dev = DeviceRef("rbd", f"f{uuid.uuid4().hex[:10]}")
    first.test_dev = dev  # type: ignore[attr-defined]
    try:
        yield first, second
    finally:
        client = await second.client_id()
        if client in {e.client for e in await first.blocklisted()}:
            await first.unblocklist(client)
        await second.close()
        if await first.exists(dev):
            for owner in await first.lock_owners(dev):
                await first.break_lock(dev, owner)
            await first.remove(dev)
        await first.close()


# The host taken for dead: a process whose write stream holds librbd's lock. It runs apart
# because, once fenced, its in-flight image close never returns (librbd 16.2 with zero-copy
# writes) and would keep a test process from exiting; a dead host's process just ends.
GUEST = """
import asyncio, os, sys
from pathlib import Path
from cowcloud.storage import DeviceRef, MiB
from cowcloud.storage.rbd.backend import RbdBackend
conf, keyring, user, pool, name = sys.argv[1:6]

async def main():
    backend = RbdBackend("guest", conf=Path(conf), user=user, keyring=Path(keyring))
    await backend.open()
    dev = DeviceRef(pool, name)
    loop = asyncio.get_running_loop()

    async def disk():
        yield bytes([1]) * (8 * MiB)
        print("written", await backend.client_id(), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # the test fences us meanwhile
        yield bytes([2]) * (8 * MiB)
    for what, step in (("stream", lambda: backend.write_stream(dev, disk())),
                       ("write", lambda: backend.write(dev, 0, b"x" * 4096))):
        try:
            await step()
            print(what, "ok", flush=True)
        except Exception as exc:
            print(what, type(exc).__name__, flush=True)
    os._exit(0)

asyncio.run(main())
"""


async def test_fence_stops_a_writer_holding_librbds_lock(
        pair: tuple[RbdBackend, RbdBackend], ceph: CephClusterInfo) -> None:
    """The 002 guide's stale lock: a guest's librbd holds the image's exclusive lock. fence()
    blocklists it and breaks the lock; its next writes fail, and the new host writes."""
    first, _ = pair
    dev: DeviceRef = first.test_dev  # type: ignore[attr-defined]
    await first.create(dev, 32 * MiB)
    guest = await asyncio.create_subprocess_exec(
        sys.executable, "-c", GUEST, str(ceph.conf), str(ceph.keyring), ceph.user, dev.pool,
        dev.name, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert guest.stdin is not None and guest.stdout is not None
    holder = ""
    try:
        said, holder = (await guest.stdout.readline()).decode().split()
        assert said == "written"
        while not [o for o in await first.lock_owners(dev) if o.address == holder]:
            await asyncio.sleep(0.05)  # its first write is still in flight
        fenced = await first.fence(dev)
        assert [o.address for o in fenced] == [holder]
        assert holder in {e.client for e in await first.blocklisted()}
        guest.stdin.write(b"go\n")
        await guest.stdin.drain()
        outcome = (await guest.stdout.read()).decode().split("\n")
        assert outcome[:2] == ["stream Fenced", "write Fenced"]
    finally:
        if guest.returncode is None:
            guest.kill()
        await guest.wait()
        if holder:
            with contextlib.suppress(NotFound):
                await first.unblocklist(holder)
    await first.write(dev, 8 * MiB, pattern(4096, 4))
    assert await first.read(dev, 0, 4096) == bytes([1]) * 4096  # the write before the fence
    assert await first.read(dev, 8 * MiB, 4096) == pattern(4096, 4)


async def test_whole_host_and_odd_addresses(pair: tuple[RbdBackend, RbdBackend],
                                            ceph: CephClusterInfo) -> None:
    first, _ = pair
    before = await first.blocklisted()
    # Every test client is on 127.0.0.1: fencing that host would fence us too.
    for ours in ("127.0.0.1", "127.0.0.1:0/0", await first.client_id()):
        with pytest.raises(InvalidArgument):
            await first.blocklist(ours)
    for bad in ("300.1.1.1", "127.0.0.1:99999999/1", "[zz::1]:0/1", "v3:127.0.0.2:0/1"):
        with pytest.raises(InvalidArgument):
            await first.blocklist(bad)
    assert await first.blocklisted() == before
    # Another host, by IP alone and by IPv6 instance: the mon's own spellings come back.
    await first.blocklist("192.0.2.7", expire_seconds=60)
    await first.blocklist("[2001:db8::7]:0/42", expire_seconds=60)
    listed = {e.client for e in await first.blocklisted()}
    assert {"192.0.2.7:0/0", "[2001:db8::7]:0/42"} <= listed
    assert "192.0.2.7:0/0" in cli(ceph, "ceph", "osd", "blocklist", "ls")
    await first.unblocklist("192.0.2.7")
    await first.unblocklist("[2001:db8::7]:0/42")
    assert await first.blocklisted() == before


async def test_profile_rbd_may_fence_legacy_caps_may_not(
        pair: tuple[RbdBackend, RbdBackend], ceph: CephClusterInfo, tmp_path: Path) -> None:
    """`profile rbd` mon caps include `osd blocklist` (REFERENCE RBD-03); the legacy
    `allow r` caps do not, which the caller sees as PermissionDenied (PP-04)."""
    first, second = pair
    target = await second.client_id()
    for caps, allowed in (("profile rbd", True), ("allow r", False)):
        user = f"fence{uuid.uuid4().hex[:8]}"
        keyring = tmp_path / f"{user}.keyring"
        cli(ceph, "ceph", "auth", "get-or-create", f"client.{user}", "mon", caps,
            "osd", "profile rbd", "-o", str(keyring))
        backend = await _open(ceph, user, keyring)
        try:
            if allowed:
                await backend.blocklist(target, expire_seconds=60)
                # The profile allows `blocklistop=add` only: lifting a fence is an admin's.
                with pytest.raises(PermissionDenied):
                    await backend.unblocklist(target)
            else:
                with pytest.raises(PermissionDenied):
                    await backend.blocklist(target, expire_seconds=60)
        finally:
            await backend.close()
            cli(ceph, "ceph", "auth", "del", f"client.{user}")
