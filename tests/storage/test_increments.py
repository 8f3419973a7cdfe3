"""block.increments on every backend: an incremental copy (changed extents since a snapshot,
applied onto a copy of the snapshot's bytes) gives the source's bytes exactly, zeros included;
`overwrite` leaves a longer target holding the source and then zeros."""

from __future__ import annotations

from cowcloud.block.increments import apply_changes, coalesce, overwrite
from cowcloud.storage import BaseBackend, DeviceRef, Extent, MiB
from cowcloud.storage.copy import copy_device

from .helpers import make_device, pattern, read_all


def test_coalesce_joins_small_gaps_and_clips() -> None:
    got = coalesce([Extent(10 * MiB, MiB), Extent(0, MiB), Extent(2 * MiB, MiB),
                    Extent(15 * MiB, 4 * MiB)], size=16 * MiB, gap=2 * MiB)
    assert got == [Extent(0, 3 * MiB), Extent(10 * MiB, MiB), Extent(15 * MiB, MiB)]


async def test_incremental_copy_is_exact(backend: BaseBackend, dev: DeviceRef) -> None:
    await make_device(backend, dev, 24 * MiB, data=pattern(12 * MiB))
    await backend.snapshot(dev, "b1")
    copy = DeviceRef(dev.pool, f"{dev.name}-copy")
    await copy_device(backend, dev, backend, copy)
    await backend.write(dev, 9 * MiB, pattern(2 * MiB, seed=5))
    await backend.write(dev, MiB, bytes(MiB))  # cleared: the copy must lose these bytes too
    await backend.write(dev, 20 * MiB, pattern(MiB, seed=6))
    changed = await backend.changed_extents(dev, "b1")
    seen: list[tuple[int, int]] = []
    written = await apply_changes(backend, dev, coalesce(changed, 24 * MiB), backend, copy,
                                  progress=lambda d, t: seen.append((d, t)))
    assert await read_all(backend, copy) == await read_all(backend, dev)
    assert written < 24 * MiB and seen[-1] == (written, written)


async def test_overwrite_clears_holes_and_the_tail(backend: BaseBackend, dev: DeviceRef) -> None:
    await make_device(backend, dev, 8 * MiB, data=pattern(2 * MiB), offset=4 * MiB)
    target = DeviceRef(dev.pool, f"{dev.name}-t")
    await make_device(backend, target, 16 * MiB, data=pattern(16 * MiB, seed=9))
    await overwrite(backend, dev, backend, target)
    assert await read_all(backend, target) == await read_all(backend, dev) + bytes(8 * MiB)
