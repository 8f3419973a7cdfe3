"""What only the local backend promises: real qcow2 files, backing chains, no stray qemu-nbd.

The contract suite (test_contract.py) checks behaviour on every backend; these tests look at the
files and processes behind the local one.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cowcloud.storage import Busy, DeviceRef, MiB, NotFound
from cowcloud.storage.local.backend import LocalBackend

from .helpers import chunks_of, pattern, read_all

pytestmark = pytest.mark.skipif(shutil.which("qemu-nbd") is None, reason="needs qemu-utils")


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[LocalBackend]:
    backend = LocalBackend("local", tmp_path / "cluster")
    await backend.open()
    for pool in ("rbd", "images"):
        await backend.create_pool(pool)
    try:
        yield backend
    finally:
        await backend.close()


def qemu_img(*args: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(["qemu-img", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout) if out.stdout.strip() else {}


def qemu_nbd_children() -> list[int]:
    """qemu-nbd processes whose parent is this test process (zombies included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if comm == "qemu-nbd" and ppid == os.getpid():
            found.append(int(entry.name))
    return found


async def busy_history(local: LocalBackend) -> tuple[DeviceRef, DeviceRef]:
    """A device with two snapshots, a clone in another pool, writes everywhere, then a middle
    snapshot removed and the clone flattened: every kind of layer change once."""
    dev, clone = DeviceRef("rbd", "base"), DeviceRef("images", "clone")
    await local.create(dev, 8 * MiB)
    await local.write(dev, 0, pattern(2 * MiB, 1))
    await local.snapshot(dev, "s1")
    await local.write(dev, 2 * MiB, pattern(2 * MiB, 2))
    s2 = await local.snapshot(dev, "s2")
    await local.write(dev, 4 * MiB, pattern(MiB, 3))
    await local.protect(s2)
    await local.clone(s2, clone)
    await local.write(clone, 6 * MiB, pattern(MiB, 4))
    await local.remove_snapshot(dev.snap("s1"))
    return dev, clone


async def test_files_are_valid_qcow2(local: LocalBackend) -> None:
    dev, clone = await busy_history(local)
    await local.flatten(clone)
    await local.close()  # servers stopped: the files are at rest
    files = sorted(local.path.glob("*/*.qcow2"))
    assert [f.name for f in files] == ["clone.qcow2", "base.qcow2", "base@s2.qcow2"]
    for f in files:
        report = qemu_img("check", "-f", "qcow2", "--output=json", str(f))
        assert report.get("corruptions", 0) == 0 and report.get("leaks", 0) == 0, (f, report)
    assert not list(local.path.glob("*/.*.qcow2")), "work files left behind"


async def test_clone_is_backed_by_the_snapshot_file(local: LocalBackend) -> None:
    dev, clone = await busy_history(local)
    info = qemu_img("info", "-U", "-f", "qcow2", "--output=json",
                    str(local.path / "images" / "clone.qcow2"))
    snap_file = local.path / "rbd" / "base@s2.qcow2"
    assert info["backing-filename-format"] == "qcow2"
    assert Path(info["full-backing-filename"]).resolve() == snap_file.resolve()
    # Stored relative, so the cluster folder can move: it still works from elsewhere.
    assert info["backing-filename"] == "../rbd/base@s2.qcow2"
    expected = await read_all(local, clone)
    await local.close()
    moved = local.path.with_name("moved")
    local.path.rename(moved)
    again = LocalBackend("local", moved)
    await again.open()
    try:
        assert (await again.stat(clone)).parent == dev.snap("s2")
        assert await read_all(again, clone) == expected
    finally:
        await again.close()


async def test_snapshot_files_are_frozen(local: LocalBackend) -> None:
    dev = DeviceRef("rbd", "d")
    await local.create(dev, 4 * MiB)
    await local.write(dev, 0, pattern(4 * MiB, 1))
    await local.snapshot(dev, "s")
    frozen = local.path / "rbd" / "d@s.qcow2"
    before = frozen.read_bytes()
    await local.write(dev, 0, pattern(4 * MiB, 2))
    await local.resize(dev, 8 * MiB)
    await local.close()
    assert frozen.read_bytes() == before


async def test_no_qemu_nbd_left_after_close(local: LocalBackend) -> None:
    dev = DeviceRef("rbd", "d")
    await local.create(dev, 4 * MiB)
    await local.write(dev, 0, pattern(MiB))
    other = DeviceRef("images", "e")
    await local.create(other, MiB)
    await local.read(other, 0, 512)
    assert len(local.nbd_servers()) == 2, "one server per device in use"
    assert sorted(local.nbd_servers()) == sorted(qemu_nbd_children())
    await local.close()
    assert local.nbd_servers() == []
    assert qemu_nbd_children() == []


async def test_servers_stop_when_idle_and_before_files_change(tmp_path: Path) -> None:
    local = LocalBackend("local", tmp_path / "c", idle_timeout=0.2)
    await local.open()
    try:
        await local.create_pool("rbd")
        dev = DeviceRef("rbd", "d")
        await local.create(dev, MiB)
        await local.write(dev, 0, pattern(4096))
        assert len(local.nbd_servers()) == 1
        await local.snapshot(dev, "s")  # qemu-img must not touch a file qemu-nbd writes
        assert local.nbd_servers() == []
        await local.write(dev, 0, pattern(4096, 2))
        for _ in range(50):
            if not local.nbd_servers():
                break
            await asyncio.sleep(0.1)
        assert local.nbd_servers() == [] and qemu_nbd_children() == []
    finally:
        await local.close()


async def test_cancelled_io_leaves_no_server(local: LocalBackend) -> None:
    dev = DeviceRef("rbd", "d")
    await local.create(dev, 64 * MiB)

    async def stalled() -> AsyncIterator[bytes]:
        async for chunk in chunks_of(pattern(64 * MiB), MiB):
            yield chunk
        await asyncio.Event().wait()  # never ends: the cancel lands mid-stream on any machine

    for delay in (0.0, 0.001, 0.005, 0.02):
        task = asyncio.create_task(local.write_stream(dev, stalled()))
        await asyncio.sleep(delay)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await local.close()
    await asyncio.sleep(0.1)  # the child watcher reaps killed servers
    assert qemu_nbd_children() == []


async def test_device_without_metadata_is_listed_and_removable(local: LocalBackend) -> None:
    dev = DeviceRef("rbd", "d")
    await local.create(dev, 3 * MiB)
    (local.path / "rbd" / "d.json").unlink()  # as if the process died right after the rename
    (local.path / "rbd" / ".d.new.qcow2").write_bytes(b"half-built")  # and left a work file
    assert await local.list_devices("rbd") == ["d"]
    assert (await local.stat(dev)).size == 3 * MiB
    await local.remove(dev)
    assert await local.list_devices("rbd") == []
    assert sorted(p.name for p in (local.path / "rbd").iterdir()) == [".d.lock"]


async def test_exact_byte_sizes(local: LocalBackend) -> None:
    dev = DeviceRef("rbd", "odd")
    data = pattern(MiB + 1001)
    await local.create(dev, 0)
    assert await local.write_stream(dev, chunks_of(data), grow=True) == len(data)
    assert (await local.stat(dev)).size == len(data)  # not rounded to 512
    assert await read_all(local, dev) == data
    # Shrinking to an odd size and growing back shows zeros past the cut, as on rbd.
    await local.resize(dev, 700, allow_shrink=True)
    await local.resize(dev, 4096)
    assert await read_all(local, dev) == data[:700] + bytes(4096 - 700)
    snap = await local.snapshot(dev, "s")
    await local.protect(snap)
    await local.clone(snap, DeviceRef("images", "c"))
    assert (await local.stat(DeviceRef("images", "c"))).size == 4096


async def test_two_backends_on_one_folder(local: LocalBackend) -> None:
    """Two processes sharing the folder: qemu's image locks and our flocks keep them apart."""
    dev = DeviceRef("rbd", "d")
    await local.create(dev, MiB)
    await local.write(dev, 0, pattern(4096))  # this backend's server now has the file open
    other = LocalBackend("local", local.path)
    await other.open()
    try:
        assert other.info.cluster_id == local.info.cluster_id
        with pytest.raises(Busy):
            await other.snapshot(dev, "s")
        with pytest.raises(Busy):
            await other.remove(dev)
        await local.close()  # the first one lets go: the second may proceed
        await other.snapshot(dev, "s")
        assert [s.ref.name for s in await other.snapshots(dev)] == ["s"]
        assert await other.read(dev, 0, 4096) == pattern(4096)
    finally:
        await other.close()


async def test_names_cannot_escape_the_folder(local: LocalBackend) -> None:
    from cowcloud.storage import InvalidArgument
    for ref in (DeviceRef("..", "x"), DeviceRef("rbd", "../images/x"), DeviceRef("rbd", ".x")):
        with pytest.raises(InvalidArgument):
            await local.stat(ref)
    with pytest.raises(NotFound):
        await local.stat(DeviceRef("rbd", "nothing"))


async def test_shrink_then_grow_reads_zeros_past_the_cut(local: LocalBackend) -> None:
    """qcow2 keeps a partial last cluster on shrink; rbd semantics want zeros there."""
    dev, child = DeviceRef("rbd", "p"), DeviceRef("images", "c")
    await local.create(dev, 4 * MiB)
    await local.write(dev, 0, pattern(4 * MiB))
    cut = 1000 * 1024  # inside a 64 KiB cluster
    await local.resize(dev, cut, allow_shrink=True)
    await local.resize(dev, 4 * MiB)
    assert await read_all(local, dev) == pattern(4 * MiB)[:cut] + bytes(4 * MiB - cut)
    snap = await local.snapshot(dev, "s")
    await local.protect(snap)
    await local.clone(snap, child)  # and a clone does not see its parent past its own cut
    await local.resize(child, 100_000, allow_shrink=True)
    await local.resize(child, 4 * MiB)
    assert await read_all(local, child) == pattern(4 * MiB)[:100_000] + bytes(4 * MiB - 100_000)


async def test_crashed_snapshot_leaves_nothing_visible(local: LocalBackend) -> None:
    """A snapshot killed before its commit point (the rename of the new top) is not there."""
    dev = DeviceRef("rbd", "d")
    await local.create(dev, MiB)
    await local.write(dev, 0, pattern(4096, 1))
    await local.close()
    pool = local.path / "rbd"
    os.link(pool / "d.qcow2", pool / "d@s.qcow2")  # the first steps of a snapshot "s"...
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "d@s.qcow2", "-F", "qcow2",
                    str(pool / ".d.new.qcow2"), str(MiB)], check=True)  # ...then the kill
    await local.open()
    assert await local.snapshots(dev) == []
    await local.write(dev, 0, pattern(4096, 2))
    snap = await local.snapshot(dev, "s")  # the same name works, over the leftovers
    await local.write(dev, 0, pattern(4096, 3))
    await local.protect(snap)
    await local.clone(snap, DeviceRef("images", "c"))
    assert await local.read(DeviceRef("images", "c"), 0, 4096) == pattern(4096, 2)


