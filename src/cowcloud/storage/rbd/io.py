"""Data: read and write, extents (diff_iterate), and the fast streams.

The streams keep one image open in an ImageSession and keep several aio requests in flight
(librbd works them in parallel across objects), with a bounded window so memory stays at
window x chunk. Each request is started by a short executor job and completes through a
callback that librbd runs on its own thread. No worker waits on the consumer, so a read
stream feeding a write stream in the same cluster cannot starve the executor. Writes are
zero-copy (see cluster.py): each buffer stays referenced by its callback until librbd is
done with it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

from ...errors import Error
from ..base import check_range, merge_extents
from ..contract import DeviceRef, Extent, MiB, Progress
from ..errors import InvalidArgument, Unavailable
from ..streams import is_zero, rechunk
from ._errors import error_for_errno
from .cluster import Image, ImageSession, RbdCluster
from .devices import allocated
from .locks import ensure_unlocked

FENCE_CHECK = 1.0  # seconds a write window waits before it asks whether we were fenced
# aio writes in flight per stream: 8 x 8 MiB matched `rbd import` here, and stays under
# librados' 100 MiB in-flight throttle (past it, aio_write blocks its caller).
WRITE_WINDOW = 8
READ_AHEAD = 4  # aio reads in flight per stream


def _extents_of(image: Image) -> list[Extent]:
    # include_parent: a clone reads its parent's data where it has none of its own.
    return merge_extents([Extent(o, n) for o, n in allocated(image, include_parent=True)])


# ------------------------------------------------------------------ aio plumbing

def _completion(loop: asyncio.AbstractEventLoop, what: str
                ) -> tuple[asyncio.Future[Any], Callable[..., None]]:
    """A loop future, and the librbd callback that settles it from librbd's thread."""
    fut: asyncio.Future[Any] = loop.create_future()

    def settle(rv: int, data: Any) -> None:
        if fut.done():  # the waiter was cancelled
            return
        if rv < 0:
            fut.set_exception(error_for_errno(rv, what))
        else:
            fut.set_result(data)

    def on_complete(completion: Any, data: Any = None) -> None:  # aio_read passes the data
        try:
            loop.call_soon_threadsafe(settle, completion.get_return_value(), data)
        except RuntimeError:
            pass  # loop already closed: nobody is waiting any more
    return fut, on_complete


def _start_read(image: Image, offset: int, length: int, cb: Callable[..., None]) -> None:
    image.aio_read(offset, length, cb)


class _WriteWindow:
    """At most `depth` aio writes in flight; the first failure is raised on the next call.

    The window is a thread semaphore that librbd's completion callback releases directly,
    so the next write starts the moment one finishes, without a round trip through the
    event loop. A submit job waits on the executor only for a write in flight to finish,
    which the cluster bounds, never for the event loop: it cannot deadlock the pool.
    """

    def __init__(self, session: ImageSession, depth: int, what: str, stall: float) -> None:
        self._session = session
        self._what = what
        self._depth = depth
        self._stall = stall  # a slot that does not free up for this long: the cluster is away
        self._slots = threading.Semaphore(depth)
        self._errors: list[Error] = []

    async def submit(self, offset: int, length: int, data: bytes | None) -> None:
        """Starts one write (zeroes where data is None) as soon as the window has room."""
        self._raise()
        await self._session.run(self._start, offset, length, data)

    async def drain(self) -> None:
        """Waits for every write in flight; raises the first failure."""
        await self._session.run(self._wait_all)

    def _start(self, image: Image, offset: int, length: int, data: bytes | None) -> None:
        self._acquire()
        try:
            self._raise()
            done = self._on_complete(offset, data)
            if data is None:
                # Zeroing rather than skipping: a no-op where no object exists (the object
                # map says so), right where old or parent data would otherwise show through.
                image.aio_write_zeroes(offset, length, done)
            else:
                image.aio_write(data, offset, done)
        except BaseException:
            self._slots.release()
            raise

    def _on_complete(self, offset: int, data: bytes | None) -> Callable[[Any], None]:
        keep = data  # zero-copy: librbd reads this buffer until it calls back

        def done(completion: Any) -> None:  # on librbd's finisher thread
            nonlocal keep
            keep = None
            rv = completion.get_return_value()
            if rv < 0:
                self._errors.append(error_for_errno(rv, f"{self._what} at {offset}"))
            self._slots.release()
        return done

    def _wait_all(self, _image: Image) -> None:
        taken = 0
        try:
            for _ in range(self._depth):
                self._acquire()
                taken += 1
        finally:
            for _ in range(taken):
                self._slots.release()
        self._raise()

    def _acquire(self) -> None:
        # Never an unbounded wait on an executor worker: SIGTERM could not end it.
        waited = 0.0
        while not self._slots.acquire(timeout=min(FENCE_CHECK, self._stall - waited)):
            waited += FENCE_CHECK
            self._raise()
            # With zero-copy writes, librbd (16.2) never completes an aio write of a
            # blocklisted client: ask the mon, rather than wait for the stall to end it.
            self._session.check_fenced()
            if waited >= self._stall:
                raise Unavailable(f"{self._what}: no write completed for {self._stall:g} s")

    def _raise(self) -> None:
        if self._errors:
            raise self._errors[0]


