"""Fencing emulated on a local folder, across processes: the blocklist file is consulted by every
backend sharing the folder, and a fenced backend lets go of its devices."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from cowcloud.storage import DeviceRef, MiB

from .conftest import open_local
from .helpers import pattern

HOLDER = """
import asyncio, sys
from pathlib import Path
from cowcloud.storage import DeviceRef
from cowcloud.storage.local.backend import LocalBackend

async def main():
    backend = LocalBackend("holder", path=Path(sys.argv[1]))
    await backend.open()
    dev = DeviceRef("rbd", "d")
    await backend.write(dev, 0, bytes([7]) * 4096)  # its qemu-nbd now has the device open
    await backend.lock(dev, "host-b")
    print("locked", await backend.client_id(), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for what, step in (("write", lambda: backend.write(dev, 0, b"x" * 4096)),
                       ("lock", lambda: backend.lock(dev, "host-b"))):
        try:
            await step()
            print(what, "ok", flush=True)
        except Exception as exc:
            print(what, type(exc).__name__, flush=True)
    await backend.close()

asyncio.run(main())
"""


async def test_a_fenced_process_is_refused_and_lets_go(tmp_path: Path) -> None:
    folder = tmp_path / "local"
    backend = await open_local(folder)
    dev = DeviceRef("rbd", "d")
    await backend.create(dev, MiB)
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, str(folder), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert holder.stdin is not None and holder.stdout is not None
    try:
        said, client = (await holder.stdout.readline()).decode().split()
        assert said == "locked"
        [owner] = await backend.lock_owners(dev)
        assert owner.address == client
        # fence() returns once the holder's qemu-nbd is gone: the device is ours at once.
        assert await backend.fence(dev) == [owner]
        await backend.write(dev, 4096, pattern(4096))
        assert await backend.read(dev, 0, 8192) == bytes([7]) * 4096 + pattern(4096)
        holder.stdin.write(b"go\n")
        await holder.stdin.drain()
        assert (await holder.stdout.read()).decode().split("\n")[:2] == \
            ["write Fenced", "lock Fenced"]
    finally:
        if holder.returncode is None:
            holder.kill()
        await holder.wait()
        await backend.close()
