"""Copying a device to any other backend: local -> rbd, rbd cluster A -> cluster B, and so on.

Only extents that hold data travel; holes stay holes on the target. Memory is bounded by the
read-ahead of the source and the write window of the target, and nothing is staged on disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import BaseBackend, Undo
from .contract import DeviceRef, MiB, Progress
from .watchdog import stall_of, watched


@dataclass(frozen=True)
class CopyResult:
    size: int  # the device's size
    copied: int  # bytes that held data and were written


async def copy_device(src: BaseBackend, src_dev: DeviceRef, dst: BaseBackend, dst_dev: DeviceRef,
                      *, progress: Progress | None = None,
                      chunk_size: int = 8 * MiB) -> CopyResult:
    """Creates `dst_dev` on `dst` with `src_dev`'s size and content.

    On an error or cancellation the half-written target is removed. If the process dies instead,
    the target stays under its own name, where the caller (or a task's recovery) finds and removes
    it: the name is the record of the unfinished copy.
    """
    size = (await src.stat(src_dev)).size
    async with Undo() as undo:
        await dst.create(dst_dev, size)
        undo.add(dst.remove, dst_dev, missing_ok=True, with_snapshots=True)
        # A peer that stops answering fails the copy (and its undo runs) instead of hanging it.
        copied = await watched(
            lambda tick: _pump(src, src_dev, dst, dst_dev, size, tick, chunk_size),
            stall_of(src.stall_timeout, dst.stall_timeout), f"copy {src_dev} to {dst_dev}",
            progress)
        undo.commit()
    return CopyResult(size=size, copied=copied)


async def _pump(src: BaseBackend, src_dev: DeviceRef, dst: BaseBackend, dst_dev: DeviceRef,
                size: int, progress: Progress | None, chunk_size: int) -> int:
    # Both ends keep their own window of requests in flight (read-ahead on the source, writes
    # on the target), so reading and writing overlap without a queue between them.
    copied = await dst.write_extents(dst_dev, src.read_extents(src_dev, chunk_size=chunk_size),
                                     progress=progress)
    if progress:
        progress(size, size)
    return copied
