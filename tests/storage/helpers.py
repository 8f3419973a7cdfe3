"""Small builders shared by the storage tests: patterned data and whole-device reads."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from cowcloud.storage import BaseBackend, DeviceRef, MiB


def pattern(length: int, seed: int = 1) -> bytes:
    """Deterministic, incompressible-looking bytes that differ by seed and position."""
    block = bytes((i * 31 + seed * 7) % 251 + 1 for i in range(4096))  # no zero byte: never a hole
    return (block * (length // 4096 + 1))[:length]


def random_bytes(length: int) -> bytes:
    return os.urandom(length)


async def chunks_of(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def read_all(backend: BaseBackend, dev: DeviceRef) -> bytes:
    size = (await backend.stat(dev)).size
    return await backend.read(dev, 0, size)


async def make_device(backend: BaseBackend, dev: DeviceRef, size: int = 8 * MiB,
                      data: bytes | None = None, offset: int = 0) -> bytes:
    """Creates `dev` and writes `data` (a pattern over the whole device by default); returns the
    device's expected full content."""
    await backend.create(dev, size)
    if data is None:
        data = pattern(size)
    if data:
        await backend.write(dev, offset, data)
    content = bytearray(size)
    content[offset:offset + len(data)] = data
    return bytes(content)
