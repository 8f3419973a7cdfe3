"""Taps on a stream: md5 and a second hash (Glance's `checksum` and `os_hash_value`, sha512
unless configured) in one pass on two threads, and a device's content with its holes as zeros.

One after the other on one thread the two hashes cap an upload near 330 MB/s (MEASURED.md), below
what RBD writes. hashlib releases the GIL on large buffers, so each hash gets its own one-thread
executor: updates stay in order per hash, the two hashes run side by side, and both overlap the
storage write of the same chunk. At most WINDOW chunks are in flight, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..storage.streams import rechunk

HASH_ALGO = "sha512"  # Glance's default hashing_algorithm
CHUNK = 4 << 20  # big enough that hashlib drops the GIL and thread hand-offs are rare
WINDOW = 3


class DualHasher:
    def __init__(self, algo: str = HASH_ALGO) -> None:
        self.algo = algo
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha = hashlib.new(algo)
        self._pools = (ThreadPoolExecutor(1, thread_name_prefix="md5"),
                       ThreadPoolExecutor(1, thread_name_prefix=algo))
        self._inflight: deque[asyncio.Future[Any]] = deque()
        self.length = 0

    async def update(self, chunk: bytes) -> None:
        loop = asyncio.get_running_loop()
        self._inflight.append(asyncio.gather(
            loop.run_in_executor(self._pools[0], self._md5.update, chunk),
            loop.run_in_executor(self._pools[1], self._sha.update, chunk)))
        self.length += len(chunk)
        while len(self._inflight) > WINDOW:
            await self._inflight.popleft()

    async def digests(self) -> tuple[str, str]:
        """(md5 hex, `algo` hex) of everything given to update()."""
        while self._inflight:
            await self._inflight.popleft()
        self.close()
        return self._md5.hexdigest(), self._sha.hexdigest()

    def close(self) -> None:
        for f in self._inflight:
            f.cancel()
        for pool in self._pools:
            pool.shutdown(wait=False, cancel_futures=True)

    async def wrap(self, chunks: AsyncIterable[bytes], size: int = CHUNK) -> AsyncIterator[bytes]:
        """Passes the stream on in `size` pieces, hashing each as it goes by.

        Given the target backend's write size, the writer's own rechunk passes the pieces on
        as they are instead of joining them again: one copy of every uploaded byte fewer.
        """
        async for chunk in rechunk(chunks, size):
            await self.update(chunk)
            yield chunk


async def zero_filled(extents: AsyncIterable[tuple[int, bytes]], size: int,
                      chunk: int = CHUNK) -> AsyncIterator[bytes]:
    """A device's whole content from its data extents: holes come back as zeros."""
    zeros = bytes(chunk)
    pos = 0

    def gap(upto: int) -> list[bytes]:
        nonlocal pos
        out = []
        while pos < upto:
            n = min(chunk, upto - pos)
            out.append(zeros if n == chunk else zeros[:n])
            pos += n
        return out

    async for offset, data in extents:
        for z in gap(min(offset, size)):
            yield z
        if offset >= size:
            break
        data = data[:size - offset]
        yield data
        pos = offset + len(data)
    for z in gap(size):
        yield z
