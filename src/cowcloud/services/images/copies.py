"""What another domain may ask about an image: its metadata and where its copies are.

The volume service (and later compute) asks this, and only this: "which stores hold this image,
in which cluster, under which device and snapshot". It reads the active location rows through
the caller's own visibility (an image the caller cannot see is 404 here too) and never touches
a device: cloning or copying from a copy is the caller's business, with its own undo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..context import RequestContext
from ..errors import Invalid
from . import access
from .env import ACTIVE
from .stores import SNAP, STAGING_STORE, Stores


@dataclass(frozen=True)
class ImageCopy:
    store: str
    cluster: str  # the configured cluster name (what Targets.backend takes)
    cluster_id: str  # equal ids: a COW clone of `pool/device@snap` is possible
    pool: str
    device: str
    snap: str


@dataclass(frozen=True)
class ImageSource:
    id: str
    name: str | None
    disk_format: str | None
    container_format: str | None
    size: int | None
    virtual_size: int | None
    min_disk: int
    min_ram: int
    checksum: str | None
    properties: dict[str, str] = field(default_factory=dict)
    copies: tuple[ImageCopy, ...] = ()


def image_source(s: Session, ctx: RequestContext, stores: Stores, image_id: str) -> ImageSource:
    """The image (404 unless ctx may see it; 400 unless active) and its active copies, heaviest
    store first."""
    image = access.load(s, ctx, image_id, "image:get_image")
    if image.status != "active":
        raise Invalid(f"Image {image.id} is not active (status: {image.status}).")
    weights = stores.weights()
    copies = []
    for loc in image.locations:
        if loc.status != ACTIVE or loc.store == STAGING_STORE:
            continue
        meta: dict[str, Any] = loc.meta
        store = stores.get(loc.store)
        cluster_id = (store.cluster_id if store is not None
                      else stores.backend_of(meta["cluster"]).info.cluster_id)
        copies.append(ImageCopy(loc.store, meta["cluster"], cluster_id, meta["pool"],
                                meta["device"], SNAP))
    copies.sort(key=lambda c: -weights.get(c.store, 0))
    return ImageSource(
        id=image.id, name=image.name, disk_format=image.disk_format,
        container_format=image.container_format, size=image.size,
        virtual_size=image.virtual_size, min_disk=image.min_disk, min_ram=image.min_ram,
        checksum=image.checksum, properties={p.name: p.value for p in image.properties},
        copies=tuple(copies))