async def test_stream_of_zeros_over_data_leaves_zeros(local: LocalBackend) -> None:
    """Zero pieces are holes on a fresh device but must still clear old data (and a clone's
    parent data): the device ends up holding exactly the stream. (Worth a contract test.)"""
    dev, child = DeviceRef("rbd", "d"), DeviceRef("images", "c")
    await local.create(dev, 8 * MiB)
    await local.write(dev, 0, pattern(8 * MiB))
    snap = await local.snapshot(dev, "s")
    await local.protect(snap)
    await local.clone(snap, child)
    stream = bytearray(8 * MiB)
    stream[3 * MiB:4 * MiB] = pattern(MiB, 7)
    for target in (dev, child):
        await local.write_stream(target, chunks_of(bytes(stream), 300_000))
        assert await read_all(local, target) == bytes(stream)
    assert (await local.usage(child)).used <= 2 * MiB, "zeros were written as data"


@pytest.mark.parametrize("when", ["before-handshake", "while-open"])
def test_a_dying_process_leaves_no_server(tmp_path: Path, when: str) -> None:
    """A process killed with servers running (or starting) takes them with it."""
    script = f"""
import asyncio, os
from pathlib import Path
from cowcloud.storage import DeviceRef
from cowcloud.storage.local import nbd
from cowcloud.storage.local.backend import LocalBackend

async def main():
    b = LocalBackend("local", Path({str(tmp_path / "c")!r}))
    await b.open()
    await b.create_pool("rbd")
    await b.create(DeviceRef("rbd", "d"), 1 << 20)
    if {when!r} == "before-handshake":
        async def die(*args):
            os._exit(0)  # the server was spawned; we die before it ever negotiates
        nbd.NbdClient.connect = die
    await b.write(DeviceRef("rbd", "d"), 0, b"x" * 512)
    os._exit(0)  # killed with the server running

asyncio.run(main())
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    image = str(tmp_path / "c" / "rbd" / "d.qcow2")
    for _ in range(50):
        alive = [p for p in Path("/proc").iterdir() if p.name.isdigit()
                 and image.encode() in _cmdline(p)]
        if not alive:
            break
        time.sleep(0.1)
    assert not alive, "a qemu-nbd outlived its process"


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""
