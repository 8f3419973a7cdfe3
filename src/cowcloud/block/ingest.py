"""A byte stream into a new device: every way data enters a target goes through `receive`.

The first HEAD_BYTES are inspected before anything is written; unsafe content, or a format
other than the declared one, is refused with nothing created. A declared virtual size over the
cap is refused from the header alone. The stream is counted against its announced length (or
the cap), and md5 plus the configured hash are computed on the way. Once written, data in a
format qemu reads (qcow2, vmdk, vhd, vhdx, vdi) is probed with qemu-img on whatever backend it
landed, so its virtual size is qemu's, not the header's word, and what qemu would open further
is refused: the same checks for every store kind, container format and ingestion path.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from ..storage import BaseBackend, DeviceRef, conversion, formats
from ..storage.contract import Progress
from ..storage.errors import InvalidArgument, TooLarge
from .taps import HASH_ALGO, DualHasher

# Container formats whose payload is the disk itself; others (ova, docker...) are archives.
BARE = (None, "bare", "ami", "ari", "aki")


@dataclass(frozen=True)
class Received:
    size: int
    checksum: str  # md5 hex
    os_hash_value: str  # hex, of os_hash_algo
    info: formats.FormatInfo  # what the header says
    os_hash_algo: str = HASH_ALGO
    virtual_size: int | None = None  # qemu's word for formats it reads; else None

    @property
    def probed(self) -> bool:
        return self.virtual_size is not None


def check_head(head: bytes, disk_format: str | None,
               container_format: str | None) -> formats.FormatInfo:
    """Safety whatever the container; the declared format must match (an archive container
    may hold bytes that inspection reads as raw)."""
    info = formats.inspect(head[:formats.HEAD_BYTES])
    formats.check(info, disk_format, archive=container_format not in BARE)
    return info


def qemu_reads(info: formats.FormatInfo, disk_format: str | None) -> bool:
    """Data that qemu-img will open as `disk_format`: its header said so too."""
    return conversion.convertible(disk_format) and info.format == disk_format


def check_virtual_size(size: int | None, cap: int) -> None:
    if size is not None and size > cap:
        raise TooLarge(f"image virtual size {size} is over the limit of {cap} bytes")


async def _split_head(chunks: AsyncIterable[bytes]) -> tuple[bytes, AsyncIterator[bytes]]:
    it = aiter(chunks)
    head = bytearray()
    while len(head) < formats.HEAD_BYTES:
        try:
            head += await anext(it)
        except StopAsyncIteration:
            break
    return bytes(head), it


async def receive(chunks: AsyncIterable[bytes], backend: BaseBackend, dev: DeviceRef, *,
                  disk_format: str | None, container_format: str | None,
                  expected_size: int | None, size_cap: int, hash_algo: str = HASH_ALGO,
                  progress: Progress | None = None) -> Received:
    """Creates `dev` and streams into it. On failure `dev` may exist: the caller removes it."""
    if expected_size is not None and expected_size > size_cap:
        raise TooLarge(f"image size {expected_size} is over the limit of {size_cap} bytes")
    head, rest = await _split_head(chunks)
    info = check_head(head, disk_format, container_format)
    check_virtual_size(info.virtual_size, size_cap)
    await backend.create(dev, expected_size if expected_size is not None else 0)
    hasher = DualHasher(hash_algo)
    limit = expected_size if expected_size is not None else size_cap

    async def counted() -> AsyncIterator[bytes]:
        seen = len(head)
        if seen > limit:
            raise _too_long(expected_size, size_cap)
        yield head
        async for chunk in rest:
            seen += len(chunk)
            if seen > limit:
                raise _too_long(expected_size, size_cap)
            yield chunk

    try:
        written = await backend.write_stream(dev, hasher.wrap(counted(), backend.io_chunk),
                                             grow=expected_size is None, progress=progress)
        if expected_size is not None and written != expected_size:
            raise InvalidArgument(f"Image data is {written} bytes, but {expected_size} were "
                                  "announced (truncated upload?)")
        md5, sha = await hasher.digests()
    finally:
        hasher.close()
    virtual = None
    if qemu_reads(info, disk_format):
        assert disk_format is not None
        virtual = (await conversion.probe(backend, dev, disk_format)).virtual_size
        check_virtual_size(virtual, size_cap)
    return Received(written, md5, sha, info, hash_algo, virtual)


def _too_long(expected: int | None, cap: int) -> Exception:
    if expected is not None:
        return InvalidArgument(f"Image data is longer than the {expected} bytes announced")
    return TooLarge(f"image data is over the limit of {cap} bytes")
