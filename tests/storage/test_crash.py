"""A copy killed half-way (SIGKILL, no cleanup ran) leaves a target the caller can find and remove,
and no exception path leaks an open image, a watcher or a lock."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cowcloud.storage import BaseBackend, DeviceRef, InvalidArgument, MiB, NotFound

from .conftest import open_local, open_rbd
from .helpers import pattern

COPIER = r"""
import asyncio, json, sys
from pathlib import Path
from cowcloud.storage import DeviceRef, MiB
from cowcloud.storage.copy import copy_device
from cowcloud.storage.local.backend import LocalBackend
from cowcloud.storage.rbd.backend import RbdBackend

async def main(spec):
    local = LocalBackend("local", path=Path(spec["local"]))
    ceph = RbdBackend("ceph", conf=Path(spec["conf"]), user=spec["user"], keyring=Path(spec["keyring"]))
    await local.open(); await ceph.open()
    src, dst = (local, ceph) if spec["direction"] == "local->rbd" else (ceph, local)
    def progress(done, total):
        print(f"progress {done}", flush=True)
    await copy_device(src, DeviceRef("rbd", spec["src"]), dst, DeviceRef("rbd", spec["dst"]),
                      progress=progress, chunk_size=MiB)
    print("finished", flush=True)

asyncio.run(main(json.loads(sys.argv[1])))
"""


def qemu_nbd_children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid), "qemu-nbd"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


async def wait_gone(pids: list[int], seconds: float = 10) -> list[int]:
    for _ in range(int(seconds * 10)):
        pids = [p for p in pids if Path(f"/proc/{p}").exists()
                and "zombie" not in Path(f"/proc/{p}/status").read_text().lower()]
        if not pids:
            return []
        await asyncio.sleep(0.1)
    return pids


async def recover(backend: BaseBackend, dev: DeviceRef) -> None:
    """What a task's recovery does for a copy whose process died: fence, then remove."""
    for owner in await backend.lock_owners(dev):
        await backend.break_lock(dev, owner)
    await backend.remove(dev, with_snapshots=True)


@pytest.mark.parametrize("direction", ["local->rbd", "rbd->local"])
async def test_copy_killed_half_way_leaves_a_removable_target(ceph, tmp_path: Path,
                                                              prefix: str,
                                                              direction: str) -> None:
    local = await open_local(tmp_path / "local")
    rbd = await open_rbd(ceph)
    src_backend, dst_backend = (local, rbd) if direction == "local->rbd" else (rbd, local)
    src, dst = DeviceRef("rbd", f"{prefix}-src"), DeviceRef("rbd", f"{prefix}-dst")
    try:
        await src_backend.create(src, 512 * MiB)
        for i in range(0, 256 * MiB, 32 * MiB):
            await src_backend.write(src, i, pattern(32 * MiB, i // MiB))
        await local.close()  # the child opens the same folder; no qemu-nbd of ours in the way
        spec = {"local": str(tmp_path / "local"), "conf": str(ceph.conf), "user": ceph.user,
                "keyring": str(ceph.keyring), "direction": direction, "src": src.name,
                "dst": dst.name}
        child = subprocess.Popen([sys.executable, "-c", COPIER, json.dumps(spec)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        seen = 0
        for line in child.stdout:
            if line.startswith("progress") and int(line.split()[1]) >= 64 * MiB:
                seen = int(line.split()[1])
                break
        assert seen, "the copy never got going"
        helpers = qemu_nbd_children_of(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert await wait_gone(helpers) == [], "qemu-nbd outlived the process that started it"

        local = await open_local(tmp_path / "local")
        dst_backend = local if direction == "rbd->local" else rbd
        assert dst.name in await dst_backend.list_devices("rbd"), "the half copy cannot be found"
        await recover(dst_backend, dst)
        assert not await dst_backend.exists(dst)
        assert src.name in await src_backend.list_devices("rbd") or direction == "local->rbd"
    finally:
        await local.close()
        await rbd.close()


async def test_failed_calls_leave_no_watcher_or_lock(ceph, prefix: str) -> None:
    """Errors raised from inside an open image still close it: `rbd status` shows no watcher."""
    rbd = await open_rbd(ceph)
    dev = DeviceRef("rbd", f"{prefix}-w")
    try:
        await rbd.create(dev, MiB)
        for _ in range(20):
            with pytest.raises(InvalidArgument):
                await rbd.write(dev, MiB, b"x" * 512)
            with pytest.raises(NotFound):
                await rbd.remove_snapshot(dev.snap("nope"))
        out = subprocess.run(["rbd", "--conf", str(ceph.conf), "--keyring", str(ceph.keyring),
                              "--id", ceph.user, "status", "--format", "json", str(dev)],
                             check=True, capture_output=True, text=True).stdout
        assert json.loads(out)["watchers"] == []
        assert await rbd.lock_owners(dev) == []
        await rbd.remove(dev)
    finally:
        await rbd.close()
