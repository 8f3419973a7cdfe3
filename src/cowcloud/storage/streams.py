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
    that all-zero pieces line up with whole objects/clusters and can be skipped as holes. Parts
    are gathered as views and joined once, so each byte is copied at most once (a chunk that is
    already `size` long is passed on as it is): at ~1 GB/s copying is most of what the event
    loop does here. A bytearray, which its producer may reuse, is copied when it arrives.
    """
    parts: list[bytes | memoryview] = []
    have = 0
    async for chunk in chunks:
        if not chunk:
            continue
        if not parts and len(chunk) == size:
            yield bytes(chunk)
            continue
        view = memoryview(chunk if isinstance(chunk, bytes) else bytes(chunk))
        while have + len(view) >= size:
            take = size - have
            parts.append(view[:take])
            yield b"".join(parts)
            parts, have, view = [], 0, view[take:]
        if len(view):
            parts.append(view)
            have += len(view)
    if parts:
        yield b"".join(parts)
