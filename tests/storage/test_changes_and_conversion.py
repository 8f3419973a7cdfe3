"""Contract additions run on every backend: incremental extents since a snapshot, and qemu-img
probing and conversion of disk-image bytes held in a device (storage/conversion.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cowcloud.block import devices as block
from cowcloud.storage import BaseBackend, DeviceRef, MiB, NotFound, conversion
from cowcloud.storage.errors import InvalidArgument, TooLarge, UnsafeImage

from .helpers import chunks_of, make_device, pattern, read_all


async def test_changed_extents_since_a_snapshot(backend: BaseBackend, dev: DeviceRef) -> None:
    await make_device(backend, dev, 16 * MiB, data=pattern(4 * MiB))
    await backend.snapshot(dev, "base")
    assert await backend.changed_extents(dev, "base") == []
    await backend.write(dev, 8 * MiB, pattern(MiB, seed=2))
    await backend.write(dev, 0, bytes(MiB))  # zeros over old data are a change too
    changed = await backend.changed_extents(dev, "base")
    covered = lambda off, n: any(e.offset <= off and off + n <= e.end for e in changed)  # noqa: E731
    assert covered(8 * MiB, MiB) and covered(0, MiB)
    # nothing outside what was written (object or cluster granularity at most)
    assert sum(e.length for e in changed) <= 2 * MiB + 2 * 4 * MiB
    assert not covered(12 * MiB, MiB)
    # a second snapshot starts a new increment
    await backend.snapshot(dev, "next")
    assert await backend.changed_extents(dev, "next") == []
    assert await backend.changed_extents(dev, "base") == changed


async def test_changed_extents_of_a_missing_snapshot(backend: BaseBackend,
                                                     dev: DeviceRef) -> None:
    await make_device(backend, dev, MiB)
    with pytest.raises(NotFound):
        await backend.changed_extents(dev, "nope")


def _qcow2(tmp_path: Path, raw: bytes) -> bytes:
    src, out = tmp_path / "in.raw", tmp_path / "in.qcow2"
    src.write_bytes(raw)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(src), str(out)],
                   check=True)
    return out.read_bytes()


async def _holding(backend: BaseBackend, dev: DeviceRef, data: bytes) -> None:
    await backend.create(dev, 0)
    await backend.write_stream(dev, chunks_of(data), grow=True)


async def test_probe_and_convert_to_raw(backend: BaseBackend, prefix: str,
                                        tmp_path: Path) -> None:
    raw = pattern(2 * MiB) + bytes(4 * MiB) + pattern(MiB, seed=4)
    src, dst = DeviceRef("rbd", f"{prefix}-up"), DeviceRef("rbd", f"{prefix}-raw")
    await _holding(backend, src, _qcow2(tmp_path, raw))
    assert (await conversion.probe(backend, src, "qcow2")).virtual_size == len(raw)
    size = await block.convert_to_raw(backend, src, "qcow2", backend, dst, size_cap=1 << 30)
    assert size == len(raw)
    assert await read_all(backend, dst) == raw
    assert [s.ref.name for s in await backend.snapshots(dst)] == [block.SNAP]  # sealed
    # a snapshot is a qemu source too (what a sealed image is read from)
    snap = await backend.snapshot(src, "s")
    assert (await conversion.probe(backend, snap, "qcow2")).virtual_size == len(raw)
    with pytest.raises(InvalidArgument):  # raw bytes read as qcow2: qemu refuses
        await conversion.probe(backend, dst, "qcow2")


async def test_convert_refuses_over_cap_and_leaves_nothing(backend: BaseBackend, prefix: str,
                                                           tmp_path: Path) -> None:
    src, dst = DeviceRef("rbd", f"{prefix}-up"), DeviceRef("rbd", f"{prefix}-raw")
    await _holding(backend, src, _qcow2(tmp_path, pattern(4 * MiB)))
    with pytest.raises(TooLarge):
        await block.convert_to_raw(backend, src, "qcow2", backend, dst, size_cap=MiB)
    assert not await backend.exists(dst)


async def test_probe_refuses_a_backing_file(backend: BaseBackend, prefix: str,
                                            tmp_path: Path) -> None:
    decoy = tmp_path / "decoy.raw"
    decoy.write_bytes(b"decoy" * 1000)
    out = tmp_path / "child.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(decoy), "-F", "raw",
                    str(out), "1M"], check=True)
    src = DeviceRef("rbd", f"{prefix}-up")
    await _holding(backend, src, out.read_bytes())
    with pytest.raises(UnsafeImage):
        await conversion.probe(backend, src, "qcow2")
    assert decoy.read_bytes() == b"decoy" * 1000
