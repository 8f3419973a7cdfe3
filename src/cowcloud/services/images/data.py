"""Image data over HTTP: upload (PUT /file), stage (PUT /stage) and download (GET /file).

Uploads stream straight into the store: the body, re-chunked, is inspected at its head, hashed on
two threads and written with the backend's windowed writes; nothing touches this host's disk.
Any failure (bad format, size mismatch, a truncated body, the client going away) removes what was
written and puts the image back to `queued`. The writer holds a lease on its `pending` location
row while it writes (leases.py): a crash, or a cluster too far away to clean up in, leaves a row
whose lease runs out, and recovery (recovery.py) removes it and what was written.
A store whose cluster does not answer makes the request fail with 503 naming the store.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ...block import devices, ingest
from ...block.taps import zero_filled
from ...db.models import Image
from ...errors import Error
from ...storage import BaseBackend, DeviceRef, Undo
from ...storage.errors import NoSpace, PermissionDenied
from ..context import RequestContext
from ..errors import Denied, Invalid, TooLarge, Unavailable
from . import access, leases
from .env import ACTIVE, STAGED, Env, location
from .errors import Conflict, ImageNotFound
from .landing import Landed, apply, convert_into, needs_conversion
from .model import active_locations
from .stores import STAGING_STORE, Store

log = logging.getLogger("cowcloud.images")


def unavailable(store: str, cluster: str, exc: Exception | None = None) -> Unavailable:
    why = f": {exc}" if exc else ""
    return Unavailable(f"Store {store} is unavailable: its cluster {cluster} does not "
                       f"answer{why}")


def _require(store: Store) -> None:
    if not store.backend.available:
        raise unavailable(store.name, store.cluster)


def store_for_upload(env: Env, name: str | None) -> Store:
    if name is None:
        return env.stores.default
    store = env.stores.get(name)
    if store is None:
        raise Invalid(f"Store for identifier {name} not found")
    return store


def _begin(s: Session, ctx: RequestContext, env: Env, image_id: str, store: Store,
           staging: bool) -> tuple[str, str | None, str | None]:
    image = access.load(s, ctx, image_id, "image:upload_image")
    if image.status != "queued":
        what = "stage" if staging else "upload"
        raise Conflict(f"Image status transition from {image.status} to "
                       f"{'uploading' if staging else 'saving'} is not allowed: cannot {what} "
                       f"data to an image that is not queued")
    image.status = "uploading" if staging else "saving"
    loc = env.add_pending(s, image.id, store, staging=staging)
    loc.meta = leases.stamp(loc.meta, leases.seconds(env))
    return image.id, image.disk_format, image.container_format


def _revert(s: Session, image_id: str, status: str) -> None:
    image = s.get(Image, image_id)
    if image is not None and image.status == status:
        image.status = "queued"


def _finish_upload(s: Session, image_id: str, store: str, landed: Landed) -> bool:
    image = s.get(Image, image_id)
    loc = location(s, image_id, store)
    if image is None or image.status != "saving" or loc is None:
        return False  # deleted while we wrote
    apply(image, landed)
    image.status = "active"
    loc.status = ACTIVE
    return True


def finish_stage(s: Session, image_id: str, landed: Landed,
                 status: str = "uploading") -> dict[str, Any] | None:
    """Marks the stage complete (with what landed); its location meta, or None if the image
    left `status` (deleted) meanwhile. Shared with web-download, which stages while importing."""
    image = s.get(Image, image_id)
    loc = location(s, image_id, STAGING_STORE)
    if image is None or image.status != status or loc is None:
        return None
    loc.status = STAGED
    loc.meta = {**loc.meta, "landed": landed.to_meta()}
    return dict(loc.meta)


async def upload(env: Env, ctx: RequestContext, image_id: str, chunks: AsyncIterable[bytes], *,
                 store_name: str | None, size: int | None) -> None:
    store = store_for_upload(env, store_name)
    await _write(env, ctx, image_id, chunks, store, size, staging=False)


async def stage(env: Env, ctx: RequestContext, image_id: str, chunks: AsyncIterable[bytes], *,
                size: int | None) -> None:
    """The staging area is a device in the default store's pool (`ID.stage`): in a Ceph cluster
    when the default store is rbd, never on the API host's disk, and reachable by any worker."""
    await _write(env, ctx, image_id, chunks, env.stores.default, size, staging=True)


async def _write(env: Env, ctx: RequestContext, image_id: str, chunks: AsyncIterable[bytes],
                 store: Store, size: int | None, *, staging: bool) -> None:
    _require(store)
    image_id, disk_format, container = await env.run(_begin, ctx, env, image_id, store, staging)
    row = STAGING_STORE if staging else store.name
    meta = store.describe(image_id, ".stage" if staging else "")
    try:
        async with Undo() as undo:
            undo.add(_undo, env, image_id, row, meta, "uploading" if staging else "saving")
            async with leases.held(env, image_id, row):
                await _land(env, image_id, chunks, store, size, staging, disk_format, container)
            undo.commit()
    except Unavailable as exc:
        raise unavailable(store.name, store.cluster, exc) from exc
    except (NoSpace, PermissionDenied) as exc:
        # What the user sees of a storage failure is the service's to say, in Glance's words
        # (StorageFull is 413, StorageWriteDenied 503); the device names stay in the log.
        log.warning("image %s: store %s refused the data: %s", image_id, store.name, exc)
        if isinstance(exc, NoSpace):
            raise TooLarge(f"Image storage media is full: store {store.name} has no room for "
                           "this image") from exc
        raise Unavailable(f"Insufficient permissions on image storage media: store "
                          f"{store.name} refused the write") from exc


