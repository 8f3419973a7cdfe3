"""Moving part of a device, or a whole device over another's old bytes: what incremental
backups (and restores into a device that already holds data) need beyond block.devices.

- `coalesce`: changed extents joined across small gaps, so a scattered change costs a few
  long writes instead of many short ones. Only for a caller whose gaps hold the same bytes on
  both sides (an incremental's gaps are unchanged since the last copy, by definition).
- `apply_changes`: the bytes of `extents` of one device written at the same offsets of another
  (any backends, any clusters). Zeros in them are written as zeros (write_stream's contract),
  so a range discarded on the source is cleared on the target too.
- `overwrite`: a device's whole content written over another, longer or as long: holes and
  the tail past the source's end are cleared, so the target ends up holding exactly the source
  followed by zeros (Cinder's restore_discard_excess_bytes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ..storage import BaseBackend, DeviceRef, Extent, MiB
from ..storage.contract import Progress
from ..storage.errors import InvalidArgument
from .taps import zero_filled

CHUNK = 8 * MiB
GAP = 4 * MiB  # an RBD object: a gap shorter than this costs a write of that object anyway


def coalesce(extents: list[Extent], size: int, gap: int = GAP) -> list[Extent]:
    """Sorted extents clipped to `size`, joined where less than `gap` bytes lie between."""
    out: list[Extent] = []
    for ext in sorted(extents, key=lambda e: e.offset):
        end = min(ext.end, size)
        if end <= ext.offset:
            continue
        if out and ext.offset - out[-1].end < gap:
            last = out[-1]
            out[-1] = Extent(last.offset, max(last.end, end) - last.offset)
        else:
            out.append(Extent(ext.offset, end - ext.offset))
    return out


async def _range(backend: BaseBackend, dev: DeviceRef, ext: Extent) -> AsyncIterator[bytes]:
    """The bytes of one range, read CHUNK by CHUNK with the next read already under way."""
    spans = [(pos, min(CHUNK, ext.end - pos)) for pos in range(ext.offset, ext.end, CHUNK)]
    if not spans:
        return
    nxt = asyncio.ensure_future(backend.read(dev, *spans[0]))
    try:
        for i in range(len(spans)):
            data = await nxt
            if i + 1 < len(spans):
                nxt = asyncio.ensure_future(backend.read(dev, *spans[i + 1]))
            yield data
    finally:
        if not nxt.done():
            nxt.cancel()


async def apply_changes(src: BaseBackend, src_dev: DeviceRef, extents: list[Extent],
                        dst: BaseBackend, dst_dev: DeviceRef, *,
                        progress: Progress | None = None) -> int:
    """Writes src_dev's bytes in `extents` at the same offsets of dst_dev (which must be long
    enough); returns the bytes written."""
    total = sum(e.length for e in extents)
    size = (await dst.stat(dst_dev)).size
    if extents and max(e.end for e in extents) > size:
        raise InvalidArgument(f"{dst_dev} ({size} bytes) is shorter than the changes to apply")
    done = 0
    for ext in extents:
        base = done

        def step(n: int, _total: int, base: int = base) -> None:
            if progress:
                progress(base + n, total)
        done += await dst.write_stream(dst_dev, _range(src, src_dev, ext), offset=ext.offset,
                                       progress=step)
    if progress:
        progress(total, total)
    return done


async def overwrite(src: BaseBackend, src_dev: DeviceRef, dst: BaseBackend, dst_dev: DeviceRef,
                    *, progress: Progress | None = None) -> None:
    """dst_dev := src_dev's content, then zeros to its own end."""
    src_size = (await src.stat(src_dev)).size
    size = (await dst.stat(dst_dev)).size
    if size < src_size:
        raise InvalidArgument(f"{dst_dev} ({size} bytes) is shorter than {src_dev} "
                              f"({src_size} bytes)")

    async def content() -> AsyncIterator[bytes]:
        async for chunk in zero_filled(src.read_extents(src_dev), src_size):
            yield chunk
        async for chunk in zero_filled(_nothing(), size - src_size):
            yield chunk
    await dst.write_stream(dst_dev, content(), progress=progress)


async def _nothing() -> AsyncIterator[tuple[int, bytes]]:
    return
    yield (0, b"")  # pragma: no cover - makes this an async generator
