"""What an image's data is on a backend, and moving it between stores.

- `receive`: a byte stream into a new device. The first HEAD_BYTES are inspected before anything is
  written; unsafe content or a format other than the declared one is refused with nothing created.
  md5 and the os_hash_algo hash are computed on the way (hashing.DualHasher), in the same pass.
- `seal`: snapshot `snap` and protect it, as glance_store rbd does, so clones can be made.
- `transfer`: a device into another store. Same cluster (storage.can_clone): server-side, a COW
  clone of the protected snapshot then flattened, so the copy is independent of its source and
  either can be deleted alone. Otherwise extents stream cluster to cluster (storage.copy), holes
  skipped, nothing staged on this host.
- `remove`: unprotect and delete a device and its snapshots; when clones (volumes, instance disks)
  still depend on it, nothing is touched and the clones are returned (see deletion.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from ...storage import BaseBackend, DeviceRef, SnapRef, can_clone, formats
from ...storage.contract import Progress
from ...storage.copy import copy_device
from ...storage.errors import HasChildren, NotFound
from .errors import Invalid, TooLarge
from .hashing import HASH_ALGO, DualHasher, zero_filled
from .stores import SNAP

__all__ = ["HASH_ALGO", "Received", "hash_device", "receive", "remove", "seal", "transfer"]

# Container formats whose payload is the disk itself; others (ova, docker...) are archives.
BARE = (None, "bare", "ami", "ari", "aki")


@dataclass(frozen=True)
class Received:
    size: int
    checksum: str  # md5 hex
    os_hash_value: str  # hex, of os_hash_algo
    info: formats.FormatInfo  # what the header says
    os_hash_algo: str = HASH_ALGO


async def _split_head(chunks: AsyncIterable[bytes]) -> tuple[bytes, AsyncIterator[bytes]]:
    it = aiter(chunks)
    head = bytearray()
    while len(head) < formats.HEAD_BYTES:
        try:
            head += await anext(it)
        except StopAsyncIteration:
            break
    return bytes(head), it


def check_head(head: bytes, disk_format: str | None,
               container_format: str | None) -> formats.FormatInfo:
    """Safety always; the declared format must match for bare containers (as Glance)."""
    info = formats.inspect(head[:formats.HEAD_BYTES])
    formats.check(info, disk_format if container_format in BARE else None)
    return info


async def receive(chunks: AsyncIterable[bytes], backend: BaseBackend, dev: DeviceRef, *,
                  disk_format: str | None, container_format: str | None,
                  expected_size: int | None, size_cap: int, hash_algo: str = HASH_ALGO,
                  progress: Progress | None = None) -> Received:
    """Creates `dev` and streams into it. On failure `dev` may exist: the caller removes it."""
    if expected_size is not None and expected_size > size_cap:
        raise TooLarge(f"image size {expected_size} is over the limit of {size_cap} bytes")
    head, rest = await _split_head(chunks)
    info = check_head(head, disk_format, container_format)
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
            raise Invalid(f"Image data is {written} bytes, but {expected_size} were announced "
                          "(truncated upload?)")
        md5, sha = await hasher.digests()
    finally:
        hasher.close()
    return Received(written, md5, sha, info, hash_algo)


def _too_long(expected: int | None, cap: int) -> Exception:
    if expected is not None:
        return Invalid(f"Image data is longer than the {expected} bytes announced")
    return TooLarge(f"image data is over the limit of {cap} bytes")


async def seal(backend: BaseBackend, dev: DeviceRef) -> SnapRef:
    snap = await backend.snapshot(dev, SNAP)
    await backend.protect(snap)
    return snap


async def hash_device(backend: BaseBackend, dev: DeviceRef,
                      algo: str = HASH_ALGO) -> tuple[int, str, str]:
    """(size, md5, `algo` hash) of a device's whole content (holes hash as zeros)."""
    size = (await backend.stat(dev)).size
    hasher = DualHasher(algo)
    try:
        async for chunk in zero_filled(backend.read_extents(dev), size):
            await hasher.update(chunk)
        md5, sha = await hasher.digests()
    finally:
        hasher.close()
    return size, md5, sha


async def transfer(src: BaseBackend, src_dev: DeviceRef, dst: BaseBackend, dst_dev: DeviceRef,
                   *, src_snap: SnapRef | None = None,
                   progress: Progress | None = None) -> None:
    """dst_dev := src_dev's content, sealed. Same cluster and a protected snapshot: clone and
    flatten inside the cluster; otherwise a streamed copy. On failure dst_dev is removed."""
    if src_snap is not None and can_clone(src, dst):
        try:
            await dst.clone(src_snap, dst_dev)
            await dst.flatten(dst_dev)
        except BaseException:
            await dst.remove(dst_dev, missing_ok=True, with_snapshots=True)
            raise
        if progress:
            size = (await dst.stat(dst_dev)).size
            progress(size, size)
    else:
        await copy_device(src, src_dev, dst, dst_dev, progress=progress)
    try:
        await seal(dst, dst_dev)
    except BaseException:
        await remove(dst, dst_dev)
        raise


async def remove(backend: BaseBackend, dev: DeviceRef, *, fence: bool = False
                 ) -> list[DeviceRef]:
    """Removes dev with its snapshots; returns the clones that keep it alive (then nothing was
    removed), [] when it is gone (or was never there).

    fence: dev was being written by a process that died (or by this one). A dead librbd client
    keeps its exclusive lock and watch for the OSD's watch timeout (30 s), and rbd refuses to
    remove a watched image; breaking the dead holder's lock blocklists it, which ends both at
    once. Only for devices no live process may hold: half-written work of a known-dead writer."""
    try:
        snaps = await backend.snapshots(dev)
    except NotFound:
        return []
    for snap in snaps:
        kids = await backend.children(snap.ref)
        if kids:
            return kids
    if fence:
        for owner in await backend.lock_owners(dev):
            with contextlib.suppress(NotFound):  # released meanwhile
                await backend.break_lock(dev, owner)
    try:
        for snap in snaps:
            if snap.protected:
                await backend.unprotect(snap.ref)
        await backend.remove(dev, missing_ok=True, with_snapshots=True)
    except HasChildren as exc:  # a clone appeared meanwhile
        return [c for c in exc.children if isinstance(c, DeviceRef)] or [dev]
    return []
