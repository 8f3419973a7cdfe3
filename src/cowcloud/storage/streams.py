"""Byte-stream helpers shared by every backend and by copy: re-chunking and hole detection."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from functools import lru_cache


@lru_cache(maxsize=16)
def _zeros(length: int) -> bytes:
    return bytes(length)


def is_zero(data: bytes | bytearray | memoryview) -> bool:
    """True when every byte is zero; a memcmp against a cached zero buffer, not a Python loop."""
    return data == _zeros(len(data))


async def rechunk(chunks: AsyncIterable[bytes], size: int) -> AsyncIterator[bytes]:
    """Yields `size`-byte pieces (the last may be shorter) from chunks of any size.

    HTTP bodies arrive in pieces of a few KiB; storage writes want a few MiB at a time, aligned so
    that all-zero pieces line up with whole objects/clusters and can be skipped as holes.
    """
    buf = bytearray()
    async for chunk in chunks:
        if not chunk:
            continue
        if not buf and len(chunk) == size:
            yield bytes(chunk)
            continue
        buf += chunk
        while len(buf) >= size:
            yield bytes(buf[:size])
            del buf[:size]
    if buf:
        yield bytes(buf)
