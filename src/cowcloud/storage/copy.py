"""Copying a device to any other backend: local -> rbd, rbd cluster A -> cluster B, and so on.

Only extents that hold data travel; holes stay holes on the target. Memory is bounded by
`window` chunks in flight, and nothing is staged on local disk. Reading and writing overlap: a
reader task fills a bounded queue while up to `window` writes run on the target.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .base import BaseBackend, Undo
from .contract import MiB, DeviceRef, Progress


@dataclass(frozen=True)
class CopyResult:
    size: int  # the device's size
    copied: int  # bytes that held data and were written


async def copy_device(src: BaseBackend, src_dev: DeviceRef, dst: BaseBackend, dst_dev: DeviceRef,
                      *, progress: Progress | None = None, chunk_size: int = 8 * MiB,
                      window: int = 4) -> CopyResult:
    """Creates `dst_dev` on `dst` with `src_dev`'s size and content.

    On an error or cancellation the half-written target is removed. If the process dies instead,
    the target stays under its own name, where the caller (or a task's recovery) finds and removes
    it: the name is the record of the unfinished copy.
    """
    size = (await src.stat(src_dev)).size
    async with Undo() as undo:
        await dst.create(dst_dev, size)
        undo.add(dst.remove, dst_dev, missing_ok=True, with_snapshots=True)
        copied = await _pump(src, src_dev, dst, dst_dev, size, progress, chunk_size, window)
        undo.commit()
    return CopyResult(size=size, copied=copied)


async def _pump(src: BaseBackend, src_dev: DeviceRef, dst: BaseBackend, dst_dev: DeviceRef,
                size: int, progress: Progress | None, chunk_size: int, window: int) -> int:
    queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue(maxsize=window)
    writers = max(1, window // 2)  # several writes in flight keep the target busy
    copied = 0
    reached = 0  # the furthest offset written, for progress: holes count as done

    async def reader() -> None:
        async for offset, data in src.read_extents(src_dev, chunk_size=chunk_size):
            await queue.put((offset, data))
        for _ in range(writers):
            await queue.put(None)

    async def writer() -> None:
        nonlocal copied, reached
        while (item := await queue.get()) is not None:
            offset, data = item
            await dst.write(dst_dev, offset, data)
            copied += len(data)
            reached = max(reached, offset + len(data))
            if progress:
                progress(reached, size)

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(reader())
            for _ in range(writers):
                tg.create_task(writer())
    except BaseExceptionGroup as group:
        # callers catch storage errors, not groups: the first failure is the cause
        raise group.exceptions[0] from None
    if progress:
        progress(size, size)
    return copied