# ------------------------------------------------------------------ streams

def _writable_size(image: Image, dev: DeviceRef) -> tuple[int, int]:
    ensure_unlocked(image, dev, "write to")
    return int(image.size()), int(image.stat()["obj_size"])


def _runs(piece: bytes, pos: int, unit: int) -> list[tuple[int, int, bytes | None]]:
    """Splits `piece` (at device offset `pos`) into (offset, length, data) runs of data and
    of zeros (data None), judged per `unit`-aligned block (the object size).

    A block whose first or last byte is set holds data without a full scan, so dense data
    costs no copy and no compare; the piece itself is returned when it is data throughout.
    """
    cuts: list[tuple[int, int, bool]] = []  # (start, end, zero) within piece
    a, n = 0, len(piece)
    while a < n:
        b = min(n, ((pos + a) // unit + 1) * unit - pos)
        zero = piece[a] == 0 and piece[b - 1] == 0 and is_zero(piece[a:b])
        if cuts and cuts[-1][2] == zero:
            cuts[-1] = (cuts[-1][0], b, zero)
        else:
            cuts.append((a, b, zero))
        a = b
    return [(pos + s, e - s, None if zero else (piece if (s, e) == (0, n) else piece[s:e]))
            for s, e, zero in cuts]


def _resize(image: Image, size: int) -> None:
    image.resize(size, allow_shrink=True)


async def _next(pending: deque[tuple[int, asyncio.Future[Any]]]) -> tuple[int, bytes] | None:
    pos, fut = pending[0]
    data = await fut
    pending.popleft()
    if data is None or is_zero(data):
        return None
    return pos, bytes(data)


class IoOps:
    """The contract's data operations; RbdBackend provides `cluster` and `io_chunk`."""

    cluster: RbdCluster
    io_chunk: int

    async def write(self, dev: DeviceRef, offset: int, data: bytes) -> None:
        cluster = self.cluster
        payload = data if isinstance(data, bytes) else bytes(data)

        def work(image: Image) -> None:
            check_range(int(image.size()), offset, len(payload))
            if payload:
                ensure_unlocked(image, dev, "write to")
                image.write(payload, offset)
        await cluster.with_image(dev, work, what=f"write {dev} at {offset}")

    async def read(self, dev: DeviceRef, offset: int, length: int) -> bytes:
        cluster = self.cluster
        def work(image: Image) -> bytes:
            check_range(int(image.size()), offset, length)
            return bytes(image.read(offset, length)) if length else b""
        return await cluster.with_image(dev, work, read_only=True, what=f"read {dev} at {offset}")

    async def extents(self, dev: DeviceRef) -> list[Extent]:
        cluster = self.cluster
        return await cluster.with_image(dev, _extents_of, read_only=True, what=f"extents of {dev}")

    async def write_stream(self, dev: DeviceRef, chunks: AsyncIterable[bytes], *,
                           offset: int = 0, grow: bool = False, progress: Progress | None = None,
                           window: int = WRITE_WINDOW) -> int:
        """BaseBackend.write_stream's contract, with `window` aio writes in flight.

        All-zero objects are zeroed rather than written: holes stay holes, and old data under
        them goes. With grow, the device doubles as needed and ends exactly at the written
        length. On failure nothing is removed; what was written stays (the caller owns the
        device and its cleanup).
        """
        cluster = self.cluster
        chunk_size = self.io_chunk
        if offset < 0:
            raise InvalidArgument(f"negative offset {offset}")
        what = f"write {dev}"
        async with cluster.session(dev, what=what) as session:
            size, unit = await session.run(_writable_size, dev)
            writer = _WriteWindow(session, window, what, cluster.timeouts.stall)
            pos = offset
            async for piece in rechunk(chunks, chunk_size):
                end = pos + len(piece)
                if end > size:
                    if not grow:
                        raise InvalidArgument(f"stream is longer than {dev} ({size} bytes)")
                    size = max(end, size * 2)  # doubling: few resizes for uploads of unknown size
                    await writer.drain()
                    await session.run(_resize, size)
                for at, length, data in _runs(piece, pos, unit):
                    await writer.submit(at, length, data)
                pos = end
                if progress:
                    progress(pos - offset, size)
            await writer.drain()
            if grow and size != pos:
                await session.run(_resize, pos)
        return pos - offset

    async def write_extents(self, dev: DeviceRef,
                            items: AsyncIterable[tuple[int, bytes]], *,
                            progress: Progress | None = None, window: int = WRITE_WINDOW) -> int:
        """BaseBackend.write_extents with the image open throughout and `window` writes in flight
        (copy_device feeds it from another device's read_extents)."""
        cluster = self.cluster
        what = f"write {dev}"
        written = reached = 0
        async with cluster.session(dev, what=what) as session:
            size, _unit = await session.run(_writable_size, dev)
            writer = _WriteWindow(session, window, what, cluster.timeouts.stall)
            async for offset, data in items:
                check_range(size, offset, len(data))
                await writer.submit(offset, len(data), data)
                written += len(data)
                reached = max(reached, offset + len(data))
                if progress:
                    progress(reached, size)
            await writer.drain()
        return written

    async def read_extents(self, dev: DeviceRef, chunk_size: int = 8 * MiB,
                           depth: int = READ_AHEAD) -> AsyncIterator[tuple[int, bytes]]:
        """(offset, data) for every chunk of the extents that is not all zeros, in order."""
        cluster = self.cluster
        if chunk_size <= 0:
            raise InvalidArgument(f"invalid chunk size {chunk_size}")
        loop = asyncio.get_running_loop()
        async with cluster.session(dev, read_only=True, what=f"read {dev}") as session:
            spans = await session.run(_extents_of)
            pieces = ((pos, min(chunk_size, ext.end - pos))
                      for ext in spans for pos in range(ext.offset, ext.end, chunk_size))
            pending: deque[tuple[int, asyncio.Future[Any]]] = deque()
            try:
                for pos, length in pieces:
                    fut, cb = _completion(loop, f"read {dev} at {pos}")
                    pending.append((pos, fut))
                    try:
                        await session.run(_start_read, pos, length, cb)
                    except BaseException:
                        fut.cancel()  # never started: nothing would ever complete it
                        raise
                    while len(pending) >= depth or (pending and pending[0][1].done()):
                        out = await _next(pending)
                        if out is not None:
                            yield out
                while pending:
                    out = await _next(pending)
                    if out is not None:
                        yield out
            finally:
                # Reads still in flight write into buffers of this image: let them land first.
                if pending:
                    await asyncio.wait([f for _, f in pending])
                    for _, f in pending:
                        if not f.cancelled():
                            f.exception()
