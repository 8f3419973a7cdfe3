"""What another domain may ask of the image service, and only this:

- `image_source`: the image's metadata and where its copies are ("which stores hold it, in
  which cluster, under which device and snapshot"), through the caller's own visibility (an
  image the caller cannot see is 404 here too). Cloning or copying from a copy is the caller's
  business, with its own undo.
- `store_in_cluster` and `copy_into`: "make sure the image gets a copy in that cluster's image
  store". A volume built in a cluster that has no copy of its image asks for one once (a
  copy-image import, as an operator would run it; the image then lists the store), and every
  later volume there is a COW clone of it. The copy is the service's own doing, not the
  user's, so it runs as SYSTEM: the image's owner and policy are unchanged by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..context import RequestContext
from ..errors import Invalid
from . import access, importing
from .env import ACTIVE, Env
from .stores import SNAP, STAGING_STORE, Stores

# The services' own identity for work no user asked for directly (copies into a store).
SYSTEM = RequestContext(user_id="cowcloud", user_name="cowcloud", project_id=None,
                        project_name=None, domain_id=None, roles=("admin", "member", "reader"))


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


def store_in_cluster(stores: Stores, cluster: str) -> str | None:
    """The image store on that configured cluster (the heaviest, if several), or None."""
    here = [st for st in stores.all() if st.cluster == cluster]
    here.sort(key=lambda st: -st.weight)
    return here[0].name if here else None


async def copy_into(env: Env, image_id: str, store: str) -> str | None:
    """Queues a copy-image of the image into `store`; the task id (None: already there).
    Refusals are importing.queue's: Conflict while another import of the image runs or while
    a deleted copy there still backs clones, Invalid when the copy would need a conversion."""
    body = {"method": {"name": "copy-image"}, "stores": [store]}
    task_id = await env.run(importing.queue, env, SYSTEM, image_id, body, [store])
    if task_id:
        env.tasks.wake()
    return task_id