async def _land(env: Env, image_id: str, chunks: AsyncIterable[bytes], store: Store,
                size: int | None, staging: bool, disk_format: str | None,
                container: str | None) -> None:
    convert = not staging and needs_conversion(env, disk_format, store)
    dev = store.device(image_id, ".stage" if staging else ".convert" if convert else "")
    rec = await ingest.receive(chunks, store.backend, dev, disk_format=disk_format,
                               container_format=container, expected_size=size,
                               size_cap=env.settings.image.size_cap,
                               hash_algo=env.settings.image.hashing_algorithm)
    landed = Landed.as_received(rec, disk_format)
    if staging:
        finished = await env.run(finish_stage, image_id, landed) is not None
    else:
        if convert:
            landed = await convert_into(env, store, image_id, store.backend, dev, landed)
            await devices.remove(store.backend, dev)
        else:
            await devices.seal(store.backend, dev)
        finished = await env.run(_finish_upload, image_id, store.name, landed)
    if not finished:
        raise ImageNotFound(image_id)


async def _undo(env: Env, image_id: str, row: str, meta: dict[str, Any], status: str) -> None:
    try:
        await env.discard(meta, drop_row=(image_id, row))
    except Error as exc:
        # The cluster does not answer: the row, no longer renewed, is recovered (and the
        # image queued again) once its lease runs out and the cluster is back.
        log.warning("an upload's leftovers wait for recovery: %s", exc,
                    extra={"image": image_id, "store": row})
        return
    await env.run(_revert, image_id, status)


# ------------------------------------------------------------------------ download

@dataclass
class Download:
    size: int  # of the whole image
    start: int
    end: int  # exclusive
    content_md5: str | None
    chunks: AsyncIterator[bytes]


def _pick(s: Session, ctx: RequestContext, env: Env, image_id: str, prefer: tuple[str, ...]
          ) -> tuple[int, str | None, dict[str, str]] | None:
    image = access.load(s, ctx, image_id, "image:download_image")
    if image.status == "deactivated" and not ctx.is_admin:
        raise Denied("The requested image has been deactivated. Image data download is "
                     "forbidden.")
    locs = [loc for loc in active_locations(image) if loc.store in env.stores]
    if not locs or image.size is None:
        return None
    # the caller's preferred stores in its order (a DCN site names its own), then the heaviest
    # store (Glance's store weights), the default first among equals
    rank: dict[str, int] = {}
    for name in prefer:
        rank.setdefault(name, len(rank))  # a store named twice keeps its first place
    weights, default = env.stores.weights(), env.stores.default.name
    loc = min(locs, key=lambda loc: (rank.get(loc.store, len(rank)), -weights.get(loc.store, 0),
                                     loc.store != default))
    converted = any(p.name.startswith("os_glance_uploaded_") for p in image.properties)
    return image.size, None if converted else image.checksum, dict(loc.meta)


async def download(env: Env, ctx: RequestContext, image_id: str,
                   byte_range: tuple[int | None, int | None] | None,
                   prefer: tuple[str, ...] = ()) -> Download | None:
    """The image's bytes (or one range of them); None when the image has no data (204).
    Read from the first store of `prefer` that holds the image, else the default store, else
    any. Raises RangeError for an unsatisfiable range."""
    picked = await env.run(_pick, ctx, env, image_id, prefer)
    if picked is None:
        return None
    size, md5, meta = picked
    backend = env.stores.backend_of(meta["cluster"])
    if not backend.available:
        raise unavailable(meta.get("store", meta["cluster"]), meta["cluster"])
    dev = DeviceRef(meta["pool"], meta["device"])
    if byte_range is None:
        return Download(size, 0, size, md5, zero_filled(backend.read_extents(dev), size))
    start, end = _resolve(byte_range, size)
    return Download(size, start, end, None, _ranged(backend, dev, start, end))


class RangeError(Invalid):
    status = 416

    def __init__(self, size: int) -> None:
        super().__init__(f"Requested range not satisfiable (image size {size})")
        self.size = size


def _resolve(byte_range: tuple[int | None, int | None], size: int) -> tuple[int, int]:
    first, last = byte_range
    if first is None:  # suffix: the last N bytes
        if not last:
            raise RangeError(size)
        return max(0, size - last), size
    if first >= size or (last is not None and last < first):
        raise RangeError(size)
    return first, size if last is None else min(last + 1, size)


async def _ranged(backend: BaseBackend, dev: DeviceRef, start: int, end: int,
                  chunk: int = 4 << 20) -> AsyncIterator[bytes]:
    extents = await backend.extents(dev)
    zeros = bytes(chunk)
    pos = start
    while pos < end:
        n = min(chunk, end - pos)
        if any(e.offset < pos + n and pos < e.end for e in extents):
            yield await backend.read(dev, pos, n)
        else:
            yield zeros[:n]
        pos += n

